// Movement primitives. reshape, permute, expand and slice return views that
// share storage; concat, gather and copy allocate.

import { allocate } from '../kernels/dtype.js';
import { record } from './node.js';
import { normAxis, shapesEqual, sizeOf, contiguousStrides } from './shape.js';
import { Tensor } from './tensor.js';
import { assignStrided } from '../kernels/strided.js';

/** A dense copy in row-major order (identity for gradients). */
export function contiguous(x: Tensor): Tensor {
  if (x.isContiguous() && x.offset === 0 && x.data.length === x.size) return x;
  return copy(x);
}

export function copy(x: Tensor): Tensor {
  const data = allocate(x.dtype, x.size);
  data.set(x.contiguousData());
  return record('copy', [x], {}, new Tensor(data, x.shape));
}

export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const target = [...shape];
  const infer = target.indexOf(-1);
  if (infer >= 0) {
    const rest = sizeOf(target.filter((_, i) => i !== infer));
    target[infer] = rest === 0 ? 0 : x.size / rest;
  }
  if (sizeOf(target) !== x.size || target.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new Error(`cannot reshape [${x.shape}] to [${shape}]`);
  }
  if (shapesEqual(target, x.shape)) return x;
  const src = x.isContiguous() ? x : copy(x);
  const out = new Tensor(src.data, target, contiguousStrides(target), src.offset);
  return record('reshape', [x], { shape: target }, out);
}

export function permute(x: Tensor, perm: readonly number[]): Tensor {
  const p = perm.map((a) => normAxis(a, x.rank));
  if (p.length !== x.rank || new Set(p).size !== p.length) {
    throw new Error(`permutation [${perm}] does not fit rank ${x.rank}`);
  }
  const out = new Tensor(
    x.data,
    p.map((a) => x.shape[a]!),
    p.map((a) => x.strides[a]!),
    x.offset,
  );
  return record('permute', [x], { perm: p }, out);
}

/** Swap two axes (a view). */
export function transpose(x: Tensor, a = -2, b = -1): Tensor {
  const perm = Array.from({ length: x.rank }, (_, i) => i);
  const i = normAxis(a, x.rank);
  const j = normAxis(b, x.rank);
  perm[i] = j;
  perm[j] = i;
  return permute(x, perm);
}

/** Broadcast to `shape` (may add leading dims) with zero strides: no copy. */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  if (shapesEqual(shape, x.shape)) return x;
  const off = shape.length - x.rank;
  if (off < 0) throw new Error(`cannot expand [${x.shape}] to [${shape}]`);
  const strides = new Array<number>(shape.length).fill(0);
  for (let i = 0; i < x.rank; i++) {
    const d = x.shape[i]!;
    if (d === shape[off + i]) strides[off + i] = x.strides[i]!;
    else if (d !== 1) throw new Error(`cannot expand [${x.shape}] to [${shape}]`);
  }
  const out = new Tensor(x.data, shape, strides, x.offset);
  return record('expand', [x], { shape: [...shape] }, out);
}

/** x[starts[0]:ends[0], starts[1]:ends[1], ...] over the leading axes given (a view). */
export function slice(x: Tensor, starts: readonly number[], ends: readonly number[]): Tensor {
  if (starts.length !== ends.length || starts.length > x.rank) {
    throw new Error(`slice bounds [${starts}]..[${ends}] do not fit shape [${x.shape}]`);
  }
  const s: number[] = [];
  const e: number[] = [];
  let offset = x.offset;
  const shape = [...x.shape];
  for (let i = 0; i < x.rank; i++) {
    const d = x.shape[i]!;
    let a = i < starts.length ? starts[i]! : 0;
    let b = i < ends.length ? ends[i]! : d;
    if (a < 0) a += d;
    if (b < 0) b += d;
    if (!(0 <= a && a <= b && b <= d)) {
      throw new Error(`slice ${starts[i]}:${ends[i]} out of range for axis ${i} of size ${d}`);
    }
    s.push(a);
    e.push(b);
    offset += a * x.strides[i]!;
    shape[i] = b - a;
  }
  const out = new Tensor(x.data, shape, x.strides, offset);
  return record('slice', [x], { starts: s, ends: e }, out);
}

export function concat(xs: readonly Tensor[], axis: number): Tensor {
  if (xs.length === 0) throw new Error('concat of nothing');
  const first = xs[0]!;
  const ax = normAxis(axis, first.rank);
  let total = 0;
  for (const t of xs) {
    if (t.rank !== first.rank || t.dtype !== first.dtype || t.shape.some((d, i) => i !== ax && d !== first.shape[i])) {
      throw new Error(`concat: shapes [${first.shape}] and [${t.shape}] differ off axis ${ax}`);
    }
    total += t.shape[ax]!;
  }
  const shape = [...first.shape];
  shape[ax] = total;
  const out = new Tensor(allocate(first.dtype, sizeOf(shape)), shape);
  let at = 0;
  for (const t of xs) {
    const starts = shape.map((_, i) => (i === ax ? at : 0));
    const dst = new Tensor(
      out.data,
      t.shape,
      out.strides,
      starts.reduce((acc, s, i) => acc + s * out.strides[i]!, 0),
    );
    assignStrided(dst, t.contiguousData(), false);
    at += t.shape[ax]!;
  }
  return record('concat', [...xs], { axis: ax }, out);
}

/** Select entries along `axis` (repeats allowed); the gradient scatter-adds. */
export function gather(x: Tensor, axis: number, indices: readonly number[]): Tensor {
  const ax = normAxis(axis, x.rank);
  const d = x.shape[ax]!;
  for (const i of indices) {
    if (!Number.isInteger(i) || i < 0 || i >= d) throw new Error(`gather index ${i} out of range for axis ${ax} of size ${d}`);
  }
  const shape = [...x.shape];
  shape[ax] = indices.length;
  const out = new Tensor(allocate(x.dtype, sizeOf(shape)), shape);
  const partShape = [...x.shape];
  partShape[ax] = 1;
  indices.forEach((idx, k) => {
    const src = new Tensor(x.data, partShape, x.strides, x.offset + idx * x.strides[ax]!);
    const dst = new Tensor(out.data, partShape, out.strides, k * out.strides[ax]!);
    assignStrided(dst, src.contiguousData(), false);
  });
  return record('gather', [x], { axis: ax, indices: [...indices] }, out);
}

/** One entry along `axis`, with that axis dropped: x[..., i, ...] (a view). */
export function select(x: Tensor, axis: number, index: number): Tensor {
  const ax = normAxis(axis, x.rank);
  const starts = x.shape.map((_, i) => (i === ax ? index : 0));
  const ends = x.shape.map((d, i) => (i === ax ? index + 1 : d));
  const s = slice(x, starts, ends);
  return reshape(
    s,
    x.shape.filter((_, i) => i !== ax),
  );
}
