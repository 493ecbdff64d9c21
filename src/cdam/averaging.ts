// Averaging a gradient method over many inputs, written once (as Captum's
// NoiseTunnel wraps any attribution): over noisy copies (Smooth CDAM,
// SmoothGrad), along a path (Integrated CDAM, IntGrad) or over drawn
// reference points (Expected Gradients). The points go through the model in
// batches, so peak memory is one batch of tapes however many points there are.

import { Tensor, allocate, max, min, normalSampler, rng } from '../tensor/index.js';
import { noGrad } from '../autograd/index.js';

/** The points to average over: `count` of them; `point(i, out)` writes point i (called in order i = 0..count-1). */
export interface Points {
  count: number;
  point: (i: number, out: Float32Array) => void;
}

/** Progress and memory settings every averaged method takes. */
export interface BatchOptions {
  /** points per batched pass (memory bound) */
  batch?: number;
  /** called after each batch with (points done, points in all) */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Run `evaluate` on the points, `batch` at a time: it gets the batch as a
 * tensor [k, ...shape.slice(1)] and the index of its first point.
 */
export function inBatches(
  shape: readonly number[],
  points: Points,
  batch: number,
  evaluate: (xs: Tensor, first: number) => void,
  onProgress?: (done: number, total: number) => void,
): void {
  const per = shape.slice(1).reduce((a, b) => a * b, 1);
  const step = Math.max(1, Math.floor(batch));
  for (let done = 0; done < points.count; done += step) {
    const k = Math.min(step, points.count - done);
    const xs = allocate('float32', k * per) as Float32Array;
    for (let s = 0; s < k; s++) points.point(done + s, xs.subarray(s * per, (s + 1) * per));
    evaluate(new Tensor(xs, [k, ...shape.slice(1)]), done);
    onProgress?.(done + k, points.count);
  }
}

/** `n` noisy copies x + eps, eps ~ N(0, sigma^2) per entry, from the seeded stream (entry by entry, copy by copy). */
export function noisyCopies(x: ArrayLike<number>, sigma: number, n: number, seed: number): Points {
  positiveInteger('samples', n);
  const normal = normalSampler(rng(seed));
  return {
    count: n,
    point: (_, out) => {
      for (let i = 0; i < out.length; i++) out[i] = x[i]! + sigma * normal();
    },
  };
}

/** Points a_i x on the straight path from zero, for the given fractions a_i: float32 products, as mul(x, a) gives. */
export function pathPoints(x: ArrayLike<number>, alphas: readonly number[]): Points {
  return {
    count: alphas.length,
    point: (i, out) => {
      const a = Math.fround(alphas[i]!);
      for (let j = 0; j < out.length; j++) out[j] = a * x[j]!;
    },
  };
}

/** max - min over every entry: the range a noise level is relative to. */
export function valueRange(x: Tensor): number {
  return noGrad(() => max(x)).item() - noGrad(() => min(x)).item();
}

export function positiveInteger(what: string, n: number): void {
  if (!(n >= 1) || !Number.isInteger(n)) throw new Error(`${what} must be a positive integer, got ${n}`);
}
