// Exact-erf GELU and its gradient in wasm SIMD, four elements at a time:
//   gelu(x) = x Phi(x),  gelu'(x) = Phi(x) + x phi(x),
//   Phi(x) = (1 + erf(x / sqrt 2)) / 2,  phi(x) = exp(-x^2 / 2) / sqrt(2 pi).
//
// erf(u) comes from two approximations, both evaluated in every lane and
// selected per lane (no branches):
//  - |u| < 1: Cephes erff, u P(u^2) with P of degree 6 (1.5e-7 abs in float32);
//  - else:    Abramowitz-Stegun 7.1.26 as in erfFast (src/kernels/erf.ts),
//             erfc(|u|) = t Q(t) exp(-u^2), t = 1 / (1 + p |u|), whose float32
//             rounding near u = 0 (up to 6e-7) is why the small branch exists.
// Max abs error of the erf they make, against float64: about 2e-7 over
// [-10, 10] (the `erf` export is there to test it). exp(-u^2) is the same
// number as exp(-x^2 / 2), so the gradient costs no second exp. For x < 0,
// Phi is erfc(|u|) / 2 directly rather than 1 - (1 - ...), so the left tail
// keeps its relative accuracy.
//
// Each function processes elements [i0, i1) rounded up to whole vectors: the
// arrays must be readable (and the output writable) up to a multiple of 4.

import { i32s, signature, type ExportsOf, type Func, type Local, type ModuleBuilder } from './emit.js';
import { exp4 } from './rows.kernel.js';

/** The GELU functions, declared once (their exports' types come from here). */
export const GELU_FUNCS = {
  /** gelu(x, y, i0, i1) */
  gelu: signature(i32s(4)),
  /** geluInPlace(addr, count, scratch): gelu over exactly count floats at addr, in place; uses 16 bytes of scratch */
  geluInPlace: signature(i32s(3)),
  /** copyRows(dst, src, rows, bytes, ldBytes): memory.copy of `rows` runs of `bytes`, ldBytes apart in both source and destination */
  copyRows: signature(i32s(5)),
  /** geluInPlaceRows(addr, rows, count, ldBytes, scratch): geluInPlace on `rows` runs of `count` floats, ldBytes apart */
  geluInPlaceRows: signature(i32s(5)),
  /** geluBackward(x, dy, dx, i0, i1) */
  geluBackward: signature(i32s(5)),
  /** erf(x, y, i0, i1): y = erf(x) as the kernels above approximate it (for tests) */
  erf: signature(i32s(4)),
};
export type GeluExports = ExportsOf<typeof GELU_FUNCS>;

// Cephes erff, |x| < 1: erf(x) = x P(x^2), highest power first
const SMALL = [
  7.853861353153693e-5, -8.010193625184903e-4, 5.188327685732524e-3, -2.685381193529856e-2, 1.128358514861418e-1, -3.7612625824233e-1, 1.12837916572671,
];
// Abramowitz-Stegun 7.1.26: erfc(x) = t (a1 + t (a2 + ...)) exp(-x^2), t = 1 / (1 + p x)
const AS_P = 0.3275911;
const AS = [1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592]; // a5 .. a1

const INV_SQRT_2PI = 0.3989422804014327;

/** The per-vector pieces of erf(u), half-scaled (the GELU wants halves). */
class ErfEmitter {
  /** u P(u^2) / 2 = erf(u) / 2 where |u| < 1 */
  readonly half: Local;
  /** erfc(|u|) / 2 (A-S) */
  readonly tail: Local;
  /** exp(-u^2) */
  readonly e: Local;
  /** all-ones lanes where |u| < 1 */
  readonly small: Local;
  private readonly t: Local;
  private readonly r: Local;
  private readonly under: Local;
  private readonly z: Local;

  constructor(private readonly f: Func) {
    const v = (): Local => f.local('v128');
    this.half = v();
    this.tail = v();
    this.e = v();
    this.small = v();
    this.t = v();
    this.r = v();
    this.under = v();
    this.z = v();
  }

  /** Fill the fields from u (not modified). */
  emit(u: Local): void {
    const { f, half, tail, e, small, t, z } = this;
    f.set(z, f.f32x4Mul(f.get(u), f.get(u)));
    // small branch: u (P(z) / 2)
    f.set(half, f.f32x4K(SMALL[0]! / 2));
    for (const c of SMALL.slice(1))
      f.set(
        half,
        f.madd(
          () => f.get(half),
          () => f.get(z),
          () => f.f32x4K(c / 2),
        ),
      );
    f.set(half, f.f32x4Mul(f.get(half), f.get(u)));
    // exp(-u^2)
    f.set(e, f.f32x4Sub(f.f32x4K(0), f.get(z)));
    exp4(f, e, this.t, this.r, this.under);
    // tail: t Q(t) exp(-u^2) / 2, with z now |u|
    f.set(z, f.f32x4Abs(f.get(u)));
    f.set(small, f.f32x4Lt(f.get(z), f.f32x4K(1)));
    f.set(
      t,
      f.f32x4Div(
        f.f32x4K(1),
        f.madd(
          () => f.get(z),
          () => f.f32x4K(AS_P),
          () => f.f32x4K(1),
        ),
      ),
    );
    f.set(tail, f.f32x4K(AS[0]! / 2));
    for (const c of AS.slice(1))
      f.set(
        tail,
        f.madd(
          () => f.get(tail),
          () => f.get(t),
          () => f.f32x4K(c / 2),
        ),
      );
    f.set(tail, f.f32x4Mul(f.f32x4Mul(f.get(tail), f.get(t)), f.get(e)));
  }

  /** Phi(x) = (1 + erf(u)) / 2 for u = x / sqrt 2, given the sign of x in `neg` (all-ones where x < 0). */
  phi(neg: Local): void {
    const f = this.f;
    f.v128Bitselect(
      f.f32x4Add(f.f32x4K(0.5), f.get(this.half)),
      f.v128Bitselect(f.get(this.tail), f.f32x4Sub(f.f32x4K(1), f.get(this.tail)), f.get(neg)),
      f.get(this.small),
    );
  }
}

/**
 * An elementwise kernel over [i0, i1) of its arrays (pointer parameters
 * first): `body(j)` handles the vector at byte offset j.
 */
function elementwise(mb: ModuleBuilder, name: 'gelu' | 'geluBackward' | 'erf', body: (f: Func, ptrs: Local[], j: Local) => void): Func {
  const { f, params } = mb.declare(GELU_FUNCS, name);
  const ptrs = params.slice(0, -2);
  const [i0, i1] = params.slice(-2) as [Local, Local];
  const j = f.local('i32');
  const end = f.local('i32');
  // bytes, rounded up to whole vectors
  f.set(end, f.i32And(f.i32Add(f.i32Shl(f.get(i1), f.i32(2)), f.i32(15)), f.i32(~15)));
  f.hoistConstants(() =>
    f.for(
      j,
      () => f.i32Shl(f.get(i0), f.i32(2)),
      () => f.get(end),
      16,
      () => body(f, ptrs, j),
    ),
  );
  return f;
}

/**
 * GELU in place over exactly `count` floats at `addr` (gelu() would round the
 * range up to whole vectors and touch neighbours another thread may own): the
 * whole vectors directly, the last 1-3 floats through 16 bytes of `scratch`.
 */
function emitGeluInPlace(mb: ModuleBuilder, gelu: Func): Func {
  const {
    f,
    params: [addr, count, scratch],
  } = mb.declare(GELU_FUNCS, 'geluInPlace');
  const whole = f.local('i32');
  const tail = f.local('i32');
  const rest = f.local('i32');
  f.set(whole, f.i32And(f.get(count), f.i32(~3)));
  f.call(gelu, f.get(addr), f.get(addr), f.i32(0), f.get(whole));
  f.set(rest, f.i32Shl(f.i32And(f.get(count), f.i32(3)), f.i32(2)));
  f.if(f.get(rest), () => {
    f.set(tail, f.i32Add(f.get(addr), f.i32Shl(f.get(whole), f.i32(2))));
    f.memoryCopy(f.get(scratch), f.get(tail), f.get(rest));
    f.call(gelu, f.get(scratch), f.get(scratch), f.i32(0), f.i32(4));
    f.memoryCopy(f.get(tail), f.get(scratch), f.get(rest));
  });
  return f;
}

/** Copy `rows` runs of `bytes` bytes, `ldBytes` apart in both places (keeps a pre-activation before the GELU). */
function emitCopyRows(mb: ModuleBuilder): void {
  const {
    f,
    params: [dst, src, rows, bytes, ldBytes],
  } = mb.declare(GELU_FUNCS, 'copyRows');
  const r = f.local('i32');
  f.for(
    r,
    () => f.i32(0),
    () => f.get(rows),
    1,
    () => {
      f.memoryCopy(f.get(dst), f.get(src), f.get(bytes));
      f.set(dst, f.i32Add(f.get(dst), f.get(ldBytes)));
      f.set(src, f.i32Add(f.get(src), f.get(ldBytes)));
    },
  );
}

/** geluInPlace over `rows` runs of `count` floats, `ldBytes` apart (a column block of C), in one call. */
function emitGeluInPlaceRows(mb: ModuleBuilder, inPlace: Func): void {
  const {
    f,
    params: [addr, rows, count, ldBytes, scratch],
  } = mb.declare(GELU_FUNCS, 'geluInPlaceRows');
  const r = f.local('i32');
  f.for(
    r,
    () => f.i32(0),
    () => f.get(rows),
    1,
    () => {
      f.call(inPlace, f.get(addr), f.get(count), f.get(scratch));
      f.set(addr, f.i32Add(f.get(addr), f.get(ldBytes)));
    },
  );
}

export function emitGelu(mb: ModuleBuilder): void {
  const at = (f: Func, p: Local, j: Local): void => f.i32Add(f.get(p), f.get(j));

  // shared by both kernels: load x, evaluate erf(x / sqrt 2), note the sign of x
  const prologue = (f: Func, x: Local, j: Local) => {
    const xv = f.local('v128');
    const u = f.local('v128');
    const neg = f.local('v128');
    const erf = new ErfEmitter(f);
    f.set(xv, f.v128Load(at(f, x, j)));
    f.set(u, f.f32x4Mul(f.get(xv), f.f32x4K(Math.SQRT1_2)));
    erf.emit(u);
    f.set(neg, f.f32x4Lt(f.get(xv), f.f32x4K(0)));
    return { xv, neg, erf };
  };

  const gelu = elementwise(mb, 'gelu', (f, [x, y], j) => {
    const { xv, neg, erf } = prologue(f, x!, j);
    f.v128Store(at(f, y!, j), f.f32x4Mul(f.get(xv), erf.phi(neg)));
  });
  emitGeluInPlaceRows(mb, emitGeluInPlace(mb, gelu));
  emitCopyRows(mb);

  elementwise(mb, 'geluBackward', (f, [x, dy, dx], j) => {
    const { xv, neg, erf } = prologue(f, x!, j);
    // dy (Phi + x exp(-x^2/2) / sqrt(2 pi))
    f.v128Store(
      at(f, dx!, j),
      f.f32x4Mul(f.v128Load(at(f, dy!, j)), f.f32x4Add(erf.phi(neg), f.f32x4Mul(f.f32x4Mul(f.get(xv), f.get(erf.e)), f.f32x4K(INV_SQRT_2PI)))),
    );
  });

  elementwise(mb, 'erf', (f, [x, y], j) => {
    const u = f.local('v128');
    const neg = f.local('v128');
    const erf = new ErfEmitter(f);
    f.set(u, f.v128Load(at(f, x!, j)));
    erf.emit(u);
    f.set(neg, f.f32x4Lt(f.get(u), f.f32x4K(0)));
    // 2 half, or -(1 - 2 tail) / (1 - 2 tail) by sign
    const big = (): void => f.f32x4Sub(f.f32x4K(1), f.f32x4Add(f.get(erf.tail), f.get(erf.tail)));
    f.v128Store(
      at(f, y!, j),
      f.v128Bitselect(f.f32x4Add(f.get(erf.half), f.get(erf.half)), f.v128Bitselect(f.f32x4Sub(f.f32x4K(0), big()), big(), f.get(neg)), f.get(erf.small)),
    );
  });
}
