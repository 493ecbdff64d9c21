// The training layer's public face: optimizers, schedules, clipping, losses, trainable parameters, the data layer, the loop.
export { SGD, AdamW, Optimizer, paramGroups, isNoDecay, gradients, clipGradNorm, warmupCosine } from './optim.js';
export type { Params, Grads, ParamGroup, SGDOptions, AdamWOptions, WarmupCosine, OptimizerState } from './optim.js';
export { crossEntropy, bceWithLogits, mse, huber, logSoftmax, type CrossEntropyOptions } from './losses.js';
export { trainable, nameMatcher, lastBlocks, type TrainableOptions, type TrainableModel } from './trainable.js';
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
export { fit, evaluate, lossOf, streamSeed, vitNet, FIT_DEFAULTS } from './fit.js';
export type { Task, Net, BatchSource, FitSettings, Evaluation, EpochRecord, FitState, StepProgress, FitHooks } from './fit.js';
