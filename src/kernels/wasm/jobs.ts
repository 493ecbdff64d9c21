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

import { runAttentionBackwardUnit } from './attentionBackward.kernel.js';
import { runAttentionUnit, type PanelCache } from './attention.kernel.js';
import {
  attentionBackwardJob,
  attentionJob,
  gemmJob,
  jobCodec,
  rowsJob,
  type AttentionBackwardJob,
  type AttentionJob,
  type GemmJob,
  type JobCodec,
  type JobOf,
  type RowsJob,
} from './codec.js';
import { GEMM_SCRATCH_BYTES, gemmChunk, type GemmItem } from './matmul.kernel.js';
import type { KernelExports } from './module.js';
import { runRows } from './rows.kernel.js';

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

/** Every kind of job: its codec and how a thread runs one unit of it. */
const JOBS = [
  { codec: gemmJob, run: (ex: KernelExports, j: GemmJob, u: number, scratch: number) => runGemmUnit(ex, j, u, scratch) },
  { codec: rowsJob, run: (ex: KernelExports, j: RowsJob, u: number) => runRows(ex, j, u) },
  {
    codec: attentionJob,
    run: (ex: KernelExports, j: AttentionJob, u: number, scratch: number, cache: PanelCache) => runAttentionUnit(ex, j, u, scratch, cache),
  },
  {
    codec: attentionBackwardJob,
    run: (ex: KernelExports, j: AttentionBackwardJob, u: number, scratch: number, cache: PanelCache) => runAttentionBackwardUnit(ex, j, u, scratch, cache),
  },
] as const;
for (const { codec } of JOBS) if (codec.words > JOB_WORDS - 1) throw new Error(`job kind ${codec.kind} has too many fields`);

/** Write a job into the control block: its kind, then its fields as the codec lays them out. */
export function writeJob<L extends Parameters<typeof jobCodec>[1]>(ctl: Int32Array, codec: JobCodec<L>, j: JobOf<L>): void {
  ctl[JOB] = codec.kind;
  codec.write(ctl, JOB + 1, j);
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
  const job = JOBS.find((k) => k.codec.kind === kind);
  if (!job) throw new Error(`unknown wasm job kind ${kind}`);
  const j = job.codec.read(ctl, JOB + 1);
  const run = job.run as (ex: KernelExports, j: unknown, u: number, scratch: number, cache: PanelCache) => void;
  // a head's packed K and V (or the gradient's B operands) stay in this thread's scratch while it works on that head
  const panelCache: PanelCache = { item: -1 };
  for (;;) {
    const u = Atomics.add(ctl, NEXT, 1);
    if (u >= total) return;
    run(ex, j, u, scratchOf(t), panelCache);
  }
}
