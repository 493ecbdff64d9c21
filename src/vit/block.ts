// One pre-norm transformer block, timm semantics:
//   T = LN1(X);  Y = X + ls1 * Attn(T);  X' = Y + ls2 * MLP(LN2(Y))
// Split so that callers (CDAM) can get hold of T, the normed tokens that enter
// attention, and differentiate with respect to it.

import {
  Tensor, add, mul, linear, linearGeluLinear, layerNormAffine, reshape, permute, select, matmul, transpose, softmax,
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
export function blockFromNormed(x: Tensor, t: Tensor, p: BlockParams): BlockResult {
  // LayerScale (ls1, ls2) sits between a branch and its residual, so then the add stays separate
  const a = attention(t, p, p.ls1 ? undefined : x);
  return { out: afterAttention(x, a.out, p), attn: a.attn };
}

/** Attention output (with the residual already in, unless LayerScale) -> the block's output. */
function afterAttention(x: Tensor, a: Tensor, p: BlockParams): Tensor {
  const y = p.ls1 ? add(x, mul(a, p.ls1)) : a;
  return p.ls2 ? add(y, mul(mlp(norm(y, p.norm2), p), p.ls2)) : mlp(norm(y, p.norm2), p, y);
}

export function block(x: Tensor, p: BlockParams): BlockResult {
  return blockFromNormed(x, norm(x, p.norm1), p);
}

/** The block's output alone: its attention maps are not kept (nor copied out of the kernel when nothing is recorded). */
export function blockOutput(x: Tensor, p: BlockParams): Tensor {
  const o = attentionOutput(dense(norm(x, p.norm1), p.qkv), p.heads);
  return afterAttention(x, linear(o, p.proj.weight, p.proj.bias, p.ls1 ? undefined : x), p);
}
