// Partial LRP (Voita et al. 2019, as Chefer et al.'s ViT_LRP.py computes it,
// docs/ALGORITHMS.md "Partial LRP"): relevance from a one-hot at the target logit
// down through the head, the final norm and the last block to that block's
// attention probabilities. Rules, as in Chefer's layers:
//   linear        alpha = 1, beta = 0: R_in = x+ (W+^T S) + x- (W-^T S), S = R / (W+ x+ + W- x-), bias left out
//   LayerNorm, GELU, softmax, LayerScale: relevance passes unchanged
//   x + f(x)      z-rule per element, then each side rescaled so the two sums
//                 split R's sum in proportion to |sum| of each side
//   A @ v         each operand gets operand * gradient of sum(S * (A v)), halved
// The map: the attention relevance clamped at 0, mean over heads, [CLS] row,
// patch columns. Only the rows the head reads carry relevance, so the last
// block runs in read-out mode, as everywhere.
// Everything is computed in float64 on plain arrays: one image, one block.

import { noGrad } from '../autograd/index.js';
import { add, gelu, mul, slice, type Tensor } from '../tensor/index.js';
import { dense, interveneHidden, mergeHeads, norm, type LinearParams } from '../vit/block.js';
import type { ViT } from '../vit/model.js';
import { describeTarget, targetScore, type Target } from '../cdam/target.js';
import type { BaselineInput } from './gradients.js';
import type { Explanation } from '../cdam/explainer.js';

/** Chefer's safe_divide: a / (b + 1e-9 sign-aware), 0 where b is 0. */
function safeDiv(a: number, b: number): number {
  if (b === 0) return 0;
  let den = Math.max(b, 1e-9) + Math.min(b, 1e-9);
  if (den === 0) den = 1e-9;
  return a / den;
}

const f64 = (t: Tensor) => Float64Array.from(t.contiguousData());

/** alpha = 1, beta = 0 through x [rows, in] -> W x [rows, out]: relevance [rows, out] -> [rows, in]. */
function linearRule(r: Float64Array, x: Float64Array, p: LinearParams, rows: number): Float64Array {
  const [out, inp] = p.weight.shape as [number, number];
  const W = p.weight.contiguousData();
  const res = new Float64Array(rows * inp);
  for (let q = 0; q < rows; q++) {
    const xr = x.subarray(q * inp, (q + 1) * inp);
    const S = new Float64Array(out);
    for (let i = 0; i < out; i++) {
      if (r[q * out + i] === 0) continue;
      let z = 0;
      for (let j = 0; j < inp; j++) {
        const w = W[i * inp + j]!;
        const v = xr[j]!;
        if ((w > 0 && v > 0) || (w < 0 && v < 0)) z += w * v;
      }
      S[i] = safeDiv(r[q * out + i]!, z);
    }
    for (let j = 0; j < inp; j++) {
      const v = xr[j]!;
      if (v === 0) continue;
      let c = 0;
      for (let i = 0; i < out; i++) {
        const w = W[i * inp + j]!;
        if (w > 0 === v > 0 && w !== 0) c += w * S[i]!;
      }
      res[q * inp + j] = v * c;
    }
  }
  return res;
}

/** z-rule for a + b, then each side rescaled to its share of sum(R). */
function addRule(r: Float64Array, a: Float64Array, b: Float64Array): [Float64Array, Float64Array] {
  const ra = new Float64Array(r.length);
  const rb = new Float64Array(r.length);
  let sa = 0;
  let sb = 0;
  let sr = 0;
  for (let i = 0; i < r.length; i++) {
    const s = safeDiv(r[i]!, a[i]! + b[i]!);
    ra[i] = a[i]! * s;
    rb[i] = b[i]! * s;
    sa += ra[i]!;
    sb += rb[i]!;
    sr += r[i]!;
  }
  const fa = safeDiv(Math.abs(sa), Math.abs(sa) + Math.abs(sb)) * sr;
  const fb = safeDiv(Math.abs(sb), Math.abs(sa) + Math.abs(sb)) * sr;
  const ka = safeDiv(fa, sa);
  const kb = safeDiv(fb, sb);
  for (let i = 0; i < r.length; i++) {
    ra[i]! *= ka;
    rb[i]! *= kb;
  }
  return [ra, rb];
}

const sumOf = (a: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return s;
};

export interface PartialLrpTrace {
  explanation: Explanation;
  /**
   * Sum of the relevance at each stage, top down: each equals what entered it
   * where the rules conserve; `attention` (A's half of A @ v) is half of
   * `attentionOutput`, the values taking the other half.
   */
  sums: Record<'seed' | 'headInput' | 'blockOutput' | 'mlpOutput' | 'mlpInput' | 'attentionBranch' | 'attentionOutput' | 'attention', number>;
  /** relevance of the last block's attention probabilities [H, rows, N] */
  attention: Float64Array;
}

/** The one-hot seed over the logits: +1 at the class (for a difference a - b: +1 at a, -1 at b). */
function seedOf(vit: ViT, target: Target): Float64Array {
  const c = vit.config.numClasses;
  if (!c) throw new Error('partial-lrp needs a classifier head');
  const s = new Float64Array(c);
  const at = (i: number, v: number) => {
    if (!Number.isInteger(i) || i < 0 || i >= c) throw new Error(`class index ${i} is out of range: the model has ${c} classes (0..${c - 1})`);
    s[i] = v;
  };
  if (target.kind === 'class') at(target.index, 1);
  else if (target.kind === 'difference') {
    at(target.a, 1);
    at(target.b, -1);
  } else throw new Error(`partial-lrp explains a class or a difference of two classes, not a ${target.kind} target`);
  return s;
}

export function partialLrpTrace(b: BaselineInput, target: Target): PartialLrpTrace {
  const { vit, x } = b;
  const seed = seedOf(vit, target);
  const p = vit.lastBlock;
  const rows = vit.readoutRows;
  const d = vit.config.dim;
  const H = p.heads;
  const hd = d / H;
  // the forward quantities of the read-out rows
  const f = noGrad(() => {
    const { parts, head } = vit.readout(x);
    const merged = mergeHeads(parts.o);
    const proj = dense(merged, p.proj);
    const xr = slice(x, [0, 0], [1, rows]);
    const branchA = p.ls1 ? mul(proj, p.ls1) : proj;
    const y = add(xr, branchA);
    const u = norm(y, p.norm2);
    const h1 = dense(u, p.fc1);
    const g = interveneHidden(gelu(h1), p); // a test-time register's zeroing, on the read-out rows
    const m = dense(g, p.fc2);
    const branchM = p.ls2 ? mul(m, p.ls2) : m;
    const out = add(y, branchM);
    const z = norm(out, vit.params.norm);
    return { parts, merged, xr, branchA, y, u, g, branchM, z, score: targetScore(target, head).item() };
  });
  const n = f.parts.attn.shape[3]!;
  // head: one linear per read-out row (DeiT-distilled: the two heads share the seed)
  const heads = vit.params.headDist ? [vit.params.head!, vit.params.headDist] : [vit.params.head!];
  const z = f64(f.z);
  const rz = new Float64Array(rows * d);
  heads.forEach((hp, row) => {
    const s = seed.map((v) => v / heads.length);
    rz.set(linearRule(s, z.subarray(row * d, (row + 1) * d), hp, 1), row * d);
  });
  // final norm: unchanged; then out = y + branchM
  const [ry, rm] = addRule(rz, f64(f.y), f64(f.branchM));
  const rg = linearRule(rm, f64(f.g), p.fc2, rows); // LayerScale, GELU: unchanged
  const ru = linearRule(rg, f64(f.u), p.fc1, rows);
  const ryAll = ry.map((v, i) => v + ru[i]!); // y feeds the residual and (through norm2) the MLP
  const [, ra] = addRule(ryAll, f64(f.xr), f64(f.branchA));
  const ro = linearRule(ra, f64(f.merged), p.proj, rows); // [rows, D] = per head [rows, hd]
  // A @ v per head: relevance of A = A * (S v^T), halved (v's half, v * (A^T S) / 2, has the same total and is not needed)
  const A = f.parts.attn.contiguousData();
  const V = f.parts.v.contiguousData();
  const O = f.parts.o.contiguousData();
  const cam = new Float64Array(H * rows * n);
  for (let h = 0; h < H; h++) {
    for (let q = 0; q < rows; q++) {
      const S = new Float64Array(hd);
      for (let e = 0; e < hd; e++) S[e] = safeDiv(ro[q * d + h * hd + e]!, O[(h * rows + q) * hd + e]!);
      for (let k = 0; k < n; k++) {
        let c = 0;
        for (let e = 0; e < hd; e++) c += S[e]! * V[(h * n + k) * hd + e]!;
        const a = A[(h * rows + q) * n + k]!;
        cam[(h * rows + q) * n + k] = (a * c) / 2;
      }
    }
  }
  const pre = vit.numPrefix;
  const P = n - pre;
  const map = new Float32Array(P);
  for (let h = 0; h < H; h++) for (let k = pre; k < n; k++) map[k - pre]! += Math.max(0, cam[h * rows * n + k]!) / H;
  return {
    explanation: {
      method: 'partial-lrp',
      target: describeTarget(target, (i) => vit.label(i)),
      score: f.score,
      map: { rows: b.grid[0], cols: b.grid[1], values: map },
    },
    sums: {
      seed: sumOf(seed),
      headInput: sumOf(rz),
      blockOutput: sumOf(ry) + sumOf(rm),
      mlpOutput: sumOf(rm),
      mlpInput: sumOf(ru),
      attentionBranch: sumOf(ra),
      attentionOutput: sumOf(ro),
      attention: sumOf(cam),
    },
    attention: cam,
  };
}

/** Partial LRP: the last block's attention relevance, clamped at 0, mean over heads, [CLS] row over the patches. */
export function partialLrp(b: BaselineInput, target: Target): Explanation {
  return partialLrpTrace(b, target).explanation;
}
