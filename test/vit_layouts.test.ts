// Loading and running ViTs in every layout the loader accepts, against the
// PyTorch reference (tools/make_vit_fixtures.py): tiny models the project
// generates itself in timm, timm-with-registers/LayerScale, DeiT-distilled,
// Hugging Face (with and without the "vit." prefix) and headless+head-file
// layouts; position-embedding interpolation; the real ViT-Ti and DeiT-Ti.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { noGrad } from '../src/autograd/index.js';
import { useFastestBackend } from '../src/kernels/default.js';
import { loadViTFolder } from '../src/vit/load.js';
import { readImageFile } from '../src/io/image.js';
import { prepareImage } from '../src/vit/preprocess.js';
import { dirname } from 'node:path';
import { loadJson, decode, assertClose, repoPath, type Encoded } from './support/fixtures.js';
import { sharedTest } from './support/shared.js';

useFastestBackend();

interface Expected {
  input: Encoded;
  logits: Encoded;
  latent: Encoded;
}

const layouts: [string, Record<string, string>][] = [
  ['timm_plain', {}],
  ['timm_reg_ls', {}],
  ['timm_distilled', {}],
  ['hf_vit', {}],
  ['hf_noprefix', {}],
  ['timm_headless', { headFile: 'test/fixtures/vit/timm_headless_head.safetensors' }],
];

for (const [name, opts] of layouts) {
  test(`layout ${name}: logits and latent match PyTorch`, () => {
    const vit = loadViTFolder(repoPath(`test/fixtures/vit/${name}`), opts.headFile ? { headFile: repoPath(opts.headFile) } : {});
    const fx = loadJson<Expected>(`test/fixtures/vit/${name}/expected.json`);
    const out = noGrad(() => vit.forward(decode(fx.input)));
    assertClose(out.logits!, fx.logits, 1e-5, `${name} logits`);
    assertClose(out.latent, fx.latent, 1e-5, `${name} latent`);
  });
}

test('layout details are read from the tensors and configs', () => {
  const reg = loadViTFolder(repoPath('test/fixtures/vit/timm_reg_ls'));
  assert.is(reg.config.numRegisters, 4);
  assert.is(reg.config.numPrefix, 5);
  assert.is(reg.config.posCoverage, 'patches');
  assert.ok(reg.params.blocks[0]!.ls1 !== null);
  const dist = loadViTFolder(repoPath('test/fixtures/vit/timm_distilled'));
  assert.is(dist.config.hasDistToken, true);
  assert.is(dist.config.numPrefix, 2);
  const hf = loadViTFolder(repoPath('test/fixtures/vit/hf_vit'));
  assert.is(hf.config.layout, 'hf');
  assert.is(hf.config.eps, 1e-12);
  assert.is(hf.config.heads, 2);
  assert.is(hf.label(0), 'zero');
  assert.equal(hf.config.grid, [4, 4]);
  const headless = loadViTFolder(repoPath('test/fixtures/vit/timm_headless'));
  assert.is(headless.params.head, null, 'a backbone loads without a head (concept mode)');
});

test('position embeddings are resampled bicubically (timm, antialias) for another input size', () => {
  const vit = loadViTFolder(repoPath('test/fixtures/vit/timm_plain'));
  const fx = loadJson<Expected>('test/fixtures/vit/timm_plain/expected_posinterp.json');
  assert.equal(fx.input.shape, [1, 3, 24, 20]);
  const out = noGrad(() => vit.forward(decode(fx.input)));
  assertClose(out.logits!, fx.logits, 1e-5, 'posinterp logits');
  assert.equal(vit.gridFor(24, 20), [6, 5]);
});

interface RealLogits {
  models: Record<string, { mean: number[]; std: number[]; top5: number[]; logits: number[] }>;
}

const REAL = ['weights/vit_tiny_patch16_224.augreg_in21k_ft_in1k', 'weights/deit_tiny_patch16_224.fb_in1k', 'images'];

sharedTest('real ViT-Ti and DeiT-Ti: logits on catcoffee_224 match PyTorch within 1e-4 absolute', REAL, (vitDir, deitDir, images) => {
  const weights = dirname(vitDir);
  assert.is(dirname(deitDir), weights);
  const fx = loadJson<RealLogits>('test/fixtures/vit/real_logits.json');
  for (const [name, ref] of Object.entries(fx.models)) {
    const vit = loadViTFolder(`${weights}/${name}`);
    const { input } = prepareImage(readImageFile(`${images}/catcoffee_224.png`), vit.config.preprocess, 'crop');
    const logits = noGrad(() => vit.forward(input).logits!).toArray();
    let worst = 0;
    for (let i = 0; i < logits.length; i++) worst = Math.max(worst, Math.abs(logits[i]! - ref.logits[i]!));
    assert.ok(worst < 1e-4, `${name}: max |logit - torch| = ${worst}`);
  }
});

sharedTest('real ViT-Ti and DeiT-Ti classify the shared photos as listed in ../shared/weights/README.md', REAL, (vitDir, _deitDir, images) => {
  const weights = dirname(vitDir);
  const expected: Record<string, number> = { 'chelsea.png': 285, 'coffee.png': 967, 'dog.jpg': 249, 'catcoffee_224.png': 967 };
  for (const name of ['vit_tiny_patch16_224.augreg_in21k_ft_in1k', 'deit_tiny_patch16_224.fb_in1k']) {
    const vit = loadViTFolder(`${weights}/${name}`);
    for (const [img, cls] of Object.entries(expected)) {
      const { input } = prepareImage(readImageFile(`${images}/${img}`), vit.config.preprocess, 'crop');
      const l = noGrad(() => vit.forward(input).logits!).toArray();
      const top = l.indexOf(Math.max(...l));
      assert.is(top, cls, `${name} on ${img}: top-1 ${top} (${vit.label(top)}), expected ${cls} (${vit.label(cls)})`);
    }
    // dog.jpg's runner-up is the tandem bicycle (444) for both models
    const { input } = prepareImage(readImageFile(`${images}/dog.jpg`), vit.config.preprocess, 'crop');
    const l = noGrad(() => vit.forward(input).logits!).toArray();
    const order = [...l.keys()].sort((a, b) => l[b]! - l[a]!);
    assert.ok(order.slice(0, 3).includes(444), `${name}: 444 not in the top 3 for dog.jpg`);
  }
});

test.run();
