// Finite-difference gradient checks in float64: central differences with
// h = 1e-6 against the analytic vector-Jacobian product for a random seed.
import { grad, enableGrad, noGrad } from '../../src/autograd/index.js';
import { Tensor, randn, sum, mul } from '../../src/tensor/index.js';
import { relErr } from './fixtures.js';

/** The normwise relative error of the analytic gradient of sum(seed * f(inputs)) against central differences, worst over `diff`. */
export function gradcheck(f: (xs: Record<string, Tensor>) => Tensor, inputs: Record<string, Tensor>, diff: string[], seed = 7): number {
  const out0 = noGrad(() => f(inputs));
  const w = randn(out0.shape, seed, 'float64');
  const loss = (xs: Record<string, Tensor>) => sum(mul(f(xs), w)).item();
  for (const n of diff) inputs[n]!.requireGrad();
  const y = enableGrad(() => f(inputs));
  const analytic = grad(
    y,
    diff.map((n) => inputs[n]!),
    w,
  );
  let worst = 0;
  const h = 1e-6;
  diff.forEach((n, k) => {
    const x = inputs[n]!;
    const numeric = new Float64Array(x.size);
    noGrad(() => {
      for (let i = 0; i < x.size; i++) {
        const keep = x.data[i]!;
        x.data[i] = keep + h;
        const up = loss(inputs);
        x.data[i] = keep - h;
        const down = loss(inputs);
        x.data[i] = keep;
        numeric[i] = (up - down) / (2 * h);
      }
    });
    worst = Math.max(worst, relErr(analytic[k]!.toArray(), numeric));
  });
  return worst;
}
