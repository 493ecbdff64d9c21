// Multi-head self-attention as one kernel call, for inference: from the fused
// q|k|v projection straight to the merged heads and the attention maps. It
// has no gradient rule, so it refuses inputs that the tape would record; the
// composite path (matmul, softmax, permute) remains for those.

import { wouldRecord } from './node.js';
import { allocate } from './dtype.js';
import { kernelsFor } from './linalg.js';
import { Tensor } from './tensor.js';

export interface AttentionForward {
  /** [B, N, D], heads merged (before the output projection). */
  out: Tensor;
  /** [B, H, N, N] softmax probabilities. */
  attn: Tensor;
}

/**
 * softmax(q k^T / sqrt(hd)) v per head from qkv [B, N, 3D] (columns q|k|v,
 * head h in columns h*hd..(h+1)*hd of each), forward only.
 */
export function attentionForward(qkv: Tensor, heads: number): AttentionForward {
  if (wouldRecord([qkv])) {
    throw new Error('attentionForward has no gradient: call it under noGrad (or on tensors that do not require grad), or use the composite attention');
  }
  if (qkv.rank !== 3) throw new Error(`attentionForward: qkv must be [B, N, 3D], got [${qkv.shape}]`);
  const [b, n, d3] = qkv.shape as [number, number, number];
  if (!Number.isInteger(heads) || heads <= 0 || d3 % (3 * heads) !== 0) {
    throw new Error(`attentionForward: ${d3} qkv features do not split into q, k, v of ${heads} heads`);
  }
  const d = d3 / 3;
  const hd = d / heads;
  const out = allocate(qkv.dtype, b * n * d);
  const attn = allocate(qkv.dtype, b * heads * n * n);
  kernelsFor(qkv.dtype).attention(qkv.contiguousData(), out, attn, b, n, heads, hd, 1 / Math.sqrt(hd));
  return { out: new Tensor(out, [b, n, d]), attn: new Tensor(attn, [b, heads, n, n]) };
}
