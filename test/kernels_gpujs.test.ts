// The gpu.js backend against the reference kernels (jsBackend), in the modes
// that work in Node: 'webasm' (the Node default) and 'cpu'.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GPU } from 'gpu.js';
import { createGpujsBackend, type GpujsBackend } from '../src/kernels/gpujs.js';
import { jsBackend } from '../src/kernels/js.js';
import type { MatmulArgs } from '../src/kernels/backend.js';
import { relErr } from './support/fixtures.js';

// deterministic uniform(-1, 1) data
let seed = 12345;
function rand(): number {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return seed / 2 ** 31 - 1;
}
function randArray(n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rand() * scale;
  return a;
}

function maxAbsDiff(got: Float32Array, want: Float32Array): number {
  let diff = 0;
  for (let i = 0; i < want.length; i++) diff = Math.max(diff, Math.abs(got[i]! - want[i]!));
  return diff;
}

interface Case {
  batch: number;
  m: number;
  k: number;
  n: number;
  transA?: boolean;
  transB?: boolean;
  /** extra elements between batch items (strides are m*k + gap), or 'broadcast' for stride 0 */
  gapA?: number | 'broadcast';
  gapB?: number | 'broadcast';
  aOffset?: number;
  bOffset?: number;
  cOffset?: number;
}

/** Run one matmul case on both backends; return the relative error and whether c outside the block is untouched. */
function runCase(be: GpujsBackend, cs: Case): { err: number; outsideIntact: boolean } {
  const { batch, m, k, n } = cs;
  const strideA = cs.gapA === 'broadcast' ? 0 : m * k + (cs.gapA ?? 0);
  const strideB = cs.gapB === 'broadcast' ? 0 : k * n + (cs.gapB ?? 0);
  const aOffset = cs.aOffset ?? 0;
  const bOffset = cs.bOffset ?? 0;
  const cOffset = cs.cOffset ?? 0;
  const a = randArray(aOffset + (batch - 1) * strideA + m * k + 5);
  const b = randArray(bOffset + (batch - 1) * strideB + k * n + 5);
  const cLen = cOffset + batch * m * n + 5;
  const base = {
    a,
    aOffset,
    strideA,
    transA: cs.transA ?? false,
    b,
    bOffset,
    strideB,
    transB: cs.transB ?? false,
    cOffset,
    batch,
    m,
    n,
    k,
  };
  const want = new Float32Array(cLen).fill(7);
  const got = new Float32Array(cLen).fill(7); // stale values must be overwritten
  jsBackend.matmul({ ...base, c: want });
  be.matmul({ ...base, c: got });
  let outsideIntact = true;
  for (let i = 0; i < cLen; i++) {
    if (i >= cOffset && i < cOffset + batch * m * n) continue;
    if (got[i] !== 7) outsideIntact = false;
  }
  return { err: relErr(got, want), outsideIntact };
}

const cases: Case[] = [];
for (const [transA, transB] of [
  [false, false],
  [false, true],
  [true, false],
  [true, true],
] as const) {
  cases.push({ batch: 1, m: 1, k: 1, n: 1, transA, transB });
  cases.push({ batch: 1, m: 3, k: 5, n: 7, transA, transB });
  cases.push({ batch: 1, m: 17, k: 13, n: 9, transA, transB });
  cases.push({ batch: 1, m: 64, k: 64, n: 64, transA, transB });
  cases.push({ batch: 3, m: 5, k: 6, n: 7, transA, transB, gapB: 'broadcast' });
  cases.push({ batch: 3, m: 5, k: 6, n: 7, transA, transB, gapA: 3, gapB: 2, aOffset: 4, bOffset: 9, cOffset: 11 });
}
cases.push({ batch: 1, m: 197, k: 64, n: 197 });
cases.push({ batch: 1, m: 197, k: 64, n: 197, transB: true }); // q @ k^T
cases.push({ batch: 1, m: 197, k: 197, n: 64 }); // attn @ v
cases.push({ batch: 1, m: 64, k: 197, n: 197, transA: true }); // a gradient shape
cases.push({ batch: 3, m: 17, k: 13, n: 9, gapA: 'broadcast' });
cases.push({ batch: 3, m: 17, k: 13, n: 9, gapA: 'broadcast', gapB: 'broadcast' });
cases.push({ batch: 4, m: 33, k: 16, n: 33, transB: true, aOffset: 3, bOffset: 1, cOffset: 2 });
cases.push({ batch: 1, m: 2, k: 3, n: 4, aOffset: 5, bOffset: 6, cOffset: 7 });

const backends: Record<string, GpujsBackend> = {};
function backend(mode: 'webasm' | 'cpu'): GpujsBackend {
  return (backends[mode] ??= createGpujsBackend({ mode }));
}

test.after(() => {
  for (const be of Object.values(backends)) be.dispose();
});

test('default mode in Node is webasm (cpu without WebAssembly)', () => {
  const be = createGpujsBackend();
  assert.is(be.name, 'gpujs');
  assert.is(be.mode, GPU.isWebAssemblySupported ? 'webasm' : 'cpu');
  be.dispose();
});

test('Promise-returning modes are refused', () => {
  assert.throws(() => createGpujsBackend({ mode: 'async' }), /synchronous/);
  assert.throws(() => createGpujsBackend({ mode: 'webgpu' }), /synchronous/);
});

for (const mode of ['webasm', 'cpu'] as const) {
  test(`${mode}: explicit mode is the one running`, () => {
    assert.is(backend(mode).mode, mode);
  });

  test(`${mode}: matmul matches the reference`, () => {
    const be = backend(mode);
    for (const cs of cases) {
      const { err, outsideIntact } = runCase(be, cs);
      const label = JSON.stringify(cs);
      assert.ok(err < 1e-5, `${label}: relative error ${err}`);
      assert.ok(outsideIntact, `${label}: wrote outside [cOffset, cOffset + batch*m*n)`);
    }
  });

  test(`${mode}: softmax matches the reference`, () => {
    const be = backend(mode);
    for (const [rows, cols, scale] of [
      [3, 7, 1],
      [197, 197, 4],
      [5, 1, 1],
      [4, 33, 40],
    ] as const) {
      const x = randArray(rows * cols + 3, scale); // a tail past the block must be left alone
      const want = new Float32Array(x.length).fill(7);
      const got = new Float32Array(x.length).fill(7);
      jsBackend.softmax(x, want, rows, cols);
      be.softmax(x, got, rows, cols);
      const d = maxAbsDiff(got, want);
      assert.ok(d < 1e-6, `${rows}x${cols}: max abs diff ${d}`);
      assert.equal(Array.from(got.subarray(rows * cols)), [7, 7, 7]);
    }
  });

  test(`${mode}: softmaxBackward matches the reference`, () => {
    const be = backend(mode);
    for (const [rows, cols] of [
      [3, 7],
      [197, 197],
      [5, 1],
    ] as const) {
      const y = new Float32Array(rows * cols);
      jsBackend.softmax(randArray(rows * cols, 3), y, rows, cols);
      const dy = randArray(rows * cols);
      const want = new Float32Array(rows * cols);
      const got = new Float32Array(rows * cols).fill(7);
      jsBackend.softmaxBackward(y, dy, want, rows, cols);
      be.softmaxBackward(y, dy, got, rows, cols);
      const d = maxAbsDiff(got, want);
      assert.ok(d < 1e-6, `${rows}x${cols}: max abs diff ${d}`);
    }
  });
}

test('kernels are compiled once per shape and reused, with fresh data each call', () => {
  const be = createGpujsBackend({ mode: 'webasm' });
  const m = 6,
    k = 5,
    n = 4;
  const a = randArray(m * k);
  const b = randArray(k * n);
  const args = (c: Float32Array, transB = false): MatmulArgs => ({
    a,
    aOffset: 0,
    strideA: 0,
    transA: false,
    b,
    bOffset: 0,
    strideB: 0,
    transB,
    c,
    cOffset: 0,
    batch: 1,
    m,
    n,
    k,
  });
  const c1 = new Float32Array(m * n);
  be.matmul(args(c1));
  assert.is(be.kernelsCreated, 1);

  // same shape, new contents: no new kernel, and the new values are used
  a.set(randArray(m * k));
  const c2 = new Float32Array(m * n);
  const want = new Float32Array(m * n);
  be.matmul(args(c2));
  jsBackend.matmul(args(want));
  assert.is(be.kernelsCreated, 1);
  assert.ok(relErr(c2, want) < 1e-5);
  assert.not.equal(Array.from(c1), Array.from(c2));

  // another transpose flag is another kernel
  be.matmul(args(new Float32Array(m * n), true));
  assert.is(be.kernelsCreated, 2);

  // softmax: two kernels (row stats + normalise), built once
  const x = randArray(3 * 7);
  be.softmax(x, new Float32Array(21), 3, 7);
  be.softmax(x, new Float32Array(21), 3, 7);
  assert.is(be.kernelsCreated, 4);
  // softmaxBackward: two kernels (row dot + scale), built once
  be.softmaxBackward(x, x, new Float32Array(21), 3, 7);
  be.softmaxBackward(x, x, new Float32Array(21), 3, 7);
  assert.is(be.kernelsCreated, 6);
  // a new shape builds again
  be.softmax(x, new Float32Array(21), 7, 3);
  assert.is(be.kernelsCreated, 8);

  be.dispose();
  be.dispose(); // idempotent
  assert.throws(() => be.softmax(x, new Float32Array(21), 3, 7), /dispose/);
});

test('float64 arrays fall through to the reference kernels', () => {
  const be = backend('webasm');
  const before = be.kernelsCreated;
  const a = Float64Array.from(randArray(6));
  const b = Float64Array.from(randArray(6));
  const c = new Float64Array(4);
  const want = new Float64Array(4);
  const p = { a, aOffset: 0, strideA: 0, transA: false, b, bOffset: 0, strideB: 0, transB: false, cOffset: 0, batch: 1, m: 2, n: 2, k: 3 };
  be.matmul({ ...p, c });
  jsBackend.matmul({ ...p, c: want });
  assert.equal(Array.from(c), Array.from(want));
  assert.is(be.kernelsCreated, before);
});

test('k = 0 writes zeros; empty outputs are a no-op', () => {
  const be = backend('webasm');
  const c = new Float32Array(8).fill(7);
  const e = new Float32Array(0);
  be.matmul({ a: e, aOffset: 0, strideA: 0, transA: false, b: e, bOffset: 0, strideB: 0, transB: false, c, cOffset: 1, batch: 1, m: 2, n: 3, k: 0 });
  assert.equal(Array.from(c), [7, 0, 0, 0, 0, 0, 0, 7]);
  be.matmul({ a: e, aOffset: 0, strideA: 0, transA: false, b: e, bOffset: 0, strideB: 0, transB: false, c, cOffset: 0, batch: 1, m: 0, n: 3, k: 4 });
  assert.equal(Array.from(c), [7, 0, 0, 0, 0, 0, 0, 7]);
});

test.run();
