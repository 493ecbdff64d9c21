// The package entry ("cdam"). Everything here also loads in a browser: the
// Node-only helpers (loadViT of a folder, readImageFile, writeFileAtomic)
// reach Node's file system lazily and say so when it is missing.
//
//   import { loadViT, readImageFile, explainImage } from 'cdam';
//   const vit = await loadViT();                       // the embedded ViT-Ti/16
//   const r = await explainImage(vit, readImageFile('cat.png'), { method: 'cdam', target: 285 });
//   r.map // { rows, cols, values }

import { chooseFastestOnFirstUse } from './kernels/default.js';

// The package's one global choice, made here and nowhere else: the fastest
// backend measured (or CDAM_BACKEND) on the first kernel call, unless the
// caller picked one with setBackend first.
chooseFastestOnFirstUse();

// One call each
export { loadViT, type ModelSource, type LoadViTOptions } from './api/load.js';
export { explainImage, classifyImage, type ExplainOptions, type ExplainResult, type ClassifyOptions, type ClassifyResult } from './api/explainImage.js';
// Several methods or targets on one image: the blocks before the last run once
export { ExplainSession, resolveTarget, type ImageInput, type TargetInput, type SessionOptions } from './api/session.js';

// Models and images
export { ViT, type ViTConfig, type ViTParams, type HeadOutput, type RegisterNeuron, type TestTimeRegisterInfo } from './vit/model.js';
export {
  findRegisterNeurons,
  applyTestTimeRegisters,
  parseTestTimeRegisters,
  formatTestTimeRegisters,
  readTestTimeRegisters,
  probeForward,
  tokenNorms,
  FIND_REGISTER_DEFAULTS,
  TTR_FILE_NAME,
  TTR_FORMAT,
  type FindRegisterOptions,
  type TestTimeRegisters,
  type ScoredRegisterNeuron,
} from './vit/registers.js';
export { registerIntervention, type RegisterNeurons } from './vit/block.js';
export { loadViTFolder, loadViTFromBytes, EMBEDDED_MODEL_URL, EMBEDDED_MODEL_NAME, type ModelBytes } from './vit/load.js';
export { prepareImage, normalise, resizeRgb, DEFAULT_RESIZE, RESIZE_MODES, describePreprocessing, type ResizeMode, type Prepared } from './vit/preprocess.js';
export { topClasses, type TopClass } from './vit/classes.js';
export { InputError } from './io/errors.js';
export { applyExifOrientation, decodeImage, jpegOrientation, readImageFile, type RgbImage } from './io/image.js';
export { writeFileAtomic } from './io/atomic.js';
export { openSafetensors, bufferSource, fileSource, writeSafetensors, type SafetensorsFile } from './io/safetensors.js';

// The methods, for people who audit the math
export {
  Explainer,
  conceptVector,
  type Explanation,
  type PatchMap,
  type HighNormToken,
  type ScoreEngine,
  type SmoothOptions,
  type IntegratedOptions,
} from './cdam/explainer.js';
export { METHODS, isMethod, runMethod, methodInfo, methodsTaking, type Method, type MethodOptions } from './cdam/methods.js';
export { OPTION_SPECS, OPTION_NAMES, type OptionName, type OptionSpec, type MethodParams } from './cdam/options.js';
export { CDAM_DEFAULTS, BASELINE_DEFAULTS, ATTNLRP_DEFAULTS } from './cdam/defaults.js';
export {
  inputXGrad,
  smoothGrad,
  intGrad,
  expectedGrad,
  expectedGradReferences,
  gradCam,
  relevance,
  rollout,
  rolloutRow,
  type BaselineInput,
  type SmoothGradOptions,
  type IntGradOptions,
  type ExpectedGradOptions,
} from './cdam/baselines.js';
export { partialLrp, partialLrpTrace, type PartialLrpTrace } from './cdam/lrp.js';
export { attnLrp, attnLrpGammas, type AttnLrpOptions } from './cdam/attnlrp.js';
export { encodeConcept, decodeConcept, type Concept } from './cdam/concept.js';
export { parseTarget, classByLabel, describeTarget, targetScore, type Target } from './cdam/target.js';
export { tokenScoresClosedForm, tokenScoresAutograd, type TokenScores } from './cdam/scores.js';
export {
  writeReport,
  parseResults,
  summarizeResults,
  reportMarkdown,
  reportCsv,
  meanSe,
  PAPER_REFERENCE,
  type ResultRecord,
  type ReportSummary,
  type MethodSummary,
  type Stat,
  type WriteReportOptions,
} from './eval/report.js';

// Pictures
export {
  renderOverlay,
  renderGrid,
  renderImagePanel,
  toPng,
  displayRange,
  colormapLut,
  normalizeScore,
  type OverlayOptions,
  type GridPanel,
} from './render/index.js';

// The engine
export { Tensor, tensor, fromData, zeros, full, randn, fromNdarray, toNdarray, type DType } from './tensor/index.js';
export * as ops from './tensor/index.js';
export { grad, noGrad, enableGrad, relevanceRules, type RuleTable, type RelevanceOptions } from './autograd/index.js';
export { setBackend, activeBackend, backendNames, disposeBackends, describeBackend, backendCalls } from './kernels/index.js';
export { useFastestBackend } from './kernels/default.js';
