// Node worker threads that share the wasm memory with the main thread.
// The callers are synchronous, so there are no messages per job: the main
// thread writes the job into the control block, stores a fresh job id in
// each worker's `seq` word and notifies it, works on the job itself, then
// waits until every worker that took part has echoed the id in `done`.
//
// A worker takes part by swapping the id for its negation (compareExchange).
// When the main thread runs out of units it swaps any id still there for 0:
// a worker that has not woken up yet (its core busy with another process) is
// then simply left out instead of being waited for.
//
// In a browser the same pool runs on Web Workers, but only where the calling
// thread may block (a dedicated worker: Atomics.wait is forbidden on a page's
// main thread) and the page is cross-origin isolated (COOP/COEP headers; a
// shared WebAssembly.Memory needs them). Elsewhere there is no pool and
// everything runs on the calling thread; poolStatus() says why.

import type { Worker } from 'node:worker_threads';
import { CTL_BYTES, MAX_THREADS, slot } from './jobs.js';

import { isNode, nodeBuiltin } from '../../platform/node.js';

const node = isNode ? loadNodeModules() : null;

function loadNodeModules(): { Worker: typeof Worker; cores: number } {
  const wt = nodeBuiltin<typeof import('node:worker_threads')>('node:worker_threads')!;
  const os = nodeBuiltin<typeof import('node:os')>('node:os')!;
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return { Worker: wt.Worker, cores };
}

interface WebScope {
  WorkerGlobalScope?: unknown;
  crossOriginIsolated?: boolean;
  Worker?: new (url: URL, opts: { type: 'module' }) => WebWorker;
  navigator?: { hardwareConcurrency?: number };
}
interface WebWorker {
  postMessage(m: unknown): void;
  onerror: ((e: unknown) => void) | null;
  terminate(): void;
}
const web = globalThis as WebScope;
const inWebWorker = !isNode && web.WorkerGlobalScope !== undefined;

/** Whether the workers can run here, and if not why not (shown by the backend's description). */
export function poolStatus(): { ok: boolean; why: string } {
  if (typeof SharedArrayBuffer === 'undefined')
    return { ok: false, why: 'no SharedArrayBuffer (the page is not cross-origin isolated: serve COOP/COEP headers)' };
  if (node) return { ok: true, why: 'Node worker threads' };
  if (!inWebWorker) return { ok: false, why: "on a page's main thread, which may not block (run the engine in a Web Worker for threads)" };
  if (web.crossOriginIsolated !== true) return { ok: false, why: 'not cross-origin isolated (serve COOP/COEP headers)' };
  if (typeof web.Worker !== 'function') return { ok: false, why: 'no nested Web Workers here' };
  return { ok: true, why: 'Web Workers' };
}

/** Threads that can run at once here: min(2, cores) under Node, min(4, cores) in a Web Worker that may run a pool, else 1. */
export function defaultThreads(): number {
  if (node) return Math.max(1, Math.min(2, node.cores));
  return poolStatus().ok ? Math.max(1, Math.min(4, web.navigator?.hardwareConcurrency ?? 1)) : 1;
}

/** Whether this runtime can run a pool at all. */
export function poolSupported(): boolean {
  return poolStatus().ok;
}

/**
 * How long to spin before sleeping in Atomics.wait (see spinUntil). A futex
 * wake-up costs tens of microseconds, but a spinning thread holds a core that
 * a descheduled partner could use when another process competes for the CPU,
 * so the spins that wait on another thread stay short.
 */
export const SPIN_MS = {
  /** Main thread, out of units, waiting for a worker's last chunk. */
  mainFinish: 0.05,
  /** Worker after a job, in case another follows at once. */
  workerIdle: 0.05,
  /** Worker woken for a job, while the main thread copies the operands in. */
  workerRelease: 0.5,
};

/** Busy-wait until cond() holds or `ms` pass; true if it holds. */
export function spinUntil(cond: () => boolean, ms: number): boolean {
  const end = performance.now() + ms;
  for (;;) {
    for (let i = 0; i < 64; i++) if (cond()) return true;
    if (performance.now() > end) return false;
  }
}

/** How long to wait, once, for the workers to start before running without them. */
const STARTUP_TIMEOUT_MS = 5000;

/** Data every worker receives; `cdamWasm` marks it as ours. */
export interface WorkerInit {
  cdamWasm: true;
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  thread: number;
}

export class WorkerPool {
  private readonly ctl: Int32Array;
  private readonly workers: { terminate(): unknown }[] = [];
  /** Thread ids (1-based) of workers that started and did not fail. */
  private live: number[] = [];
  private startupChecked = false;
  private seq = 0;

  constructor(module: WebAssembly.Module, memory: WebAssembly.Memory, count: number, script: URL) {
    const status = poolStatus();
    if (!status.ok) throw new Error(`worker pool: ${status.why}`);
    if (count + 1 > MAX_THREADS) throw new Error(`at most ${MAX_THREADS} threads`);
    this.ctl = new Int32Array(memory.buffer, 0, CTL_BYTES / 4);
    for (let t = 1; t <= count; t++) {
      const init: WorkerInit = { cdamWasm: true, module, memory, thread: t };
      if (node) {
        const w = new node.Worker(script, { workerData: init });
        w.unref(); // never keep the process alive
        w.on('error', () => this.drop(t)); // e.g. the script failed to load
        this.workers.push(w);
      } else {
        // a module worker gets the module and the shared memory by message (structured clone shares both)
        const w = new web.Worker!(script, { type: 'module' });
        w.onerror = () => this.drop(t);
        w.postMessage(init);
        this.workers.push(w);
      }
      this.live.push(t);
    }
  }

  /**
   * Thread ids of the workers that can take a share now. The first call waits
   * for start-up (tens of milliseconds) so results do not depend on timing.
   */
  available(): readonly number[] {
    if (!this.startupChecked) {
      this.startupChecked = true;
      const deadline = performance.now() + STARTUP_TIMEOUT_MS;
      for (const t of [...this.live]) {
        while (Atomics.load(this.ctl, slot.ready(t)) !== 1) {
          const left = deadline - performance.now();
          if (left <= 0 || Atomics.wait(this.ctl, slot.ready(t), 0, left) === 'timed-out') {
            this.drop(t);
            break;
          }
        }
      }
    }
    return this.live;
  }

  /** Start the given workers on the job already written to the control block. */
  start(threads: readonly number[]): void {
    this.seq = this.seq >= 0x3fffffff ? 1 : this.seq + 1;
    for (const t of threads) {
      Atomics.store(this.ctl, slot.seq(t), this.seq);
      Atomics.notify(this.ctl, slot.seq(t));
    }
  }

  /** After this thread ran out of units: wait for the workers that joined the job. */
  finish(threads: readonly number[]): void {
    const ctl = this.ctl;
    let failed = 0;
    for (const t of threads) {
      if (Atomics.compareExchange(ctl, slot.seq(t), this.seq, 0) === this.seq) continue; // never joined
      // it is at most one chunk behind: spin first, a futex wake-up costs tens of microseconds
      spinUntil(() => Atomics.load(ctl, slot.done(t)) === this.seq, SPIN_MS.mainFinish);
      for (;;) {
        const done = Atomics.load(ctl, slot.done(t));
        if (done === this.seq) break;
        Atomics.wait(ctl, slot.done(t), done, 1000);
      }
      if (Atomics.load(ctl, slot.error(t)) !== 0) {
        Atomics.store(ctl, slot.error(t), 0);
        failed = t;
      }
    }
    if (failed) throw new Error(`wasm backend: worker thread ${failed} failed`);
  }

  private drop(t: number): void {
    this.live = this.live.filter((x) => x !== t);
    void this.workers[t - 1]?.terminate();
  }

  dispose(): void {
    for (const w of this.workers) void w.terminate();
    this.workers.length = 0;
    this.live = [];
  }
}
