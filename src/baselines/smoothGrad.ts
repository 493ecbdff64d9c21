// SmoothGrad (Smilkov et al. 2017): the input gradient averaged over noisy copies.

import { describeTarget, type Target } from '../cdam/target.js';
import type { Explanation } from '../cdam/explainer.js';
import { noisyCopies, positiveInteger, valueRange, type BatchOptions, type Points } from '../cdam/averaging.js';
import { BASELINE_DEFAULTS } from './defaults.js';
import { addTo, channelMean, cleanScore, gradientsAt, label, type BaselineInput } from './gradients.js';

/** batch: images per batched pass through the model (default BASELINE_DEFAULTS.batch). */
export interface SmoothGradOptions extends BatchOptions {
  /** noise sigma as a fraction of the input's range (default BASELINE_DEFAULTS.smoothgradNoise) */
  noise?: number;
  samples?: number;
  seed?: number;
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
