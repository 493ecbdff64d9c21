// The tensor layer's public face: storage, primitives and composites.
export { Tensor, tensor, fromData, zeros, full, scalar, randn, rng, normalSampler, copyStrided, freeze, isFrozen } from './tensor.js';
export type { DType, TypedArray } from '../kernels/dtype.js';
export { allocate } from '../kernels/dtype.js';
export * from './shape.js';
export { withGradMode, wouldRecord, type Prim, type PrimParams, type GradNode } from './node.js';
export { add, sub, mul, div, neg, exp, log, sqrt, tanh, erf, gelu, relu, clamp, where, compare, broadcastView, type Operand } from './elementwise.js';
export { sum, max, min } from './reduce.js';
export { matmul, linear, linearGelu, linearGeluLinear, softmax, layerNorm, kernelsFor } from './linalg.js';
export { attentionForward, attentionOutput, attentionBackward, type AttentionForward } from './attention.js';
export { reshape, permute, transpose, expand, slice, concat, gather, select, contiguous, copy } from './movement.js';
export * from './nn.js';
export { fromNdarray, toNdarray } from './ndarray.js';
export { PRIM_KERNELS } from './kernelUse.js';
