// The fused MLP forward (Kernels.mlp, linearGeluLinear) on every backend
// against linear(linearGelu(x, W1, b1), W2, b2, residual) in float64.
// Tolerance, normwise relative error: float32 1e-5 (sums of <= 1536 terms
// through a float32 GELU; the same bound as the linear and attention tests).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Backend, MlpArgs } from '../src/kernels/backend.js';
import { jsBackend } from '../src/kernels/js.js';
import { registerAllBackends } from '../src/kernels/all.js';
import { getBackendByName, withBackend } from '../src/kernels/registry.js';
import { createWasmBackend } from '../src/kernels/wasm.js';
import { wasmMlp } from '../src/kernels/wasm/mlp.host.js';
import { Runtime } from '../src/kernels/wasm/runtime.js';
import { Tensor, freeze, linear, linearGelu, linearGeluLinear, mul, randn, sum } from '../src/tensor/index.js';
import { enableGrad, grad, noGrad } from '../src/autograd/index.js';
import { expectError } from './support/expect.js';
import { relErr } from './support/fixtures.js';

registerAllBackends();
const TOL32 = 1e-5;

const wasm1 = createWasmBackend({ threads: 1 });
const wasm2 = createWasmBackend({ threads: 2 });
const rt1 = new Runtime(1, new URL('../src/kernels/wasm/worker.js', import.meta.url));
const rt2 = new Runtime(2, new URL('../src/kernels/wasm/worker.js', import.meta.url));
const backends: Array<[string, Pick<Backend, 'mlp'>]> = [
  ['js', jsBackend],
  ['wasm 1 thread', wasm1],
  ['wasm 2 threads', wasm2],
  ['gpujs (registry: composed from its matmul)', getBackendByName('gpujs')],
];

const f64 = (t: Tensor): Tensor => new Tensor(Float64Array.from(t.contiguousData()), t.shape);

interface Case {
  x: Tensor;
  w1: Tensor;
  b1: Tensor | null;
  w2: Tensor;
  b2: Tensor | null;
  residual: Tensor | null;
}

function makeCase(rows: number, d: number, hidden: number, seed: number, withBias: boolean, withResidual: boolean): Case {
  return noGrad(() => ({
    x: randn([rows, d], seed),
    w1: freeze(mul(randn([hidden, d], seed + 1), 1 / Math.sqrt(d))),
    b1: withBias ? randn([hidden], seed + 2) : null,
    w2: freeze(mul(randn([d, hidden], seed + 3), 1 / Math.sqrt(hidden))),
    b2: withBias ? randn([d], seed + 4) : null,
    residual: withResidual ? randn([rows, d], seed + 5) : null,
  }));
}

/** The answer: the composition in float64 (reference kernels). */
function expected(c: Case): ArrayLike<number> {
  const o = (t: Tensor | null) => (t ? f64(t) : null);
  return noGrad(() => linear(linearGelu(f64(c.x), f64(c.w1), o(c.b1)), f64(c.w2), o(c.b2), o(c.residual))).contiguousData();
}

function args(c: Case, out: Float32Array, constant: boolean): MlpArgs {
  const [rows, d] = c.x.shape as [number, number];
  return {
    x: c.x.contiguousData(),
    rows,
    d,
    hidden: c.w1.shape[0]!,
    w1: c.w1.data,
    w1Offset: c.w1.offset,
    w2: c.w2.data,
    w2Offset: c.w2.offset,
    b1: c.b1?.contiguousData() ?? null,
    b2: c.b2?.contiguousData() ?? null,
    residual: c.residual?.contiguousData() ?? null,
    out,
    constant,
  };
}

// rows, d, hidden: both splits of each GEMM (rows > or < its width), ragged panels, and below the wasm threshold
const shapes: Array<[number, number, number]> = [
  [197, 192, 768], // ViT-Ti, one image: fc1 split by columns, fc2 by rows
  [1576, 192, 768], // ViT-Ti, 8 images: both by rows
  [61, 36, 100], // ragged: 61 rows, 36 and 100 columns are not whole panels
  [40, 300, 12], // fc1 by rows, fc2 by columns
  [3, 8, 16], // tiny: the reference path
];

/** Whether the fused wasm path runs (else the composed fallback) for a call above the threshold with packed weights. */
const fusedExpected = (rows: number, d: number, hidden: number): boolean => rows * d * hidden >= 2048;

for (const [rows, d, hidden] of shapes) {
  // every bias/residual combination on the small shapes, the full MLP on the large ones
  const variants =
    rows * d * hidden > 1e7
      ? ([[true, true]] as const)
      : ([
          [true, true],
          [true, false],
          [false, true],
          [false, false],
        ] as const);
  for (const [withBias, withResidual] of variants) {
    const label = `${rows}x${d} -> ${hidden}, ${withBias ? 'biases' : 'no biases'}, ${withResidual ? 'residual' : 'no residual'}`;
    test(`kernel on every backend vs the float64 composition, ${label}`, () => {
      const c = makeCase(rows, d, hidden, rows + d + hidden, withBias, withResidual);
      const want = expected(c);
      for (const [name, be] of backends) {
        for (const constant of [true, false]) {
          const out = new Float32Array(rows * d).fill(NaN);
          be.mlp(args(c, out, constant));
          assert.ok(out.every(Number.isFinite), `${name} (constant ${constant}): every output written`);
          const err = relErr(out, want);
          assert.ok(err < TOL32, `${name} (constant ${constant}): ${err.toExponential(2)}`);
        }
      }
      // the wasm host function itself, told to fail if it falls back
      for (const rt of [rt1, rt2]) {
        let fellBack = false;
        const out = new Float32Array(rows * d).fill(NaN);
        wasmMlp(rt, args(c, out, true), (q) => {
          fellBack = true;
          jsBackend.mlp(q);
        });
        assert.is(fellBack, !fusedExpected(rows, d, hidden), `threads ${rt.threads}: fused path taken`);
        const err = relErr(out, want);
        assert.ok(out.every(Number.isFinite) && err < TOL32, `wasmMlp, threads ${rt.threads}: ${err.toExponential(2)}`);
      }
    });
  }
}

test('weights at offsets inside one shared array (as a loaded safetensors file gives them)', () => {
  const rows = 197;
  const d = 64;
  const hidden = 256;
  const c = makeCase(rows, d, hidden, 7, true, true);
  const pool = new Float32Array(13 + 2 * d * hidden + 5);
  pool.set(c.w1.contiguousData(), 13);
  pool.set(c.w2.contiguousData(), 13 + d * hidden);
  const w1 = freeze(new Tensor(pool, [hidden, d], [d, 1], 13));
  const w2 = freeze(new Tensor(pool, [d, hidden], [hidden, 1], 13 + d * hidden));
  const want = expected(c);
  for (const [name, be] of backends) {
    // twice: the second call finds both weights already packed
    for (let i = 0; i < 2; i++) {
      const out = new Float32Array(rows * d).fill(NaN);
      be.mlp(args({ ...c, w1, w2 }, out, true));
      const err = relErr(out, want);
      assert.ok(err < TOL32, `${name}, call ${i + 1}: ${err.toExponential(2)}`);
    }
  }
});

test('wasm: when packing fc2 empties the resident region of fc1, the composed path gives the same result', () => {
  const rows = 197;
  const d = 192;
  const hidden = 768;
  const packedBytes = hidden * d * 4; // both weights: 768 and 192 are whole panels
  const small = createWasmBackend({ threads: 2, residentCapBytes: packedBytes + 1024 });
  try {
    const c = makeCase(rows, d, hidden, 11, true, true);
    const want = expected(c);
    // packing fc1 again after the reset would empty the region again: the fallback must not loop or mix addresses
    const before = small.residentStats().resets;
    const out = new Float32Array(rows * d).fill(NaN);
    small.mlp(args(c, out, true));
    assert.ok(small.residentStats().resets > before, 'the region was emptied (the case under test)');
    const err = relErr(out, want);
    assert.ok(err < TOL32, `${err.toExponential(2)}`);
  } finally {
    small.dispose();
  }
});

for (const name of ['js', 'wasm', 'gpujs']) {
  test(`${name}: linearGeluLinear equals the composition of tensor ops on the same backend`, () => {
    withBackend(name, () => {
      const c = makeCase(197, 64, 256, 3, true, true);
      const fused = noGrad(() => linearGeluLinear(c.x, c.w1, c.b1, c.w2, c.b2, c.residual));
      const composed = noGrad(() => linear(linearGelu(c.x, c.w1, c.b1), c.w2, c.b2, c.residual));
      assert.equal(fused.shape, [197, 64]);
      const err = relErr(fused.contiguousData(), composed.contiguousData());
      assert.ok(err < TOL32, `${err.toExponential(2)}`);
    });
  });
}

test('linearGeluLinear with a tape records the composition: gradients equal those of linear(linearGelu(...))', () => {
  withBackend('wasm', () => {
    const c = makeCase(50, 32, 128, 5, true, true);
    const gradsOf = (fn: (x: Tensor, r: Tensor) => Tensor) => {
      const x = new Tensor(c.x.data, c.x.shape).requireGrad();
      const r = new Tensor(c.residual!.data, c.residual!.shape).requireGrad();
      const y = enableGrad(() => sum(mul(fn(x, r), fn(x, r))));
      return grad(y, [x, r]).map((g) => g.contiguousData());
    };
    const fused = gradsOf((x, r) => linearGeluLinear(x, c.w1, c.b1, c.w2, c.b2, r));
    const composed = gradsOf((x, r) => linear(linearGelu(x, c.w1, c.b1), c.w2, c.b2, r));
    for (let i = 0; i < 2; i++) assert.ok(relErr(fused[i]!, composed[i]!) < 1e-6, `gradient ${i}: ${relErr(fused[i]!, composed[i]!)}`);
  });
});

test("linearGeluLinear: shapes that do not fit give the composition's errors", () => {
  const c = makeCase(10, 16, 32, 9, true, true);
  expectError(() => noGrad(() => linearGeluLinear(c.x, c.w1, c.b1, randn([16, 31], 1), c.b2, c.residual)), 'linear', '31');
  expectError(() => noGrad(() => linearGeluLinear(c.x, c.w1, c.b1, c.w2, c.b2, randn([10, 15], 1))), 'residual');
});

test.after(() => {
  wasm1.dispose();
  wasm2.dispose();
  rt1.dispose();
  rt2.dispose();
});

test.run();
