// Tensor: a flat typed array plus shape, strides and offset. Movement ops
// (reshape, permute, slice, expand) make views that share `data`; kernels that
// need contiguous memory ask for `contiguousData()`, which copies only when the
// view is not already row-major and dense.

import { allocate, dtypeOf, type DType, type TypedArray } from '../kernels/dtype.js';
import { contiguousStrides, sizeOf, type Shape } from './shape.js';
import type { GradNode } from './node.js';

export class Tensor {
  readonly data: TypedArray;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
  readonly dtype: DType;
  readonly size: number;
  /** Set on leaves by `requireGrad()`, and on op outputs that depend on such leaves. */
  requiresGrad = false;
  /** How this tensor was made, when it was made on the tape. */
  node: GradNode | null = null;

  constructor(data: TypedArray, shape: Shape, strides?: readonly number[], offset = 0) {
    for (const d of shape) {
      if (!Number.isInteger(d) || d < 0) throw new Error(`invalid shape [${shape}]`);
    }
    this.data = data;
    this.shape = [...shape];
    this.strides = strides ? [...strides] : contiguousStrides(shape);
    this.offset = offset;
    this.dtype = dtypeOf(data);
    this.size = sizeOf(shape);
    if (!strides && offset + this.size > data.length) {
      throw new Error(`data of length ${data.length} is too short for shape [${shape}] at offset ${offset}`);
    }
  }

  get rank(): number {
    return this.shape.length;
  }

  /** Mark a tensor (leaf or intermediate) as something gradients are asked for. */
  requireGrad(on = true): this {
    this.requiresGrad = on;
    return this;
  }

  /** Row-major and dense, so `data.subarray(offset, offset + size)` is the tensor. */
  isContiguous(): boolean {
    let expect = 1;
    for (let i = this.shape.length - 1; i >= 0; i--) {
      if (this.shape[i] !== 1 && this.strides[i] !== expect) return false;
      expect *= this.shape[i]!;
    }
    return true;
  }

  /** The elements in row-major order: a view of `data` when possible, else a copy. */
  contiguousData(): TypedArray {
    if (this.isContiguous()) return this.data.subarray(this.offset, this.offset + this.size);
    const out = allocate(this.dtype, this.size);
    copyStrided(this, out);
    return out;
  }

  /** A plain array copy, for tests and printing. */
  toArray(): number[] {
    return Array.from(this.contiguousData());
  }

  item(): number {
    if (this.size !== 1) throw new Error(`item() needs a one-element tensor, got shape [${this.shape}]`);
    return this.data[this.offset]!;
  }

  toString(): string {
    return `Tensor(${this.dtype}, [${this.shape}])`;
  }
}

const frozenArrays = new WeakSet<TypedArray>();

/**
 * Promise that the elements under t (its whole data array) never change
 * again, e.g. weights loaded from a file. Backends may then keep prepared
 * copies of them between calls (the wasm backend keeps linear weights packed).
 * Writing to a frozen array afterwards gives stale results: do not.
 */
export function freeze<T extends Tensor>(t: T): T {
  frozenArrays.add(t.data);
  return t;
}

export function isFrozen(t: Tensor): boolean {
  return frozenArrays.has(t.data);
}

/** Copy a strided view into a dense row-major array. */
export function copyStrided(t: Tensor, out: TypedArray): void {
  const rank = t.rank;
  const n = t.size;
  if (n === 0) return;
  if (rank === 0) {
    out[0] = t.data[t.offset]!;
    return;
  }
  const shape = t.shape;
  const st = t.strides;
  const inner = shape[rank - 1]!;
  const is = st[rank - 1]!;
  const idx = new Array<number>(rank).fill(0);
  const src = t.data;
  let p = t.offset;
  for (let o = 0; o < n; o += inner) {
    for (let j = 0; j < inner; j++) out[o + j] = src[p + j * is]!;
    for (let d = rank - 2; d >= 0; d--) {
      idx[d]!++;
      p += st[d]!;
      if (idx[d]! < shape[d]!) break;
      p -= st[d]! * shape[d]!;
      idx[d] = 0;
    }
  }
}

// ---- constructors ----------------------------------------------------------

export function tensor(values: ArrayLike<number>, shape?: Shape, dtype: DType = 'float32'): Tensor {
  const data = allocate(dtype, values.length);
  data.set(values);
  return new Tensor(data, shape ?? [values.length]);
}

/** Wrap an existing typed array without copying. */
export function fromData(data: TypedArray, shape: Shape): Tensor {
  if (data.length !== sizeOf(shape)) {
    throw new Error(`data of length ${data.length} does not match shape [${shape}]`);
  }
  return new Tensor(data, shape);
}

export function zeros(shape: Shape, dtype: DType = 'float32'): Tensor {
  return new Tensor(allocate(dtype, sizeOf(shape)), shape);
}

export function full(shape: Shape, value: number, dtype: DType = 'float32'): Tensor {
  const d = allocate(dtype, sizeOf(shape));
  d.fill(value);
  return new Tensor(d, shape);
}

export function scalar(value: number, dtype: DType = 'float32'): Tensor {
  const d = allocate(dtype, 1);
  d[0] = value;
  return new Tensor(d, []);
}

/** Deterministic pseudo-random numbers (mulberry32), for tests and Smooth CDAM noise. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal samples by Box-Muller from a uniform source. */
export function normalSampler(uniform: () => number): () => number {
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    let u = 0;
    while (u === 0) u = uniform();
    const v = uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}

export function randn(shape: Shape, seed: number, dtype: DType = 'float32'): Tensor {
  const d = allocate(dtype, sizeOf(shape));
  const next = normalSampler(rng(seed));
  for (let i = 0; i < d.length; i++) d[i] = next();
  return new Tensor(d, shape);
}
