// `cdam/model`: the ViT below the explainers: its loaders, preprocessing,
// test-time registers and the file formats it reads.
//
//   import { loadViTFolder, prepareImage, openSafetensors } from 'cdam/model';

import { chooseFastestOnFirstUse } from './kernels/default.js';

// as the package entry does: every backend registered, the fastest chosen on first use
chooseFastestOnFirstUse();

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
export { applyExifOrientation, decodeImage, jpegOrientation, readImageFile, type RgbImage } from './io/image.js';
export { openSafetensors, bufferSource, fileSource, writeSafetensors, type SafetensorsFile } from './io/safetensors.js';
