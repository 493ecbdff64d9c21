// The heavy primitives, dispatched to the active backend: matmul, softmax,
// layer norm. float64 always runs on the reference backend.

import type { Kernels, MatmulArgs } from '../kernels/backend.js';
import { getBackend, referenceBackend } from '../kernels/registry.js';
import type { DType, TypedArray } from '../kernels/dtype.js';
import { allocate } from '../kernels/dtype.js';
import { record, wouldRecord } from './node.js';
import { broadcastShapes, shapesEqual, sizeOf } from './shape.js';
import { Tensor, isFrozen } from './tensor.js';

export function kernelsFor(dtype: DType): Kernels {
  return dtype === 'float32' ? getBackend() : referenceBackend;
}

interface MatOperand {
  data: TypedArray;
  offset: number;
  stride: number;
  trans: boolean;
  /** distance between stored rows (row-strided views need no copy) */
  ld: number;
}

/**
 * Present the last two dims of t as a matrix (possibly transposed, possibly
 * with rows further apart than their length) with a uniform stride between
 * batch items, copying only when the view is not laid out that way.
 */
function matOperand(t: Tensor, batchShape: readonly number[]): MatOperand {
  const r = t.rank;
  const rows = t.shape[r - 2]!;
  const cols = t.shape[r - 1]!;
  const s0 = t.strides[r - 2]!;
  const s1 = t.strides[r - 1]!;
  let trans: boolean | null = null;
  let ld = 0;
  if ((s1 === 1 || cols === 1) && (rows === 1 || s0 >= cols)) {
    trans = false;
    ld = rows === 1 ? cols : s0;
  } else if ((s0 === 1 || rows === 1) && (cols === 1 || s1 >= rows)) {
    trans = true;
    ld = cols === 1 ? rows : s1;
  }
  const batch = sizeOf(batchShape);
  const ownBatch = t.shape.slice(0, r - 2);
  if (trans !== null) {
    if (sizeOf(ownBatch) === 1) return { data: t.data, offset: t.offset, stride: 0, trans, ld };
    // batch dims must match exactly and be evenly spaced
    const off = batchShape.length - ownBatch.length;
    const step = uniformStep(ownBatch, t.strides.slice(0, r - 2));
    if (step !== null && batch === sizeOf(ownBatch) && ownBatch.every((d, i) => d === batchShape[off + i])) {
      return { data: t.data, offset: t.offset, stride: step, trans, ld };
    }
  }
  // fall back: materialise the broadcast operand densely
  const full = [...batchShape, rows, cols];
  const off = full.length - r;
  const strides = new Array<number>(full.length).fill(0);
  for (let i = 0; i < r; i++) strides[off + i] = t.shape[i] === 1 && full[off + i] !== 1 ? 0 : t.strides[i]!;
  const dense = new Tensor(t.data, full, strides, t.offset).contiguousData();
  return { data: dense, offset: 0, stride: rows * cols, trans: false, ld: cols };
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
    a: A.data,
    aOffset: A.offset,
    strideA: A.stride,
    transA: A.trans,
    lda: A.ld,
    b: B.data,
    bOffset: B.offset,
    strideB: B.stride,
    transB: B.trans,
    ldb: B.ld,
    // e.g. a frozen weight in the backward of a linear layer (dx = g W)
    constantB: B.data === b.data && B.stride === 0 && isFrozen(b),
    c,
    cOffset: 0,
    batch,
    m,
    n,
    k,
  });
  return record('matmul', [a, b], {}, new Tensor(c, shape));
}

/**
 * A linear layer, x W^T + b with W stored [out, in] (PyTorch's layout): one
 * kernel call with the bias fused, over all leading dims of x at once. With
 * `residual` (shaped like the output) the call computes residual + x W^T + b,
 * a transformer block's skip connection, without a separate add pass.
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null, residual?: Tensor | null): Tensor {
  const shape = linearShape(x, weight, bias);
  const c = allocate(x.dtype, sizeOf(shape));
  if (residual) {
    if (!shapesEqual(residual.shape, shape) || residual.dtype !== x.dtype) {
      throw new Error(`linear: residual [${residual.shape}] does not match the output [${shape}]`);
    }
    c.set(residual.contiguousData());
  }
  linearKernel(x, weight, bias, c, { accumulate: !!residual });
  const inputs = [x, weight];
  if (bias) inputs.push(bias);
  if (residual) inputs.push(residual);
  return record('linear', inputs, { bias: !!bias, residual: !!residual }, new Tensor(c, shape));
}

/**
 * gelu(x W^T + b), the GELU run inside the matmul call on the finished
 * tiles. When a gradient is needed the same call also hands back the
 * pre-activation, and the tape records it as a linear node followed by a gelu
 * node, exactly as gelu(linear(x, W, b)) would.
 */
export function linearGelu(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  const shape = linearShape(x, weight, bias);
  const c = allocate(x.dtype, sizeOf(shape));
  if (!wouldRecord([x, weight, bias])) {
    linearKernel(x, weight, bias, c, { epilogue: 'gelu' });
    return new Tensor(c, shape);
  }
  const pre = allocate(x.dtype, c.length);
  linearKernel(x, weight, bias, c, { epilogue: 'gelu', preActivation: pre });
  const inputs = bias ? [x, weight, bias] : [x, weight];
  const h = record('linear', inputs, { bias: !!bias, residual: false }, new Tensor(pre, shape));
  return record('gelu', [h], {}, new Tensor(c, shape));
}

/**
 * A transformer MLP, linear(linearGelu(x, w1, b1), w2, b2, residual). Where
 * nothing is recorded (and the weights are dense, fc2 back to x's width)
 * it is one kernel call, Kernels.mlp, which may keep the hidden activations
 * to itself; otherwise exactly that composition, with its gradients.
 */
export function linearGeluLinear(
  x: Tensor,
  w1: Tensor,
  b1: Tensor | null | undefined,
  w2: Tensor,
  b2: Tensor | null | undefined,
  residual?: Tensor | null,
): Tensor {
  const composite = (): Tensor => linear(linearGelu(x, w1, b1), w2, b2, residual);
  if (wouldRecord([x, w1, b1, w2, b2, residual]) || !w1.isContiguous() || !w2.isContiguous()) return composite();
  const hShape = linearShape(x, w1, b1);
  const hidden = hShape[hShape.length - 1]!;
  const d = x.shape[x.rank - 1]!;
  // errors (and any other shape) are the composition's
  if (w2.rank !== 2 || w2.shape[0] !== d || w2.shape[1] !== hidden || w2.dtype !== x.dtype) return composite();
  if (b2 && (b2.size !== d || b2.dtype !== x.dtype)) return composite();
  if (residual && (!shapesEqual(residual.shape, x.shape) || residual.dtype !== x.dtype)) return composite();
  const out = allocate(x.dtype, x.size);
  kernelsFor(x.dtype).mlp({
    x: x.contiguousData(),
    rows: x.size / d,
    d,
    hidden,
    w1: w1.data,
    w1Offset: w1.offset,
    w2: w2.data,
    w2Offset: w2.offset,
    b1: b1 ? b1.contiguousData() : null,
    b2: b2 ? b2.contiguousData() : null,
    residual: residual ? residual.contiguousData() : null,
    out,
    constant: isFrozen(w1) && isFrozen(w2),
  });
  return new Tensor(out, x.shape);
}

function linearShape(x: Tensor, weight: Tensor, bias?: Tensor | null): number[] {
  if (weight.rank !== 2) throw new Error(`linear weight must be [out, in], got [${weight.shape}]`);
  const [out, inp] = weight.shape as [number, number];
  const k = x.shape[x.rank - 1]!;
  if (k !== inp) throw new Error(`linear: input features ${k} do not match weight [${weight.shape}]`);
  if (bias && (bias.size !== out || bias.dtype !== x.dtype)) throw new Error(`linear: bias [${bias.shape}] does not fit ${out} outputs`);
  if (x.dtype !== weight.dtype) throw new Error(`dtype mismatch: ${x.dtype} and ${weight.dtype}`);
  return [...x.shape.slice(0, -1), out];
}

function linearKernel(
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null | undefined,
  c: TypedArray,
  extra: Pick<MatmulArgs, 'accumulate' | 'epilogue' | 'preActivation'>,
): void {
  const [out, k] = weight.shape as [number, number];
  const m = x.size / k;
  // x as [m, k] rows: no copy when its rows are evenly spaced
  const X = matOperand(rowsView(x, m, k), []);
  const W = matOperand(weight, []);
  kernelsFor(x.dtype).matmul({
    a: X.data,
    aOffset: X.offset,
    strideA: 0,
    transA: X.trans,
    lda: X.ld,
    b: W.data,
    bOffset: W.offset,
    strideB: 0,
    transB: !W.trans,
    ldb: W.ld,
    constantB: isFrozen(weight),
    c,
    cOffset: 0,
    batch: 1,
    m,
    n: out,
    k,
    ...(bias ? { bias: bias.contiguousData(), biasOffset: 0 } : {}),
    ...extra,
  });
}

/** x [..., k] seen as [m, k]: a view when the leading dims collapse to one evenly spaced axis. */
function rowsView(x: Tensor, m: number, k: number): Tensor {
  const r = x.rank;
  if (r === 2) return x;
  const step = uniformStep(x.shape.slice(0, r - 1), x.strides.slice(0, r - 1));
  if (step !== null) return new Tensor(x.data, [m, k], [step === 0 ? k : step, x.strides[r - 1]!], x.offset);
  return new Tensor(x.contiguousData(), [m, k]);
}

/**
 * When dims of these sizes and strides walk memory in equal steps (they
 * collapse to one axis), that step; 0 when every dim has size 1; else null.
 */
function uniformStep(shape: readonly number[], strides: readonly number[]): number | null {
  let step = 0;
  let expect = -1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const d = shape[i]!;
    if (d === 1) continue;
    if (expect === -1) {
      step = strides[i]!;
      expect = step * d;
    } else if (strides[i] !== expect) return null;
    else expect *= d;
  }
  return step;
}

/** Softmax over the last axis (fused forward; the backward is fused too). */
export function softmax(x: Tensor): Tensor {
  const cols = x.shape[x.rank - 1] ?? 1;
  const rows = x.size / cols;
  const y = allocate(x.dtype, x.size);
  kernelsFor(x.dtype).softmax(x.contiguousData(), y, rows, cols);
  return record('softmax', [x], {}, new Tensor(y, x.shape));
}

/**
 * LayerNorm over the last axis: (x - mean) / sqrt(var + eps) (biased
 * variance), times weight plus bias when given, in one fused op with its own
 * gradient. Saved for the backward: rstd per row and the normalised x.
 */
export function layerNorm(x: Tensor, eps: number, weight?: Tensor | null, bias?: Tensor | null): Tensor {
  const cols = x.shape[x.rank - 1] ?? 1;
  const rows = x.size / cols;
  if (!weight && bias) throw new Error('layerNorm: a bias needs a weight');
  for (const [name, t] of [
    ['weight', weight],
    ['bias', bias],
  ] as const) {
    if (t && (t.size !== cols || t.dtype !== x.dtype)) throw new Error(`layerNorm: ${name} [${t.shape}] does not fit ${cols} features`);
  }
  const kernels = kernelsFor(x.dtype);
  const w = weight ? weight.contiguousData() : null;
  const b = bias ? bias.contiguousData() : null;
  const rstd = allocate(x.dtype, rows);
  if (w && !wouldRecord([x, weight, bias])) {
    // nothing will need xhat: the kernel applies the affine part in the same pass
    const y = allocate(x.dtype, x.size);
    kernels.layerNorm(x.contiguousData(), y, rstd, rows, cols, eps, w, b);
    return new Tensor(y, x.shape);
  }
  const xhat = allocate(x.dtype, x.size);
  const rs = new Tensor(rstd, [rows]);
  if (!weight || !w) {
    kernels.layerNorm(x.contiguousData(), xhat, rstd, rows, cols, eps);
    return record('layerNorm', [x], { eps }, new Tensor(xhat, x.shape), [rs]);
  }
  // the tape keeps xhat for the backward: the kernel writes it beside y
  const y = allocate(x.dtype, x.size);
  kernels.layerNorm(x.contiguousData(), y, rstd, rows, cols, eps, w, b, xhat);
  return record('layerNorm', bias ? [x, weight, bias] : [x, weight], { eps }, new Tensor(y, x.shape), [rs, new Tensor(xhat, x.shape)]);
}
