// The heavy primitives, dispatched to the active backend: matmul, softmax,
// layer norm. float64 always runs on the reference backend.

import type { Kernels } from '../kernels/backend.js';
import { getBackend, referenceBackend } from '../kernels/registry.js';
import type { DType, TypedArray } from './dtype.js';
import { allocate } from './dtype.js';
import { record } from './node.js';
import { broadcastShapes, sizeOf } from './shape.js';
import { Tensor } from './tensor.js';

export function kernelsFor(dtype: DType): Kernels {
  return dtype === 'float32' ? getBackend() : referenceBackend;
}

interface MatOperand {
  data: TypedArray;
  offset: number;
  stride: number;
  trans: boolean;
}

/**
 * Present the last two dims of t as a dense matrix (possibly transposed) with
 * a uniform stride between batch items, copying only when the view is not
 * already laid out that way.
 */
function matOperand(t: Tensor, batchShape: readonly number[]): MatOperand {
  const r = t.rank;
  const rows = t.shape[r - 2]!;
  const cols = t.shape[r - 1]!;
  const s0 = t.strides[r - 2]!;
  const s1 = t.strides[r - 1]!;
  let trans: boolean | null = null;
  if ((s1 === 1 || cols === 1) && (s0 === cols || rows === 1)) trans = false;
  else if ((s0 === 1 || rows === 1) && (s1 === rows || cols === 1)) trans = true;
  const batch = sizeOf(batchShape);
  const ownBatch = t.shape.slice(0, r - 2);
  if (trans !== null) {
    if (sizeOf(ownBatch) === 1) return { data: t.data, offset: t.offset, stride: 0, trans };
    // batch dims must match exactly and be evenly spaced
    const off = batchShape.length - ownBatch.length;
    let ok = ownBatch.every((d, i) => d === batchShape[off + i]);
    let stride = 0;
    if (ok) {
      // the innermost batch dim of size > 1 fixes the step; the others must nest
      let expect = -1;
      for (let i = ownBatch.length - 1; i >= 0; i--) {
        const d = ownBatch[i]!;
        if (d === 1) continue;
        if (expect === -1) {
          stride = t.strides[i]!;
          expect = stride * d;
        } else if (t.strides[i] !== expect) {
          ok = false;
          break;
        } else expect *= d;
      }
    }
    if (ok && (batch === sizeOf(ownBatch))) return { data: t.data, offset: t.offset, stride, trans };
  }
  // fall back: materialise the broadcast operand densely
  const full = [...batchShape, rows, cols];
  const off = full.length - r;
  const strides = new Array<number>(full.length).fill(0);
  for (let i = 0; i < r; i++) strides[off + i] = t.shape[i] === 1 && full[off + i] !== 1 ? 0 : t.strides[i]!;
  const dense = new Tensor(t.data, full, strides, t.offset).contiguousData();
  return { data: dense, offset: 0, stride: rows * cols, trans: false };
}

/** torch.matmul for rank >= 2: batch dims broadcast, transposed views need no copy. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.rank < 2 || b.rank < 2) throw new Error(`matmul needs rank >= 2, got [${a.shape}] and [${b.shape}]`);
  if (a.dtype !== b.dtype) throw new Error(`dtype mismatch: ${a.dtype} and ${b.dtype}`);
  const m = a.shape[a.rank - 2]!;
  const k = a.shape[a.rank - 1]!;
  const n = b.shape[b.rank - 1]!;
  if (b.shape[b.rank - 2] !== k) throw new Error(`matmul: [${a.shape}] @ [${b.shape}] inner dims differ`);
  const batchShape = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const batch = sizeOf(batchShape);
  const A = matOperand(a, batchShape);
  const B = matOperand(b, batchShape);
  const shape = [...batchShape, m, n];
  const c = allocate(a.dtype, sizeOf(shape));
  kernelsFor(a.dtype).matmul({
    a: A.data, aOffset: A.offset, strideA: A.stride, transA: A.trans,
    b: B.data, bOffset: B.offset, strideB: B.stride, transB: B.trans,
    c, cOffset: 0, batch, m, n, k,
  });
  return record('matmul', [a, b], {}, new Tensor(c, shape));
}

/** Softmax over the last axis (fused forward; the backward is fused too). */
export function softmax(x: Tensor): Tensor {
  const cols = x.shape[x.rank - 1] ?? 1;
  const rows = x.size / cols;
  const y = allocate(x.dtype, x.size);
  kernelsFor(x.dtype).softmax(x.contiguousData(), y, rows, cols);
  return record('softmax', [x], {}, new Tensor(y, x.shape));
}

/** (x - mean) / sqrt(var + eps) over the last axis, biased variance (no affine part). */
export function layerNorm(x: Tensor, eps: number): Tensor {
  const cols = x.shape[x.rank - 1] ?? 1;
  const rows = x.size / cols;
  const y = allocate(x.dtype, x.size);
  const rstd = allocate(x.dtype, rows);
  kernelsFor(x.dtype).layerNorm(x.contiguousData(), y, rstd, rows, cols, eps);
  const rs = new Tensor(rstd, [rows]);
  return record('layerNorm', [x], { eps }, new Tensor(y, x.shape), [rs]);
}
