// One pre-norm transformer block, timm semantics:
//   T = LN1(X);  Y = X + ls1 * Attn(T);  X' = Y + ls2 * MLP(LN2(Y))
// Split so that callers (CDAM) can get hold of T, the normed tokens that enter
// attention, and differentiate with respect to it.

import {
  Tensor, add, mul, linear, linearGeluLinear, layerNormAffine, reshape, permute, select, slice, matmul, transpose, softmax,
  attentionForward, attentionOutput,
} from '../tensor/index.js';

export interface LinearParams {
  weight: Tensor; // [out, in]
  bias: Tensor | null;
}

export interface NormParams {
  weight: Tensor;
  bias: Tensor | null;
  eps: number;
}

export interface BlockParams {
  norm1: NormParams;
  /** fused q|k|v projection, weight [3D, D] (rows q, then k, then v) */
  qkv: LinearParams;
  proj: LinearParams;
  norm2: NormParams;
  fc1: LinearParams;
  fc2: LinearParams;
  /** LayerScale gammas [D], when the model has them */
  ls1: Tensor | null;
  ls2: Tensor | null;
  heads: number;
}

export const norm = (x: Tensor, p: NormParams): Tensor => layerNormAffine(x, p.weight, p.bias, p.eps);
export const dense = (x: Tensor, p: LinearParams): Tensor => linear(x, p.weight, p.bias);

export interface AttentionResult {
  out: Tensor; // [B, N, D] after the output projection (plus the residual, when given)
  attn: Tensor; // [B, H, N, N] softmax probabilities
}

/**
 * Multi-head self-attention on normed tokens t [B, N, D]: the attention
 * primitive (one fused kernel call forward, one backward). A
 * `residual` is added in the output projection's own call. The returned
 * probabilities carry no gradient; use attentionComposite to differentiate
 * with respect to them.
 */
export function attention(t: Tensor, p: BlockParams, residual?: Tensor): AttentionResult {
  const { out: o, attn } = attentionForward(dense(t, p.qkv), p.heads);
  return { out: linear(o, p.proj.weight, p.proj.bias, residual), attn };
}

/** The same attention from primitives (matmul, softmax, permute): slower, but the probabilities are differentiable. */
export function attentionComposite(t: Tensor, p: BlockParams, residual?: Tensor): AttentionResult {
  const [b, n, d] = t.shape as [number, number, number];
  const h = p.heads;
  const hd = d / h;
  const qkv = permute(reshape(dense(t, p.qkv), [b, n, 3, h, hd]), [2, 0, 3, 1, 4]); // [3, B, H, N, hd]
  const q = select(qkv, 0, 0);
  const k = select(qkv, 0, 1);
  const v = select(qkv, 0, 2);
  // scaling q (N x hd) is cheaper than scaling the N x N scores
  const attn = softmax(matmul(mul(q, 1 / Math.sqrt(hd)), transpose(k)));
  const o = reshape(permute(matmul(attn, v), [0, 2, 1, 3]), [b, n, d]);
  return { out: linear(o, p.proj.weight, p.proj.bias, residual), attn };
}

/** fc2(gelu(fc1(x))), plus `residual` in the same fc2 call when given. */
export function mlp(x: Tensor, p: BlockParams, residual?: Tensor): Tensor {
  return linearGeluLinear(x, p.fc1.weight, p.fc1.bias, p.fc2.weight, p.fc2.bias, residual);
}

export interface BlockResult {
  out: Tensor;
  attn: Tensor;
}

/** The rest of the block once T = LN1(X) is known: the attention branch reads T, the residual reads X. */
export function blockFromNormed(x: Tensor, t: Tensor, p: BlockParams, attend: typeof attention = attention): BlockResult {
  // LayerScale (ls1, ls2) sits between a branch and its residual, so then the add stays separate
  const a = attend(t, p, p.ls1 ? undefined : x);
  return { out: afterAttention(x, a.out, p), attn: a.attn };
}

/** Attention output (with the residual already in, unless LayerScale) -> the block's output. */
function afterAttention(x: Tensor, a: Tensor, p: BlockParams): Tensor {
  const y = p.ls1 ? add(x, mul(a, p.ls1)) : a;
  return p.ls2 ? add(y, mul(mlp(norm(y, p.norm2), p), p.ls2)) : mlp(norm(y, p.norm2), p, y);
}

/**
 * The block after its attention heads: output projection, residual, MLP.
 * x: the residual rows [B, R, D]; merged: the attention output of the same rows [B, R, D].
 */
export function blockTail(x: Tensor, merged: Tensor, p: BlockParams): Tensor {
  return afterAttention(x, linear(merged, p.proj.weight, p.proj.bias, p.ls1 ? undefined : x), p);
}

export function block(x: Tensor, p: BlockParams): BlockResult {
  return blockFromNormed(x, norm(x, p.norm1), p);
}

/** The block with its attention probabilities on the tape (composite attention), for methods that differentiate them. */
export function blockTraced(x: Tensor, p: BlockParams): BlockResult {
  return blockFromNormed(x, norm(x, p.norm1), p, attentionComposite);
}

/** The block's output alone: its attention maps are not kept (nor copied out of the kernel when nothing is recorded). */
export function blockOutput(x: Tensor, p: BlockParams): Tensor {
  return blockTail(x, attentionOutput(dense(norm(x, p.norm1), p.qkv), p.heads), p);
}

// ---------------------------------------------------------------------------
// Read-out mode: when only the first `rows` output rows are read (the head
// reads [CLS], and the distillation token for DeiT-distilled), the block needs
// queries, residual and MLP for those rows only, and keys and values for every
// token. Gradients with respect to T are exactly those of the full block.

/** The read-out attention, from primitives (so its maps are differentiable). */
export interface ReadoutParts {
  /** queries of the read-out rows [B, H, R, hd] */
  q: Tensor;
  /** keys and values of every token [B, H, N, hd] */
  k: Tensor;
  v: Tensor;
  /** attention of the read-out rows [B, H, R, N] */
  attn: Tensor;
  /** attention output of the read-out rows, per head [B, H, R, hd] */
  o: Tensor;
}

/**
 * Attention of the first `rows` query rows over every token, from the normed
 * tokens t [B, N, D]. `scoreBias` [N] is added to the scaled scores (an
 * attention mask: -Infinity removes a key), e.g. for the appendix's
 * zero-attention check.
 */
export function readoutAttention(t: Tensor, p: BlockParams, rows: number, scoreBias?: Tensor): ReadoutParts {
  const [b, n, d] = t.shape as [number, number, number];
  const h = p.heads;
  const hd = d / h;
  const w = p.qkv.weight;
  const bias = p.qkv.bias;
  // q for the read-out rows only; k and v for all tokens (row blocks of the fused weight)
  const qLin = linear(slice(t, [0, 0], [b, rows]), slice(w, [0], [d]), bias ? slice(bias, [0], [d]) : null);
  const kvLin = linear(t, slice(w, [d], [3 * d]), bias ? slice(bias, [d], [3 * d]) : null);
  const q = permute(reshape(qLin, [b, rows, h, hd]), [0, 2, 1, 3]);
  const kv = permute(reshape(kvLin, [b, n, 2, h, hd]), [2, 0, 3, 1, 4]);
  const k = select(kv, 0, 0);
  const v = select(kv, 0, 1);
  const scores = matmul(mul(q, 1 / Math.sqrt(hd)), transpose(k));
  const attn = softmax(scoreBias ? add(scores, scoreBias) : scores);
  return { q, k, v, attn, o: matmul(attn, v) };
}

/** Per-head outputs [B, H, R, hd] -> merged [B, R, H * hd]. */
export function mergeHeads(o: Tensor): Tensor {
  const [b, h, rows, hd] = o.shape as [number, number, number, number];
  return reshape(permute(o, [0, 2, 1, 3]), [b, rows, h * hd]);
}

/** The block's read-out rows [B, R, D] from its input x and the per-head attention output o [B, H, R, hd] of those rows. */
export function readoutTail(x: Tensor, o: Tensor, p: BlockParams): Tensor {
  return blockTail(slice(x, [0, 0], [x.shape[0]!, o.shape[2]!]), mergeHeads(o), p);
}
