// `cdam/engine`: the tensors, the gradient and relevance tables, and the
// kernel backends, for people who audit the math or build on the engine.
//
//   import { fromData, grad, ops, setBackend } from 'cdam/engine';

import { chooseFastestOnFirstUse } from './kernels/default.js';

// as the package entry does: every backend registered, the fastest chosen on first use
chooseFastestOnFirstUse();

export { Tensor, tensor, fromData, zeros, full, randn, fromNdarray, toNdarray, type DType, type TypedArray } from './tensor/index.js';
export * as ops from './tensor/index.js';
export { grad, noGrad, enableGrad, rules, relevanceRules, type RuleTable, type RelevanceOptions } from './autograd/index.js';
export { setBackend, activeBackend, backendNames, disposeBackends, describeBackend, backendCalls } from './kernels/index.js';
export { useFastestBackend } from './kernels/default.js';
