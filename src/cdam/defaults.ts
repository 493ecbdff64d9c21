// The CDAM family's defaults, named once: the library, the option parser and
// the usage text all read them from here.
export const CDAM_DEFAULTS = {
  /** Smooth CDAM: noisy samples n */
  samples: 50,
  /** Smooth CDAM: noise level nu, relative to the range of the last block's input */
  noise: 0.05,
  /** Smooth CDAM: what nu is relative to ('range': the paper's max - min of X; 'robust': without high-norm tokens) */
  noiseScale: 'range',
  /** Smooth CDAM: noise seed */
  seed: 0,
  /** Integrated CDAM: path steps m */
  steps: 50,
  /** samples per batched pass through the last block (bounds memory) */
  batch: 16,
} as const;

/** Smooth CDAM's robust noise scale leaves out the tokens whose norm exceeds this many times the median token norm. */
export const ROBUST_NORM_FACTOR = 3;
