// Losses as composites of tensor primitives (no gradient code of their own:
// the gradient table covers them), each with torch.nn.functional's mean
// reduction. The shifts that keep exp from overflowing (the row max, relu(x))
// are taken as constants, as torch does: the gradient is exact either way.

import { noGrad } from '../autograd/index.js';
import { Tensor, add, sub, mul, div, exp, log, sum, max, relu, neg, where, compare, tensor, mean } from '../tensor/index.js';

/** log softmax over the last axis: x - m - log(sum(exp(x - m))), m the row max held constant. */
export function logSoftmax(x: Tensor): Tensor {
  const m = noGrad(() => max(x, -1, true));
  const z = sub(x, m);
  return sub(z, log(sum(exp(z), -1, true)));
}

export interface CrossEntropyOptions {
  /** ε: the target is (1 - ε) one-hot + ε / C (torch's label_smoothing) */
  labelSmoothing?: number;
  /** rows whose target is this index add nothing and are not counted (torch's default -100) */
  ignoreIndex?: number;
}

/**
 * F.cross_entropy(logits, target, label_smoothing=ε), mean reduction:
 * -sum_c q_ic log_softmax(x)_ic averaged over the rows not ignored, with
 * q_i = (1 - ε) onehot(y_i) + ε / C. logits [N, C], targets N class indices.
 */
export function crossEntropy(logits: Tensor, targets: ArrayLike<number>, opts: CrossEntropyOptions = {}): Tensor {
  if (logits.rank !== 2) throw new Error(`crossEntropy expects logits [N, C], got [${logits.shape}]`);
  const [n, c] = logits.shape as [number, number];
  if (targets.length !== n) throw new Error(`crossEntropy: ${targets.length} targets for ${n} rows`);
  const eps = opts.labelSmoothing ?? 0;
  const ignore = opts.ignoreIndex ?? -100;
  if (!(eps >= 0 && eps <= 1)) throw new Error(`label smoothing ${eps} is outside [0, 1]`);
  const q = new Float64Array(n * c);
  let counted = 0;
  for (let i = 0; i < n; i++) {
    const y = targets[i]!;
    if (y === ignore) continue;
    if (!Number.isInteger(y) || y < 0 || y >= c) throw new Error(`target ${y} is not a class index below ${c}`);
    counted++;
    for (let k = 0; k < c; k++) q[i * c + k] = eps / c;
    q[i * c + y] = eps / c + 1 - eps;
  }
  const total = neg(sum(mul(logSoftmax(logits), tensor(q, [n, c], logits.dtype))));
  return div(total, counted); // 0 / 0 = NaN when every row is ignored, as torch
}

/**
 * F.binary_cross_entropy_with_logits, mean reduction: softplus(x) - x y with
 * softplus(x) = m + log(exp(-m) + exp(x - m)), m = relu(x) held constant
 * (no overflow; gradient sigmoid(x) - y everywhere, 0 included). Targets may be soft.
 */
export function bceWithLogits(logits: Tensor, targets: Tensor): Tensor {
  const m = noGrad(() => relu(logits));
  const softplus = add(m, log(add(exp(neg(m)), exp(sub(logits, m)))));
  return mean(sub(softplus, mul(logits, targets)));
}

/** F.mse_loss, mean reduction: mean((x - y)^2). */
export function mse(input: Tensor, target: Tensor): Tensor {
  const d = sub(input, target);
  return mean(mul(d, d));
}

/**
 * F.huber_loss(x, y, delta), mean reduction: 0.5 d^2 where |d| < delta, else
 * delta (|d| - delta / 2), with d = x - y and |d| = relu(d) + relu(-d) (gradient 0 at d = 0, as torch).
 */
export function huber(input: Tensor, target: Tensor, delta = 1): Tensor {
  if (!(delta > 0)) throw new Error(`Huber delta ${delta} must be positive`);
  const d = sub(input, target);
  const a = add(relu(d), relu(neg(d)));
  const inner = noGrad(() => compare(a, delta, 'lt'));
  return mean(where(inner, mul(mul(d, d), 0.5), mul(sub(a, delta / 2), delta)));
}
