// `cdam/methods`: every method as a function, the Explainer they share, the
// registry that runs them by name, their declared options and defaults,
// targets and concepts.
//
//   import { Explainer, smoothGrad, runMethod } from 'cdam/methods';

import { chooseFastestOnFirstUse } from '../kernels/default.js';

// as the package entry does: every backend registered, the fastest chosen on first use
chooseFastestOnFirstUse();

export {
  Explainer,
  conceptVector,
  type Explanation,
  type PatchMap,
  type HighNormToken,
  type ScoreEngine,
  type SmoothOptions,
  type IntegratedOptions,
} from '../cdam/explainer.js';
export { tokenScoresClosedForm, tokenScoresAutograd, type TokenScores } from '../cdam/scores.js';
export { parseTarget, classByLabel, describeTarget, targetScore, type Target } from '../cdam/target.js';
export { encodeConcept, decodeConcept, type Concept } from '../cdam/concept.js';
export { CDAM_DEFAULTS } from '../cdam/defaults.js';
export { BASELINE_DEFAULTS, ATTNLRP_DEFAULTS } from '../baselines/defaults.js';
export type { BaselineInput } from '../baselines/gradients.js';
export { inputXGrad } from '../baselines/inputXGrad.js';
export { smoothGrad, type SmoothGradOptions } from '../baselines/smoothGrad.js';
export { smoothGradSquared } from '../baselines/smoothGradSquared.js';
export { intGrad, type IntGradOptions } from '../baselines/intGrad.js';
export { expectedGrad, expectedGradReferences, type ExpectedGradOptions } from '../baselines/expectedGrad.js';
export { gradCam } from '../baselines/gradCam.js';
export { rollout, rolloutRow } from '../baselines/rollout.js';
export { relevance } from '../baselines/relevance.js';
export { partialLrp, partialLrpTrace, type PartialLrpTrace } from '../baselines/partialLrp.js';
export { attnLrp, attnLrpGammas, type AttnLrpOptions } from '../baselines/attnLrp.js';
export { METHODS, isMethod, runMethod, methodInfo, methodsTaking, type Method, type MethodOptions } from './registry.js';
export { OPTION_SPECS, OPTION_NAMES, type OptionName, type OptionSpec, type MethodParams } from './options.js';
