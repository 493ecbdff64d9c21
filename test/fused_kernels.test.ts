// The fused kernel variants, on every backend: the matmul's residual addend
// (accumulate), GELU epilogue and constant B (frozen weights, which the wasm
// backend keeps packed between calls), and layer norm with its affine part in
// the same pass. Each is compared with the plain computation done separately
// in float64 by the reference kernels.
// Tolerance: 1e-5 normwise relative error in float32 (k <= 200 terms, GELU's
// erf approximations are within 2e-7 absolute).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Backend, MatmulArgs } from '../src/kernels/backend.js';
import { jsBackend } from '../src/kernels/js.js';
import { createWasmBackend } from '../src/kernels/wasm.js';
import { registerAllBackends } from '../src/kernels/all.js';
import { getBackendByName, withBackend } from '../src/kernels/registry.js';
import { add, freeze, gelu, layerNorm, linear, linearGelu, mul, randn, slice, Tensor } from '../src/tensor/index.js';
import { grad, noGrad, enableGrad } from '../src/autograd/index.js';
import { relErr } from './support/fixtures.js';

registerAllBackends();
const wasm1 = createWasmBackend({ threads: 1 });
const wasm2 = createWasmBackend({ threads: 2 });
const backends: Array<[string, Pick<Backend, 'matmul' | 'layerNorm' | 'layerNormBackward'>]> = [
  ['js', jsBackend],
  ['wasm 1 thread', wasm1],
  ['wasm 2 threads', wasm2],
  ['gpujs (registry adapter)', getBackendByName('gpujs')],
];
const TOL = 1e-5;

let seed = 7;
function random(n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    out[i] = seed / 2 ** 31 - 1;
  }
  return out;
}

const geluRef = (v: number): number => {
  const x = new Float64Array([v]);
  jsBackend.gelu(x, x, 1);
  return x[0]!;
};

interface Fused {
  m: number;
  n: number;
  k: number;
  bias: boolean;
  accumulate: boolean;
  gelu: boolean;
  constantB: boolean;
}

/** x [m, k] @ W^T (W [n, k], at an offset in a larger array) [+ bias] [+ addend], [gelu], in float32 by `be`. */
function runFused(be: Pick<Backend, 'matmul'>, f: Fused, wData: Float32Array, wOffset: number): { got: Float32Array; want: Float64Array } {
  const { m, n, k } = f;
  const x = random(m * k);
  const bias = f.bias ? random(n) : undefined;
  const addend = random(m * n);
  const c = f.accumulate ? Float32Array.from(addend) : new Float32Array(m * n).fill(NaN);
  const pre = f.gelu ? new Float32Array(m * n).fill(NaN) : undefined;
  be.matmul({
    a: x,
    aOffset: 0,
    strideA: 0,
    transA: false,
    b: wData,
    bOffset: wOffset,
    strideB: 0,
    transB: true,
    c,
    cOffset: 0,
    batch: 1,
    m,
    n,
    k,
    ...(bias ? { bias } : {}),
    ...(f.accumulate ? { accumulate: true } : {}),
    ...(f.gelu ? { epilogue: 'gelu' as const, preActivation: pre } : {}),
    ...(f.constantB ? { constantB: true } : {}),
  } satisfies MatmulArgs);
  const want = new Float64Array(m * n);
  const wantPre = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = (bias ? bias[j]! : 0) + (f.accumulate ? addend[i * n + j]! : 0);
      for (let q = 0; q < k; q++) s += x[i * k + q]! * wData[wOffset + j * k + q]!;
      want[i * n + j] = f.gelu ? geluRef(s) : s;
      wantPre[i * n + j] = s;
    }
  }
  // the pre-activation handed back with a GELU epilogue
  if (pre && relErr(pre, wantPre) >= TOL) return { got: pre, want: wantPre };
  return { got: c, want };
}

const shapes: Array<[number, number, number]> = [
  [197, 64, 96], // column split (m > n is false below), ragged rows
  [7, 13, 5], // tiny, every tile an edge tile, GELU tails of 1-3 floats
  [300, 40, 200], // row split (m > n)
  [50, 123, 37], // odd sizes everywhere
];

for (const [name, be] of backends) {
  for (const [m, n, k] of shapes) {
    for (const variant of [
      { bias: true, accumulate: true, gelu: false, constantB: false },
      { bias: false, accumulate: true, gelu: false, constantB: true },
      { bias: true, accumulate: false, gelu: true, constantB: false },
      { bias: true, accumulate: true, gelu: true, constantB: true },
    ]) {
      const label = Object.entries(variant)
        .filter(([, v]) => v)
        .map(([key]) => key)
        .join('+');
      test(`${name}: ${m}x${k}x${n} ${label} matches float64`, () => {
        const f = { m, n, k, ...variant };
        const w = random(n * k + 11);
        const { got, want } = runFused(be, f, w, 11);
        const err = relErr(got, want);
        assert.ok(err < TOL, `relative error ${err}`);
        if (variant.constantB) {
          // a second call reads the kept copy: same answer
          const again = runFused(be, f, w, 11);
          assert.ok(relErr(again.got, again.want) < TOL);
        }
      });
    }
  }
}

test('wasm: constant B is packed once, keyed by array and offset', () => {
  const be = createWasmBackend({ threads: 2 });
  try {
    const [m, n, k] = [64, 48, 40];
    // two weight matrices in one array (like the q and k|v parts of a fused qkv weight)
    const w = random(2 * n * k);
    const f = { m, n, k, bias: false, accumulate: false, gelu: false, constantB: true };
    const r1 = runFused(be, f, w, 0);
    const used = be.residentStats().bytes;
    assert.ok(used >= n * k * 4, `kept ${used} bytes`);
    const r2 = runFused(be, f, w, n * k);
    assert.ok(be.residentStats().bytes > used, 'a second offset is a second entry');
    const after = be.residentStats().bytes;
    runFused(be, f, w, 0);
    runFused(be, f, w, n * k);
    assert.is(be.residentStats().bytes, after, 'repeated calls reuse the entries');
    assert.ok(relErr(r1.got, r1.want) < TOL && relErr(r2.got, r2.want) < TOL);
  } finally {
    be.dispose();
  }
});

test('wasm: a full resident store is emptied and refilled, and results stay right', () => {
  const [m, n, k] = [40, 64, 64];
  const be = createWasmBackend({ threads: 2, residentCapBytes: 2.5 * n * k * 4 });
  try {
    const f = { m, n, k, bias: true, accumulate: false, gelu: false, constantB: true };
    for (let i = 0; i < 5; i++) {
      const { got, want } = runFused(be, f, random(n * k), 0);
      assert.ok(relErr(got, want) < TOL);
    }
    assert.ok(be.residentStats().resets >= 1, 'the store was emptied');
    // a matrix larger than the cap is not kept, and still computed right
    const big = { ...f, n: 4 * n };
    const { got, want } = runFused(be, big, random(4 * n * k), 0);
    assert.ok(relErr(got, want) < TOL);
  } finally {
    be.dispose();
  }
});

// ---- tensor level: linear(x, W, b, residual) and linearGelu, frozen weights

for (const name of ['js', 'wasm', 'gpujs']) {
  test(`${name}: linear with residual and linearGelu equal their composites (no grad, frozen weights)`, () => {
    withBackend(name, () => {
      const x = randn([2, 197, 48], 1);
      const w = freeze(randn([96, 48], 2));
      const b = freeze(randn([96], 3));
      const r = randn([2, 197, 96], 4);
      noGrad(() => {
        const fused = linear(x, w, b, r);
        const plain = add(linear(x, w, b), r);
        assert.ok(relErr(fused.contiguousData(), plain.contiguousData()) < TOL);
        const g1 = linearGelu(x, w, b);
        const g2 = gelu(linear(x, w, b));
        assert.ok(relErr(g1.contiguousData(), g2.contiguousData()) < TOL);
        // a weight slice of a frozen array (as the pruned CDAM block uses)
        const ws = slice(w, [48], [96]);
        const bs = slice(b, [48], [96]);
        const s1 = linear(x, ws, bs);
        const s2 = linear(x, new Tensor(Float32Array.from(ws.contiguousData()), ws.shape), bs);
        assert.ok(relErr(s1.contiguousData(), s2.contiguousData()) < TOL);
      });
    });
  });
}

for (const [name, be] of backends) {
  for (const [rows, cols, withBias] of [
    [197, 192, true],
    [9, 13, true],
    [300, 7, false],
  ] as const) {
    test(`${name}: layerNorm (and its backward) with the affine part in the kernel, ${rows}x${cols}${withBias ? '' : ' (no bias)'}`, () => {
      const x = random(rows * cols);
      for (let i = 0; i < x.length; i++) x[i] = 3 * x[i]! + 0.5; // off-centre rows
      const w = random(cols);
      const b = withBias ? random(cols) : null;
      const y = new Float32Array(rows * cols);
      const rstd = new Float32Array(rows);
      be.layerNorm(x, y, rstd, rows, cols, 1e-6, w, b);
      const x64 = Float64Array.from(x);
      const xhat64 = new Float64Array(rows * cols);
      const rstd64 = new Float64Array(rows);
      jsBackend.layerNorm(x64, xhat64, rstd64, rows, cols, 1e-6);
      const want = xhat64.map((v, i) => v * w[i % cols]! + (b ? b[i % cols]! : 0));
      assert.ok(relErr(y, want) < TOL, `relative error ${relErr(y, want)}`);
      assert.ok(relErr(rstd, rstd64) < TOL);
      // y and xhat in one call (what the tape keeps)
      const y2 = new Float32Array(rows * cols);
      const xhat = new Float32Array(rows * cols).fill(NaN);
      be.layerNorm(x, y2, rstd, rows, cols, 1e-6, w, b, xhat);
      assert.ok(relErr(y2, want) < TOL && relErr(xhat, xhat64) < TOL, 'y and xhat');
      // the backward with the weight applied to dy inside the kernel
      const dy = random(rows * cols);
      const dx = new Float32Array(rows * cols).fill(NaN);
      be.layerNormBackward(xhat, rstd, dy, dx, rows, cols, w);
      const dx64 = new Float64Array(rows * cols);
      jsBackend.layerNormBackward(
        xhat64,
        rstd64,
        Float64Array.from(dy, (v, i) => v * w[i % cols]!),
        dx64,
        rows,
        cols,
      );
      assert.ok(relErr(dx, dx64) < TOL, `backward ${relErr(dx, dx64)}`);
    });
  }
}

for (const name of ['js', 'wasm']) {
  test(`${name}: layerNorm(x, eps, w, b) without a tape equals the recorded path`, () => {
    withBackend(name, () => {
      const x = randn([3, 50, 24], 1);
      const w = randn([24], 2);
      const b = randn([24], 3);
      const fused = noGrad(() => layerNorm(x, 1e-6, w, b));
      const xr = randn([3, 50, 24], 1).requireGrad();
      const taped = enableGrad(() => layerNorm(xr, 1e-6, w, b));
      assert.ok(taped.requiresGrad && !fused.requiresGrad);
      assert.ok(relErr(fused.contiguousData(), taped.contiguousData()) < TOL);
      const composite = noGrad(() => add(mul(layerNorm(x, 1e-6), w), b));
      assert.ok(relErr(fused.contiguousData(), composite.contiguousData()) < TOL);
    });
  });
}

test('linear with residual: gradients equal those of linear + add (float64)', () => {
  const x = randn([3, 4, 5], 1, 'float64').requireGrad();
  const w = randn([6, 5], 2, 'float64').requireGrad();
  const b = randn([6], 3, 'float64').requireGrad();
  const r = randn([3, 4, 6], 4, 'float64').requireGrad();
  const seedG = randn([3, 4, 6], 5, 'float64');
  const fused = grad(
    enableGrad(() => linear(x, w, b, r)),
    [x, w, b, r],
    seedG,
  );
  const plain = grad(
    enableGrad(() => add(linear(x, w, b), r)),
    [x, w, b, r],
    seedG,
  );
  fused.forEach((g, i) => assert.ok(relErr(g.contiguousData(), plain[i]!.contiguousData()) < 1e-12, `input ${i}`));
});

for (const [name, dtype, tol] of [
  ['js', 'float32', TOL],
  ['wasm', 'float32', TOL],
  ['gpujs', 'float32', TOL],
  ['js', 'float64', 1e-12],
] as const) {
  test(`${name}: linearGelu with a tape (one call keeps the pre-activation) equals gelu(linear), values and gradients, ${dtype}`, () => {
    withBackend(name, () => {
      const x = randn([2, 197, 48], 1, dtype).requireGrad();
      const w = freeze(randn([96, 48], 2, dtype));
      const b = randn([96], 3, dtype).requireGrad();
      const g = randn([2, 197, 96], 4, dtype);
      const y = enableGrad(() => linearGelu(x, w, b));
      assert.ok(y.requiresGrad && y.node?.prim === 'gelu' && y.node.inputs[0]!.node?.prim === 'linear');
      const z = enableGrad(() => gelu(linear(x, w, b)));
      assert.ok(relErr(y.contiguousData(), z.contiguousData()) < tol, 'values');
      const pre = noGrad(() => linear(x, w, b));
      assert.ok(relErr(y.node.inputs[0]!.contiguousData(), pre.contiguousData()) < tol, 'pre-activation');
      const [gx, gb] = grad(y, [x, b], g);
      const [hx, hb] = grad(z, [x, b], g);
      assert.ok(relErr(gx!.contiguousData(), hx!.contiguousData()) < tol && relErr(gb!.contiguousData(), hb!.contiguousData()) < tol, 'gradients');
    });
  });
}

test.after(() => {
  wasm1.dispose();
  wasm2.dispose();
});

test.run();
