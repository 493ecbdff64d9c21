// The gradient of the fused attention in wasm, from the GEMM routines
// (matmul.kernel.ts) plus one emitted row function, in two jobs over the same
// operands. A unit runs start to end on one thread.
// Phase 1, a unit per block of query rows of one head of one batch item:
//   dP rows = dO rows V^T                      (macro into the rows of dS, ldc = tokens)
//   dS rows = scale * P * (dP - rowsum(dP * P)), in place
//   dQ rows = dS rows K                        (macro into dqkv's q columns of the head, ldc = 3D)
// Phase 2, once all of dS is there, a unit per block of key rows:
//   dK rows = (dS^T) rows Q,  dV rows = (P^T) rows dO   (A packed transposed, into dqkv's k and v columns)
// so every element of dqkv is written by exactly one unit, and nothing is
// copied between the steps. q, k, v and dO are read in place (row distance 3D or D).

import { signature, type ExportsOf, type ModuleBuilder } from './emit.js';
import { MC, NR, type GemmExports } from './matmul.kernel.js';
import { PANEL_FLOATS, headScratch, packWhole, panelsFit, productAB, productABt, type PanelCache } from './attention.kernel.js';
import type { AttentionBackwardJob } from './codec.js';
import { RowEmitter } from './rows.kernel.js';

/** The attention-gradient functions, declared once (their exports' types come from here). */
export const ATTENTION_BACKWARD_FUNCS = {
  /** scaledSoftmaxBackward(p, g, r0, r1, cols, scale): rows [r0, r1) of contiguous [rows, cols] p and g, g in place: g = scale * p * (g - sum(g * p)) per row */
  scaledSoftmaxBackward: signature(['i32', 'i32', 'i32', 'i32', 'i32', 'f32']),
};
export type AttentionBackwardExports = ExportsOf<typeof ATTENTION_BACKWARD_FUNCS>;

/** The softmax gradient of the scaled scores: the scale folded into the pass that writes dS anyway. */
function emitScaledSoftmaxBackward(mb: ModuleBuilder): void {
  const {
    f,
    params: [p, g, r0, r1, cols, scale],
  } = mb.declare(ATTENTION_BACKWARD_FUNCS, 'scaledSoftmaxBackward');
  const e = new RowEmitter(f, cols);
  const [r, pr, gr] = [f.local('i32'), f.local('i32'), f.local('i32')];
  const [acc, dv, sv] = [f.local('v128'), f.local('v128'), f.local('v128')];
  const dot = f.local('f32');
  f.set(sv, f.f32x4Splat(f.get(scale)));
  e.rows(
    r,
    r0,
    r1,
    [
      [pr, p],
      [gr, g],
    ],
    () => {
      // dot = sum(g * p)
      f.set(acc, f.f32x4Const(0));
      e.cols(() => f.set(acc, f.f32x4Add(f.get(acc), f.f32x4Mul(f.v128Load(e.at(gr)), f.v128Load(e.at(pr))))), null);
      f.set(dot, e.reduce(acc, 'add'));
      e.cols(null, () => f.set(dot, f.f32Add(f.get(dot), f.f32Mul(f.f32Load(e.at(gr)), f.f32Load(e.at(pr))))));
      // g = scale * p * (g - dot)
      f.set(dv, f.f32x4Splat(f.get(dot)));
      e.cols(
        () => f.v128Store(e.at(gr), f.f32x4Mul(f.f32x4Mul(f.v128Load(e.at(pr)), f.get(sv)), f.f32x4Sub(f.v128Load(e.at(gr)), f.get(dv)))),
        () => f.f32Store(e.at(gr), f.f32Mul(f.f32Mul(f.f32Load(e.at(pr)), f.get(scale)), f.f32Sub(f.f32Load(e.at(gr)), f.get(dot)))),
      );
    },
  );
}

/** Add the attention-gradient functions (see AttentionBackwardExports) to a module. */
export function emitAttentionBackward(mb: ModuleBuilder): void {
  emitScaledSoftmaxBackward(mb);
}

const roundUp = (x: number, to: number): number => Math.ceil(x / to) * to;

/** Whether one head's packed B operands of either phase fit a thread's scratch together. */
export function backwardPanelsFit(tokens: number, headDim: number): boolean {
  return panelsFit(tokens, headDim) && 2 * roundUp(headDim, NR) * tokens <= PANEL_FLOATS;
}

/** Where unit u works: its (item, head), its rows, and byte addresses of the head's columns. */
function unitOperands(j: AttentionBackwardJob, u: number) {
  const { tokens: n, heads, headDim: hd } = j;
  const d = heads * hd;
  const ld = 3 * d;
  const item = Math.floor(u / j.blocksPerItem); // b * heads + h
  const r0 = (u - item * j.blocksPerItem) * j.blockRows;
  const b = Math.floor(item / heads);
  const h = item - b * heads;
  const q = (b * n * ld + h * hd) * 4; // offset of the head's q columns, in qkv and in dqkv alike
  return {
    n,
    hd,
    d,
    ld,
    item,
    r0,
    r1: Math.min(n, r0 + j.blockRows),
    q: j.qkv + q,
    k: j.qkv + q + d * 4,
    v: j.qkv + q + 2 * d * 4,
    dQ: j.dqkv + q,
    dK: j.dqkv + q + d * 4,
    dV: j.dqkv + q + 2 * d * 4,
    dO: j.g + (b * n * d + h * hd) * 4,
    probs: j.attn + item * n * n * 4,
    dS: j.dS + item * n * n * 4,
  };
}

/** Unit u of an attention-gradient job of either phase, on the thread whose scratch starts at `scratch`. */
export function runAttentionBackwardUnit(
  ex: GemmExports & AttentionBackwardExports,
  j: AttentionBackwardJob,
  u: number,
  scratch: number,
  cache: PanelCache,
): void {
  if (j.phase === 1) runQueryRows(ex, j, u, scratch, cache);
  else runKeyRows(ex, j, u, scratch, cache);
}

/** dS and dQ for a block of query rows: the forward's structure, with dO, V^T and K in place of Q, K^T and V. */
function runQueryRows(ex: GemmExports & AttentionBackwardExports, j: AttentionBackwardJob, u: number, scratch: number, cache: PanelCache): void {
  const { n, hd, d, ld, item, r0, r1, k, v, dQ, dO, probs, dS } = unitOperands(j, u);
  const sc = headScratch(scratch);
  // V as B transposed (k = hd), then K (k = tokens)
  const kPanels = sc.panels + roundUp(n, NR) * hd * 4;
  if (j.cachePanels && cache.item !== item) {
    packWhole(ex, v, ld, n, hd, true, sc.panels);
    packWhole(ex, k, ld, n, hd, false, kPanels);
    cache.item = item;
  }
  for (let ic = r0; ic < r1; ic += MC) {
    const mc = Math.min(MC, r1 - ic);
    productABt(ex, sc, dO, d, v, ld, dS, n, ic, mc, n, hd, j.cachePanels ? sc.panels : 0); // dP = dO V^T
    ex.scaledSoftmaxBackward(probs + ic * n * 4, dS + ic * n * 4, 0, mc, n, j.scale);
    productAB(ex, sc, dS, false, k, ld, dQ, ld, ic, mc, n, hd, j.cachePanels ? kPanels : 0); // dQ = dS K, into the head's q columns
  }
}

/** dK and dV for a block of key rows: columns of dS and P read as rows of their transposes by packA_t. */
function runKeyRows(ex: GemmExports & AttentionBackwardExports, j: AttentionBackwardJob, u: number, scratch: number, cache: PanelCache): void {
  const { n, hd, d, ld, item, r0, r1, q, dK, dV, dO, probs, dS } = unitOperands(j, u);
  const sc = headScratch(scratch);
  // Q, then dO, both as B (k = tokens)
  const dOPanels = sc.panels + roundUp(hd, NR) * n * 4;
  if (j.cachePanels && cache.item !== item) {
    packWhole(ex, q, ld, n, hd, false, sc.panels);
    packWhole(ex, dO, d, n, hd, false, dOPanels);
    cache.item = item;
  }
  for (let ic = r0; ic < r1; ic += MC) {
    const mc = Math.min(MC, r1 - ic);
    productAB(ex, sc, dS, true, q, ld, dK, ld, ic, mc, n, hd, j.cachePanels ? sc.panels : 0); // dK = dS^T Q
    productAB(ex, sc, probs, true, dO, d, dV, ld, ic, mc, n, hd, j.cachePanels ? dOPanels : 0); // dV = P^T dO
  }
}
