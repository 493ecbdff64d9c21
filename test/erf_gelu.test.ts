// erf, GELU and the fused linear layer: the float64 erf is exact to rounding, the float32 one within
// 2e-7; the fused GELU primitive equals the composite built from primitives,
// values and gradients.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { erf, erfFast } from '../src/kernels/erf.js';
import {
  gelu,
  geluComposite,
  tensor,
  randn,
  mul,
  linear,
  linearComposite,
  layerNormAffine,
  layerNormAffineComposite,
  slice,
  matmul,
  transpose,
  copy,
  contiguous,
} from '../src/tensor/index.js';
import { backendNames, withBackend } from '../src/kernels/index.js';
import { registerAllBackends } from '../src/kernels/all.js';

registerAllBackends();
import { grad, enableGrad } from '../src/autograd/index.js';
import { relErr } from './support/fixtures.js';

test('erf: known values and the fast approximation', () => {
  // erf(0.5), erf(1), erf(2), erf(3) to 16 digits
  const known: [number, number][] = [
    [0.5, 0.5204998778130465],
    [1, 0.8427007929497149],
    [2, 0.9953222650189527],
    [3, 0.9999779095030014],
  ];
  for (const [x, v] of known) {
    assert.ok(Math.abs(erf(x) - v) < 1e-15, `erf(${x})`); // a few ulp: the series cancels near x = 2
    assert.ok(Math.abs(erf(-x) + v) < 1e-15, `erf(-${x})`);
  }
  let worst = 0;
  for (let x = -6; x <= 6; x += 0.001) worst = Math.max(worst, Math.abs(erfFast(x) - erf(x)));
  assert.ok(worst < 2e-7, `erfFast max error ${worst}`);
});

test('fused GELU = composite GELU (float64: values and gradients)', () => {
  const x = mul(randn([5, 40], 3, 'float64'), 2).requireGrad();
  const w = randn([5, 40], 4, 'float64');
  const [a, b] = enableGrad(() => [gelu(x), geluComposite(x)]);
  assert.ok(relErr(a.toArray(), b.toArray()) < 1e-14);
  const [ga] = grad(a, [x], w);
  const [gb] = grad(b, [x], w);
  assert.ok(relErr(ga!.toArray(), gb!.toArray()) < 1e-13);
  const g32 = gelu(tensor([-3, -1, 0, 1, 3])).toArray();
  const g64 = gelu(tensor([-3, -1, 0, 1, 3], [5], 'float64')).toArray();
  assert.ok(relErr(g32, g64) < 1e-6);
});

test('fused LayerNorm with affine = normalise, mul, add (float64: values and all gradients)', () => {
  const x = mul(randn([4, 3, 10], 11, 'float64'), 3).requireGrad();
  const w = randn([10], 12, 'float64').requireGrad();
  const b = randn([10], 13, 'float64').requireGrad();
  const seed = randn([4, 3, 10], 14, 'float64');
  const [f, c] = enableGrad(() => [layerNormAffine(x, w, b, 1e-6), layerNormAffineComposite(x, w, b, 1e-6)]);
  assert.ok(relErr(f.toArray(), c.toArray()) < 1e-14);
  const gf = grad(f, [x, w, b], seed);
  const gc = grad(c, [x, w, b], seed);
  gf.forEach((g, i) => assert.ok(relErr(g.toArray(), gc[i]!.toArray()) < 1e-12, `grad ${i}`));
  const [onlyW] = grad(
    enableGrad(() => layerNormAffine(x, w, null, 1e-5)),
    [w],
    seed,
  );
  const [onlyWc] = grad(
    enableGrad(() => layerNormAffineComposite(x, w, null, 1e-5)),
    [w],
    seed,
  );
  assert.ok(relErr(onlyW!.toArray(), onlyWc!.toArray()) < 1e-12);
});

test('fused linear = matmul + add, on every backend, for dense and row-strided inputs', () => {
  for (const be of backendNames()) {
    withBackend(be, () => {
      const x = randn([2, 7, 24], 5);
      const w = randn([10, 24], 6);
      const b = randn([10], 7);
      assert.ok(relErr(linear(x, w, b).toArray(), linearComposite(x, w, b).toArray()) < 1e-6, be);
      // a column block of a wider tensor: rows 40 apart, 24 long (like q of a fused qkv)
      const wide = randn([7, 40], 8);
      const view = slice(wide, [0, 8], [7, 32]);
      assert.ok(relErr(linear(view, w, null).toArray(), linearComposite(contiguous(copy(view)), w, null).toArray()) < 1e-6, `${be} strided`);
      assert.ok(relErr(matmul(view, transpose(view)).toArray(), matmul(copy(view), transpose(copy(view))).toArray()) < 1e-6, `${be} strided matmul`);
    });
  }
});

test.run();
