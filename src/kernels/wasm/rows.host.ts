// Host side of the row kernels: copy the input rows into wasm memory, run
// the row job over the threads, copy the outputs back. Non-float32 arrays go
// to the reference kernels.

import { jsBackend } from '../js.js';
import type { TypedArray } from '../dtype.js';
import { writeJob } from './jobs.js';
import { rowsJob } from './codec.js';
import { RowOp } from './rows.kernel.js';
import type { Runtime } from './runtime.js';

type Op = (typeof RowOp)[keyof typeof RowOp];

/**
 * Elements from which a second thread pays off (measured): softmax and GELU,
 * with their exp, have enough arithmetic; the others are bound by the copies
 * in and out.
 */
const PARALLEL_MIN_ELEMS: Record<Op, number> = {
  [RowOp.Softmax]: 1 << 15,
  [RowOp.SoftmaxBackward]: Infinity,
  [RowOp.LayerNorm]: Infinity,
  [RowOp.LayerNormBackward]: Infinity,
  [RowOp.Gelu]: 1 << 13,
  [RowOp.GeluBackward]: 1 << 13,
};

/** Below this many elements the reference kernels beat the fixed cost of a wasm call. */
const MIN_ELEMS = 256;
/** The same for GELU (measured: ~1.5 us fixed cost against 15-25 ns per element in JS). */
const GELU_MIN_ELEMS = 128;

/** One array argument of a row kernel: `width` floats per row, copied in or out. */
interface Slot {
  data: Float32Array;
  width: number;
  out: boolean;
  /** The same `width` floats for every row (e.g. a layer norm's weight and bias), copied in once. */
  shared?: boolean;
}

const align64 = (bytes: number): number => Math.ceil(bytes / 64) * 64;

/**
 * Run a row kernel whose array parameters are `slots`, in the kernel's
 * parameter order; units of rows are multiples of `granule` rows.
 */
function runRowCall(rt: Runtime, op: Op, rows: number, cols: number, slots: Slot[], eps = 0, granule = 1): void {
  const bytesPerRow = slots.reduce((s, x) => s + (x.shared ? 0 : x.width * 4), 0);
  const sharedBytes = slots.reduce((s, x) => s + (x.shared ? x.width * 4 : 0), 0);
  // chunks of rows that fit in memory (everything, in practice)
  const chunk = Math.max(1, Math.min(rows, Math.floor((rt.maxBytes - 64 * slots.length - sharedBytes) / bytesPerRow)));
  for (let r0 = 0; r0 < rows; r0 += chunk) {
    const nr = Math.min(chunk, rows - r0);
    const sizes = slots.map((x) => align64((x.shared ? 1 : nr) * x.width * 4));
    const bytes = sizes.reduce((a, b) => a + b, 0);
    const ptrs: number[] = [];
    let at = rt.base;
    for (const size of sizes) {
      ptrs.push(at);
      at += size;
    }
    const threads = nr * cols < PARALLEL_MIN_ELEMS[op] ? 1 : rt.threads;
    // about four units per thread, claimed dynamically
    const perUnit = threads === 1 ? nr : Math.max(1, Math.ceil(nr / (4 * threads * granule))) * granule;
    rt.run(Math.ceil(nr / perUnit), threads, () => {
      const mem = rt.f32(bytes);
      slots.forEach((x, i) => {
        if (x.shared) mem.set(x.data.subarray(0, x.width), ptrs[i]! / 4);
        else if (!x.out) mem.set(x.data.subarray(r0 * x.width, (r0 + nr) * x.width), ptrs[i]! / 4);
      });
      const [p0 = 0, p1 = 0, p2 = 0, p3 = 0, p4 = 0] = ptrs;
      writeJob(rt.ctl, rowsJob, { op, p0, p1, p2, p3, p4, cols, eps, rows: nr, per: perUnit });
    });
    const mem = rt.f32(bytes);
    slots.forEach((x, i) => {
      if (x.out) x.data.set(mem.subarray(ptrs[i]! / 4, ptrs[i]! / 4 + nr * x.width), r0 * x.width);
    });
  }
}

const isF32 = (x: TypedArray): x is Float32Array => x instanceof Float32Array;

export function wasmSoftmax(rt: Runtime, x: TypedArray, y: TypedArray, rows: number, cols: number): void {
  if (!isF32(x) || !isF32(y) || rt.small(rows * cols, MIN_ELEMS)) return jsBackend.softmax(x, y, rows, cols);
  runRowCall(rt, RowOp.Softmax, rows, cols, [
    { data: x, width: cols, out: false },
    { data: y, width: cols, out: true },
  ]);
}

export function wasmSoftmaxBackward(rt: Runtime, y: TypedArray, dy: TypedArray, dx: TypedArray, rows: number, cols: number): void {
  if (!isF32(y) || !isF32(dy) || !isF32(dx) || rt.small(rows * cols, MIN_ELEMS)) return jsBackend.softmaxBackward(y, dy, dx, rows, cols);
  runRowCall(rt, RowOp.SoftmaxBackward, rows, cols, [
    { data: y, width: cols, out: false },
    { data: dy, width: cols, out: false },
    { data: dx, width: cols, out: true },
  ]);
}

export function wasmLayerNorm(
  rt: Runtime,
  x: TypedArray,
  y: TypedArray,
  rstd: TypedArray,
  rows: number,
  cols: number,
  eps: number,
  weight?: TypedArray | null,
  bias?: TypedArray | null,
  xhat?: TypedArray | null,
): void {
  const plain = !isF32(x) || !isF32(y) || !isF32(rstd) || (weight && !isF32(weight)) || (bias && !isF32(bias)) || (xhat && !isF32(xhat));
  if (plain || rt.small(rows * cols, MIN_ELEMS)) return jsBackend.layerNorm(x, y, rstd, rows, cols, eps, weight, bias, xhat);
  const slots: Slot[] = [
    { data: x, width: cols, out: false },
    { data: y, width: cols, out: true },
    { data: rstd, width: 1, out: true },
  ];
  if (weight) {
    // the kernel reads the weight and then the bias from one place
    const wb = new Float32Array(2 * cols);
    wb.set(weight.subarray(0, cols));
    if (bias) wb.set(bias.subarray(0, cols), cols);
    slots.push({ data: wb, width: 2 * cols, out: false, shared: true });
    if (xhat) slots.push({ data: xhat, width: cols, out: true });
  }
  runRowCall(rt, RowOp.LayerNorm, rows, cols, slots, eps);
}

export function wasmLayerNormBackward(
  rt: Runtime,
  y: TypedArray,
  rstd: TypedArray,
  dy: TypedArray,
  dx: TypedArray,
  rows: number,
  cols: number,
  weight?: TypedArray | null,
): void {
  const plain = !isF32(y) || !isF32(rstd) || !isF32(dy) || !isF32(dx) || (weight && !isF32(weight));
  if (plain || rt.small(rows * cols, MIN_ELEMS)) return jsBackend.layerNormBackward(y, rstd, dy, dx, rows, cols, weight);
  const slots: Slot[] = [
    { data: y, width: cols, out: false },
    { data: rstd, width: 1, out: false },
    { data: dy, width: cols, out: false },
    { data: dx, width: cols, out: true },
  ];
  if (weight) slots.push({ data: weight, width: cols, out: false, shared: true });
  runRowCall(rt, RowOp.LayerNormBackward, rows, cols, slots);
}

/** Elements per GELU unit are whole vectors (the kernels round their ranges up to them). */
const VEC = 4;

export function wasmGelu(rt: Runtime, x: TypedArray, y: TypedArray, n: number): void {
  if (!isF32(x) || !isF32(y) || rt.small(n, GELU_MIN_ELEMS)) return jsBackend.gelu(x, y, n);
  runRowCall(
    rt,
    RowOp.Gelu,
    n,
    1,
    [
      { data: x, width: 1, out: false },
      { data: y, width: 1, out: true },
    ],
    0,
    VEC,
  );
}

export function wasmGeluBackward(rt: Runtime, x: TypedArray, dy: TypedArray, dx: TypedArray, n: number): void {
  if (!isF32(x) || !isF32(dy) || !isF32(dx) || rt.small(n, GELU_MIN_ELEMS)) return jsBackend.geluBackward(x, dy, dx, n);
  runRowCall(
    rt,
    RowOp.GeluBackward,
    n,
    1,
    [
      { data: x, width: 1, out: false },
      { data: dy, width: 1, out: false },
      { data: dx, width: 1, out: true },
    ],
    0,
    VEC,
  );
}
