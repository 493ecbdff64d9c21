// The kernel interface. A backend supplies the heavy, contiguous kernels
// (matmul, softmax, layer norm); everything strided or elementwise runs in
// the reference kernels shared by all backends. Backends work on float32;
// float64 always runs on the reference backend (it exists for gradient checks).

import type { TypedArray } from './dtype.js';

/**
 * c[b] = op(A[b]) @ op(B[b]) for b < batch, with A stored row-major as [m, k]
 * (or [k, m] when transA) and B as [k, n] (or [n, k] when transB). c is
 * contiguous [batch, m, n] from cOffset and is overwritten. strideA/strideB are
 * the element distances between batch items (0 broadcasts one matrix). Rows of
 * the stored A and B may be further apart than their length (lda, ldb: views
 * such as the q, k, v column blocks of a fused qkv output); an optional bias
 * row is added to C (a linear layer in one pass).
 */
export interface MatmulArgs {
  /** lda/ldb: element distance between consecutive stored rows of A / B (default: dense rows) */
  lda?: number;
  ldb?: number;
  /** added to every row of C: c[b, i, j] += bias[biasOffset + j] */
  bias?: TypedArray;
  biasOffset?: number;
  /** C holds an addend on entry: c = addend + op(A) op(B) [+ bias] (a residual connection in the same pass) */
  accumulate?: boolean;
  /** applied to every element of the finished C (after bias and addend) */
  epilogue?: 'gelu';
  /** with an epilogue: receives C as it was before it (batch*m*n floats from 0), what a GELU's gradient needs */
  preActivation?: TypedArray;
  /**
   * B's elements will not change while its array lives (frozen weights), so
   * a backend may keep a prepared copy of it keyed by the array's identity.
   */
  constantB?: boolean;
  a: TypedArray;
  aOffset: number;
  strideA: number;
  transA: boolean;
  b: TypedArray;
  bOffset: number;
  strideB: number;
  transB: boolean;
  c: TypedArray;
  cOffset: number;
  batch: number;
  m: number;
  n: number;
  k: number;
}

/**
 * A transformer MLP, out = residual + gelu(x W1^T + b1) W2^T + b2, with the
 * weights in PyTorch's [out, in] layout, dense from their offsets. Only the
 * forward: the hidden activations need not leave the kernel.
 */
export interface MlpArgs {
  /** Dense [rows, d]. */
  x: TypedArray;
  rows: number;
  d: number;
  hidden: number;
  /** [hidden, d] from w1Offset; [d, hidden] from w2Offset. */
  w1: TypedArray;
  w1Offset: number;
  w2: TypedArray;
  w2Offset: number;
  /** Length hidden and d, or null. */
  b1: TypedArray | null;
  b2: TypedArray | null;
  /** Dense [rows, d] added to the output, or null. */
  residual: TypedArray | null;
  /** Dense [rows, d], every element written. */
  out: TypedArray;
  /** Both weights are frozen (a backend may keep prepared copies, as for MatmulArgs.constantB). */
  constant: boolean;
}

export interface Kernels {
  matmul(p: MatmulArgs): void;
  /** Row softmax of a contiguous [rows, cols] block. */
  softmax(x: TypedArray, y: TypedArray, rows: number, cols: number): void;
  /** dx = y * (dy - sum(dy * y)) per row (the fused softmax gradient). */
  softmaxBackward(y: TypedArray, dy: TypedArray, dx: TypedArray, rows: number, cols: number): void;
  /**
   * y = (x - mean) * rstd per row; writes rstd (length rows) for the backward.
   * With a weight (and bias, length cols) y is the affine output instead,
   * xhat * weight + bias, in the same pass, and xhat goes to `xhat` when
   * that is given (the tape keeps it for the backward).
   */
  layerNorm(
    x: TypedArray,
    y: TypedArray,
    rstd: TypedArray,
    rows: number,
    cols: number,
    eps: number,
    weight?: TypedArray | null,
    bias?: TypedArray | null,
    xhat?: TypedArray | null,
  ): void;
  /**
   * dx = rstd * (dy - mean(dy) - y * mean(dy * y)) per row, y the normalised
   * output; with a weight, dy is first multiplied by it (the affine part).
   */
  layerNormBackward(y: TypedArray, rstd: TypedArray, dy: TypedArray, dx: TypedArray, rows: number, cols: number, weight?: TypedArray | null): void;
  /** y = x Phi(x), exact-erf GELU, over n contiguous elements. */
  gelu(x: TypedArray, y: TypedArray, n: number): void;
  /** dx = dy (Phi(x) + x phi(x)). */
  geluBackward(x: TypedArray, dy: TypedArray, dx: TypedArray, n: number): void;
  /**
   * Multi-head self-attention from a fused projection, forward: qkv is
   * contiguous [batch, tokens, 3D] with D = heads * headDim, columns [0, D) q,
   * [D, 2D) k, [2D, 3D) v, head h in columns h*headDim..(h+1)*headDim of each.
   * Writes attn [batch, heads, tokens, tokens] = softmax_row(scale * q_h k_h^T)
   * and out [batch, tokens, D], out[b, n, h*headDim + j] = sum_m attn[b, h, n, m] v[b, m, h*headDim + j]
   * (the heads already merged back). attn may be null when the maps are not
   * wanted (they are then not copied out). The backward is attentionBackward.
   */
  attention(qkv: TypedArray, out: TypedArray, attn: TypedArray | null, batch: number, tokens: number, heads: number, headDim: number, scale: number): void;
  /**
   * The gradient of attention with respect to qkv, from the probabilities
   * attn it wrote and the gradient g [batch, tokens, D] of out. Per item and
   * head, with P = attn, dO = g's columns of the head and Q, K, V its q, k,
   * v columns:
   *   dV = P^T dO,  dP = dO V^T,  dS = scale * P * (dP - rowsum(dP * P)),  dQ = dS K,  dK = dS^T Q
   * written to dqkv [batch, tokens, 3D] laid out like qkv (every element is
   * overwritten).
   */
  attentionBackward(
    qkv: TypedArray,
    attn: TypedArray,
    g: TypedArray,
    dqkv: TypedArray,
    batch: number,
    tokens: number,
    heads: number,
    headDim: number,
    scale: number,
  ): void;
  /** A transformer MLP forward in one call (see MlpArgs); the registry composes it from matmul where a backend has none. */
  mlp(p: MlpArgs): void;
}

export type KernelName = keyof Kernels;

export interface Backend extends Kernels {
  readonly name: string;
  /** Whether matmul handles lda/ldb and bias itself (the registry adapts backends that do not). */
  readonly matmulExtended?: boolean;
  /** Release worker threads, GPU contexts and so on. */
  dispose?(): void;
  /** Kernel calls this backend ran itself, not handed to the reference (tests prove the named backend ran). */
  ownCalls?(): number;
  /** What runs, in words ("wasm: 2 threads, SIMD", "gpujs: webgl2"), for pages and logs. */
  describe?(): string;
}

/** A backend may implement only some kernels; the rest come from the reference. */
export type PartialBackend = Partial<Kernels> & {
  readonly name: string;
  readonly matmulExtended?: boolean;
  dispose?(): void;
  ownCalls?(): number;
  describe?(): string;
};

/** Row distance of the stored A and B of a matmul (dense unless lda/ldb say otherwise). */
export function leadingDims(p: MatmulArgs): { lda: number; ldb: number } {
  return { lda: p.lda ?? (p.transA ? p.m : p.k), ldb: p.ldb ?? (p.transB ? p.k : p.n) };
}
