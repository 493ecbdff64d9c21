// The training layer's public face: optimizers, schedules, clipping, losses.
export { SGD, AdamW, paramGroups, isNoDecay, gradients, clipGradNorm, warmupCosine } from './optim.js';
export type { Params, Grads, ParamGroup, SGDOptions, AdamWOptions, WarmupCosine } from './optim.js';
export { crossEntropy, bceWithLogits, mse, huber, logSoftmax, type CrossEntropyOptions } from './losses.js';
