// The other methods' defaults, named once: the library, the option parser and
// the usage text all read them from here.
/** The baselines' defaults (docs/ALGORITHMS.md, "Baselines"). */
export const BASELINE_DEFAULTS = {
  /** SmoothGrad: noisy samples n */
  smoothgradSamples: 50,
  /** SmoothGrad: sigma as a fraction of the input's range */
  smoothgradNoise: 0.15,
  /** IntGrad: path points */
  intgradSteps: 50,
  /** Expected Gradients: (reference, alpha) draws */
  expectedGradSamples: 50,
  /** Expected Gradients: sigma in pixels of the blurred reference */
  expectedGradBlur: 8,
  /** Expected Gradients: pixel-shuffled references */
  expectedGradShuffles: 3,
  /** noise seed */
  seed: 0,
  /** images per batched pass through the whole model (bounds memory: each holds a full tape) */
  batch: 8,
} as const;

/** AttnLRP's defaults: what the authors ship for ViTs (lxt's torchvision patch map and its example). */
export const ATTNLRP_DEFAULTS = {
  /** 'cp': CP-LRP inside attention (no relevance through queries and keys); 'full': AttnLRP's softmax and matmul rules */
  variant: 'cp',
  /** LRP-gamma of the MLP and head linear layers */
  gamma: 0.05,
  /** LRP-gamma of the patch embedding (the authors' Conv2d) */
  patchGamma: 0.25,
} as const;
