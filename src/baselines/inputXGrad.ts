// Input x Grad (Shrikumar et al. 2016): the input times its gradient.

import { fromData } from '../tensor/index.js';
import { describeTarget, type Target } from '../cdam/target.js';
import type { Explanation } from '../cdam/explainer.js';
import { channelMean, inputGradients, label, type BaselineInput } from './gradients.js';

/** Input x Grad: mean_c(x * df/dx). */
export function inputXGrad(b: BaselineInput, target: Target): Explanation {
  const x = b.input.contiguousData();
  // a copy, so the explainer's input is not marked for gradients
  const { g, value } = inputGradients(b.vit, fromData(Float32Array.from(x), b.input.shape), target);
  return { method: 'input-x-grad', target: describeTarget(target, label(b)), score: value[0]!, map: channelMean(b.input.shape, g, x, 1) };
}
