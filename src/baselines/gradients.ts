// What the gradient baselines share: the batched input gradients at a set of
// points, the mean over RGB that turns them into a pixel map, and the target's
// value on the clean input. Gradient baselines differentiate the whole model
// with respect to the normalised input pixels and give pixel-level maps
// (mean over RGB, signed).

import { Tensor, full } from '../tensor/index.js';
import { grad, noGrad, enableGrad, type RuleTable } from '../autograd/index.js';
import type { ViT } from '../vit/model.js';
import { targetScore, type Target } from '../cdam/target.js';
import type { PatchMap } from '../cdam/explainer.js';
import { inBatches, type Points } from '../cdam/averaging.js';

/** What every baseline needs: the model, its normalised input [1, 3, H, W] and the last block's input X [1, N, D]. */
export interface BaselineInput {
  vit: ViT;
  input: Tensor;
  x: Tensor;
  grid: [number, number];
}

/** The model's label of class i, for describeTarget. */
export const label = (b: BaselineInput) => (i: number) => b.vit.label(i);

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

/** A `use` for gradientsAt that sums every point's gradient into `acc`. */
export const addTo = (acc: Float64Array) => (_: number, g: Float32Array) => {
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

/** The target's value on the unperturbed input. */
export function cleanScore(b: BaselineInput, target: Target): number {
  return noGrad(() => targetScore(target, b.vit.readout(b.x).head).item());
}
