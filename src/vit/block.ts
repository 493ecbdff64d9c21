// One pre-norm transformer block, timm semantics:
//   T = LN1(X);  Y = X + ls1 * Attn(T);  X' = Y + ls2 * MLP(LN2(Y))
// Split so that callers (CDAM) can get hold of T, the normed tokens that enter
// attention, and differentiate with respect to it.

import {
  Tensor, add, mul, linear, layerNormAffine, gelu, reshape, permute, select, matmul, transpose, softmax,
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
  out: Tensor; // [B, N, D] after the output projection
  attn: Tensor; // [B, H, N, N] softmax probabilities
}

/** Multi-head self-attention on normed tokens t [B, N, D]. */
export function attention(t: Tensor, p: BlockParams): AttentionResult {
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
  return { out: dense(o, p.proj), attn };
}

export function mlp(x: Tensor, p: BlockParams): Tensor {
  return dense(gelu(dense(x, p.fc1)), p.fc2);
}

export interface BlockResult {
  out: Tensor;
  attn: Tensor;
}

/** The rest of the block once T = LN1(X) is known: the attention branch reads T, the residual reads X. */
export function blockFromNormed(x: Tensor, t: Tensor, p: BlockParams): BlockResult {
  const a = attention(t, p);
  const y = add(x, p.ls1 ? mul(a.out, p.ls1) : a.out);
  const m = mlp(norm(y, p.norm2), p);
  return { out: add(y, p.ls2 ? mul(m, p.ls2) : m), attn: a.attn };
}

export function block(x: Tensor, p: BlockParams): BlockResult {
  return blockFromNormed(x, norm(x, p.norm1), p);
}
