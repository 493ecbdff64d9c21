// The evaluation's defaults (docs/ALGORITHMS.md "Evaluation protocol"), named once: the
// library, the command line and its usage text read them from here.
export const EVAL_DEFAULTS = {
  /** MIF/LIF steps: k = 0..steps, floor(k/steps HW) pixels perturbed at step k */
  steps: 40,
  /** box sizes in pixels */
  boxSizes: [16, 32, 48, 64, 96] as readonly number[],
  /** random boxes per size */
  boxesPerSize: 100,
  /** seed of the box positions (mulberry32) */
  seed: 0,
  /** sigma of Pillow's GaussianBlur for the perturbed pixels */
  blurRadius: 14,
  /** perturbed images per forward pass */
  batch: 16,
  /** compactness counts |s| <= fraction * max|s| */
  compactnessFraction: 0.05,
} as const;
