// torchvision's ViT layout (the paper's SWAG ViT-B/16 is published in it):
// the timm_plain fixture renamed to torchvision's tensor names (conv_proj,
// class_token, encoder.pos_embedding, encoder.layers.encoder_layer_N.ln_1 /
// self_attention.in_proj_* / out_proj / ln_2 / mlp.0 and mlp.3, encoder.ln,
// heads.head) must give PyTorch's logits for that model, and the same maps.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { noGrad } from '../src/autograd/index.js';
import { openSafetensors, bufferSource, writeSafetensors, type F32TensorRecord } from '../src/io/safetensors.js';
import { loadViTFolder } from '../src/vit/load.js';
import { Explainer } from '../src/cdam/explainer.js';
import { runMethod } from '../src/methods/registry.js';
import { loadJson, decode, assertClose, repoPath, type Encoded } from './support/fixtures.js';
import { copyModel, removeModels } from './support/models.js';
import { expectError } from './support/expect.js';

/** timm name -> torchvision name (null: no counterpart). */
function torchvisionName(n: string, mlpNames: [string, string]): string {
  const b = /^blocks\.(\d+)\.(.*)$/.exec(n);
  if (b) {
    const rest = b[2]!
      .replace(/^norm1\./, 'ln_1.')
      .replace(/^norm2\./, 'ln_2.')
      .replace(/^attn\.qkv\.weight$/, 'self_attention.in_proj_weight')
      .replace(/^attn\.qkv\.bias$/, 'self_attention.in_proj_bias')
      .replace(/^attn\.proj\./, 'self_attention.out_proj.')
      .replace(/^mlp\.fc1\./, `${mlpNames[0]}.`)
      .replace(/^mlp\.fc2\./, `${mlpNames[1]}.`);
    return `encoder.layers.encoder_layer_${b[1]}.${rest}`;
  }
  const top: Record<string, string> = {
    'patch_embed.proj.weight': 'conv_proj.weight',
    'patch_embed.proj.bias': 'conv_proj.bias',
    cls_token: 'class_token',
    pos_embed: 'encoder.pos_embedding',
    'norm.weight': 'encoder.ln.weight',
    'norm.bias': 'encoder.ln.bias',
    'head.weight': 'heads.head.weight',
    'head.bias': 'heads.head.bias',
  };
  if (!top[n]) throw new Error(`no torchvision name for ${n}`);
  return top[n];
}

function torchvisionModel(mlpNames: [string, string], extra: Record<string, F32TensorRecord> = {}): string {
  const d = copyModel('timm_plain');
  const p = join(d, 'model.safetensors');
  const f = openSafetensors(bufferSource(readFileSync(p), p));
  const t: Record<string, F32TensorRecord> = { ...extra };
  for (const n of f.names()) t[torchvisionName(n, mlpNames)] = { dtype: 'F32', shape: f.info(n).shape, data: f.readF32(n) };
  writeFileSync(p, writeSafetensors(t));
  return d;
}

const expected = loadJson<{ input: Encoded; logits: Encoded }>('test/fixtures/vit/timm_plain/expected.json');
const input = decode(expected.input);

test("a torchvision-named model gives PyTorch's logits (mlp.0/mlp.3 and the older mlp.linear_1/linear_2)", () => {
  for (const names of [
    ['mlp.0', 'mlp.3'],
    ['mlp.linear_1', 'mlp.linear_2'],
  ] as [string, string][]) {
    const vit = loadViTFolder(torchvisionModel(names));
    assert.is(vit.config.layout, 'torchvision');
    assertClose(
      noGrad(() => vit.forward(input).logits!),
      expected.logits,
      1e-5,
      `logits (${names.join(', ')})`,
    );
  }
});

test('the same maps as the timm-named model, for CDAM and the baselines', () => {
  const tv = new Explainer(loadViTFolder(torchvisionModel(['mlp.0', 'mlp.3'])), input);
  const timm = new Explainer(loadViTFolder(repoPath('test/fixtures/vit/timm_plain')), input);
  for (const m of ['cdam', 'relevance', 'rollout', 'input-x-grad'] as const) {
    const a = runMethod(tv, m, { kind: 'class', index: 2 })[0]!.map.values;
    const b = runMethod(timm, m, { kind: 'class', index: 2 })[0]!.map.values;
    assert.equal(Array.from(a), Array.from(b), m);
  }
});

test('torchvision: a representation layer (heads.pre_logits) and resampled grids are refused with a reason', () => {
  const pre = torchvisionModel(['mlp.0', 'mlp.3'], { 'heads.pre_logits.weight': { dtype: 'F32', shape: [16, 16], data: new Float32Array(256) } });
  expectError(() => loadViTFolder(pre), 'heads.pre_logits', 'not supported');
  const vit = loadViTFolder(torchvisionModel(['mlp.0', 'mlp.3']));
  const big = decode({ shape: [1, 3, 32, 32], data: Array(3 * 32 * 32).fill(0) });
  expectError(() => vit.forward(big), 'not implemented for torchvision-layout models');
});

test.after(removeModels);
test.run();
