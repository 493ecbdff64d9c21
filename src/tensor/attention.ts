// Multi-head self-attention as one primitive: from the fused q|k|v
// projection straight to the merged heads and the attention maps, in one
// kernel call forward; the backward (attentionBackward) is hand-fused from
// batched matmuls over the heads, reading q, k and v in place and writing
// dq|dk|dv straight into one gradient buffer. The probabilities come out as
// a side output without a gradient of their own: a method that
// differentiates with respect to the attention maps themselves must use the
// composite of primitives (attentionComposite in src/vit/block.ts).

import { record, wouldRecord } from './node.js';
import { allocate, type TypedArray } from './dtype.js';
import { kernelsFor } from './linalg.js';
import { Tensor } from './tensor.js';

export interface AttentionForward {
  /** [B, N, D], heads merged (before the output projection). */
  out: Tensor;
  /** [B, H, N, N] softmax probabilities (no gradient flows through these). */
  attn: Tensor;
}

/**
 * softmax(q k^T / sqrt(hd)) v per head from qkv [B, N, 3D] (columns q|k|v,
 * head h in columns h*hd..(h+1)*hd of each). Differentiable with respect to qkv.
 */
export function attentionForward(qkv: Tensor, heads: number): AttentionForward {
  const [b, n, d3] = checkedShape(qkv, heads);
  const d = d3 / 3;
  const hd = d / heads;
  const out = allocate(qkv.dtype, b * n * d);
  const attn = new Tensor(allocate(qkv.dtype, b * heads * n * n), [b, heads, n, n]);
  kernelsFor(qkv.dtype).attention(qkv.contiguousData(), out, attn.data, b, n, heads, hd, 1 / Math.sqrt(hd));
  return { out: record('attention', [qkv], { heads }, new Tensor(out, [b, n, d]), [attn]), attn };
}

/**
 * Only the merged heads of attentionForward. Where nothing is recorded the
 * probabilities are not copied out of the kernel at all (a plain forward
 * through the blocks, e.g. the batches of a perturbation curve, never reads them).
 */
export function attentionOutput(qkv: Tensor, heads: number): Tensor {
  if (wouldRecord([qkv])) return attentionForward(qkv, heads).out;
  const [b, n, d3] = checkedShape(qkv, heads);
  const d = d3 / 3;
  const hd = d / heads;
  const out = allocate(qkv.dtype, b * n * d);
  kernelsFor(qkv.dtype).attention(qkv.contiguousData(), out, null, b, n, heads, hd, 1 / Math.sqrt(hd));
  return new Tensor(out, [b, n, d]);
}

function checkedShape(qkv: Tensor, heads: number): [number, number, number] {
  if (qkv.rank !== 3) throw new Error(`attentionForward: qkv must be [B, N, 3D], got [${qkv.shape}]`);
  const [b, n, d3] = qkv.shape as [number, number, number];
  if (!Number.isInteger(heads) || heads <= 0 || d3 % (3 * heads) !== 0) {
    throw new Error(`attentionForward: ${d3} qkv features do not split into q, k, v of ${heads} heads`);
  }
  return [b, n, d3];
}

/**
 * d qkv from the gradient g [B, N, D] of the merged heads, per batch item and
 * all heads at once (head h of q, k, v and g are row-strided views, hd apart):
 *   dV = P^T dO,  dP = dO V^T,  dS = scale * softmax'(P) dP,  dQ = dS K,  dK = dS^T Q.
 */
export function attentionBackward(qkv: Tensor, attn: Tensor, g: Tensor, heads: number): Tensor {
  const [b, n, d3] = qkv.shape as [number, number, number];
  const d = d3 / 3;
  const hd = d / heads;
  const scale = 1 / Math.sqrt(hd);
  const K = kernelsFor(qkv.dtype);
  const X = qkv.contiguousData();
  const P = attn.contiguousData();
  const G = g.contiguousData();
  const dX = allocate(qkv.dtype, b * n * d3);
  const part = allocate(qkv.dtype, heads * n * hd); // one of dq, dk, dv, heads stacked
  const dP = allocate(qkv.dtype, heads * n * n);
  const dS = allocate(qkv.dtype, heads * n * n);
  const nn = n * n;
  for (let bi = 0; bi < b; bi++) {
    const xo = bi * n * d3;
    const go = bi * n * d;
    const po = bi * heads * nn;
    const batch = { batch: heads, c: part, cOffset: 0 };
    // dV_h = P_h^T dO_h
    K.matmul({ ...batch, a: P, aOffset: po, strideA: nn, transA: true, lda: n, b: G, bOffset: go, strideB: hd, transB: false, ldb: d, m: n, n: hd, k: n });
    scatterHeads(part, dX, xo + 2 * d, heads, n, hd, d3, 1);
    // dP_h = dO_h V_h^T, then through the softmax
    K.matmul({ batch: heads, c: dP, cOffset: 0, a: G, aOffset: go, strideA: hd, transA: false, lda: d, b: X, bOffset: xo + 2 * d, strideB: hd, transB: true, ldb: d3, m: n, n, k: hd });
    K.softmaxBackward(P.subarray(po, po + heads * nn), dP, dS, heads * n, n);
    // dQ_h = dS_h K_h and dK_h = dS_h^T Q_h, both times the scale the scores had
    K.matmul({ ...batch, a: dS, aOffset: 0, strideA: nn, transA: false, lda: n, b: X, bOffset: xo + d, strideB: hd, transB: false, ldb: d3, m: n, n: hd, k: n });
    scatterHeads(part, dX, xo, heads, n, hd, d3, scale);
    K.matmul({ ...batch, a: dS, aOffset: 0, strideA: nn, transA: true, lda: n, b: X, bOffset: xo, strideB: hd, transB: false, ldb: d3, m: n, n: hd, k: n });
    scatterHeads(part, dX, xo + d, heads, n, hd, d3, scale);
  }
  return new Tensor(dX, [b, n, d3]);
}

/** dst[at + i*ld + h*hd + j] = s * src[h][i][j]: heads stacked [H, N, hd] into their columns of rows ld apart. */
function scatterHeads(src: TypedArray, dst: TypedArray, at: number, heads: number, n: number, hd: number, ld: number, s: number): void {
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < n; i++) {
      const from = (h * n + i) * hd;
      const to = at + i * ld + h * hd;
      if (s === 1) dst.set(src.subarray(from, from + hd), to);
      else for (let j = 0; j < hd; j++) dst[to + j] = s * src[from + j]!;
    }
  }
}
