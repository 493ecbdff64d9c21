// GradCAM (Selvaraju et al. 2017) for a ViT, on the last block's normed input.

import { full, fromData, resize } from '../tensor/index.js';
import { grad, noGrad, enableGrad } from '../autograd/index.js';
import { targetScore, describeTarget, type Target } from '../cdam/target.js';
import type { Explanation, PatchMap } from '../cdam/explainer.js';
import { label, type BaselineInput } from './gradients.js';

/**
 * GradCAM for ViT on CDAM's tensor T = LN1(X) of the last block:
 * w_j = mean over patch tokens of df/dT[i, j], cam_i = ReLU(sum_j w_j T[i, j]),
 * min-max scaled to [0, 1], bilinear to the input size. `patch` keeps the
 * raw (ReLU, unscaled) patch-level cam.
 */
export function gradCam(b: BaselineInput, target: Target): Explanation & { patch: PatchMap } {
  const { vit, x } = b;
  const t = noGrad(() => vit.normedLast(x)).requireGrad();
  const s = enableGrad(() => targetScore(target, vit.readout(x, t).head));
  const [g] = grad(s, [t], full(s.shape, 1, s.dtype));
  const [, n, d] = t.shape as [number, number, number];
  const pre = vit.numPrefix;
  const T = t.contiguousData();
  const G = g!.contiguousData();
  const w = new Float64Array(d);
  for (let i = pre; i < n; i++) for (let j = 0; j < d; j++) w[j]! += G[i * d + j]! / (n - pre);
  const cam = new Float32Array(n - pre);
  for (let i = pre; i < n; i++) {
    let acc = 0;
    for (let j = 0; j < d; j++) acc += w[j]! * T[i * d + j]!;
    cam[i - pre] = Math.max(0, acc);
  }
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of cam) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const scaled = cam.map((v) => (hi > lo ? (v - lo) / (hi - lo) : 0));
  const [, , h, wd] = b.input.shape as [number, number, number, number];
  const px = noGrad(() => resize(fromData(scaled, b.grid), [h, wd], 'bilinear')).contiguousData();
  return {
    method: 'gradcam',
    target: describeTarget(target, label(b)),
    score: s.item(),
    map: { rows: h, cols: wd, values: Float32Array.from(px) },
    patch: { rows: b.grid[0], cols: b.grid[1], values: cam },
  };
}
