// Interop with scijs ndarray at the API boundary: both directions share memory.

import ndarray from 'ndarray';
import type { NdArray } from 'ndarray';
import { Tensor } from './tensor.js';

/** A tensor view of an ndarray (float32/float64 data is shared; other types are converted to float32). */
export function fromNdarray(nd: NdArray): Tensor {
  let data = nd.data as unknown;
  if (!(data instanceof Float32Array) && !(data instanceof Float64Array)) {
    const src = data as ArrayLike<number>;
    data = Float32Array.from({ length: src.length }, (_, i) => src[i]!);
  }
  return new Tensor(data as Float32Array | Float64Array, nd.shape, nd.stride, nd.offset);
}

/** An ndarray view of a tensor (shares memory; strides and offset carried over). */
export function toNdarray(t: Tensor): NdArray<Float32Array | Float64Array> {
  return ndarray(t.data, [...t.shape], [...t.strides], t.offset);
}
