// The training layer's public face: optimizers, schedules, clipping, losses, and the data layer.
export { SGD, AdamW, paramGroups, isNoDecay, gradients, clipGradNorm, warmupCosine } from './optim.js';
export type { Params, Grads, ParamGroup, SGDOptions, AdamWOptions, WarmupCosine } from './optim.js';
export { crossEntropy, bceWithLogits, mse, huber, logSoftmax, type CrossEntropyOptions } from './losses.js';
export { readImageFolder, readTable, TABLE_LIMITS, type Dataset, type DatasetItem, type TableOptions } from './data.js';
export { permutation, epochOrder, stratifiedSplit } from './split.js';
export {
  augment,
  augmentFor,
  affineRgb,
  flipHorizontal,
  randomResizedCropBox,
  NO_AUGMENT,
  DEFAULT_AUGMENT_CLASSIFICATION,
  type AugmentOptions,
} from './augment.js';
export { loadBatch, type Batch, type BatchOptions } from './batch.js';
