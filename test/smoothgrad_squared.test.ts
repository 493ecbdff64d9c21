// SmoothGrad-Squared (src/baselines/smoothGradSquared.ts) against PyTorch
// (tools/make_smoothgrad_squared_fixture.py, float64, from the definition
// mean_c(mean_k (df(x + eps_k)/dx)^2)): on the generated models of every layout
// on every parity backend, for two targets each, within 1e-4 of max|s|. The
// noise is the same numbers on both sides (the library's sampler is ported to
// the script, as for SmoothGrad). Then its properties: with one sample and no
// noise it is mean_c(g^2) of the plain gradient; with one seed its points are
// SmoothGrad's; it is never negative; its registry facts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { withBackend } from '../src/kernels/index.js';
import { Explainer } from '../src/cdam/explainer.js';
import { runMethod, methodInfo } from '../src/methods/registry.js';
import { FAMILY_OPTIONS } from '../src/methods/options.js';
import { inputGradients } from '../src/baselines/gradients.js';
import { smoothGradPoints } from '../src/baselines/smoothGrad.js';
import { fromData } from '../src/tensor/index.js';
import { loadViTFolder } from '../src/vit/load.js';
import { loadJson, decode, relErr, repoPath, type Encoded } from './support/fixtures.js';
import { parityBackends, ownCalls } from './support/backends.js';

interface Fx {
  targets: [number, number];
  smoothgrad_squared: { n: number; noise: number; seed: number };
  models: Record<string, Record<string, number[]>>;
}
const fx = loadJson<Fx>('test/fixtures/baselines/smoothgrad_squared.json');
const TOL = 1e-4;
/** the worst parity error seen per backend, printed at the end */
const worst: Record<string, { err: number; where: string }> = {};

function close(a: ArrayLike<number>, b: ArrayLike<number>, what: string, tol = TOL, backend?: string) {
  const e = relErr(a, b);
  if (backend && e >= (worst[backend]?.err ?? -1)) worst[backend] = { err: e, where: what };
  assert.ok(e < tol, `${what}: error ${e.toExponential(2)} of max|s|`);
}

const models = Object.keys(fx.models).map((name) => ({
  name,
  vit: loadViTFolder(repoPath(`test/fixtures/vit/${name}`)),
  input: decode(loadJson<{ input: Encoded }>(`test/fixtures/vit/${name}/expected.json`).input),
}));
const o = fx.smoothgrad_squared;

for (const { name, vit, input } of models) {
  for (const be of parityBackends()) {
    test(`${name}: smoothgrad-squared vs torch on ${be}`, () => {
      const before = ownCalls(be);
      withBackend(be, () => {
        const ex = new Explainer(vit, input);
        for (const c of fx.targets) {
          const got = runMethod(ex, 'smoothgrad-squared', { kind: 'class', index: c }, { samples: o.n, noise: o.noise, seed: o.seed, batch: 3 })[0]!;
          const want = fx.models[name]![String(c)]!;
          assert.is(got.map.values.length, want.length, `${name}: size`);
          assert.is(got.method, 'smoothgrad-squared');
          close(got.map.values, want, `${name} (target ${c})`, TOL, be);
        }
      });
      if (be !== 'js') assert.ok(ownCalls(be) > before, `${be} ran its own kernels`);
    });
  }
}

/** mean_c(g^2) of the input gradient at `point` (a [1, 3, H, W] array). */
function channelMeanSquared(vit: (typeof models)[number]['vit'], point: Float32Array, shape: readonly number[], c: number): Float64Array {
  const { g } = inputGradients(vit, fromData(point, shape), { kind: 'class', index: c });
  const hw = shape[2]! * shape[3]!;
  const out = new Float64Array(hw);
  for (let ch = 0; ch < 3; ch++) for (let i = 0; i < hw; i++) out[i]! += (g[ch * hw + i]! * g[ch * hw + i]!) / 3;
  return out;
}

test('one sample, no noise: mean_c(g^2) of the plain gradient; never negative', () => {
  for (const { name, vit, input } of models) {
    const ex = new Explainer(vit, input);
    for (const c of fx.targets) {
      const got = runMethod(ex, 'smoothgrad-squared', { kind: 'class', index: c }, { samples: 1, noise: 0 })[0]!.map.values;
      close(got, channelMeanSquared(vit, Float32Array.from(input.contiguousData()), input.shape, c), `${name} samples 1 noise 0 (target ${c})`, 1e-6);
      assert.ok(
        got.every((v) => v >= 0),
        `${name}: non-negative`,
      );
    }
  }
});

test("with one seed the noisy points are SmoothGrad's (one sample: mean_c(g^2) at SmoothGrad's point)", () => {
  const { name, vit, input } = models[0]!;
  const ex = new Explainer(vit, input);
  const opts = { samples: 1, noise: 0.3, seed: 11 };
  const pt = new Float32Array(input.size);
  smoothGradPoints(ex, opts).point(0, pt);
  const got = runMethod(ex, 'smoothgrad-squared', { kind: 'class', index: 2 }, opts)[0]!.map.values;
  close(got, channelMeanSquared(vit, pt, input.shape, 2), `${name} at SmoothGrad's noisy point`, 1e-6);
  // and it is not the clean gradient's map
  const clean = runMethod(ex, 'smoothgrad-squared', { kind: 'class', index: 2 }, { ...opts, noise: 0 })[0]!.map.values;
  assert.ok(relErr(got, clean) > 1e-3, 'the noise moved the map');
});

test("registry facts: non-negative, pixel level, one map, SmoothGrad's options and defaults", () => {
  const info = methodInfo('smoothgrad-squared');
  assert.equal(
    { signed: info.signed, usesTarget: info.usesTarget, level: info.level, perHead: info.perHead },
    { signed: false, usesTarget: true, level: 'pixel', perHead: false },
  );
  assert.equal(info.options, FAMILY_OPTIONS.smoothgrad);
  assert.equal(info.options, methodInfo('smoothgrad').options);
});

test('the parity figures', () => {
  assert.equal(Object.keys(worst).sort(), parityBackends().sort(), 'every backend was compared');
  for (const [be, w] of Object.entries(worst)) console.log(`\n  smoothgrad-squared vs torch on ${be}: worst ${w.err.toExponential(2)} of max|s| (${w.where})`);
});

test.run();
