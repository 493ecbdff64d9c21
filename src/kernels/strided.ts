// Reference kernels over strided views: elementwise maps, broadcasting binary
// maps and reductions. Each walks the output in row-major order with an
// odometer over the outer dims and a tight loop over the innermost one.

import type { TypedArray } from './dtype.js';

export interface View {
  readonly data: TypedArray;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
}

function isDense(v: View): boolean {
  let expect = 1;
  for (let i = v.shape.length - 1; i >= 0; i--) {
    if (v.shape[i] !== 1 && v.strides[i] !== expect) return false;
    expect *= v.shape[i]!;
  }
  return true;
}

export function mapUnary(x: View, out: TypedArray, f: (v: number) => number): void {
  const n = out.length;
  const src = x.data;
  if (isDense(x)) {
    const o = x.offset;
    for (let i = 0; i < n; i++) out[i] = f(src[o + i]!);
    return;
  }
  walk1(x, n, (o, p, inner, s) => {
    for (let j = 0; j < inner; j++) out[o + j] = f(src[p + j * s]!);
  });
}

export type BinOp = 'add' | 'sub' | 'mul' | 'div';

type Run = (out: TypedArray, o: number, A: TypedArray, pa: number, sa: number, B: TypedArray, pb: number, sb: number, n: number) => void;

// One loop per arithmetic op, so the hot loop has no call per element.
const RUNS: Record<BinOp, Run> = {
  add: (out, o, A, pa, sa, B, pb, sb, n) => {
    for (let j = 0; j < n; j++) out[o + j] = A[pa + j * sa]! + B[pb + j * sb]!;
  },
  sub: (out, o, A, pa, sa, B, pb, sb, n) => {
    for (let j = 0; j < n; j++) out[o + j] = A[pa + j * sa]! - B[pb + j * sb]!;
  },
  mul: (out, o, A, pa, sa, B, pb, sb, n) => {
    for (let j = 0; j < n; j++) out[o + j] = A[pa + j * sa]! * B[pb + j * sb]!;
  },
  div: (out, o, A, pa, sa, B, pb, sb, n) => {
    for (let j = 0; j < n; j++) out[o + j] = A[pa + j * sa]! / B[pb + j * sb]!;
  },
};

type DenseRun = (out: TypedArray, A: TypedArray, pa: number, B: TypedArray, pb: number, n: number) => void;

// Both operands dense: unit strides, no index multiplies (e.g. summing two
// gradients of a residual stream in the backward).
const DENSE: Record<BinOp, DenseRun> = {
  add: (out, A, pa, B, pb, n) => {
    for (let j = 0; j < n; j++) out[j] = A[pa + j]! + B[pb + j]!;
  },
  sub: (out, A, pa, B, pb, n) => {
    for (let j = 0; j < n; j++) out[j] = A[pa + j]! - B[pb + j]!;
  },
  mul: (out, A, pa, B, pb, n) => {
    for (let j = 0; j < n; j++) out[j] = A[pa + j]! * B[pb + j]!;
  },
  div: (out, A, pa, B, pb, n) => {
    for (let j = 0; j < n; j++) out[j] = A[pa + j]! / B[pb + j]!;
  },
};

/** Broadcasting arithmetic: like mapBinary, with a dedicated loop per op. */
export function mapArith(a: View, b: View, shape: readonly number[], out: TypedArray, op: BinOp): void {
  const A = a.data;
  const B = b.data;
  if (isDense(a) && isDense(b)) return DENSE[op](out, A, a.offset, B, b.offset, out.length);
  const run = RUNS[op];
  walk2(a, b, shape, out.length, (o, pa, sa, pb, sb, n) => run(out, o, A, pa, sa, B, pb, sb, n));
}

/** a and b carry strides already aligned to `shape` (0 where broadcast). */
export function mapBinary(a: View, b: View, shape: readonly number[], out: TypedArray, f: (x: number, y: number) => number): void {
  const A = a.data;
  const B = b.data;
  walk2(a, b, shape, out.length, (o, pa, sa, pb, sb, n) => {
    for (let j = 0; j < n; j++) out[o + j] = f(A[pa + j * sa]!, B[pb + j * sb]!);
  });
}

/**
 * Visit two aligned views in row-major output order, one innermost run at a
 * time: (outIndex, aIndex, aStride, bIndex, bStride, runLength). Two dense
 * views are a single run.
 */
function walk2(
  a: View,
  b: View,
  shape: readonly number[],
  n: number,
  run: (o: number, pa: number, sa: number, pb: number, sb: number, len: number) => void,
): void {
  if (n === 0) return;
  if (isDense(a) && isDense(b)) return run(0, a.offset, 1, b.offset, 1, n);
  const rank = shape.length;
  const inner = shape[rank - 1]!;
  const sa = a.strides[rank - 1]!;
  const sb = b.strides[rank - 1]!;
  const idx = new Array<number>(rank).fill(0);
  let pa = a.offset;
  let pb = b.offset;
  for (let o = 0; o < n; o += inner) {
    run(o, pa, sa, pb, sb, inner);
    for (let d = rank - 2; d >= 0; d--) {
      idx[d]!++;
      pa += a.strides[d]!;
      pb += b.strides[d]!;
      if (idx[d]! < shape[d]!) break;
      pa -= a.strides[d]! * shape[d]!;
      pb -= b.strides[d]! * shape[d]!;
      idx[d] = 0;
    }
  }
}

/** Visit a view in row-major order, one innermost run at a time: (outIndex, srcIndex, runLength, srcStride). */
export function walk1(x: View, n: number, run: (o: number, p: number, inner: number, stride: number) => void): void {
  const rank = x.shape.length;
  if (n === 0) return;
  if (rank === 0) {
    run(0, x.offset, 1, 1);
    return;
  }
  const inner = x.shape[rank - 1]!;
  const s = x.strides[rank - 1]!;
  const idx = new Array<number>(rank).fill(0);
  let p = x.offset;
  for (let o = 0; o < n; o += inner) {
    run(o, p, inner, s);
    for (let d = rank - 2; d >= 0; d--) {
      idx[d]!++;
      p += x.strides[d]!;
      if (idx[d]! < x.shape[d]!) break;
      p -= x.strides[d]! * x.shape[d]!;
      idx[d] = 0;
    }
  }
}

export type ReduceOp = 'sum' | 'max' | 'min';

/**
 * Reduce x into out: `outStrides` has x's rank, 0 on reduced axes, so every
 * input element lands on out[sum idx*outStride]. `out` must be pre-filled
 * with the identity of `op`. One loop per op and per case of the innermost
 * axis (reduced into one accumulator, or kept), so the hot loops make no calls.
 */
export function reduceInto(x: View, outStrides: readonly number[], out: TypedArray, op: ReduceOp): void {
  const rank = x.shape.length;
  let n = 1;
  for (const d of x.shape) n *= d;
  if (n === 0) return;
  const src = x.data;
  if (rank === 0) {
    out[0] = combine(op, out[0]!, src[x.offset]!);
    return;
  }
  const inner = x.shape[rank - 1]!;
  const s = x.strides[rank - 1]!;
  const os = outStrides[rank - 1]!;
  const idx = new Array<number>(rank).fill(0);
  let p = x.offset;
  let q = 0;
  for (let o = 0; o < n; o += inner) {
    if (os === 0) out[q] = foldRun(op, out[q]!, src, p, s, inner);
    else mergeRun(op, out, q, os, src, p, s, inner);
    for (let d = rank - 2; d >= 0; d--) {
      idx[d]!++;
      p += x.strides[d]!;
      q += outStrides[d]!;
      if (idx[d]! < x.shape[d]!) break;
      p -= x.strides[d]! * x.shape[d]!;
      q -= outStrides[d]! * x.shape[d]!;
      idx[d] = 0;
    }
  }
}

function combine(op: ReduceOp, a: number, v: number): number {
  return op === 'sum' ? a + v : op === 'max' ? (v > a ? v : a) : v < a ? v : a;
}

/** acc folded with src[p + j*s], j < n. */
function foldRun(op: ReduceOp, acc: number, src: TypedArray, p: number, s: number, n: number): number {
  if (op === 'sum') for (let j = 0; j < n; j++) acc += src[p + j * s]!;
  else if (op === 'max') {
    for (let j = 0; j < n; j++) {
      const v = src[p + j * s]!;
      if (v > acc) acc = v;
    }
  } else {
    for (let j = 0; j < n; j++) {
      const v = src[p + j * s]!;
      if (v < acc) acc = v;
    }
  }
  return acc;
}

/** out[q + j*os] folded with src[p + j*s], j < n. */
function mergeRun(op: ReduceOp, out: TypedArray, q: number, os: number, src: TypedArray, p: number, s: number, n: number): void {
  if (op === 'sum') for (let j = 0; j < n; j++) out[q + j * os]! += src[p + j * s]!;
  else if (op === 'max') {
    for (let j = 0; j < n; j++) {
      const v = src[p + j * s]!;
      if (v > out[q + j * os]!) out[q + j * os] = v;
    }
  } else {
    for (let j = 0; j < n; j++) {
      const v = src[p + j * s]!;
      if (v < out[q + j * os]!) out[q + j * os] = v;
    }
  }
}

/** Write a dense row-major `src` into a strided destination view (used to scatter gradients). */
export function assignStrided(dst: View, src: TypedArray, accumulate: boolean): void {
  let n = 1;
  for (const d of dst.shape) n *= d;
  const D = dst.data;
  walk1(dst, n, (o, p, inner, s) => {
    if (accumulate) for (let j = 0; j < inner; j++) D[p + j * s]! += src[o + j]!;
    else for (let j = 0; j < inner; j++) D[p + j * s] = src[o + j]!;
  });
}
