// Multi-head self-attention as one primitive: from the fused q|k|v
// projection straight to the merged heads and the attention maps, in one
// kernel call forward and one backward (attentionBackward), which reads q,
// k and v in place and writes dq|dk|dv straight into one gradient buffer.
// The probabilities come out as a side output without a gradient of their
// own: a method that differentiates with respect to the attention maps
// themselves must use the composite of primitives (attentionComposite in
// src/vit/block.ts).

import { record, wouldRecord } from './node.js';
import { allocate } from '../kernels/dtype.js';
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
 * d qkv from the gradient g [B, N, D] of the merged heads, in one kernel call
 * (Kernels.attentionBackward) for all batch items and heads:
 *   dV = P^T dO,  dP = dO V^T,  dS = scale * softmax'(P) dP,  dQ = dS K,  dK = dS^T Q.
 */
export function attentionBackward(qkv: Tensor, attn: Tensor, g: Tensor, heads: number): Tensor {
  const [b, n, d3] = qkv.shape as [number, number, number];
  const hd = d3 / 3 / heads;
  const dqkv = allocate(qkv.dtype, b * n * d3);
  kernelsFor(qkv.dtype).attentionBackward(qkv.contiguousData(), attn.contiguousData(), g.contiguousData(), dqkv, b, n, heads, hd, 1 / Math.sqrt(hd));
  return new Tensor(dqkv, [b, n, d3]);
}
