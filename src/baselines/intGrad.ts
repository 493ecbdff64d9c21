// Integrated Gradients (Sundararajan et al. 2017) from a zero baseline, by the right Riemann sum.

import { describeTarget, type Target } from '../cdam/target.js';
import type { Explanation } from '../cdam/explainer.js';
import { pathPoints, positiveInteger, type BatchOptions } from '../cdam/averaging.js';
import { BASELINE_DEFAULTS } from './defaults.js';
import { addTo, channelMean, cleanScore, gradientsAt, label, type BaselineInput } from './gradients.js';

export interface IntGradOptions extends BatchOptions {
  /** path points (i/steps) x for i = 1..steps (default BASELINE_DEFAULTS.intgradSteps) */
  steps?: number;
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
