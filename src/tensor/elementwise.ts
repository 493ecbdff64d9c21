// Elementwise primitives with NumPy broadcasting, and the non-differentiable
// comparisons that gradient rules use as masks.

import { allocate } from '../kernels/dtype.js';
import { erf as erfExact, erfFast } from '../kernels/erf.js';
import { kernelsFor } from './linalg.js';
import { record } from './node.js';
import { broadcastShapes, sizeOf } from './shape.js';
import { Tensor, scalar } from './tensor.js';
import { mapArith, mapBinary, mapUnary, type BinOp, type View } from '../kernels/strided.js';

export type Operand = Tensor | number;

function asTensor(v: Operand, like: Tensor): Tensor {
  return typeof v === 'number' ? scalar(v, like.dtype) : v;
}

/** A view of t with strides aligned to `shape` (0 on broadcast axes). */
export function broadcastView(t: Tensor, shape: readonly number[]): View {
  const off = shape.length - t.rank;
  const strides = new Array<number>(shape.length).fill(0);
  for (let i = 0; i < t.rank; i++) strides[off + i] = t.shape[i] === 1 ? 0 : t.strides[i]!;
  return { data: t.data, shape, strides, offset: t.offset };
}

function binary(a: Tensor, b: Tensor, f: (x: number, y: number) => number): Tensor {
  if (a.dtype !== b.dtype) throw new Error(`dtype mismatch: ${a.dtype} and ${b.dtype}`);
  const shape = broadcastShapes(a.shape, b.shape);
  const out = allocate(a.dtype, sizeOf(shape));
  mapBinary(broadcastView(a, shape), broadcastView(b, shape), shape, out, f);
  return new Tensor(out, shape);
}

function arith(a: Tensor, b: Tensor, op: BinOp): Tensor {
  if (a.dtype !== b.dtype) throw new Error(`dtype mismatch: ${a.dtype} and ${b.dtype}`);
  const shape = broadcastShapes(a.shape, b.shape);
  const out = allocate(a.dtype, sizeOf(shape));
  mapArith(broadcastView(a, shape), broadcastView(b, shape), shape, out, op);
  return new Tensor(out, shape);
}

function unary(x: Tensor, f: (v: number) => number): Tensor {
  const out = allocate(x.dtype, x.size);
  mapUnary(x, out, f);
  return new Tensor(out, x.shape);
}

function pair(a: Operand, b: Operand): [Tensor, Tensor] {
  if (typeof a === 'number' && typeof b === 'number') throw new Error('at least one operand must be a tensor');
  const ta = typeof a === 'number' ? asTensor(a, b as Tensor) : a;
  const tb = asTensor(b, ta);
  return [ta, tb];
}

export function add(a: Operand, b: Operand): Tensor {
  const [x, y] = pair(a, b);
  return record('add', [x, y], {}, arith(x, y, 'add'));
}
export function sub(a: Operand, b: Operand): Tensor {
  const [x, y] = pair(a, b);
  return record('sub', [x, y], {}, arith(x, y, 'sub'));
}
export function mul(a: Operand, b: Operand): Tensor {
  const [x, y] = pair(a, b);
  return record('mul', [x, y], {}, arith(x, y, 'mul'));
}
export function div(a: Operand, b: Operand): Tensor {
  const [x, y] = pair(a, b);
  return record('div', [x, y], {}, arith(x, y, 'div'));
}

export const neg = (x: Tensor): Tensor =>
  record(
    'neg',
    [x],
    {},
    unary(x, (v) => -v),
  );
export const exp = (x: Tensor): Tensor => record('exp', [x], {}, unary(x, Math.exp));
export const log = (x: Tensor): Tensor => record('log', [x], {}, unary(x, Math.log));
export const sqrt = (x: Tensor): Tensor => record('sqrt', [x], {}, unary(x, Math.sqrt));
export const tanh = (x: Tensor): Tensor => record('tanh', [x], {}, unary(x, Math.tanh));
/** float64 gets erf to full precision; float32 a 1.5e-7-accurate approximation (far below float32 GELU noise). */
export const erf = (x: Tensor): Tensor => record('erf', [x], {}, unary(x, x.dtype === 'float64' ? erfExact : erfFast));

/** Exact (erf) GELU, fused: x Phi(x) in one pass, with its own gradient rule (speed; see nn.ts geluComposite). */
export function gelu(x: Tensor): Tensor {
  const y = allocate(x.dtype, x.size);
  kernelsFor(x.dtype).gelu(x.contiguousData(), y, x.size);
  return record('gelu', [x], {}, new Tensor(y, x.shape));
}
export const relu = (x: Tensor): Tensor =>
  record(
    'relu',
    [x],
    {},
    unary(x, (v) => (v > 0 ? v : 0)),
  );

export function clamp(x: Tensor, min: number, max: number): Tensor {
  if (!(min <= max)) throw new Error(`clamp: min ${min} > max ${max}`);
  return record(
    'clamp',
    [x],
    { min, max },
    unary(x, (v) => (v < min ? min : v > max ? max : v)),
  );
}

/** cond ? a : b elementwise (cond: nonzero means true; not differentiable). */
export function where(cond: Tensor, a: Tensor, b: Tensor): Tensor {
  const shape = broadcastShapes(broadcastShapes(cond.shape, a.shape), b.shape);
  if (a.dtype !== b.dtype) throw new Error(`dtype mismatch: ${a.dtype} and ${b.dtype}`);
  const out = allocate(a.dtype, sizeOf(shape));
  const c = dense(cond, shape);
  const av = dense(a, shape);
  const bv = dense(b, shape);
  for (let i = 0; i < out.length; i++) out[i] = c[i] !== 0 ? av[i]! : bv[i]!;
  return record('where', [cond, a, b], {}, new Tensor(out, shape));
}

function expandView(t: Tensor, shape: readonly number[]): Tensor {
  const v = broadcastView(t, shape);
  return new Tensor(v.data, v.shape, v.strides, v.offset);
}

function dense(t: Tensor, shape: readonly number[]) {
  return expandView(t, shape).contiguousData();
}

// ---- masks (never recorded) ---------------------------------------------------

export type Comparison = 'gt' | 'ge' | 'lt' | 'le' | 'eq';

/** 1 where the comparison holds, else 0. */
export function compare(a: Operand, b: Operand, op: Comparison): Tensor {
  const [x, y] = pair(a, b);
  const f: Record<Comparison, (p: number, q: number) => number> = {
    gt: (p, q) => (p > q ? 1 : 0),
    ge: (p, q) => (p >= q ? 1 : 0),
    lt: (p, q) => (p < q ? 1 : 0),
    le: (p, q) => (p <= q ? 1 : 0),
    eq: (p, q) => (p === q ? 1 : 0),
  };
  return binary(x, y, f[op]);
}
