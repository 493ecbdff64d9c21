// Row-wise kernels in wasm SIMD: softmax (with a vectorised exp), its
// gradient, layer norm and its gradient. Each processes rows [r0, r1) of
// contiguous [rows, cols] blocks, so threads can split by rows. Four columns
// at a time, then a scalar tail. Same formulas as the reference in js.ts, in
// float32 instead of float64 accumulation.

import { i32s, signature, type Ex, type ExportsOf, type Func, type Local, type ModuleBuilder } from './emit.js';
import type { GeluExports } from './gelu.kernel.js';
import type { RowsJob } from './codec.js';

/** The row functions, declared once (their exports' types come from here). */
export const ROW_FUNCS = {
  /** softmax(x, y, r0, r1, cols) */
  softmax: signature(i32s(5)),
  /** softmaxBackward(y, dy, dx, r0, r1, cols) */
  softmaxBackward: signature(i32s(6)),
  /**
   * layerNorm(x, y, rstd, r0, r1, cols, eps, wb, xhat): wb is 0, or the address
   * of weight then bias (cols floats each) for y = xhat * weight + bias; xhat
   * is 0, or (with wb) where xhat goes as well
   */
  layerNorm: signature(['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'f32', 'i32', 'i32']),
  /** layerNormBackward(y, rstd, dy, dx, r0, r1, cols, w): w is 0, or the weight that multiplied xhat (dy is scaled by it first) */
  layerNormBackward: signature(i32s(8)),
};
export type RowExports = ExportsOf<typeof ROW_FUNCS>;

/**
 * Row operations, as encoded in a row job. The elementwise GELU kernels (see
 * gelu.kernel.ts) ride along as jobs over one long row: their "rows" are elements.
 */
export const RowOp = { Softmax: 1, SoftmaxBackward: 2, LayerNorm: 3, LayerNormBackward: 4, Gelu: 5, GeluBackward: 6 } as const;

/**
 * exp of four lanes, for x <= 0 (softmax shifts by the row max; GELU takes
 * exp(-x^2/2)). Cephes expf:
 * x = n ln2 + r with n = round(x log2 e), e^r by a polynomial, times 2^n.
 * Adding 1.5 * 2^23 rounds x log2 e to an integer held in the low mantissa
 * bits, so ((bits + 127) << 23) is 2^n directly (the high bits shift out).
 * x is clamped at -87.3 so that 2^n stays a normal float, and lanes below
 * that are zeroed at the end (NaN lanes stay NaN).
 */
export function exp4(f: Func, x: Local, t: Local, r: Local, under: Local): void {
  const magic = 12582912; // 1.5 * 2^23
  const low = -87.33654;
  f.set(under, f.f32x4Lt(f.get(x), f.f32x4K(low)));
  f.set(x, f.f32x4Pmax(f.get(x), f.f32x4K(low)));
  f.set(t, f.f32x4Add(f.f32x4Mul(f.get(x), f.f32x4K(Math.LOG2E)), f.f32x4K(magic)));
  // r = x - n ln2, with ln2 split in two for accuracy (n = t - magic)
  f.set(r, f.f32x4Sub(f.get(t), f.f32x4K(magic)));
  f.set(r, f.f32x4Sub(f.f32x4Sub(f.get(x), f.f32x4Mul(f.get(r), f.f32x4K(0.693359375))), f.f32x4Mul(f.get(r), f.f32x4K(-2.1219444e-4))));
  const coeffs = [1.98756915e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1];
  // p(r) by Horner, then e^r = p r^2 + r + 1
  f.set(x, f.f32x4K(coeffs[0]!));
  for (const c of coeffs.slice(1))
    f.set(
      x,
      f.madd(
        () => f.get(x),
        () => f.get(r),
        () => f.f32x4K(c),
      ),
    );
  f.set(
    x,
    f.f32x4Add(
      f.madd(
        () => f.get(x),
        () => f.f32x4Mul(f.get(r), f.get(r)),
        () => f.get(r),
      ),
      f.f32x4K(1),
    ),
  );
  f.set(x, f.f32x4Mul(f.get(x), f.i32x4Shl(f.i32x4Add(f.get(t), f.i32x4K(127)), f.i32(23))));
  f.set(x, f.v128AndNot(f.get(x), f.get(under)));
}

/** Helpers shared by the row kernels of one function. */
export class RowEmitter {
  readonly j: Local;
  readonly vecEnd: Local;
  readonly rowBytes: Local;
  private readonly tmp: Local;

  constructor(
    readonly f: Func,
    cols: Local,
  ) {
    this.j = f.local('i32');
    this.vecEnd = f.local('i32');
    this.rowBytes = f.local('i32');
    this.tmp = f.local('v128');
    f.set(this.rowBytes, f.i32Shl(f.get(cols), f.i32(2)));
    f.set(this.vecEnd, f.i32And(f.get(this.rowBytes), f.i32(~15)));
  }

  /** for each row r in [r0, r1): point the given row pointers at row r of their arrays. */
  rows(r: Local, r0: Local, r1: Local, bases: Array<[Local, Local]>, body: () => void): void {
    const f = this.f;
    f.for(
      r,
      () => f.get(r0),
      () => f.get(r1),
      1,
      () => {
        for (const [ptr, base] of bases) f.set(ptr, f.i32Add(f.get(base), f.i32Mul(f.get(r), f.get(this.rowBytes))));
        body();
      },
    );
  }

  /** Column loop: `vec` per 4 columns, then `scalar` per leftover column (null: skip); j is a byte offset. */
  cols(vec: (() => void) | null, scalar: (() => void) | null): void {
    const f = this.f;
    if (vec)
      f.for(
        this.j,
        () => f.i32(0),
        () => f.get(this.vecEnd),
        16,
        vec,
      );
    if (scalar)
      f.for(
        this.j,
        () => f.get(this.vecEnd),
        () => f.get(this.rowBytes),
        4,
        scalar,
      );
  }

  /** Address p + j. */
  at(p: Local): Ex {
    this.f.i32Add(this.f.get(p), this.f.get(this.j));
  }

  /** Horizontal sum (or max) of a vector local into a scalar. */
  reduce(v: Local, op: 'add' | 'max'): Ex {
    const f = this.f;
    const combine = (a: () => void, b: () => void): void => (op === 'add' ? f.f32x4Add(a(), b()) : f.f32x4Pmax(a(), b()));
    f.set(
      this.tmp,
      combine(
        () => f.get(v),
        () => f.shuffle32(f.get(v), f.get(v), [2, 3, 0, 1]),
      ),
    );
    f.set(
      this.tmp,
      combine(
        () => f.get(this.tmp),
        () => f.shuffle32(f.get(this.tmp), f.get(this.tmp), [1, 0, 3, 2]),
      ),
    );
    f.f32x4ExtractLane(f.get(this.tmp), 0);
  }
}

function emitSoftmax(mb: ModuleBuilder): void {
  const {
    f,
    params: [x, y, r0, r1, cols],
  } = mb.declare(ROW_FUNCS, 'softmax');
  const e = new RowEmitter(f, cols);
  const [r, xr, yr] = [f.local('i32'), f.local('i32'), f.local('i32')];
  const [acc, v, n, t, under] = [f.local('v128'), f.local('v128'), f.local('v128'), f.local('v128'), f.local('v128')];
  const [mx, s] = [f.local('f32'), f.local('f32')];
  // exp's constants: loaded once per call, not rebuilt at every use (see Func.hoistConstants)
  f.hoistConstants(() =>
    e.rows(
      r,
      r0,
      r1,
      [
        [xr, x],
        [yr, y],
      ],
      () => {
        // row max
        f.set(acc, f.f32x4Const(-Infinity));
        e.cols(() => f.set(acc, f.f32x4Pmax(f.get(acc), f.v128Load(e.at(xr)))), null);
        f.set(mx, e.reduce(acc, 'max'));
        e.cols(null, () => f.set(mx, f.f32Max(f.get(mx), f.f32Load(e.at(xr)))));
        // y = exp(x - max), summed
        f.set(acc, f.f32x4Const(0));
        e.cols(() => {
          f.set(v, f.f32x4Sub(f.v128Load(e.at(xr)), f.f32x4Splat(f.get(mx))));
          exp4(f, v, n, t, under);
          f.v128Store(e.at(yr), f.get(v));
          f.set(acc, f.f32x4Add(f.get(acc), f.get(v)));
        }, null);
        f.set(s, e.reduce(acc, 'add'));
        e.cols(null, () => {
          f.set(v, f.f32x4Splat(f.f32Sub(f.f32Load(e.at(xr)), f.get(mx))));
          exp4(f, v, n, t, under);
          f.f32Store(e.at(yr), f.f32x4ExtractLane(f.get(v), 0));
          f.set(s, f.f32Add(f.get(s), f.f32x4ExtractLane(f.get(v), 0)));
        });
        // normalise
        f.set(s, f.f32Div(f.f32(1), f.get(s)));
        f.set(v, f.f32x4Splat(f.get(s)));
        e.cols(
          () => f.v128Store(e.at(yr), f.f32x4Mul(f.v128Load(e.at(yr)), f.get(v))),
          () => f.f32Store(e.at(yr), f.f32Mul(f.f32Load(e.at(yr)), f.get(s))),
        );
      },
    ),
  );
}

function emitSoftmaxBackward(mb: ModuleBuilder): void {
  const {
    f,
    params: [y, dy, dx, r0, r1, cols],
  } = mb.declare(ROW_FUNCS, 'softmaxBackward');
  const e = new RowEmitter(f, cols);
  const [r, yr, dyr, dxr] = [f.local('i32'), f.local('i32'), f.local('i32'), f.local('i32')];
  const [acc, dv] = [f.local('v128'), f.local('v128')];
  const dot = f.local('f32');
  e.rows(
    r,
    r0,
    r1,
    [
      [yr, y],
      [dyr, dy],
      [dxr, dx],
    ],
    () => {
      // dot = sum(dy * y)
      f.set(acc, f.f32x4Const(0));
      e.cols(() => f.set(acc, f.f32x4Add(f.get(acc), f.f32x4Mul(f.v128Load(e.at(dyr)), f.v128Load(e.at(yr))))), null);
      f.set(dot, e.reduce(acc, 'add'));
      e.cols(null, () => f.set(dot, f.f32Add(f.get(dot), f.f32Mul(f.f32Load(e.at(dyr)), f.f32Load(e.at(yr))))));
      // dx = y * (dy - dot)
      f.set(dv, f.f32x4Splat(f.get(dot)));
      e.cols(
        () => f.v128Store(e.at(dxr), f.f32x4Mul(f.v128Load(e.at(yr)), f.f32x4Sub(f.v128Load(e.at(dyr)), f.get(dv)))),
        () => f.f32Store(e.at(dxr), f.f32Mul(f.f32Load(e.at(yr)), f.f32Sub(f.f32Load(e.at(dyr)), f.get(dot)))),
      );
    },
  );
}

function emitLayerNorm(mb: ModuleBuilder): void {
  const {
    f,
    params: [x, y, rstd, r0, r1, cols, eps, wb, xhat],
  } = mb.declare(ROW_FUNCS, 'layerNorm');
  const e = new RowEmitter(f, cols);
  const bp = f.local('i32');
  f.set(bp, f.i32Add(f.get(wb), f.get(e.rowBytes))); // the bias follows the weight
  const [r, xr, yr, hr] = [f.local('i32'), f.local('i32'), f.local('i32'), f.local('i32')];
  const [hv, hs] = [f.local('v128'), f.local('f32')];
  const [acc, mv, d, rv] = [f.local('v128'), f.local('v128'), f.local('v128'), f.local('v128')];
  const [mean, vs, rs, inv, ds] = [f.local('f32'), f.local('f32'), f.local('f32'), f.local('f32'), f.local('f32')];
  // 1 / cols, as float32
  f.set(inv, f.f32Div(f.f32(1), f.f32ConvertI32S(f.get(cols))));
  e.rows(
    r,
    r0,
    r1,
    [
      [xr, x],
      [yr, y],
    ],
    () => {
      // mean
      f.set(acc, f.f32x4Const(0));
      e.cols(() => f.set(acc, f.f32x4Add(f.get(acc), f.v128Load(e.at(xr)))), null);
      f.set(mean, e.reduce(acc, 'add'));
      e.cols(null, () => f.set(mean, f.f32Add(f.get(mean), f.f32Load(e.at(xr)))));
      f.set(mean, f.f32Mul(f.get(mean), f.get(inv)));
      // variance, two-pass
      f.set(mv, f.f32x4Splat(f.get(mean)));
      f.set(acc, f.f32x4Const(0));
      e.cols(() => {
        f.set(d, f.f32x4Sub(f.v128Load(e.at(xr)), f.get(mv)));
        f.set(acc, f.f32x4Add(f.get(acc), f.f32x4Mul(f.get(d), f.get(d))));
      }, null);
      f.set(vs, e.reduce(acc, 'add'));
      e.cols(null, () => {
        f.set(ds, f.f32Sub(f.f32Load(e.at(xr)), f.get(mean)));
        f.set(vs, f.f32Add(f.get(vs), f.f32Mul(f.get(ds), f.get(ds))));
      });
      f.set(rs, f.f32Div(f.f32(1), f.f32Sqrt(f.f32Add(f.f32Mul(f.get(vs), f.get(inv)), f.get(eps)))));
      f.f32Store(f.i32Add(f.get(rstd), f.i32Shl(f.get(r), f.i32(2))), f.get(rs));
      // y = (x - mean) * rstd [* weight + bias], and xhat too when asked
      f.set(rv, f.f32x4Splat(f.get(rs)));
      const affine = (keepXhat: boolean) => (): void =>
        e.cols(
          () => {
            f.set(hv, f.f32x4Mul(f.f32x4Sub(f.v128Load(e.at(xr)), f.get(mv)), f.get(rv)));
            if (keepXhat) f.v128Store(e.at(hr), f.get(hv));
            f.v128Store(e.at(yr), f.f32x4Add(f.f32x4Mul(f.get(hv), f.v128Load(e.at(wb))), f.v128Load(e.at(bp))));
          },
          () => {
            f.set(hs, f.f32Mul(f.f32Sub(f.f32Load(e.at(xr)), f.get(mean)), f.get(rs)));
            if (keepXhat) f.f32Store(e.at(hr), f.get(hs));
            f.f32Store(e.at(yr), f.f32Add(f.f32Mul(f.get(hs), f.f32Load(e.at(wb))), f.f32Load(e.at(bp))));
          },
        );
      f.set(hr, f.i32Add(f.get(xhat), f.i32Mul(f.get(r), f.get(e.rowBytes))));
      f.if(
        f.get(wb),
        () => f.if(f.get(xhat), affine(true), affine(false)),
        () =>
          e.cols(
            () => f.v128Store(e.at(yr), f.f32x4Mul(f.f32x4Sub(f.v128Load(e.at(xr)), f.get(mv)), f.get(rv))),
            () => f.f32Store(e.at(yr), f.f32Mul(f.f32Sub(f.f32Load(e.at(xr)), f.get(mean)), f.get(rs))),
          ),
      );
    },
  );
}

function emitLayerNormBackward(mb: ModuleBuilder): void {
  const {
    f,
    params: [y, rstd, dy, dx, r0, r1, cols, w],
  } = mb.declare(ROW_FUNCS, 'layerNormBackward');
  const e = new RowEmitter(f, cols);
  const [r, yr, dyr, dxr] = [f.local('i32'), f.local('i32'), f.local('i32'), f.local('i32')];
  const [sa, sb, va, vb, vr] = [f.local('v128'), f.local('v128'), f.local('v128'), f.local('v128'), f.local('v128')];
  const [mdy, mdyy, rs, inv] = [f.local('f32'), f.local('f32'), f.local('f32'), f.local('f32')];
  e.rows(
    r,
    r0,
    r1,
    [
      [yr, y],
      [dyr, dy],
      [dxr, dx],
    ],
    () => {
      // with a weight, dy * w goes into the dx row first and is read from there
      // (the last pass reads and writes each element at the same place)
      f.if(f.get(w), () => {
        e.cols(
          () => f.v128Store(e.at(dxr), f.f32x4Mul(f.v128Load(e.at(dyr)), f.v128Load(e.at(w)))),
          () => f.f32Store(e.at(dxr), f.f32Mul(f.f32Load(e.at(dyr)), f.f32Load(e.at(w)))),
        );
        f.set(dyr, f.get(dxr));
      });
      // mean(dy) and mean(dy * y)
      f.set(sa, f.f32x4Const(0));
      f.set(sb, f.f32x4Const(0));
      e.cols(() => {
        f.set(va, f.v128Load(e.at(dyr)));
        f.set(sa, f.f32x4Add(f.get(sa), f.get(va)));
        f.set(sb, f.f32x4Add(f.get(sb), f.f32x4Mul(f.get(va), f.v128Load(e.at(yr)))));
      }, null);
      f.set(mdy, e.reduce(sa, 'add'));
      f.set(mdyy, e.reduce(sb, 'add'));
      e.cols(null, () => {
        f.set(mdy, f.f32Add(f.get(mdy), f.f32Load(e.at(dyr))));
        f.set(mdyy, f.f32Add(f.get(mdyy), f.f32Mul(f.f32Load(e.at(dyr)), f.f32Load(e.at(yr)))));
      });
      f.set(inv, f.f32Div(f.f32(1), f.f32ConvertI32S(f.get(cols))));
      f.set(mdy, f.f32Mul(f.get(mdy), f.get(inv)));
      f.set(mdyy, f.f32Mul(f.get(mdyy), f.get(inv)));
      f.set(rs, f.f32Load(f.i32Add(f.get(rstd), f.i32Shl(f.get(r), f.i32(2)))));
      // dx = rstd * (dy - mean(dy) - y * mean(dy * y))
      f.set(va, f.f32x4Splat(f.get(mdy)));
      f.set(vb, f.f32x4Splat(f.get(mdyy)));
      f.set(vr, f.f32x4Splat(f.get(rs)));
      e.cols(
        () =>
          f.v128Store(e.at(dxr), f.f32x4Mul(f.get(vr), f.f32x4Sub(f.f32x4Sub(f.v128Load(e.at(dyr)), f.get(va)), f.f32x4Mul(f.v128Load(e.at(yr)), f.get(vb))))),
        () => f.f32Store(e.at(dxr), f.f32Mul(f.get(rs), f.f32Sub(f.f32Sub(f.f32Load(e.at(dyr)), f.get(mdy)), f.f32Mul(f.f32Load(e.at(yr)), f.get(mdyy))))),
      );
    },
  );
}

export function emitRowKernels(mb: ModuleBuilder): void {
  emitSoftmax(mb);
  emitSoftmaxBackward(mb);
  emitLayerNorm(mb);
  emitLayerNormBackward(mb);
}

/** Run unit u of a row job (codec.ts: array pointers p0..p4 in the kernel's parameter order, unused ones 0). */
export function runRows(ex: RowExports & GeluExports, j: RowsJob, u: number): void {
  const { op, p0, p1, p2, p3, p4, cols, eps, rows, per } = j;
  const r0 = u * per;
  const r1 = Math.min(rows, r0 + per);
  if (op === RowOp.Softmax) ex.softmax(p0, p1, r0, r1, cols);
  else if (op === RowOp.SoftmaxBackward) ex.softmaxBackward(p0, p1, p2, r0, r1, cols);
  else if (op === RowOp.LayerNorm) ex.layerNorm(p0, p1, p2, r0, r1, cols, eps, p3, p4);
  else if (op === RowOp.LayerNormBackward) ex.layerNormBackward(p0, p1, p2, p3, r0, r1, cols, p4);
  else if (op === RowOp.Gelu) ex.gelu(p0, p1, r0, r1);
  else if (op === RowOp.GeluBackward) ex.geluBackward(p0, p1, p2, r0, r1);
  else throw new Error(`unknown row op ${op}`);
}
