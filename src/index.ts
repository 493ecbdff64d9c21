// The package entry ("cdam"): what an application needs to explain an image.
// Everything here also loads in a browser: the Node-only helpers (loadViT of a
// folder, readImageFile, writeFileAtomic) reach Node's file system lazily and
// say so when it is missing. The layers below have their own entries:
// `cdam/methods` (every method as a function, the Explainer, the registry),
// `cdam/model` (the ViT, loaders, preprocessing, file formats), `cdam/engine`
// (tensors, gradients, backends) and `cdam/eval` (the evaluation, Node).
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
export type { ViT, ViTConfig } from './vit/model.js';
export { topClasses, type TopClass } from './vit/classes.js';
export { applyTestTimeRegisters, findRegisterNeurons, readTestTimeRegisters, type TestTimeRegisters } from './vit/registers.js';
export { InputError } from './io/errors.js';
export { decodeImage, readImageFile, type RgbImage } from './io/image.js';
export { writeFileAtomic } from './io/atomic.js';

// The methods by name (each as a function: cdam/methods)
export { METHODS, isMethod, methodInfo, type Method, type MethodOptions } from './methods/registry.js';
export { OPTION_SPECS, type OptionName, type MethodParams } from './methods/options.js';
export { conceptVector, type Explanation, type PatchMap } from './cdam/explainer.js';
export { parseTarget, type Target } from './cdam/target.js';
export { encodeConcept, decodeConcept, type Concept } from './cdam/concept.js';

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

// The backend (the engine itself: cdam/engine)
export { setBackend, activeBackend, backendNames, describeBackend } from './kernels/index.js';
export { useFastestBackend } from './kernels/default.js';
