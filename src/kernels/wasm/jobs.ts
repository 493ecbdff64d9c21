// What the threads agree on: where things live in the shared linear memory,
// how a job is described in the control block, and how a thread works on
// one. Shared by the main thread and the workers.
//
// Memory map (byte addresses):
//   [0, CTL_BYTES)                       control block (Int32 words below), then
//                                        the kernels' vector constants (CONST_TABLE)
//   [CTL_BYTES + t*SCRATCH_STRIDE, ...)  thread t's packing buffer
//   [dataBase(threads), ...)             operands copied in for the current job
//
// A job is cut into numbered units (chunks of rows or columns). Threads claim
// units with an atomic counter until none are left, so a thread that runs
// slower (another process on its core) simply ends up doing fewer.

import { attentionBackwardJobFrom, runAttentionBackwardUnit } from './attentionBackwardKernels.js';
import { attentionJobFrom, runAttentionUnit, type PanelCache } from './attentionKernels.js';
import { GEMM_SCRATCH_BYTES, gemmChunk, type GemmItem } from './gemm.js';
import type { KernelExports } from './module.js';
import { runRows } from './rows.js';

export const MAX_THREADS = 16;
export const CTL_BYTES = 4096;
const SCRATCH_STRIDE = Math.ceil(GEMM_SCRATCH_BYTES / 4096) * 4096;

export function scratchOf(thread: number): number {
  return CTL_BYTES + thread * SCRATCH_STRIDE;
}
export function dataBase(threads: number): number {
  return scratchOf(threads);
}

// --- control block, as Int32 indices
/** Job header: kind, then kind-specific parameters. */
const JOB = 0;
const JOB_WORDS = 24;
/** Next unclaimed unit, the number of units, and 1 once the operands are in place; on a cache line of their own. */
const NEXT = 32;
const TOTAL = 33;
const GO = 34;
/** Per-thread sync words, 64 bytes apart so threads do not share cache lines. */
const SLOTS = 64;
const SLOT_WORDS = 16;
export const slot = {
  /** Job sequence number, written by the main thread to start a worker. */
  seq: (t: number) => SLOTS + t * SLOT_WORDS,
  /** Last sequence number the worker finished. */
  done: (t: number) => SLOTS + t * SLOT_WORDS + 1,
  /** 1 once the worker has instantiated the module. */
  ready: (t: number) => SLOTS + t * SLOT_WORDS + 2,
  /** 1 if the worker's share threw. */
  error: (t: number) => SLOTS + t * SLOT_WORDS + 3,
};
/** [byte address, bytes] of the constant table the module's data segment fills. */
export const CONST_TABLE = [2048, CTL_BYTES - 2048] as const;
if (SLOTS + MAX_THREADS * SLOT_WORDS > CONST_TABLE[0] / 4) throw new Error('control block too small');

export const JobKind = { Gemm: 1, Rows: 2, Attention: 3, AttentionBackward: 4 } as const;

/** A batched GEMM whose operands are in wasm memory (byte addresses and strides). */
export interface GemmJob {
  a: number;
  b: number;
  c: number;
  /** The shared operand, packed by prepack() for every batch item. */
  packed: number;
  /** Distance between batch items; 0 broadcasts. C items are m*n floats apart. */
  strideA: number;
  strideB: number;
  stridePacked: number;
  /** Element distance between stored rows of A and of B. */
  lda: number;
  ldb: number;
  /** Byte address of the bias row, 0 for none. */
  bias: number;
  /** Byte address of B packed whole ahead of time (a cached weight), 0 for none; shared by all items. */
  packedB: number;
  /** C holds an addend; GELU over the finished C, keeping C before it at `pre` (0: nowhere; items m*n floats apart). */
  accumulate: boolean;
  gelu: boolean;
  pre: number;
  transA: boolean;
  transB: boolean;
  batch: number;
  m: number;
  n: number;
  k: number;
  /** Chunks are rows of C (else columns). */
  byRows: boolean;
  /** Rows or columns per chunk. */
  chunk: number;
}

export function chunksPerItem(j: Pick<GemmJob, 'byRows' | 'm' | 'n' | 'chunk'>): number {
  return Math.ceil((j.byRows ? j.m : j.n) / j.chunk);
}

export function gemmItem(j: GemmJob, item: number): GemmItem {
  return {
    a: j.a + item * j.strideA,
    b: j.b + item * j.strideB,
    c: j.c + item * j.m * j.n * 4,
    packed: j.packed + item * j.stridePacked,
    lda: j.lda,
    ldb: j.ldb,
    bias: j.bias,
    packedB: j.packedB,
    accumulate: j.accumulate,
    gelu: j.gelu,
    pre: j.pre ? j.pre + item * j.m * j.n * 4 : 0,
    transA: j.transA,
    transB: j.transB,
    m: j.m,
    n: j.n,
    k: j.k,
  };
}

const gemmFields = [
  'a', 'b', 'c', 'packed', 'strideA', 'strideB', 'stridePacked', 'lda', 'ldb', 'bias', 'packedB', 'accumulate', 'gelu', 'pre',
  'transA', 'transB', 'batch', 'm', 'n', 'k', 'byRows', 'chunk',
] as const;

if (gemmFields.length > JOB_WORDS - 1) throw new Error('too many gemm-job fields');

export function writeGemmJob(ctl: Int32Array, j: GemmJob): void {
  ctl[JOB] = JobKind.Gemm;
  gemmFields.forEach((key, i) => (ctl[JOB + 1 + i] = +j[key]));
}

function readGemmJob(ctl: Int32Array): GemmJob {
  const j: Record<string, number | boolean> = {};
  gemmFields.forEach((key, i) => (j[key] = ctl[JOB + 1 + i]!));
  for (const key of ['transA', 'transB', 'byRows', 'accumulate', 'gelu'] as const) j[key] = j[key] === 1;
  return j as unknown as GemmJob;
}

/** A row-wise job (softmax, layer norm): see runRows for the parameters. */
export function writeRowsJob(ctl: Int32Array, params: readonly number[]): void {
  if (params.length > JOB_WORDS - 1) throw new Error('too many row-job parameters');
  ctl[JOB] = JobKind.Rows;
  for (let i = 0; i < params.length; i++) ctl[JOB + 1 + i] = params[i]!;
}

/** A fused attention job: words from attentionJobWords (attentionKernels.ts). */
export function writeAttentionJob(ctl: Int32Array, words: readonly number[]): void {
  if (words.length > JOB_WORDS - 1) throw new Error('too many attention-job parameters');
  ctl[JOB] = JobKind.Attention;
  for (let i = 0; i < words.length; i++) ctl[JOB + 1 + i] = words[i]!;
}

/** One phase of an attention-gradient job: words from attentionBackwardJobWords (attentionBackwardKernels.ts). */
export function writeAttentionBackwardJob(ctl: Int32Array, words: readonly number[]): void {
  if (words.length > JOB_WORDS - 1) throw new Error('too many attention-gradient-job parameters');
  ctl[JOB] = JobKind.AttentionBackward;
  for (let i = 0; i < words.length; i++) ctl[JOB + 1 + i] = words[i]!;
}

/**
 * A job's life: open() before waking the workers, release() once its
 * operands and header are in memory; workers awaitRelease() before starting.
 * Waking workers first hides their wake-up behind the main thread's copying.
 */
export const jobGate = {
  open(ctl: Int32Array, units: number): void {
    ctl[TOTAL] = units;
    Atomics.store(ctl, NEXT, 0);
    Atomics.store(ctl, GO, 0);
  },
  /** Let the threads start; `units` may still change (e.g. to 0 to abandon the job). */
  release(ctl: Int32Array, units: number): void {
    ctl[TOTAL] = units;
    Atomics.store(ctl, GO, 1);
    Atomics.notify(ctl, GO);
  },
  awaitRelease(ctl: Int32Array, spin: (cond: () => boolean) => boolean): void {
    if (spin(() => Atomics.load(ctl, GO) === 1)) return;
    while (Atomics.load(ctl, GO) !== 1) Atomics.wait(ctl, GO, 0);
  },
};

function runGemmUnit(ex: KernelExports, j: GemmJob, u: number, scratch: number): void {
  const per = chunksPerItem(j);
  const item = Math.floor(u / per);
  const lo = (u - item * per) * j.chunk;
  const hi = Math.min(j.byRows ? j.m : j.n, lo + j.chunk);
  gemmChunk(ex, gemmItem(j, item), j.byRows, lo, hi, scratch);
}

/** Thread t's part of the job in the control block: claim units until none are left. */
export function runShare(ex: KernelExports, ctl: Int32Array, t: number): void {
  const total = ctl[TOTAL]!;
  const kind = ctl[JOB]!;
  const gemm = kind === JobKind.Gemm ? readGemmJob(ctl) : null;
  const rowParams = Array.from(ctl.subarray(JOB + 1, JOB + JOB_WORDS));
  const attention = kind === JobKind.Attention ? attentionJobFrom(rowParams) : null;
  const attentionBackward = kind === JobKind.AttentionBackward ? attentionBackwardJobFrom(rowParams) : null;
  // a head's packed K and V (or the gradient's B operands) stay in this thread's scratch while it works on that head
  const panelCache: PanelCache = { item: -1 };
  if (!gemm && !attention && !attentionBackward && kind !== JobKind.Rows) throw new Error(`unknown wasm job kind ${kind}`);
  for (;;) {
    const u = Atomics.add(ctl, NEXT, 1);
    if (u >= total) return;
    if (gemm) runGemmUnit(ex, gemm, u, scratchOf(t));
    else if (attention) runAttentionUnit(ex, attention, u, scratchOf(t), panelCache);
    else if (attentionBackward) runAttentionBackwardUnit(ex, attentionBackward, u, scratchOf(t), panelCache);
    else runRows(ex, rowParams, u);
  }
}
