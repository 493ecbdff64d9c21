// SmoothGrad-Squared (Hooker et al. 2019, "A Benchmark for Interpretability
// Methods in Deep Neural Networks", sec. 3.1): SmoothGrad with each noisy
// copy's gradient squared before the mean, so the map is non-negative. Built
// like SmoothGrad on the shared averaging: the same noisy points
// (smoothGradPoints: same sigma, same seeded stream, so one seed gives exactly
// SmoothGrad's inputs), the same batched input gradients (gradientsAt), the
// same mean over RGB (channelMean).

import { describeTarget, type Target } from '../cdam/target.js';
import { BASELINE_DEFAULTS } from './defaults.js';
import type { Explanation } from '../cdam/explainer.js';
import { channelMean, cleanScore, gradientsAt, label, type BaselineInput } from './gradients.js';
import { smoothGradPoints, type SmoothGradOptions } from './smoothGrad.js';

/** SmoothGrad-Squared: mean_c(mean_k (df(x + eps_k)/dx)^2), eps ~ N(0, (noise (max x - min x))^2). */
export function smoothGradSquared(b: BaselineInput, target: Target, opts: SmoothGradOptions = {}): Explanation {
  const points = smoothGradPoints(b, opts);
  const acc = new Float64Array(b.input.size);
  gradientsAt(
    b,
    target,
    points,
    opts.batch ?? BASELINE_DEFAULTS.batch,
    (_, g) => {
      for (let i = 0; i < acc.length; i++) acc[i]! += g[i]! * g[i]!;
    },
    opts.onProgress,
  );
  return {
    method: 'smoothgrad-squared',
    target: describeTarget(target, label(b)),
    score: cleanScore(b, target),
    map: channelMean(b.input.shape, acc, null, 1 / points.count),
  };
}
