// The evaluation's settings and their defaults (docs/ALGORITHMS.md "Evaluation protocol"),
// named once: the library, the command line and its usage text read them from here.
import { DEFAULT_RESIZE, type ResizeMode } from '../vit/preprocess.js';
import type { MethodOptions } from '../methods/registry.js';

/**
 * The settings every image of a run is evaluated with, besides the boxes. The run's
 * options (EvalRunOptions, each optional), run.json's settings (RunSettings), an
 * image's settings (EvalConfig) and the protocol's options extend this.
 */
export interface EvalSettings {
  /** MIF/LIF steps: k = 0..steps, floor(k/steps HW) pixels perturbed at step k */
  steps: number;
  /** perturbed images per forward pass */
  batch: number;
  /** how an image is brought to model resolution (as cdam explain) */
  resize: ResizeMode;
  /** the methods' options */
  methodOptions: MethodOptions;
}

export const EVAL_DEFAULTS = {
  steps: 40,
  /** box sizes in pixels */
  boxSizes: [16, 32, 48, 64, 96] as readonly number[],
  /** random boxes per size */
  boxesPerSize: 100,
  /** seed of the box positions (mulberry32) */
  seed: 0,
  /** sigma of Pillow's GaussianBlur for the perturbed pixels */
  blurRadius: 14,
  batch: 16,
  resize: DEFAULT_RESIZE,
  methodOptions: {},
  /** compactness counts |s| <= fraction * max|s| */
  compactnessFraction: 0.05,
} as const satisfies EvalSettings & Record<string, unknown>;
