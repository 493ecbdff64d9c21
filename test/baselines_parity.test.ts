// Every baseline against PyTorch (tools/make_baseline_fixtures.py, float64,
// written from spec/cdam.md): on the generated models of every layout (plain,
// registers + LayerScale, Hugging Face, distillation token) on every parity
// backend, and on the embedded ViT-Ti with the cat|espresso photo, for two
// targets each. Maps agree within 1e-4 of max|s|. SmoothGrad and Expected
// Gradients get the same noise, references and draws on both sides (the
// sampler is ported to the script).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { withBackend } from '../src/kernels/index.js';
import { useFastestBackend } from '../src/kernels/default.js';
import { Explainer } from '../src/cdam/explainer.js';
import { runMethod, type Method, type MethodOptions } from '../src/methods/registry.js';
import { gradCam } from '../src/baselines/gradCam.js';
import { openSafetensors, bufferSource } from '../src/io/safetensors.js';
import { loadViTFolder } from '../src/vit/load.js';
import { loadJson, decode, relErr, repoPath, type Encoded } from './support/fixtures.js';
import { parityBackends, ownCalls } from './support/backends.js';
import { catcoffee } from './support/real.js';

type Maps = Record<
  'input-x-grad' | 'smoothgrad' | 'intgrad' | 'expected-grad' | 'gradcam' | 'gradcam_patch' | 'relevance' | 'partial-lrp' | 'attnlrp' | 'attnlrp-full',
  number[]
>;
interface Fx {
  targets: [number, number];
  smoothgrad: { n: number; noise: number; seed: number };
  intgrad: { steps: number };
  expected_grad: { n: number; seed: number };
  models: Record<string, Record<string, Maps> & { rollout: number[]; rollout_heads: number[][] }>;
}
const fx = loadJson<Fx>('test/fixtures/baselines/small_models.json');
const TOL = 1e-4;

function close(a: ArrayLike<number>, b: ArrayLike<number>, what: string) {
  const e = relErr(a, b);
  assert.ok(e < TOL, `${what}: error ${e.toExponential(2)} of max|s|`);
}

// each method's options from the fixture (methods not listed take none)
const opts: Partial<Record<Method, MethodOptions>> = {
  smoothgrad: { samples: fx.smoothgrad.n, noise: fx.smoothgrad.noise, seed: fx.smoothgrad.seed, batch: 3 },
  intgrad: { steps: fx.intgrad.steps, batch: 3 },
  'expected-grad': { samples: fx.expected_grad.n, seed: fx.expected_grad.seed, batch: 3 },
};
const map = (ex: Explainer, m: Method, c: number) => runMethod(ex, m, { kind: 'class', index: c }, opts[m])[0]!.map;

/** Every baseline of one explainer against one fixture entry. */
function checkAll(ex: Explainer, want: Maps, c: number, what: string) {
  for (const m of ['input-x-grad', 'smoothgrad', 'intgrad', 'expected-grad', 'gradcam', 'relevance', 'partial-lrp'] as const) {
    const got = map(ex, m, c);
    assert.is(got.values.length, want[m].length, `${what} ${m}: size`);
    close(got.values, want[m], `${what} ${m} (target ${c})`);
  }
  close(gradCam(ex, { kind: 'class', index: c }).patch.values, want.gradcam_patch, `${what} raw patch gradcam`);
  checkAttnLrp(ex, c, (k) => want[k], what);
}

/** AttnLRP in both variants (the script's defaults: gamma 0.05, patch gamma 0.25, as the library's). */
function checkAttnLrp(ex: Explainer, c: number, want: (k: 'attnlrp' | 'attnlrp-full') => ArrayLike<number>, what: string) {
  for (const variant of ['cp', 'full'] as const) {
    const got = runMethod(ex, 'attnlrp', { kind: 'class', index: c }, { lrp: variant })[0]!.map;
    close(got.values, want(variant === 'cp' ? 'attnlrp' : 'attnlrp-full'), `${what} attnlrp ${variant} (target ${c})`);
  }
}

for (const [name, m] of Object.entries(fx.models)) {
  const vit = loadViTFolder(repoPath(`test/fixtures/vit/${name}`));
  const input = decode(loadJson<{ input: Encoded }>(`test/fixtures/vit/${name}/expected.json`).input);
  for (const be of parityBackends()) {
    test(`${name}: every baseline vs torch on ${be}`, () => {
      const before = ownCalls(be);
      withBackend(be, () => {
        const ex = new Explainer(vit, input);
        for (const c of fx.targets) checkAll(ex, m[String(c)]!, c, name);
        close(map(ex, 'rollout', 0).values, m.rollout, `${name} rollout`);
        const heads = runMethod(ex, 'rollout', { kind: 'class', index: 0 }, { perHead: true });
        assert.is(heads.length, m.rollout_heads.length);
        heads.forEach((h, i) => close(h.map.values, m.rollout_heads[i]!, `${name} rollout head ${i}`));
      });
      if (be !== 'js') assert.ok(ownCalls(be) > before, `${be} ran its own kernels`);
    });
  }
}

test('the embedded ViT-Ti on cat|espresso: every baseline vs torch, cat and espresso', () => {
  useFastestBackend();
  const real = catcoffee();
  const f = openSafetensors(bufferSource(readFileSync(repoPath('test/fixtures/baselines/vit_ti_catcoffee.safetensors')), 'vit_ti_catcoffee'));
  const want = (k: string) => Array.from(f.readF32(k));
  const meta = f.metadata;
  const ex = new Explainer(real.vit, real.prepared.input);
  const o: Partial<Record<Method, MethodOptions>> = {
    smoothgrad: { samples: Number(meta['smoothgrad_n']), noise: Number(meta['smoothgrad_noise']), seed: Number(meta['smoothgrad_seed']) },
    intgrad: { steps: Number(meta['intgrad_steps']) },
    'expected-grad': { samples: Number(meta['expected_grad_n']), seed: Number(meta['expected_grad_seed']) },
  };
  for (const c of [285, 967]) {
    for (const m of ['input-x-grad', 'smoothgrad', 'intgrad', 'expected-grad', 'gradcam', 'relevance', 'partial-lrp'] as const) {
      close(runMethod(ex, m, { kind: 'class', index: c }, o[m])[0]!.map.values, want(`${m}.${c}`), `ViT-Ti ${m} (target ${c})`);
    }
    close(gradCam(ex, { kind: 'class', index: c }).patch.values, want(`gradcam_patch.${c}`), `ViT-Ti raw gradcam (target ${c})`);
    checkAttnLrp(ex, c, (k) => want(`${k}.${c}`), 'ViT-Ti');
  }
  close(runMethod(ex, 'rollout', { kind: 'class', index: 0 })[0]!.map.values, want('rollout'), 'ViT-Ti rollout');
});

test.run();
