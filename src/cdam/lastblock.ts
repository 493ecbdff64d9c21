// The last block, pruned to what the head reads. The head sees only the
// prefix rows of the final tokens ([CLS], plus the distillation token for
// DeiT-distilled), so the last block needs queries, residual and MLP for
// those rows only, and keys/values for every token. Gradients with respect
// to T are exactly those of the full block.

import { Tensor, add, mul, linear, matmul, transpose, softmax, reshape, permute, slice, select } from '../tensor/index.js';
import { norm, mlp, type BlockParams } from '../vit/block.js';
import type { ViT, HeadOutput } from '../vit/model.js';

export interface LastBlockParts {
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

/** How many leading rows the head reads. */
export function readoutRows(vit: ViT): number {
  return vit.config.hasDistToken ? 2 : 1;
}

export function lastBlock(vit: ViT): BlockParams {
  return vit.params.blocks[vit.config.depth - 1]!;
}

/**
 * Attention of the read-out rows, from the normed tokens t [B, N, D].
 * `scoreBias` [N] is added to the scaled scores (an attention mask: -Infinity
 * removes a key), for experiments such as the appendix's zero-attention check.
 */
export function lastAttention(vit: ViT, t: Tensor, scoreBias?: Tensor): LastBlockParts {
  const p = lastBlock(vit);
  const [b, n, d] = t.shape as [number, number, number];
  const h = p.heads;
  const hd = d / h;
  const rows = readoutRows(vit);
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

/** From the per-head attention output of the read-out rows to the head output. */
export function headFromAttention(vit: ViT, x: Tensor, o: Tensor): HeadOutput {
  const p = lastBlock(vit);
  const [b, h, rows, hd] = o.shape as [number, number, number, number];
  const merged = reshape(permute(o, [0, 2, 1, 3]), [b, rows, h * hd]);
  const a = linear(merged, p.proj.weight, p.proj.bias);
  const y = add(slice(x, [0, 0], [b, rows]), p.ls1 ? mul(a, p.ls1) : a);
  return vit.head(p.ls2 ? add(y, mul(mlp(norm(y, p.norm2), p), p.ls2)) : mlp(norm(y, p.norm2), p, y));
}

/** The head output of the model when the last block's input is x and its normed tokens are t. */
export function headFromLastBlock(vit: ViT, x: Tensor, t: Tensor, scoreBias?: Tensor): { head: HeadOutput; parts: LastBlockParts } {
  const parts = lastAttention(vit, t, scoreBias);
  return { head: headFromAttention(vit, x, parts.o), parts };
}
