// Expected Gradients (Erion et al. 2021): IntGrad's path integral in expectation
// over a reference set and a uniform position on the path.

import { Tensor, fromData, rng } from '../tensor/index.js';
import { describeTarget, type Target } from '../cdam/target.js';
import type { Explanation } from '../cdam/explainer.js';
import { positiveInteger, type BatchOptions, type Points } from '../cdam/averaging.js';
import { BASELINE_DEFAULTS } from './defaults.js';
import { channelMean, cleanScore, gradientsAt, label, type BaselineInput } from './gradients.js';

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
