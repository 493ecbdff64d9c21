// One wasm instance on the calling thread plus an optional worker pool over
// the same memory: owns the memory (growing it on demand), typed views of
// it, and running a job split across the threads.

import { CTL_BYTES, dataBase, jobGate, runShare } from './jobs.js';
import { MAX_PAGES, PAGE_BYTES, compileModule, instantiate, type KernelExports } from './module.js';
import { WorkerPool, poolSupported } from './pool.js';
import { ResidentMatrices } from './resident.js';
import { relaxedSimdAvailable } from './features.js';

export class Runtime {
  readonly memory: WebAssembly.Memory;
  readonly ex: KernelExports;
  private readonly pool: WorkerPool | null;
  private view: Float32Array;
  /** The control block; re-created with the view, as growing a non-shared memory detaches its buffer. */
  ctl: Int32Array;
  /** Packed constant matrices, kept between calls at the start of the operand area. */
  readonly resident: ResidentMatrices;

  /** Whether the GEMM micro-kernel uses fused multiply-adds (relaxed SIMD). */
  readonly fma: boolean;
  /** Jobs run in wasm so far. */
  jobs = 0;

  /**
   * @param minWork scales every size below which a kernel hands the call to
   *   the reference kernels (1: the measured thresholds; 0: every float32 call runs in wasm)
   */
  constructor(
    threads: number,
    workerScript: URL,
    residentCapBytes?: number,
    fma?: boolean,
    readonly minWork = 1,
  ) {
    const usePool = threads > 1 && poolSupported();
    this.fma = fma ?? relaxedSimdAvailable();
    this.resident = new ResidentMatrices(dataBase(usePool ? threads : 1), residentCapBytes);
    const initialPages = Math.ceil(this.base / PAGE_BYTES) + 16;
    this.memory = new WebAssembly.Memory({ initial: initialPages, maximum: MAX_PAGES, shared: usePool });
    const module = compileModule(usePool, this.fma);
    this.ex = instantiate(module, this.memory);
    this.ctl = new Int32Array(this.memory.buffer, 0, CTL_BYTES / 4);
    this.view = new Float32Array(this.memory.buffer);
    this.pool = usePool ? new WorkerPool(module, this.memory, threads - 1, workerScript) : null;
  }

  /** First byte free for a call's operands (after the resident matrices). */
  get base(): number {
    return this.resident.start + this.resident.used;
  }

  /** Largest operand area the memory can ever hold. */
  get maxBytes(): number {
    return MAX_PAGES * PAGE_BYTES - this.base;
  }

  /** A Float32Array over the whole memory, large enough for `bytes` of operands. */
  f32(bytes: number): Float32Array {
    const need = this.base + bytes;
    const have = this.memory.buffer.byteLength;
    if (need > have) {
      // grow geometrically so a sequence of slightly larger calls does not grow every time
      const pages = Math.min(MAX_PAGES, Math.max(Math.ceil(need / PAGE_BYTES), Math.ceil((have * 1.25) / PAGE_BYTES)));
      this.memory.grow(pages - have / PAGE_BYTES);
    }
    const buf = this.memory.buffer;
    if (this.view.buffer !== buf || this.view.length * 4 !== buf.byteLength) {
      this.view = new Float32Array(buf);
      this.ctl = new Int32Array(buf, 0, CTL_BYTES / 4);
    }
    return this.view;
  }

  /** Whether work of this size is below a kernel's threshold (scaled by minWork), so the reference kernels should take it. */
  small(work: number, threshold: number): boolean {
    return work < threshold * this.minWork;
  }

  /** Threads that would take part in a parallel job (including this one). */
  get threads(): number {
    return 1 + (this.pool?.available().length ?? 0);
  }

  /**
   * Run a job of `units` units, claimed by up to `maxThreads` threads, this
   * one included. `prepare` copies the operands in and writes the job header
   * into the control block; the workers are woken before it runs, so their
   * wake-up overlaps the copying.
   */
  run(units: number, maxThreads: number, prepare: () => void): void {
    this.jobs++;
    const workers = this.pool && maxThreads > 1 && units > 1 ? this.pool.available().slice(0, maxThreads - 1) : [];
    jobGate.open(this.ctl, units);
    if (workers.length) this.pool!.start(workers);
    let ready = false;
    try {
      prepare();
      ready = true;
    } finally {
      // on failure, release an empty job so the woken workers return
      jobGate.release(this.ctl, ready ? units : 0);
      try {
        if (ready) runShare(this.ex, this.ctl, 0);
      } finally {
        if (workers.length) this.pool!.finish(workers);
      }
    }
  }

  dispose(): void {
    this.pool?.dispose();
    this.resident.clear();
  }
}
