// The training layer's public face: optimizers, schedules, clipping, losses, trainable parameters, the loop.
export { SGD, AdamW, Optimizer, paramGroups, isNoDecay, gradients, clipGradNorm, warmupCosine } from './optim.js';
export type { Params, Grads, ParamGroup, SGDOptions, AdamWOptions, WarmupCosine, OptimizerState } from './optim.js';
export { crossEntropy, bceWithLogits, mse, huber, logSoftmax, type CrossEntropyOptions } from './losses.js';
export { trainable, nameMatcher, lastBlocks, type TrainableOptions, type TrainableModel } from './trainable.js';
export { fit, evaluate, lossOf, streamSeed, FIT_DEFAULTS } from './fit.js';
export type { Task, Batch, BatchSource, FitSettings, Evaluation, EpochRecord, FitState, StepProgress, FitHooks } from './fit.js';
