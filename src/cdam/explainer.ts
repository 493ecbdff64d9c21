// The explanation methods of the CDAM family. An Explainer runs the image
// through blocks 1..L-1 once, with no tape, and keeps the last block's input
// X; every method after that recomputes only the last block, final norm and
// head, batched over samples.

import { Tensor, add, mul, reshape } from '../tensor/index.js';
import { noGrad } from '../autograd/index.js';
import type { ViT, HeadOutput } from '../vit/model.js';
import type { ReadoutParts } from '../vit/block.js';
import { tokenScoresAutograd, tokenScoresClosedForm, type TokenScores } from './scores.js';
import { targetScore, describeTarget, type Target } from './target.js';
import { CDAM_DEFAULTS, ROBUST_NORM_FACTOR } from './defaults.js';
import { inBatches, noisyCopies, pathPoints, positiveInteger, valueRange, type BatchOptions } from './averaging.js';

export interface PatchMap {
  rows: number;
  cols: number;
  /** raw, unclipped, row-major scores on the patch grid */
  values: Float32Array;
}

export interface Explanation {
  method: string;
  /** human-readable target ("285 Egyptian cat"), or null for target-free maps */
  target: string | null;
  /** the target's value on the unperturbed input (a raw logit for class targets) */
  score: number | null;
  map: PatchMap;
  /** one map per head, when asked for (CDAM's closed form is a sum of one term per head) */
  heads?: PatchMap[];
}

/** A token of the last block's input whose norm is far above the rest (an artefact of some supervised ViTs). */
export interface HighNormToken {
  /** index in the patch map (row-major) */
  index: number;
  row: number;
  col: number;
  norm: number;
}

/** Options every CDAM-family method takes. */
export interface FamilyOptions {
  /** also return one map per head (closed-form engine only) */
  perHead?: boolean;
}

export type ScoreEngine = 'closed-form' | 'autograd';

/**
 * What Smooth CDAM's noise level nu is relative to. 'range': the paper's
 * max(X) - min(X) over every entry. 'robust': the same range over the tokens
 * whose L2 norm is at most ROBUST_NORM_FACTOR times the median token norm, so
 * that a few high-norm artefact tokens (the four corners of the shared ViT-Ti,
 * norms 350-500 against about 20) do not set a noise that drowns every other
 * token.
 */
export type NoiseScale = 'range' | 'robust';
export const NOISE_SCALES: readonly NoiseScale[] = ['range', 'robust'];

/** batch: points per batched pass (default CDAM_DEFAULTS.batch). */
export interface SmoothOptions extends FamilyOptions, BatchOptions {
  /** the paper's nu: the noise sigma relative to the range of X (default CDAM_DEFAULTS.noise) */
  noise?: number;
  /** what nu is relative to (default CDAM_DEFAULTS.noiseScale: the paper's range) */
  scale?: NoiseScale;
  /** samples (default CDAM_DEFAULTS.samples) */
  samples?: number;
  seed?: number;
}

export interface IntegratedOptions extends FamilyOptions, BatchOptions {
  /** m: the path is split into m steps, alpha = k/m for k = 1..m-1 (default CDAM_DEFAULTS.steps) */
  steps?: number;
}

interface MapSums {
  total: Float32Array;
  heads: Float32Array[] | null;
}

export class Explainer {
  /** input of the last block [1, N, D] */
  readonly x: Tensor;
  readonly grid: [number, number];
  private baseCache: { head: HeadOutput; parts: ReadoutParts } | null = null;

  constructor(
    readonly vit: ViT,
    readonly input: Tensor,
    readonly engine: ScoreEngine = 'closed-form',
  ) {
    if (input.rank !== 4 || input.shape[0] !== 1) throw new Error(`expected one image [1, 3, H, W], got [${input.shape}]`);
    this.grid = vit.gridFor(input.shape[2]!, input.shape[3]!);
    this.x = noGrad(() => vit.runBlocks(vit.embed(input), 0, vit.config.depth - 1));
    const X = this.x.contiguousData();
    for (let i = 0; i < X.length; i++) {
      if (!Number.isFinite(X[i]!))
        throw new Error(
          `the tokens entering the last block have a non-finite value (${X[i]} at token ${Math.floor(i / vit.config.dim)}): check the input and the weights`,
        );
    }
  }

  private scores(x: Tensor, target: Target): TokenScores {
    return this.engine === 'closed-form' ? tokenScoresClosedForm(this.vit, x, target) : tokenScoresAutograd(this.vit, x, target);
  }

  private patchMap(values: Float32Array): PatchMap {
    return { rows: this.grid[0], cols: this.grid[1], values };
  }

  /** Sums of patch scores over samples: the total, and per head when asked for. */
  private sums(perHead: boolean | undefined): MapSums {
    if (perHead && this.engine !== 'closed-form') throw new Error('per-head CDAM comes from the closed form: use the closed-form engine');
    const p = this.grid[0] * this.grid[1];
    return { total: new Float32Array(p), heads: perHead ? Array.from({ length: this.vit.config.heads }, () => new Float32Array(p)) : null };
  }

  private accumulate(acc: MapSums, s: TokenScores): void {
    const pre = this.vit.numPrefix;
    const p = acc.total.length;
    for (let b = 0; b < s.batch; b++) for (let i = 0; i < p; i++) acc.total[i]! += s.scores[b * s.tokens + pre + i]!;
    if (!acc.heads) return;
    if (!s.perHead) throw new Error('internal: per-head scores missing');
    acc.heads.forEach((hm, h) => {
      for (let b = 0; b < s.batch; b++) for (let i = 0; i < p; i++) hm[i]! += s.perHead![(b * s.heads + h) * s.tokens + pre + i]!;
    });
  }

  private explanation(method: string, target: Target, score: number, acc: MapSums, count: number): Explanation {
    const scale = (a: Float32Array) => {
      if (count !== 1) for (let i = 0; i < a.length; i++) a[i]! /= count;
      return this.patchMap(a);
    };
    const e: Explanation = { method, target: describeTarget(target, (i) => this.vit.label(i)), score, map: scale(acc.total) };
    if (acc.heads) e.heads = acc.heads.map(scale);
    return e;
  }

  /**
   * Patch tokens of the last block's input whose norm is more than `factor`
   * times the median patch-token norm: the high-norm artefact tokens some
   * supervised ViTs grow (on the embedded ViT-Ti, the four corners).
   */
  highNormTokens(factor = 5): HighNormToken[] {
    const [, n, d] = this.x.shape as [number, number, number];
    const X = this.x.contiguousData();
    const pre = this.vit.numPrefix;
    const norms: number[] = [];
    for (let i = pre; i < n; i++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += X[i * d + j]! ** 2;
      norms.push(Math.sqrt(s));
    }
    const sorted = [...norms].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    const cols = this.grid[1];
    return norms.flatMap((v, index) => (v > factor * median ? [{ index, row: Math.floor(index / cols), col: index % cols, norm: v }] : []));
  }

  /**
   * max - min over the entries of the tokens of X ([CLS] and prefix tokens
   * included) whose L2 norm is at most ROBUST_NORM_FACTOR times the median
   * token norm (Smooth CDAM's 'robust' noise scale).
   */
  robustRange(): number {
    const [, n, d] = this.x.shape as [number, number, number];
    const X = this.x.contiguousData();
    const norms = Array.from({ length: n }, (_, i) => {
      let s = 0;
      for (let j = 0; j < d; j++) s += X[i * d + j]! ** 2;
      return Math.sqrt(s);
    });
    const sorted = [...norms].sort((a, b) => a - b);
    const median = sorted[Math.floor(n / 2)]!;
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < n; i++) {
      if (norms[i]! > ROBUST_NORM_FACTOR * median) continue;
      for (let j = 0; j < d; j++) {
        const v = X[i * d + j]!;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
    return hi - lo;
  }

  /** The unperturbed last block (pruned to the read-out rows) and head output: computed once. */
  private base(): { head: HeadOutput; parts: ReadoutParts } {
    if (!this.baseCache) {
      this.baseCache = noGrad(() => this.vit.readout(this.x));
    }
    return this.baseCache;
  }

  /** The target's value on the unperturbed input. */
  score(target: Target): number {
    return noGrad(() => targetScore(target, this.base().head).item());
  }

  /** Logits of the unperturbed input [C] (null without a head). */
  logits(): Float32Array | null {
    const l = this.base().head.logits;
    return l ? Float32Array.from(l.contiguousData()) : null;
  }

  /** Attention map: mean over heads of the last block's [CLS] row over patch keys. Per head on request. */
  attention(head?: number): Explanation {
    const { parts } = this.base();
    const [, h, , n] = parts.attn.shape as [number, number, number, number];
    if (head !== undefined && (!Number.isInteger(head) || head < 0 || head >= h)) throw new Error(`head ${head} out of range (the model has ${h} heads)`);
    const A = parts.attn.contiguousData();
    const pre = this.vit.numPrefix;
    const rows = parts.attn.shape[2]!;
    const out = new Float32Array(n - pre);
    const heads = head === undefined ? [...Array(h).keys()] : [head];
    for (const hh of heads) for (let i = pre; i < n; i++) out[i - pre]! += A[hh * rows * n + i]! / heads.length;
    return { method: head === undefined ? 'attention' : `attention-head${head}`, target: null, score: null, map: this.patchMap(out) };
  }

  /** Vanilla CDAM for any scalar target. */
  cdam(target: Target, opts: FamilyOptions = {}): Explanation {
    const s = this.scores(this.x, target);
    const acc = this.sums(opts.perHead);
    this.accumulate(acc, s);
    return this.explanation('cdam', target, s.value[0]!, acc, 1);
  }

  /** Smooth CDAM: mean of CDAM over noisy copies X + eps, eps ~ N(0, (nu (max X - min X))^2). */
  smooth(target: Target, opts: SmoothOptions = {}): Explanation {
    const nu = opts.noise ?? CDAM_DEFAULTS.noise;
    const n = opts.samples ?? CDAM_DEFAULTS.samples;
    positiveInteger('samples', n);
    const scale = opts.scale ?? CDAM_DEFAULTS.noiseScale;
    if (!NOISE_SCALES.includes(scale)) throw new Error(`Smooth CDAM: scale must be one of ${NOISE_SCALES.join(', ')}, got "${String(scale)}"`);
    const sigma = nu * (scale === 'robust' ? this.robustRange() : valueRange(this.x));
    if (!Number.isFinite(sigma)) throw new Error(`Smooth CDAM: the noise scale is ${sigma} (nu ${nu}, range of X not finite)`);
    const acc = this.sums(opts.perHead);
    const points = noisyCopies(this.x.contiguousData(), sigma, n, opts.seed ?? CDAM_DEFAULTS.seed);
    inBatches(this.x.shape, points, opts.batch ?? CDAM_DEFAULTS.batch, (xs) => this.accumulate(acc, this.scores(xs, target)), opts.onProgress);
    return this.explanation(scale === 'robust' ? 'smooth-cdam-robust' : 'smooth-cdam', target, this.score(target), acc, n);
  }

  /** Integrated CDAM: mean of CDAM at X_k = (k/m) X for k = 1..m-1 (the reference's definition). */
  integrated(target: Target, opts: IntegratedOptions = {}): Explanation {
    const m = opts.steps ?? CDAM_DEFAULTS.steps;
    if (!(m >= 2) || !Number.isInteger(m)) throw new Error(`steps must be an integer >= 2, got ${m}`);
    const acc = this.sums(opts.perHead);
    const points = pathPoints(
      this.x.contiguousData(),
      Array.from({ length: m - 1 }, (_, i) => (i + 1) / m),
    );
    inBatches(this.x.shape, points, opts.batch ?? CDAM_DEFAULTS.batch, (xs) => this.accumulate(acc, this.scores(xs, target)), opts.onProgress);
    return this.explanation('integrated-cdam', target, this.score(target), acc, m - 1);
  }
}

/** Concept vector l_c = mean of the latents (normed [CLS]) of example inputs [1, 3, H, W]. */
export function conceptVector(vit: ViT, inputs: readonly Tensor[], onProgress?: (done: number, total: number) => void): Tensor {
  if (inputs.length === 0) throw new Error('a concept needs at least one example image');
  return noGrad(() => {
    let acc: Tensor | null = null;
    for (const [i, input] of inputs.entries()) {
      const z = vit.forward(input).latent;
      acc = acc ? add(acc, z) : z;
      onProgress?.(i + 1, inputs.length);
    }
    return reshape(mul(acc!, 1 / inputs.length), [vit.config.dim]);
  });
}
