// Fused multi-head attention in wasm, built from the GEMM routines (matmul.kernel.ts)
// plus one emitted function: an in-place softmax of scaled scores. A unit of
// an attention job is one block of query rows of one head of one batch item,
// and runs start to end on one thread:
//   S rows = Q rows K^T   (macro straight into the rows of attn, ldc = tokens)
//   P rows = softmax(scale * S rows), in place
//   O rows = P rows V     (macro straight into out's column block of the head, ldc = D)
// so nothing is copied between the steps and the heads are merged for free.
// K and V are read in place from the fused qkv rows (row distance 3D).

import { signature, type ExportsOf, type Local, type ModuleBuilder } from './emit.js';
import { GEMM_SCRATCH_BYTES, KC, MC, MR, NR, type GemmExports } from './matmul.kernel.js';
import { RowEmitter, exp4 } from './rows.kernel.js';
import type { AttentionJob } from './codec.js';

/** The attention functions, declared once (their exports' types come from here). */
export const ATTENTION_FUNCS = {
  /** scaledSoftmax(x, r0, r1, cols, scale): rows [r0, r1) of contiguous [rows, cols] x, in place: x = softmax(scale * x) per row */
  scaledSoftmax: signature(['i32', 'i32', 'i32', 'i32', 'f32']),
};
export type AttentionExports = ExportsOf<typeof ATTENTION_FUNCS>;

/**
 * The rows are scored as m = max(scale * x), then exp(scale * x - m): both
 * products are rounded alike, so every exponent is <= 0 (stable), and folding
 * the scale in here costs one multiply in passes that are bound by exp anyway,
 * where scaling q or the scores would cost a pass of its own.
 */
function emitScaledSoftmax(mb: ModuleBuilder): void {
  const {
    f,
    params: [x, r0, r1, cols, scale],
  } = mb.declare(ATTENTION_FUNCS, 'scaledSoftmax');
  const e = new RowEmitter(f, cols);
  const [r, xr] = [f.local('i32'), f.local('i32')];
  const [acc, v, n, t, under, sv, mv] = [0, 1, 2, 3, 4, 5, 6].map(() => f.local('v128')) as [Local, Local, Local, Local, Local, Local, Local];
  const [mx, s] = [f.local('f32'), f.local('f32')];
  f.set(sv, f.f32x4Splat(f.get(scale)));
  f.hoistConstants(() =>
    e.rows(r, r0, r1, [[xr, x]], () => {
      // row max of the scaled scores
      f.set(acc, f.f32x4Const(-Infinity));
      e.cols(() => f.set(acc, f.f32x4Pmax(f.get(acc), f.f32x4Mul(f.v128Load(e.at(xr)), f.get(sv)))), null);
      f.set(mx, e.reduce(acc, 'max'));
      e.cols(null, () => f.set(mx, f.f32Max(f.get(mx), f.f32Mul(f.f32Load(e.at(xr)), f.get(scale)))));
      // x = exp(scale * x - max), summed
      f.set(mv, f.f32x4Splat(f.get(mx)));
      f.set(acc, f.f32x4Const(0));
      e.cols(() => {
        f.set(v, f.f32x4Sub(f.f32x4Mul(f.v128Load(e.at(xr)), f.get(sv)), f.get(mv)));
        exp4(f, v, n, t, under);
        f.v128Store(e.at(xr), f.get(v));
        f.set(acc, f.f32x4Add(f.get(acc), f.get(v)));
      }, null);
      f.set(s, e.reduce(acc, 'add'));
      e.cols(null, () => {
        f.set(v, f.f32x4Splat(f.f32Sub(f.f32Mul(f.f32Load(e.at(xr)), f.get(scale)), f.get(mx))));
        exp4(f, v, n, t, under);
        f.f32Store(e.at(xr), f.f32x4ExtractLane(f.get(v), 0));
        f.set(s, f.f32Add(f.get(s), f.f32x4ExtractLane(f.get(v), 0)));
      });
      // normalise
      f.set(s, f.f32Div(f.f32(1), f.get(s)));
      f.set(v, f.f32x4Splat(f.get(s)));
      e.cols(
        () => f.v128Store(e.at(xr), f.f32x4Mul(f.v128Load(e.at(xr)), f.get(v))),
        () => f.f32Store(e.at(xr), f.f32Mul(f.f32Load(e.at(xr)), f.get(s))),
      );
    }),
  );
}

/** Add the attention functions (see AttentionExports) to a module. */
export function emitAttention(mb: ModuleBuilder): void {
  emitScaledSoftmax(mb);
}

const roundUp = (x: number, to: number): number => Math.ceil(x / to) * to;

// Thread scratch layout (bytes from its start): a packed A block (Q or P rows,
// MC x KC), the micro-kernel's edge tile, then K and V panels.
export const A_BLOCK_BYTES = MC * KC * 4;
const TILE_BYTES = MR * NR * 4;
export const PANELS_OFFSET = A_BLOCK_BYTES + TILE_BYTES;
/** Floats available for packed K and V panels. */
export const PANEL_FLOATS = Math.floor((GEMM_SCRATCH_BYTES - PANELS_OFFSET) / 4);

/** Whether one head's packed K and V fit the scratch together, so a thread packs them once per head. */
export function panelsFit(tokens: number, headDim: number): boolean {
  return roundUp(tokens, NR) * headDim + roundUp(headDim, NR) * tokens <= PANEL_FLOATS;
}

/** Columns of K packed at a time when the panels are not cached (whole panels of KC deep). */
export const STREAM_COLS = Math.floor(PANEL_FLOATS / (KC * NR)) * NR;

/** Whether the uncached path can run at all: one KC-deep block of V panels must fit. */
export function streamingFits(headDim: number): boolean {
  return STREAM_COLS >= NR && roundUp(headDim, NR) * KC <= PANEL_FLOATS;
}

/** Which head's K and V panels a thread's scratch holds, within one job (-1: none). */
export interface PanelCache {
  item: number;
}

/** Unit u of an attention job, on the thread whose scratch starts at `scratch`. */
export function runAttentionUnit(ex: GemmExports & AttentionExports, j: AttentionJob, u: number, scratch: number, cache: PanelCache): void {
  const { tokens: n, heads, headDim: hd } = j;
  const d = heads * hd;
  const ld = 3 * d;
  const item = Math.floor(u / j.blocksPerItem); // b * heads + h
  const r0 = (u - item * j.blocksPerItem) * j.blockRows;
  const r1 = Math.min(n, r0 + j.blockRows);
  const b = Math.floor(item / heads);
  const h = item - b * heads;
  const q = j.qkv + (b * n * ld + h * hd) * 4;
  const k = q + d * 4;
  const v = q + 2 * d * 4;
  const scores = j.attn + item * n * n * 4;
  const out = j.out + (b * n * d + h * hd) * 4;
  const sc = headScratch(scratch);
  // K as B transposed (k = hd), then V (k = tokens)
  const vPanels = sc.panels + roundUp(n, NR) * hd * 4;
  if (j.cachePanels && cache.item !== item) {
    packWhole(ex, k, ld, n, hd, true, sc.panels);
    packWhole(ex, v, ld, n, hd, false, vPanels);
    cache.item = item;
  }
  for (let ic = r0; ic < r1; ic += MC) {
    const mc = Math.min(MC, r1 - ic);
    productABt(ex, sc, q, ld, k, ld, scores, n, ic, mc, n, hd, j.cachePanels ? sc.panels : 0); // S = Q K^T
    ex.scaledSoftmax(scores + ic * n * 4, 0, mc, n, j.scale);
    productAB(ex, sc, scores, false, v, ld, out, d, ic, mc, n, hd, j.cachePanels ? vPanels : 0); // O = P V, into the head's columns of out
  }
}

// The two products of attention and its gradient, on one block of rows of
// one head: n = tokens, hd = head dim, byte addresses throughout.

/** A thread's scratch: a packed A block (MC x KC), the micro-kernel's edge tile, then B panels. */
export interface HeadScratch {
  aBlock: number;
  tile: number;
  panels: number;
}

export function headScratch(scratch: number): HeadScratch {
  return { aBlock: scratch, tile: scratch + A_BLOCK_BYTES, panels: scratch + PANELS_OFFSET };
}

/**
 * B [n, hd] (rows ldb apart) packed whole at dst, as prepack() lays it out
 * (KC-deep block pc at width * pc floats): transposed for productABt
 * (k = hd, width n), else for productAB (k = n, width hd).
 */
export function packWhole(ex: GemmExports, b: number, ldb: number, n: number, hd: number, transposed: boolean, dst: number): void {
  if (transposed) for (let pc = 0; pc < hd; pc += KC) ex.packB_t(b, ldb, 0, n, pc, Math.min(KC, hd - pc), dst + roundUp(n, NR) * pc * 4);
  else for (let pc = 0; pc < n; pc += KC) ex.packB_n(b, ldb, 0, hd, pc, Math.min(KC, n - pc), dst + roundUp(hd, NR) * pc * 4);
}

/**
 * Rows [ic, ic + mc) of C = A B^T (C [.., n] rows ldc apart from c; A [.., hd]
 * rows lda apart; B [n, hd] rows ldb apart). B comes packed whole from
 * `cached` (packWhole, transposed) or, when that is 0, STREAM_COLS columns at
 * a time through the panels.
 */
export function productABt(
  ex: GemmExports,
  sc: HeadScratch,
  a: number,
  lda: number,
  b: number,
  ldb: number,
  c: number,
  ldc: number,
  ic: number,
  mc: number,
  n: number,
  hd: number,
  cached: number,
): void {
  const rows = c + ic * ldc * 4;
  for (let pc = 0; pc < hd; pc += KC) {
    const kc = Math.min(KC, hd - pc);
    const accum = pc > 0 ? 1 : 0;
    ex.packA_n(a, lda, ic, mc, pc, kc, sc.aBlock);
    if (cached) ex.macro(sc.aBlock, cached + roundUp(n, NR) * pc * 4, rows, ldc, mc, n, kc, accum, sc.tile, 0);
    else {
      for (let jc = 0; jc < n; jc += STREAM_COLS) {
        const nc = Math.min(STREAM_COLS, n - jc);
        ex.packB_t(b, ldb, jc, nc, pc, kc, sc.panels);
        ex.macro(sc.aBlock, sc.panels, rows + jc * 4, ldc, mc, nc, kc, accum, sc.tile, 0);
      }
    }
  }
}

/**
 * Rows [ic, ic + mc) of C = A B, or A^T B with `transA` (C [.., hd] rows ldc
 * apart from c; A [n, n] dense; B [n, hd] rows ldb apart). B comes packed
 * whole from `cached` (packWhole, not transposed) or, when that is 0, one
 * KC block at a time through the panels.
 */
export function productAB(
  ex: GemmExports,
  sc: HeadScratch,
  a: number,
  transA: boolean,
  b: number,
  ldb: number,
  c: number,
  ldc: number,
  ic: number,
  mc: number,
  n: number,
  hd: number,
  cached: number,
): void {
  const packA = transA ? ex.packA_t : ex.packA_n;
  for (let pc = 0; pc < n; pc += KC) {
    const kc = Math.min(KC, n - pc);
    packA(a, n, ic, mc, pc, kc, sc.aBlock);
    let bBlock = cached + roundUp(hd, NR) * pc * 4;
    if (!cached) {
      ex.packB_n(b, ldb, 0, hd, pc, kc, sc.panels);
      bBlock = sc.panels;
    }
    ex.macro(sc.aBlock, bBlock, c + ic * ldc * 4, ldc, mc, hd, kc, pc > 0 ? 1 : 0, sc.tile, 0);
  }
}
