// Reductions over axes, with keepdim.

import { allocate } from '../kernels/dtype.js';
import { record } from './node.js';
import { contiguousStrides, normAxes, sizeOf } from './shape.js';
import { Tensor } from './tensor.js';
import { reduceInto, type ReduceOp } from '../kernels/strided.js';

function reduce(x: Tensor, axes: number | readonly number[] | undefined | null, keepdim: boolean, init: number, op: ReduceOp) {
  const ax = normAxes(axes ?? undefined, x.rank);
  const keptShape = x.shape.map((d, i) => (ax.includes(i) ? 1 : d));
  const keptStrides = contiguousStrides(keptShape).map((s, i) => (ax.includes(i) ? 0 : s));
  const out = allocate(x.dtype, sizeOf(keptShape));
  out.fill(init);
  reduceInto(x, keptStrides, out, op);
  const shape = keepdim ? keptShape : x.shape.filter((_, i) => !ax.includes(i));
  return { out: new Tensor(out, shape), axes: ax };
}

/** Sum over `axes` (all when omitted). */
export function sum(x: Tensor, axes?: number | readonly number[] | null, keepdim = false): Tensor {
  const r = reduce(x, axes, keepdim, 0, 'sum');
  return record('sum', [x], { axes: r.axes, keepdim }, r.out);
}

/** Maximum over `axes`; the gradient is shared equally among tied maxima (torch.amax). */
export function max(x: Tensor, axes?: number | readonly number[] | null, keepdim = false): Tensor {
  const r = reduce(x, axes, keepdim, -Infinity, 'max');
  return record('max', [x], { axes: r.axes, keepdim }, r.out);
}

/** Minimum over `axes` (not differentiable: used for statistics such as a tensor's range). */
export function min(x: Tensor, axes?: number | readonly number[] | null, keepdim = false): Tensor {
  return reduce(x, axes, keepdim, Infinity, 'min').out;
}
