// Host side of the wasm matmul: copy the operands of MatmulArgs into wasm
// memory, run the batched GEMM over the threads, copy C back out.
//
// Operands are copied one of two ways. A "span" copy moves the operand's
// whole footprint (first to last element used, over all batch items) with
// one memcpy, keeping its row distance (lda/ldb) and batch stride: the
// packing routines read rows that far apart anyway. A "dense" copy moves only
// the rows' used parts, one set() per row. A memcpy runs at ~25 GB/s and a
// set() call costs ~60 ns, so the span copy wins unless the gaps it carries
// along are much longer than that: e.g. q of a fused [N, 3D] qkv output (all
// heads: one span of ~N*3D floats) is a span copy. When A and B are views of
// the same array whose spans meet (q and k of one qkv), the union is copied once.

import type { MatmulArgs } from '../backend.js';
import { leadingDims } from '../backend.js';
import { MR, NC, NR, packedBytes, prepack } from './matmul.kernel.js';
import { chunksPerItem, gemmItem, writeJob } from './jobs.js';
import { gemmJob, type GemmJob } from './codec.js';
import type { Runtime } from './runtime.js';

/** Below this many multiply-adds a second thread does not pay off (measured: ~20 us of work). */
export const PARALLEL_MIN_MACS = 1 << 19;
/** Below this many the reference kernel beats the fixed cost (~4 us) of a wasm call. */
export const MIN_MACS = 2048;

/** Chunks narrower than this many panels spend too long outside the micro-kernel. */
const MIN_CHUNK_PANELS = 4;
/**
 * Chunks per thread (down to MIN_CHUNK_PANELS), claimed dynamically. The
 * caller waits for the worker's last chunk, so finer chunks shorten that
 * tail: measured over a ViT-Ti forward, the mean wait per parallel call went
 * from 33 us (4 per thread) to 12 us (16), e.g. 197x768 @ 768x192 -7%.
 */
const UNITS_PER_THREAD = 16;

/** Floats of unused gap a span copy may carry per set() call it saves (memcpy ~6 floats/ns, set() ~60 ns). */
const GAP_FLOATS_PER_CALL = 256;

const align64 = (bytes: number): number => Math.ceil(bytes / 64) * 64;

/** One operand as stored in the caller's array (elements), for the items of one pass. */
interface Operand {
  src: Float32Array;
  /** First element of the first item. */
  offset: number;
  /** Elements between items (0: one matrix for all). */
  stride: number;
  rows: number;
  cols: number;
  ld: number;
  /** Copy the footprint as one block (else row by row, densely). */
  span: boolean;
}

/** Floats from the first to the last element of `items` items. */
function spanOf(o: Operand, items: number): number {
  const n = o.stride ? items : 1;
  return (n - 1) * o.stride + (o.rows - 1) * o.ld + o.cols;
}

function chooseSpan(o: Omit<Operand, 'span'>, items: number): boolean {
  const n = o.stride ? items : 1;
  if (o.ld === o.cols && (n === 1 || o.stride === o.rows * o.cols)) return true; // already dense
  const used = n * o.rows * o.cols;
  const calls = o.ld === o.cols ? n : n * o.rows;
  return spanOf({ ...o, span: true }, items) - used <= GAP_FLOATS_PER_CALL * calls;
}

/** Where an operand's items live in wasm memory (bytes). */
interface Placed {
  addr: number;
  stride: number;
  ld: number;
}

/**
 * Byte layout of one pass of `nb` items from `base`: the operand regions
 * (A and B share one when `share`), C, the packed shared operand, the bias.
 */
interface Layout {
  bytes: number;
  a: Placed;
  b: Placed;
  /** Where the operand copies go: [operand, region start in bytes, first source element]; a shared region appears once. */
  copies: Array<[Operand, number, number, number]>;
  c: number;
  packed: number;
  bias: number;
  /** Where C goes before its epilogue (0: not kept). */
  pre: number;
}

function layout(
  A: Operand,
  B: Operand | null,
  nb: number,
  m: number,
  n: number,
  sizePacked: number,
  sharedStride: number,
  hasBias: boolean,
  keepPre: boolean,
): Layout {
  let at = 0;
  const copies: Layout['copies'] = [];
  // a span region mirrors its source's alignment mod 64 bytes, so aligned rows stay aligned
  const spanRegion = (start: number, floats: number): number => {
    const addr = align64(at) + (start % 16) * 4;
    at = addr + floats * 4;
    return addr;
  };
  const place = (o: Operand): Placed => {
    const items = o.stride ? nb : 1;
    if (o.span) {
      const len = spanOf(o, nb);
      const addr = spanRegion(o.offset, len);
      copies.push([o, addr, o.offset, len]);
      return { addr, stride: o.stride * 4, ld: o.ld };
    }
    const addr = align64(at);
    at = addr + items * o.rows * o.cols * 4;
    copies.push([o, addr, o.offset, items]);
    return { addr, stride: o.stride ? o.rows * o.cols * 4 : 0, ld: o.cols };
  };
  let a: Placed;
  let b: Placed;
  const share = B !== null && A.span && B.span && A.src === B.src;
  const lenA = share ? spanOf(A, nb) : 0;
  const lenB = share ? spanOf(B, nb) : 0;
  const lo = share ? Math.min(A.offset, B.offset) : 0;
  const hi = share ? Math.max(A.offset + lenA, B.offset + lenB) : 0;
  if (share && hi - lo <= lenA + lenB + 1024) {
    const addr = spanRegion(lo, hi - lo);
    copies.push([{ ...A, offset: lo }, addr, lo, hi - lo]);
    a = { addr: addr + (A.offset - lo) * 4, stride: A.stride * 4, ld: A.ld };
    b = { addr: addr + (B.offset - lo) * 4, stride: B.stride * 4, ld: B.ld };
  } else {
    a = place(A);
    // a resident B (already packed) needs no copy
    b = B ? place(B) : { addr: 0, stride: 0, ld: 0 };
  }
  const c = align64(at);
  at = c + nb * m * n * 4;
  const packed = align64(at);
  at = packed + (sharedStride ? nb : 1) * sizePacked * 4;
  let bias = 0;
  if (hasBias) {
    // the micro-kernel reads whole panels of the bias row
    bias = align64(at);
    at = bias + Math.ceil(n / NR) * NR * 4;
  }
  let pre = 0;
  if (keepPre) {
    pre = align64(at);
    at = pre + nb * m * n * 4;
  }
  return { bytes: at, a, b, copies, c, packed, bias, pre };
}

export function wasmMatmul(rt: Runtime, p: MatmulArgs, fallback: (p: MatmulArgs) => void): void {
  const { a, b, c, batch, m, n, k, bias } = p;
  if (!(a instanceof Float32Array && b instanceof Float32Array && c instanceof Float32Array)) return fallback(p);
  if (bias && !(bias instanceof Float32Array)) return fallback(p);
  if (batch <= 0 || m <= 0 || n <= 0) return;
  if (k === 0 || rt.small(batch * m * n * k, MIN_MACS)) return fallback(p);
  const { lda, ldb } = leadingDims(p);
  // Split C along its longer side; the operand spanning the other side is
  // shared by all chunks and packed once up front (A for column chunks).
  const byRows = m > n;
  // a constant B shared by all items stays packed in wasm memory between calls
  const packedB = p.constantB && (p.strideB === 0 || batch === 1) ? residentB(rt, b, p.bOffset, ldb, p.transB, n, k) : 0;
  const sharedStride = byRows ? p.strideB : p.strideA;
  const sizeC = m * n;
  const keepPre = p.epilogue === 'gelu' && !!p.preActivation;
  const sizePacked = byRows && packedB ? 0 : packedBytes(m, n, k, byRows) / 4;
  const opA = { src: a, offset: p.aOffset, stride: p.strideA, rows: p.transA ? k : m, cols: p.transA ? m : k, ld: lda };
  const opB = { src: b, offset: p.bOffset, stride: p.strideB, rows: p.transB ? n : k, cols: p.transB ? k : n, ld: ldb };
  const A: Operand = { ...opA, span: chooseSpan(opA, batch) };
  const B: Operand = { ...opB, span: chooseSpan(opB, batch) };
  const plan = (b0: number, nb: number): Layout =>
    layout(
      { ...A, offset: A.offset + b0 * A.stride },
      packedB ? null : { ...B, offset: B.offset + b0 * B.stride },
      nb,
      m,
      n,
      sizePacked,
      sharedStride,
      !!bias,
      keepPre,
    );
  // items per pass: all of them unless that would pass 1 GiB
  let itemsPerPass = batch;
  if (plan(0, batch).bytes > rt.maxBytes) {
    if (plan(0, 1).bytes > rt.maxBytes) return fallback(p);
    let lo = 1;
    let hi = batch;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (plan(0, mid).bytes <= rt.maxBytes) lo = mid;
      else hi = mid;
    }
    itemsPerPass = lo;
  }

  for (let b0 = 0; b0 < batch; b0 += itemsPerPass) {
    const nb = Math.min(itemsPerPass, batch - b0);
    const L = plan(b0, nb);
    const base = rt.base;
    const threads = nb * m * n * k < PARALLEL_MIN_MACS ? 1 : rt.threads;
    const job: GemmJob = {
      a: base + L.a.addr,
      b: base + L.b.addr,
      c: base + L.c,
      packed: byRows && packedB ? packedB : base + L.packed,
      strideA: L.a.stride,
      strideB: L.b.stride,
      stridePacked: sharedStride ? sizePacked * 4 : 0,
      lda: L.a.ld,
      ldb: L.b.ld,
      bias: bias ? base + L.bias : 0,
      packedB,
      accumulate: !!p.accumulate,
      gelu: p.epilogue === 'gelu',
      pre: keepPre ? base + L.pre : 0,
      transA: p.transA,
      transB: p.transB,
      batch: nb,
      m,
      n,
      k,
      byRows,
      chunk: chunkLength(nb, byRows ? m : n, byRows ? MR : NR, threads, byRows ? Infinity : NC),
    };
    rt.run(nb * chunksPerItem(job), threads, () => {
      const mem = rt.f32(L.bytes);
      for (const [o, addr, from, count] of L.copies) copyIn(mem, (base + addr) / 4, o, from, count);
      if (bias) {
        const bo = p.biasOffset ?? 0;
        mem.set(bias.subarray(bo, bo + n), (base + L.bias) / 4);
      }
      if (p.accumulate) mem.set(c.subarray(p.cOffset + b0 * sizeC, p.cOffset + (b0 + nb) * sizeC), (base + L.c) / 4);
      if (!(byRows && packedB)) for (let i = 0; i < (sharedStride ? nb : 1); i++) prepack(rt.ex, gemmItem(job, i), byRows);
      writeJob(rt.ctl, gemmJob, job);
    });
    const mem = rt.f32(L.bytes);
    c.set(mem.subarray(job.c / 4, job.c / 4 + nb * sizeC), p.cOffset + b0 * sizeC);
    if (keepPre) p.preActivation!.set(mem.subarray(job.pre / 4, job.pre / 4 + nb * sizeC), b0 * sizeC);
  }
}

/**
 * Byte address of B packed whole (prepack's by-rows layout) in the resident
 * region, packing it on first use; 0 when it does not fit there.
 */
export function residentB(rt: Runtime, b: Float32Array, offset: number, ldb: number, transB: boolean, n: number, k: number): number {
  const key = `${offset}:${ldb}:${transB ? 1 : 0}:${n}:${k}`;
  const found = rt.resident.find(b, key);
  if (found !== undefined) return found;
  const bytes = packedBytes(0, n, k, true);
  const addr = rt.resident.reserve(b, key, bytes);
  if (addr === null) return 0;
  // copy B's footprint in after the region, then pack it into the region
  const span = ((transB ? n : k) - 1) * ldb + (transB ? k : n);
  try {
    const mem = rt.f32(span * 4);
    const at = rt.base;
    mem.set(b.subarray(offset, offset + span), at / 4);
    prepack(
      rt.ex,
      { a: 0, b: at, c: 0, packed: addr, lda: 0, ldb, bias: 0, packedB: 0, accumulate: false, gelu: false, pre: 0, transA: false, transB, m: 0, n, k },
      true,
    );
  } catch (e) {
    rt.resident.drop(b, key, bytes);
    throw e;
  }
  return addr;
}

/**
 * Rows or columns per chunk: whole panels, UNITS_PER_THREAD chunks per thread
 * so that claiming them balances the load, but not so thin that the
 * micro-kernel loops get short; at most `max` (a column chunk's packed B must fit NC).
 */
export function chunkLength(batch: number, extent: number, panel: number, threads: number, max: number): number {
  const panels = Math.ceil(extent / panel);
  const maxPanels = Math.min(panels, Math.floor(max / panel));
  if (threads === 1) return maxPanels * panel;
  const target = Math.ceil((batch * panels) / (UNITS_PER_THREAD * threads));
  return Math.max(1, Math.min(maxPanels, Math.max(MIN_CHUNK_PANELS, target))) * panel;
}

/**
 * Copy an operand into mem at float index `at`: a span of `count` floats from
 * src[from], or (dense) `count` items of rows x cols, row by row.
 */
function copyIn(mem: Float32Array, at: number, o: Operand, from: number, count: number): void {
  const { src, rows, cols, ld, stride } = o;
  if (o.span) {
    mem.set(src.subarray(from, from + count), at);
    return;
  }
  for (let i = 0; i < count; i++) {
    const item = from + i * stride;
    if (ld === cols) mem.set(src.subarray(item, item + rows * cols), at + i * rows * cols);
    else for (let r = 0; r < rows; r++) mem.set(src.subarray(item + r * ld, item + r * ld + cols), at + (i * rows + r) * cols);
  }
}
