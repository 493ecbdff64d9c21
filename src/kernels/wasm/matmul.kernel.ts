// Float32 GEMM in WebAssembly SIMD, GotoBLAS style: B is packed into panels
// NR columns wide and A into micro-panels MR rows tall, each k-major, so the
// micro-kernel reads both with unit stride; a 4x8 register tile (eight f32x4
// accumulators) is updated with f32x4.mul + f32x4.add per k step, or with one
// f32x4.relaxed_madd where the runtime has relaxed SIMD (features.ts). The packing
// routines take the operands' row distance (lda/ldb), so row-strided views
// (e.g. the q/k/v column blocks of a fused qkv output) pack straight from a
// copy of their footprint. A bias row is fused by starting the accumulators
// of the first k block from it instead of from zero. The blocking
// loops (KC over k, MC over rows) run in JS and call into wasm for packing and
// for a whole block of micro-kernels.
//
// For threading, C is cut into chunks of rows or of columns. The operand all
// chunks share (B for row chunks, A for column chunks) is packed once, up
// front; each chunk packs only its own slice of the other one.

import { i32s, signature, type ExportsOf, type Func, type Local, type ModuleBuilder } from './emit.js';
import type { GeluExports } from './gelu.kernel.js';

/** Micro-tile: rows of A, columns of B. */
export const MR = 4;
export const NR = 8;
/** Cache blocking: a KC x NR panel of B stays in L1, an MC x KC block of A in L2. */
export const KC = 256;
export const MC = 64;
export const NC = 1024;

/** Bytes of per-thread scratch: one packed block of A (MC x KC) or B (KC x NC), one edge tile. */
export const GEMM_SCRATCH_BYTES = (Math.max(MC * KC, KC * NC) + MR * NR) * 4;

/** The GEMM functions, declared once (their exports' types come from here). */
export const GEMM_FUNCS = {
  /** packA_n(src, ld, x0, xc, k0, kc, dst): pack rows [x0, x0+xc) x k [k0, k0+kc) of A ([m,k], rows ld >= k floats apart) into MR-row micro-panels */
  packA_n: signature(i32s(7)),
  /** the same for a transposed A stored [k, m] (ld >= m) */
  packA_t: signature(i32s(7)),
  /** packB_n(src, ld, x0, xc, k0, kc, dst): pack columns [x0, x0+xc) x k [k0, k0+kc) of B ([k,n], ld >= n) into NR-column panels */
  packB_n: signature(i32s(7)),
  /** the same for a transposed B stored [n, k] (ld >= k) */
  packB_t: signature(i32s(7)),
  /** kernel(ap, bp, kc, c, ldc, accum, mr, nr, scratch, bias): one micro-tile (used by macro) */
  kernel: signature(i32s(10)),
  /**
   * macro(ap, bp, c, ldc, mc, nc, kc, accum, scratch, bias): C[mc, nc] (row
   * stride ldc elements) = or += packed A block @ packed B block, plus the row
   * at `bias` (nc floats readable up to whole panels) unless it is 0
   */
  macro: signature(i32s(10)),
};
export type GemmExports = ExportsOf<typeof GEMM_FUNCS>;

/**
 * Packing into panels W wide: dst[p][q][w] = X(x0 + W*p + w, k0 + q), zero
 * beyond xc. In the `strided` layout X(x, q) = src[x*ld + q] (rows of the panel
 * are rows in memory: transposed 4x4 at a time with shuffles); otherwise
 * X(x, q) = src[q*ld + x] and each k step is a straight v128 copy.
 */
function emitPack(mb: ModuleBuilder, name: 'packA_n' | 'packA_t' | 'packB_n' | 'packB_t', W: number, strided: boolean): void {
  const {
    f,
    params: [src, ld, x0, xc, k0, kc, dst],
  } = mb.declare(GEMM_FUNCS, name);
  const p = f.local('i32');
  const d = f.local('i32');
  const dd = f.local('i32');
  const s = f.local('i32');
  const q = f.local('i32');
  const w = f.local('i32');
  const ldBytes = f.local('i32');
  const panelBytes = f.local('i32');
  f.set(ldBytes, f.i32Shl(f.get(ld), f.i32(2)));
  f.set(panelBytes, f.i32Mul(f.get(kc), f.i32(W * 4)));
  f.set(d, f.get(dst));

  // byte address of X(x0 + p + w, k0 + q) from locals p, w, q
  const elemAddr = (): void => {
    const x = (): void => f.i32Add(f.i32Add(f.get(x0), f.get(p)), f.get(w));
    const kq = (): void => f.i32Add(f.get(k0), f.get(q));
    const idx = strided ? () => f.i32Add(f.i32Mul(x(), f.get(ld)), kq()) : () => f.i32Add(f.i32Mul(kq(), f.get(ld)), x());
    f.i32Add(f.get(src), f.i32Shl(idx(), f.i32(2)));
  };

  const fastContiguous = (): void => {
    // s = &X(x0 + p, k0)
    f.set(w, f.i32(0));
    f.set(q, f.i32(0));
    f.set(s, elemAddr());
    f.set(dd, f.get(d));
    f.for(
      q,
      () => f.i32(0),
      () => f.get(kc),
      1,
      () => {
        for (let g = 0; g < W / 4; g++) f.v128Store(f.get(dd), f.v128Load(f.get(s), 16 * g), 16 * g);
        f.set(s, f.i32Add(f.get(s), f.get(ldBytes)));
        f.set(dd, f.i32Add(f.get(dd), f.i32(W * 4)));
      },
    );
  };

  const fastStrided = (): void => {
    // one source pointer per panel row; q counts bytes along k
    const rows: Local[] = [];
    f.set(w, f.i32(0));
    f.set(q, f.i32(0));
    f.set(s, elemAddr());
    for (let r = 0; r < W; r++) {
      const l = f.local('i32');
      f.set(l, f.i32Add(f.get(s), f.i32Mul(f.get(ldBytes), f.i32(r))));
      rows.push(l);
    }
    const R = [0, 1, 2, 3].map(() => f.local('v128'));
    const T = [0, 1, 2, 3].map(() => f.local('v128'));
    const end4 = f.local('i32');
    f.set(end4, f.i32Shl(f.i32And(f.get(kc), f.i32(~3)), f.i32(2)));
    f.set(dd, f.get(d));
    f.for(
      q,
      () => f.i32(0),
      () => f.get(end4),
      16,
      () => {
        for (let g = 0; g < W / 4; g++) {
          for (let i = 0; i < 4; i++) f.set(R[i]!, f.v128Load(f.i32Add(f.get(rows[4 * g + i]!), f.get(q))));
          // 4x4 transpose: interleave pairs, then 64-bit halves
          f.set(T[0]!, f.shuffle32(f.get(R[0]!), f.get(R[1]!), [0, 4, 1, 5]));
          f.set(T[1]!, f.shuffle32(f.get(R[2]!), f.get(R[3]!), [0, 4, 1, 5]));
          f.set(T[2]!, f.shuffle32(f.get(R[0]!), f.get(R[1]!), [2, 6, 3, 7]));
          f.set(T[3]!, f.shuffle32(f.get(R[2]!), f.get(R[3]!), [2, 6, 3, 7]));
          const out = (j: number, a: Local, b: Local, lanes: [number, number, number, number]): void =>
            f.v128Store(f.get(dd), f.shuffle32(f.get(a), f.get(b), lanes), 16 * g + j * W * 4);
          out(0, T[0]!, T[1]!, [0, 1, 4, 5]);
          out(1, T[0]!, T[1]!, [2, 3, 6, 7]);
          out(2, T[2]!, T[3]!, [0, 1, 4, 5]);
          out(3, T[2]!, T[3]!, [2, 3, 6, 7]);
        }
        f.set(dd, f.i32Add(f.get(dd), f.i32(4 * W * 4)));
      },
    );
    // k tail, one scalar per row
    f.for(
      q,
      () => f.get(end4),
      () => f.i32Shl(f.get(kc), f.i32(2)),
      4,
      () => {
        for (let r = 0; r < W; r++) f.f32Store(f.get(dd), f.f32Load(f.i32Add(f.get(rows[r]!), f.get(q))), 4 * r);
        f.set(dd, f.i32Add(f.get(dd), f.i32(W * 4)));
      },
    );
  };

  // ragged last panel: zero it, then copy the xc - p valid lanes one by one
  const edge = (): void => {
    f.memoryFill(f.get(d), f.i32(0), f.get(panelBytes));
    f.for(
      w,
      () => f.i32(0),
      () => f.i32Sub(f.get(xc), f.get(p)),
      1,
      () => {
        f.for(
          q,
          () => f.i32(0),
          () => f.get(kc),
          1,
          () => {
            f.f32Store(f.i32Add(f.get(d), f.i32Shl(f.i32Add(f.i32Mul(f.get(q), f.i32(W)), f.get(w)), f.i32(2))), f.f32Load(elemAddr()));
          },
        );
      },
    );
  };

  f.for(
    p,
    () => f.i32(0),
    () => f.get(xc),
    W,
    () => {
      f.if(f.i32GeS(f.i32Sub(f.get(xc), f.get(p)), f.i32(W)), strided ? fastStrided : fastContiguous, edge);
      f.set(d, f.i32Add(f.get(d), f.get(panelBytes)));
    },
  );
}

/**
 * The MR x NR micro-kernel over kc steps of packed panels. Full tiles go
 * straight to C; edge tiles (mr < MR or nr < NR) go through a scratch tile.
 * A non-zero `bias` points at NR floats that start every row's accumulators.
 */
function emitKernel(mb: ModuleBuilder): Func {
  const {
    f,
    params: [ap, bp, kc, c, ldc, accum, mr, nr, scratch, bias],
  } = mb.declare(GEMM_FUNCS, 'kernel');
  const acc: Local[] = [];
  for (let i = 0; i < MR * (NR / 4); i++) acc.push(f.local('v128')); // zero-initialised
  const bv = [f.local('v128'), f.local('v128')];
  const av = f.local('v128');
  const end = f.local('i32');

  f.if(f.get(bias), () => {
    for (let h = 0; h < 2; h++) f.set(bv[h]!, f.v128Load(f.get(bias), 16 * h));
    for (let r = 0; r < MR; r++) for (let h = 0; h < 2; h++) f.set(acc[r * 2 + h]!, f.get(bv[h]!));
  });

  // One k step per iteration: unrolling does not help, as TurboFan then
  // hoists all the loads of the unrolled steps to the top and spills.
  f.set(end, f.i32Add(f.get(ap), f.i32Mul(f.get(kc), f.i32(MR * 4))));
  f.block((exit) => {
    f.loop((top) => {
      f.brIf(exit, f.i32GeU(f.get(ap), f.get(end)));
      f.set(bv[0]!, f.v128Load(f.get(bp)));
      f.set(bv[1]!, f.v128Load(f.get(bp), 16));
      for (let r = 0; r < MR; r++) {
        f.set(av, f.load32Splat(f.get(ap), r * 4));
        for (let h = 0; h < 2; h++) {
          const a = acc[r * 2 + h]!;
          f.set(
            a,
            f.madd(
              () => f.get(av),
              () => f.get(bv[h]!),
              () => f.get(a),
            ),
          );
        }
      }
      f.set(ap, f.i32Add(f.get(ap), f.i32(MR * 4)));
      f.set(bp, f.i32Add(f.get(bp), f.i32(NR * 4)));
      f.br(top);
    });
  });

  const fullTile = (): void => {
    f.if(
      f.get(accum),
      () => {
        for (let r = 0; r < MR; r++) {
          for (let h = 0; h < 2; h++) f.v128Store(f.get(c), f.f32x4Add(f.v128Load(f.get(c), 16 * h), f.get(acc[r * 2 + h]!)), 16 * h);
          f.set(c, f.i32Add(f.get(c), f.get(ldc)));
        }
      },
      () => {
        for (let r = 0; r < MR; r++) {
          for (let h = 0; h < 2; h++) f.v128Store(f.get(c), f.get(acc[r * 2 + h]!), 16 * h);
          f.set(c, f.i32Add(f.get(c), f.get(ldc)));
        }
      },
    );
  };
  const edgeTile = (): void => {
    for (let i = 0; i < acc.length; i++) f.v128Store(f.get(scratch), f.get(acc[i]!), 16 * i);
    const r = f.local('i32');
    const j = f.local('i32');
    const src = f.local('i32');
    const dst = f.local('i32');
    f.for(
      r,
      () => f.i32(0),
      () => f.get(mr),
      1,
      () => {
        f.for(
          j,
          () => f.i32(0),
          () => f.get(nr),
          1,
          () => {
            f.set(src, f.i32Add(f.get(scratch), f.i32Shl(f.i32Add(f.i32Mul(f.get(r), f.i32(NR)), f.get(j)), f.i32(2))));
            f.set(dst, f.i32Add(f.i32Add(f.get(c), f.i32Mul(f.get(r), f.get(ldc))), f.i32Shl(f.get(j), f.i32(2))));
            f.if(
              f.get(accum),
              () => f.f32Store(f.get(dst), f.f32Add(f.f32Load(f.get(dst)), f.f32Load(f.get(src)))),
              () => f.f32Store(f.get(dst), f.f32Load(f.get(src))),
            );
          },
        );
      },
    );
  };
  f.if(f.i32And(f.i32Eq(f.get(mr), f.i32(MR)), f.i32Eq(f.get(nr), f.i32(NR))), fullTile, edgeTile);
  return f;
}

/** All micro-tiles of an mc x nc block: B panels outer (kept in L1), A micro-panels inner. */
function emitMacro(mb: ModuleBuilder, kernel: Func): void {
  const {
    f,
    params: [ap, bp, c, ldc, mc, nc, kc, accum, scratch, bias],
  } = mb.declare(GEMM_FUNCS, 'macro');
  const biasJ = f.local('i32');
  const jp = f.local('i32');
  const ip = f.local('i32');
  const nr = f.local('i32');
  const mr = f.local('i32');
  const min = (a: () => void, b: number): void => {
    f.select(a(), f.i32(b), f.i32LtS(a(), f.i32(b)));
  };
  f.for(
    jp,
    () => f.i32(0),
    () => f.get(nc),
    NR,
    () => {
      f.set(
        nr,
        min(() => f.i32Sub(f.get(nc), f.get(jp)), NR),
      );
      // bias ? bias + 4 jp : 0
      f.set(biasJ, f.select(f.i32Add(f.get(bias), f.i32Shl(f.get(jp), f.i32(2))), f.i32(0), f.get(bias)));
      f.for(
        ip,
        () => f.i32(0),
        () => f.get(mc),
        MR,
        () => {
          f.set(
            mr,
            min(() => f.i32Sub(f.get(mc), f.get(ip)), MR),
          );
          f.call(
            kernel,
            f.i32Add(f.get(ap), f.i32Shl(f.i32Mul(f.get(ip), f.get(kc)), f.i32(2))),
            f.i32Add(f.get(bp), f.i32Shl(f.i32Mul(f.get(jp), f.get(kc)), f.i32(2))),
            f.get(kc),
            f.i32Add(f.get(c), f.i32Shl(f.i32Add(f.i32Mul(f.get(ip), f.get(ldc)), f.get(jp)), f.i32(2))),
            f.i32Shl(f.get(ldc), f.i32(2)),
            f.get(accum),
            f.get(mr),
            f.get(nr),
            f.get(scratch),
            f.get(biasJ),
          );
        },
      );
    },
  );
}

/** Add the GEMM functions (see GemmExports) to a module. */
export function emitGemm(mb: ModuleBuilder): void {
  emitPack(mb, 'packA_n', MR, true);
  emitPack(mb, 'packA_t', MR, false);
  emitPack(mb, 'packB_n', NR, false);
  emitPack(mb, 'packB_t', NR, true);
  emitMacro(mb, emitKernel(mb));
}

/**
 * One batch item's operands (byte addresses) and the operand packed ahead of
 * time by prepack(): B when C is split by rows, A when it is split by columns.
 */
export interface GemmItem {
  a: number;
  b: number;
  c: number;
  packed: number;
  /** Element distance between stored rows of A ([m, k], or [k, m] when transA) and of B. */
  lda: number;
  ldb: number;
  /** Byte address of the bias row (n floats, readable up to whole NR panels), 0 for none. */
  bias: number;
  /** Byte address of all of B packed as prepack(byRows) lays it out (a cached weight), 0 for none. */
  packedB: number;
  /** C holds an addend: add to it instead of overwriting. */
  accumulate: boolean;
  /** GELU over the finished C. */
  gelu: boolean;
  /** Byte address where C goes before the GELU (laid out like C), 0 for nowhere. */
  pre: number;
  transA: boolean;
  transB: boolean;
  m: number;
  n: number;
  k: number;
}

const roundUp = (x: number, to: number): number => Math.ceil(x / to) * to;

/** Bytes prepack() writes for one item. */
export function packedBytes(m: number, n: number, k: number, byRows: boolean): number {
  return (byRows ? roundUp(n, NR) : roundUp(m, MR)) * k * 4;
}

/**
 * Pack the operand every chunk of an item shares, whole: B for a split by
 * rows, A for a split by columns. Block pc (k0 = pc) starts at
 * width * pc floats, where width is n or m rounded up to whole panels.
 */
export function prepack(ex: GemmExports, it: GemmItem, byRows: boolean): void {
  const { m, n, k } = it;
  for (let pc = 0; pc < k; pc += KC) {
    const kc = Math.min(KC, k - pc);
    if (byRows) {
      const pack = it.transB ? ex.packB_t : ex.packB_n;
      pack(it.b, it.ldb, 0, n, pc, kc, it.packed + roundUp(n, NR) * pc * 4);
    } else {
      const pack = it.transA ? ex.packA_t : ex.packA_n;
      pack(it.a, it.lda, 0, m, pc, kc, it.packed + roundUp(m, MR) * pc * 4);
    }
  }
}

/**
 * C[lo:hi, :] (byRows) or C[:, lo:hi] of one item, packing its own slice of
 * the other operand into `scratch` (GEMM_SCRATCH_BYTES). A column slice must
 * be at most NC wide.
 */
export function gemmChunk(
  ex: GemmExports & Pick<GeluExports, 'geluInPlace' | 'geluInPlaceRows' | 'copyRows'>,
  it: GemmItem,
  byRows: boolean,
  lo: number,
  hi: number,
  scratch: number,
): void {
  const { m, n, k } = it;
  const tile = scratch + KC * NC * 4; // edge-tile buffer after the packed block
  for (let pc = 0; pc < k; pc += KC) {
    const kc = Math.min(KC, k - pc);
    const accum = pc > 0 || it.accumulate ? 1 : 0;
    // the bias starts the accumulators of the first k block
    const bias = pc > 0 || !it.bias ? 0 : it.bias + (byRows ? 0 : lo * 4);
    if (byRows) {
      const pack = it.transA ? ex.packA_t : ex.packA_n;
      const bBlock = it.packed + roundUp(n, NR) * pc * 4;
      for (let ic = lo; ic < hi; ic += MC) {
        const mc = Math.min(MC, hi - ic);
        pack(it.a, it.lda, ic, mc, pc, kc, scratch);
        ex.macro(scratch, bBlock, it.c + ic * n * 4, n, mc, n, kc, accum, tile, bias);
      }
    } else {
      const aBlock = it.packed + roundUp(m, MR) * pc * 4;
      // lo is a whole number of panels, so a cached B's slice is its panels from lo on
      let bBlock = it.packedB + (roundUp(n, NR) * pc + lo * kc) * 4;
      if (!it.packedB) {
        const pack = it.transB ? ex.packB_t : ex.packB_n;
        pack(it.b, it.ldb, lo, hi - lo, pc, kc, scratch);
        bBlock = scratch;
      }
      for (let ic = 0; ic < m; ic += MC) {
        const mc = Math.min(MC, m - ic);
        ex.macro(aBlock + ic * kc * 4, bBlock, it.c + (ic * n + lo) * 4, n, mc, hi - lo, kc, accum, tile, bias);
      }
    }
  }
  if (it.gelu && it.pre) {
    if (byRows) ex.copyRows(it.pre + lo * n * 4, it.c + lo * n * 4, 1, (hi - lo) * n * 4, 0);
    else ex.copyRows(it.pre + lo * 4, it.c + lo * 4, m, (hi - lo) * 4, n * 4);
  }
  if (it.gelu) {
    if (byRows) ex.geluInPlace(it.c + lo * n * 4, (hi - lo) * n, tile);
    else ex.geluInPlaceRows(it.c + lo * 4, m, hi - lo, n * 4, tile);
  }
}
