// Token scores S_i = sum_j T[i,j] dF/dT[i,j] for a batch of last-block
// inputs X [B, N, D] (docs/ALGORITHMS.md "CDAM"). Two ways, cross-checked in the tests:
//  - autograd: mark T, backpropagate the target to it;
//  - closed form (docs/appendix.md): S_i = sum_h a^h_0i r^h_i, which only
//    needs dF/do, the gradient at the [CLS] row's attention output.

import { Tensor, allocate, full } from '../tensor/index.js';
import { grad, noGrad, enableGrad } from '../autograd/index.js';
import type { ViT } from '../vit/model.js';
import { readoutAttention } from '../vit/block.js';
import { targetScore, type Target } from './target.js';

export interface TokenScores {
  /** S for every token [B, N] ([CLS] and other prefix rows included; callers drop them) */
  scores: Float32Array;
  /** the target's value per sample [B] */
  value: Float32Array;
  batch: number;
  tokens: number;
  /** the closed form's one term per head, S^h_i [B, H, N] (sum over h = scores); null from autograd */
  perHead: Float32Array | null;
  heads: number;
}

/** dF/dT by autograd, then the sum over features of T * dF/dT. */
export function tokenScoresAutograd(vit: ViT, x: Tensor, target: Target, scoreBias?: Tensor): TokenScores {
  const t = noGrad(() => vit.normedLast(x)).requireGrad();
  const score = enableGrad(() => targetScore(target, vit.readout(x, t, scoreBias).head));
  const [g] = grad(score, [t], full(score.shape, 1, score.dtype));
  const [b, n, d] = t.shape as [number, number, number];
  const T = t.contiguousData();
  const G = g!.contiguousData();
  const s = new Float32Array(b * n);
  for (let i = 0; i < b * n; i++) {
    let acc = 0;
    for (let j = 0; j < d; j++) acc += T[i * d + j]! * G[i * d + j]!;
    s[i] = acc;
  }
  return { scores: s, value: Float32Array.from(score.contiguousData()), batch: b, tokens: n, perHead: null, heads: vit.config.heads };
}

/**
 * The closed form. For a patch token i, T_i reaches the target only through
 * k_i and v_i of the read-out rows' attention, so with g = dF/do (per head h
 * and read-out row r), c = 1/sqrt(hd):
 *   S_i = sum_{h,r} a^h_ri [ g^h_r . (v^h_i - b_v^h) + c (q^h_r . (k^h_i - b_k^h)) (g^h_r . (v^h_i - o^h_r)) ]
 * Exact for patch tokens; prefix rows (which also feed q) are left at 0.
 */
export function tokenScoresClosedForm(vit: ViT, x: Tensor, target: Target, scoreBias?: Tensor): TokenScores {
  const p = vit.lastBlock;
  const { parts, o, score } = noGrad(() => {
    const parts = readoutAttention(vit.normedLast(x), p, vit.readoutRows, scoreBias);
    const o = new Tensor(parts.o.data, parts.o.shape, parts.o.strides, parts.o.offset).requireGrad();
    return { parts, o, score: enableGrad(() => targetScore(target, vit.headFromReadout(x, o))) };
  });
  const [g] = grad(score, [o], full(score.shape, 1, score.dtype));
  const [b, h, rows, hd] = o.shape as [number, number, number, number];
  const n = x.shape[1]!;
  const d = h * hd;
  const c = 1 / Math.sqrt(hd);
  const Q = parts.q.contiguousData();
  const K = parts.k.contiguousData();
  const V = parts.v.contiguousData();
  const A = parts.attn.contiguousData();
  const O = o.contiguousData();
  const G = g!.contiguousData();
  const bias = p.qkv.bias ? p.qkv.bias.contiguousData() : null;
  const s = allocate('float32', b * n) as Float32Array;
  const sh = allocate('float32', b * h * n) as Float32Array;
  const vb = new Float64Array(hd);
  const kb = new Float64Array(hd);
  for (let bi = 0; bi < b; bi++) {
    for (let hh = 0; hh < h; hh++) {
      for (let j = 0; j < hd; j++) {
        kb[j] = bias ? bias[d + hh * hd + j]! : 0;
        vb[j] = bias ? bias[2 * d + hh * hd + j]! : 0;
      }
      for (let r = 0; r < rows; r++) {
        const qo = ((bi * h + hh) * rows + r) * hd;
        // g.o and q.b_k are shared by every token
        let go = 0;
        let qbk = 0;
        for (let j = 0; j < hd; j++) {
          go += G[qo + j]! * O[qo + j]!;
          qbk += Q[qo + j]! * kb[j]!;
        }
        const ao = ((bi * h + hh) * rows + r) * n;
        for (let i = rows; i < n; i++) {
          const ko = ((bi * h + hh) * n + i) * hd;
          let gv = 0;
          let gvb = 0;
          let qk = 0;
          for (let j = 0; j < hd; j++) {
            gv += G[qo + j]! * V[ko + j]!;
            gvb += G[qo + j]! * vb[j]!;
            qk += Q[qo + j]! * K[ko + j]!;
          }
          const term = A[ao + i]! * (gv - gvb + c * (qk - qbk) * (gv - go));
          s[bi * n + i]! += term;
          sh[(bi * h + hh) * n + i]! += term;
        }
      }
    }
  }
  return { scores: s, value: Float32Array.from(score.contiguousData()), batch: b, tokens: n, perHead: sh, heads: h };
}
