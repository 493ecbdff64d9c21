// Which backend kernels each primitive calls, in its forward or in its
// gradient rule. Typed over the primitive table, so a new primitive must say;
// the parity tests hold it to what actually runs (a kernel listed here but
// not called, or called but not listed, fails them on every backend that
// implements the kernel itself).
import type { KernelName } from '../kernels/backend.js';
import type { Prim } from './node.js';

export const PRIM_KERNELS: { readonly [P in Prim]: readonly KernelName[] } = {
  add: [],
  sub: [],
  mul: [],
  div: [],
  neg: [],
  exp: [],
  log: [],
  sqrt: [],
  tanh: [],
  erf: [],
  relu: [],
  gelu: ['gelu', 'geluBackward'],
  clamp: [],
  where: [],
  sum: [],
  max: [],
  matmul: ['matmul'],
  linear: ['matmul'],
  softmax: ['softmax', 'softmaxBackward'],
  attention: ['attention', 'attentionBackward'],
  layerNorm: ['layerNorm', 'layerNormBackward'],
  reshape: [],
  permute: [],
  expand: [],
  slice: [],
  concat: [],
  gather: [],
  copy: [],
};
