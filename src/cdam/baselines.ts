// The explainers the paper compares CDAM with (docs/ALGORITHMS.md, "Baselines"),
// plus attention rollout. Gradient baselines differentiate the whole model
// with respect to the normalised input pixels and give pixel-level maps
// (mean over RGB, signed); the attention baselines read every block's
// attention (vit.forward(image, { attentions: 'fused' })) and give patch-level maps over the patch tokens.

import { Tensor, full, rng, resize, fromData, matmul, permute, reshape, slice, transpose } from '../tensor/index.js';
import { grad, noGrad, enableGrad, rules, type RuleTable } from '../autograd/index.js';
import type { ViT } from '../vit/model.js';
import { targetScore, describeTarget, type Target } from './target.js';
import { BASELINE_DEFAULTS } from './defaults.js';
import type { Explanation, PatchMap } from './explainer.js';
import { inBatches, noisyCopies, pathPoints, positiveInteger, valueRange, type BatchOptions, type Points } from './averaging.js';

/** What every baseline needs: the model, its normalised input [1, 3, H, W] and the last block's input X [1, N, D]. */
export interface BaselineInput {
  vit: ViT;
  input: Tensor;
  x: Tensor;
  grid: [number, number];
}

/** batch: images per batched pass through the model (default BASELINE_DEFAULTS.batch). */
export interface SmoothGradOptions extends BatchOptions {
  /** noise sigma as a fraction of the input's range (default BASELINE_DEFAULTS.smoothgradNoise) */
  noise?: number;
  samples?: number;
  seed?: number;
}

export interface IntGradOptions extends BatchOptions {
  /** path points (i/steps) x for i = 1..steps (default BASELINE_DEFAULTS.intgradSteps) */
  steps?: number;
}

const label = (b: BaselineInput) => (i: number) => b.vit.label(i);

/** d target / d images for a batch [k, 3, H, W]: one backward serves the batch (another rule table, another sweep). */
export function inputGradients(vit: ViT, images: Tensor, target: Target, table?: RuleTable): { g: Float32Array; value: Float32Array } {
  images.requireGrad();
  const score = enableGrad(() => targetScore(target, vit.forward(images)));
  const [g] = grad(score, [images], full(score.shape, 1, score.dtype), table);
  return { g: g!.contiguousData() as Float32Array, value: Float32Array.from(score.contiguousData()) };
}

/** Input gradients at the points, in batches of `batch`; `use(i, g)` gets point i's gradient. */
export function gradientsAt(
  b: BaselineInput,
  target: Target,
  points: Points,
  batch: number,
  use: (i: number, g: Float32Array) => void,
  onProgress?: (done: number, total: number) => void,
): void {
  const per = b.input.size;
  inBatches(
    b.input.shape,
    points,
    batch,
    (xs, first) => {
      const { g } = inputGradients(b.vit, xs, target);
      for (let s = 0; s < xs.shape[0]!; s++) use(first + s, g.subarray(s * per, (s + 1) * per));
    },
    onProgress,
  );
}

const addTo = (acc: Float64Array) => (_: number, g: Float32Array) => {
  for (let i = 0; i < acc.length; i++) acc[i]! += g[i]!;
};

/** mean over the 3 channels of (x * g) or of g, as an H x W map. */
export function channelMean(shape: readonly number[], g: ArrayLike<number>, x: ArrayLike<number> | null, scale: number): PatchMap {
  const [, c, h, w] = shape as [number, number, number, number];
  const hw = h * w;
  const out = new Float32Array(hw);
  for (let ch = 0; ch < c; ch++) {
    for (let i = 0; i < hw; i++) out[i]! += ((x ? x[ch * hw + i]! : 1) * g[ch * hw + i]! * scale) / c;
  }
  return { rows: h, cols: w, values: out };
}

/** Input x Grad: mean_c(x * df/dx). */
export function inputXGrad(b: BaselineInput, target: Target): Explanation {
  const x = b.input.contiguousData();
  // a copy, so the explainer's input is not marked for gradients
  const { g, value } = inputGradients(b.vit, fromData(Float32Array.from(x), b.input.shape), target);
  return { method: 'input-x-grad', target: describeTarget(target, label(b)), score: value[0]!, map: channelMean(b.input.shape, g, x, 1) };
}

/**
 * SmoothGrad's points: `samples` copies x + eps, eps ~ N(0, (noise (max x - min x))^2)
 * from the seeded stream. Every method of the SmoothGrad family draws these,
 * so with one seed they all see the same noisy inputs.
 */
export function smoothGradPoints(b: BaselineInput, opts: SmoothGradOptions): Points {
  const n = opts.samples ?? BASELINE_DEFAULTS.smoothgradSamples;
  positiveInteger('samples', n);
  const sigma = (opts.noise ?? BASELINE_DEFAULTS.smoothgradNoise) * valueRange(b.input);
  return noisyCopies(b.input.contiguousData(), sigma, n, opts.seed ?? BASELINE_DEFAULTS.seed);
}

/** SmoothGrad: mean_c(mean_k df(x + eps_k)/dx), eps ~ N(0, (noise (max x - min x))^2); the plain gradient, not times x. */
export function smoothGrad(b: BaselineInput, target: Target, opts: SmoothGradOptions = {}): Explanation {
  const points = smoothGradPoints(b, opts);
  const acc = new Float64Array(b.input.size);
  gradientsAt(b, target, points, opts.batch ?? BASELINE_DEFAULTS.batch, addTo(acc), opts.onProgress);
  return {
    method: 'smoothgrad',
    target: describeTarget(target, label(b)),
    score: cleanScore(b, target),
    map: channelMean(b.input.shape, acc, null, 1 / points.count),
  };
}

/** IntGrad from a zero baseline: mean_c(x * mean_i df((i/m) x)/dx) for i = 1..m. */
export function intGrad(b: BaselineInput, target: Target, opts: IntGradOptions = {}): Explanation {
  const m = opts.steps ?? BASELINE_DEFAULTS.intgradSteps;
  positiveInteger('steps', m);
  const x = b.input.contiguousData();
  const acc = new Float64Array(b.input.size);
  const points = pathPoints(
    x,
    Array.from({ length: m }, (_, i) => (i + 1) / m),
  );
  gradientsAt(b, target, points, opts.batch ?? BASELINE_DEFAULTS.batch, addTo(acc), opts.onProgress);
  return { method: 'intgrad', target: describeTarget(target, label(b)), score: cleanScore(b, target), map: channelMean(b.input.shape, acc, x, 1 / m) };
}

export interface ExpectedGradOptions extends BatchOptions {
  /** (reference, alpha) draws (default BASELINE_DEFAULTS.expectedGradSamples) */
  samples?: number;
  seed?: number;
  /** reference images [1, 3, H, W], normalised like the input (default: expectedGradReferences) */
  references?: Tensor[];
}

/**
 * The default reference set of Expected Gradients: a Gaussian-blurred copy
 * of the input (sigma BASELINE_DEFAULTS.expectedGradBlur pixels, edges
 * clamped) and BASELINE_DEFAULTS.expectedGradShuffles copies with the pixels
 * permuted (one permutation for all channels; Fisher-Yates on the seeded
 * stream). Images that keep the input's colours but not its structure.
 */
export function expectedGradReferences(input: Tensor, next: () => number): Tensor[] {
  const [, c, h, w] = input.shape as [number, number, number, number];
  const x = input.contiguousData();
  const hw = h * w;
  const refs: Tensor[] = [fromData(gaussianBlur(x, c, h, w, BASELINE_DEFAULTS.expectedGradBlur), input.shape)];
  for (let k = 0; k < BASELINE_DEFAULTS.expectedGradShuffles; k++) {
    const perm = Array.from({ length: hw }, (_, i) => i);
    for (let i = hw - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [perm[i], perm[j]] = [perm[j]!, perm[i]!];
    }
    const out = new Float32Array(x.length);
    for (let ch = 0; ch < c; ch++) for (let i = 0; i < hw; i++) out[ch * hw + i] = x[ch * hw + perm[i]!]!;
    refs.push(fromData(out, input.shape));
  }
  return refs;
}

/** Separable Gaussian blur per channel, radius ceil(3 sigma), edges clamped, in float64. */
function gaussianBlur(x: ArrayLike<number>, c: number, h: number, w: number, sigma: number): Float32Array {
  const r = Math.ceil(3 * sigma);
  const k = Array.from({ length: 2 * r + 1 }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)));
  const ks = k.reduce((a, b) => a + b, 0);
  const wts = k.map((v) => v / ks);
  const tmp = new Float64Array(c * h * w);
  const out = new Float32Array(c * h * w);
  const clamp = (v: number, n: number) => Math.min(n - 1, Math.max(0, v));
  for (let ch = 0; ch < c; ch++) {
    const o = ch * h * w;
    for (let y = 0; y < h; y++)
      for (let xx = 0; xx < w; xx++) {
        let s = 0;
        for (let t = -r; t <= r; t++) s += wts[t + r]! * x[o + y * w + clamp(xx + t, w)]!;
        tmp[o + y * w + xx] = s;
      }
    for (let y = 0; y < h; y++)
      for (let xx = 0; xx < w; xx++) {
        let s = 0;
        for (let t = -r; t <= r; t++) s += wts[t + r]! * tmp[o + clamp(y + t, h) * w + xx]!;
        out[o + y * w + xx] = s;
      }
  }
  return out;
}

/**
 * Expected Gradients (Erion et al. 2021): mean_c(mean_k (x - x'_k) * df(x'_k + a_k (x - x'_k))/dx),
 * with x'_k drawn uniformly from the reference set and a_k ~ U(0, 1), both
 * from the seeded stream (after the default references' permutations).
 */
export function expectedGrad(b: BaselineInput, target: Target, opts: ExpectedGradOptions = {}): Explanation {
  const n = opts.samples ?? BASELINE_DEFAULTS.expectedGradSamples;
  positiveInteger('samples', n);
  const next = rng(opts.seed ?? BASELINE_DEFAULTS.seed);
  const refs = (opts.references ?? expectedGradReferences(b.input, next)).map((r) => {
    if (r.shape.join() !== b.input.shape.join()) throw new Error(`expected-grad: a reference image is [${r.shape}], the input [${b.input.shape}]`);
    return r.contiguousData();
  });
  if (!refs.length) throw new Error('expected-grad needs at least one reference image');
  const x = b.input.contiguousData();
  const acc = new Float64Array(b.input.size);
  const drawn: ArrayLike<number>[] = []; // the reference of each point, for its (x - x') factor
  const points: Points = {
    count: n,
    point: (s, out) => {
      const ref = refs[Math.floor(next() * refs.length)]!;
      const alpha = next();
      drawn[s] = ref;
      for (let i = 0; i < out.length; i++) out[i] = ref[i]! + alpha * (x[i]! - ref[i]!);
    },
  };
  gradientsAt(
    b,
    target,
    points,
    opts.batch ?? BASELINE_DEFAULTS.batch,
    (s, g) => {
      const ref = drawn[s]!;
      for (let i = 0; i < acc.length; i++) acc[i]! += (x[i]! - ref[i]!) * g[i]!;
    },
    opts.onProgress,
  );
  return { method: 'expected-grad', target: describeTarget(target, label(b)), score: cleanScore(b, target), map: channelMean(b.input.shape, acc, null, 1 / n) };
}

/** The target's value on the unperturbed input. */
export function cleanScore(b: BaselineInput, target: Target): number {
  return noGrad(() => targetScore(target, b.vit.readout(b.x).head).item());
}

/**
 * GradCAM for ViT on CDAM's tensor T = LN1(X) of the last block:
 * w_j = mean over patch tokens of df/dT[i, j], cam_i = ReLU(sum_j w_j T[i, j]),
 * min-max scaled to [0, 1], bilinear to the input size. `patch` keeps the
 * raw (ReLU, unscaled) patch-level cam.
 */
export function gradCam(b: BaselineInput, target: Target): Explanation & { patch: PatchMap } {
  const { vit, x } = b;
  const t = noGrad(() => vit.normedLast(x)).requireGrad();
  const s = enableGrad(() => targetScore(target, vit.readout(x, t).head));
  const [g] = grad(s, [t], full(s.shape, 1, s.dtype));
  const [, n, d] = t.shape as [number, number, number];
  const pre = vit.numPrefix;
  const T = t.contiguousData();
  const G = g!.contiguousData();
  const w = new Float64Array(d);
  for (let i = pre; i < n; i++) for (let j = 0; j < d; j++) w[j]! += G[i * d + j]! / (n - pre);
  const cam = new Float32Array(n - pre);
  for (let i = pre; i < n; i++) {
    let acc = 0;
    for (let j = 0; j < d; j++) acc += w[j]! * T[i * d + j]!;
    cam[i - pre] = Math.max(0, acc);
  }
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of cam) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const scaled = cam.map((v) => (hi > lo ? (v - lo) / (hi - lo) : 0));
  const [, , h, wd] = b.input.shape as [number, number, number, number];
  const px = noGrad(() => resize(fromData(scaled, b.grid), [h, wd], 'bilinear')).contiguousData();
  return {
    method: 'gradcam',
    target: describeTarget(target, label(b)),
    score: s.item(),
    map: { rows: h, cols: wd, values: Float32Array.from(px) },
    patch: { rows: b.grid[0], cols: b.grid[1], values: cam },
  };
}

/** Every block's attention [H, rows, N] as plain arrays (the last block: its read-out rows only). */
function attentionsOf(attns: readonly Tensor[]): { data: Float32Array; heads: number; rows: number; n: number }[] {
  return attns.map((a) => {
    const [, heads, rows, n] = a.shape as [number, number, number, number];
    return { data: a.contiguousData() as Float32Array, heads, rows, n };
  });
}

/**
 * Row 0 of M_L ... M_2 M_1, as a row vector swept from the last block down
 * (v <- v M_b): N^2 work per block instead of N^3, since the maps read only
 * the [CLS] row. `rowsOf(b)` gives block b's matrix rows (the last block
 * needs only its row 0).
 */
function sweepRow0(blocks: number, n: number, rowsOf: (b: number, rows: number) => Float64Array): Float64Array {
  let v: Float64Array = rowsOf(blocks - 1, 1);
  for (let b = blocks - 2; b >= 0; b--) {
    const m = rowsOf(b, n);
    const next = new Float64Array(n);
    for (let k = 0; k < n; k++) {
      const vk = v[k]!;
      if (vk !== 0) for (let j = 0; j < n; j++) next[j]! += vk * m[k * n + j]!;
    }
    v = next;
  }
  return v;
}

/**
 * Attention rollout (Abnar & Zuidema 2020): R = prod_b (0.5 I + 0.5 mean_h A_b),
 * rows renormalised, later blocks on the left (as Abnar's code multiplies); the map is R[0] over the patch
 * tokens. With `head`, that head's attention in every block instead of the mean.
 */
export function rollout(b: BaselineInput, head?: number): Explanation {
  const top = rolloutRow(b, head);
  return { method: head === undefined ? 'rollout' : `rollout-head${head}`, target: null, score: null, map: patchRow(b, top) };
}

/** Row 0 of the rollout matrix over every token, prefix tokens included (it sums to 1). */
export function rolloutRow(b: BaselineInput, head?: number): Float64Array {
  const { vit } = b;
  const attns = attentionsOf(noGrad(() => vit.forward(b.input, { attentions: 'fused' })).attns);
  const n = attns[0]!.n;
  const H = attns[0]!.heads;
  if (head !== undefined && (!Number.isInteger(head) || head < 0 || head >= H)) throw new Error(`head ${head} out of range (the model has ${H} heads)`);
  const heads = head === undefined ? [...Array(H).keys()] : [head];
  // the augmented, renormalised attention rows 0..rows-1 of one block
  const augmented = (a: (typeof attns)[number], rows: number) => {
    const m = new Float64Array(rows * n);
    for (let i = 0; i < rows; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) {
        let v = 0;
        for (const h of heads) v += a.data[(h * a.rows + i) * n + j]! / heads.length;
        const e = 0.5 * v + (i === j ? 0.5 : 0);
        m[i * n + j] = e;
        s += e;
      }
      for (let j = 0; j < n; j++) m[i * n + j]! /= s;
    }
    return m;
  };
  return sweepRow0(attns.length, n, (i, rows) => augmented(attns[i]!, rows));
}

function patchRow(b: BaselineInput, row: Float64Array): PatchMap {
  const pre = b.vit.numPrefix;
  return { rows: b.grid[0], cols: b.grid[1], values: Float32Array.from(row.subarray(pre)) };
}

/** dA = dO V^T per head [B, H, N, N], from the gradient dO [B, N, D] at a fused attention's output and its q|k|v [B, N, 3D]. */
function attentionGradient(e: { g: Tensor; qkv: Tensor; heads: number } | undefined): Tensor {
  if (!e) throw new Error('internal: the backward sweep did not reach a block attention');
  const [bs, n, d3] = e.qkv.shape as [number, number, number];
  const hd = d3 / 3 / e.heads;
  const v = permute(reshape(slice(e.qkv, [0, 0, (2 * d3) / 3], [bs, n, d3]), [bs, n, e.heads, hd]), [0, 2, 1, 3]);
  const dO = permute(reshape(e.g, [bs, n, e.heads, hd]), [0, 2, 1, 3]);
  return noGrad(() => matmul(dO, transpose(v)));
}

/**
 * Relevance propagation (Chefer et al. 2021, generic attention-model
 * explainability): R = I; per block R <- R + mean_h(ReLU(dA * A)) R, with dA
 * the target's gradient at the block's attention probabilities; the map is
 * R[0] over the patch tokens.
 */
export function relevance(b: BaselineInput, target: Target): Explanation {
  const { vit } = b;
  const input = fromData(Float32Array.from(b.input.contiguousData()), b.input.shape).requireGrad();
  const tr = enableGrad(() => vit.forward(input, { attentions: 'fused' }));
  const s = enableGrad(() => targetScore(target, tr.head));
  // the fused blocks: their attention rule keeps the gradient at the attention output (dO) and q|k|v
  const seen = new Map<Tensor, { g: Tensor; qkv: Tensor; heads: number }>();
  const table: RuleTable = {
    ...rules,
    attention: (g, n, needs) => {
      seen.set(n.saved[0]!, { g, qkv: n.inputs[0]!, heads: n.params.heads });
      return rules.attention(g, n, needs);
    },
  };
  const last = tr.attns.length - 1;
  // asking for the input's gradient runs the sweep through every block (its value is not used)
  const [gLast] = grad(s, [tr.attns[last]!, input], full(s.shape, 1, s.dtype), table);
  const gs = tr.attns.map((a, i) => (i === last ? gLast! : attentionGradient(seen.get(a))));
  const attns = attentionsOf(tr.attns);
  const n = attns[0]!.n;
  const weighted = (i: number, rows: number) => {
    const a = attns[i]!;
    const g = gs[i]!.contiguousData() as Float32Array;
    const A = a.data;
    const m = new Float64Array(rows * n);
    const inv = 1 / a.heads;
    for (let h = 0; h < a.heads; h++) {
      const base = h * a.rows * n; // (h, q, k) at base + q n + k, q < rows <= a.rows
      for (let idx = 0; idx < rows * n; idx++) {
        const v = g[base + idx]! * A[base + idx]!;
        if (v > 0) m[idx]! += v * inv;
      }
    }
    return m;
  };
  // R <- R + Abar R = (I + Abar) R per block
  const top = sweepRow0(attns.length, n, (i, rows) => {
    const m = weighted(i, rows);
    for (let q = 0; q < rows; q++) m[q * n + q]! += 1;
    return m;
  });
  return { method: 'relevance', target: describeTarget(target, label(b)), score: s.item(), map: patchRow(b, top) };
}
