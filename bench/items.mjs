// The benchmark items, our side: the same computations bench/torch_bench.py
// times in PyTorch (see its docstring), end to end.
import { Tensor, select, concat, mul, mean, full } from '../build/src/tensor/index.js';
import { noGrad, grad, enableGrad } from '../build/src/autograd/index.js';
import { Explainer } from '../build/src/cdam/explainer.js';
import { smoothGrad } from '../build/src/baselines/smoothGrad.js';
import { intGrad } from '../build/src/baselines/intGrad.js';
import { relevance } from '../build/src/baselines/relevance.js';
import { rollout } from '../build/src/baselines/rollout.js';
import { attnLrp } from '../build/src/baselines/attnLrp.js';

export function topClass(vit, x) {
  const l = noGrad(() => vit.forward(x).logits).toArray();
  return l.indexOf(Math.max(...l));
}

/** baselines: also the baseline items (bench/run.mjs asks for them on the first model only). */
export function makeItems(vit, x, cls, baselines = true) {
  const target = { kind: 'class', index: cls };
  const x8 = concat(Array(8).fill(x), 0);
  const base = {
    smoothgrad_50: () => smoothGrad(new Explainer(vit, x), target, { samples: 50 }),
    intgrad_50: () => intGrad(new Explainer(vit, x), target, { steps: 50 }),
    relevance: () => relevance(new Explainer(vit, x), target),
    rollout: () => rollout(new Explainer(vit, x)),
    attnlrp: () => attnLrp(new Explainer(vit, x), target),
  };
  return {
    forward: () => noGrad(() => vit.forward(x)),
    cdam: () => new Explainer(vit, x).cdam(target),
    smooth_cdam_50: () => new Explainer(vit, x).smooth(target, { samples: 50 }),
    integrated_cdam_50: () => new Explainer(vit, x).integrated(target, { steps: 50 }),
    input_x_grad: () => {
      const xi = new Tensor(x.data, x.shape).requireGrad();
      const logit = enableGrad(() => select(vit.forward(xi).logits, 1, cls));
      const [g] = grad(logit, [xi], full([1], 1));
      return noGrad(() => mean(mul(xi, g), 1));
    },
    forward_batch8: () => noGrad(() => vit.forward(x8)),
    ...(baselines ? base : {}),
  };
}
