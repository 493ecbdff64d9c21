// Worker thread entry: instantiate the shared module over the shared memory,
// report ready, then loop forever: wait for a new job id in our `seq` word,
// claim it (id -> -id; see pool.ts), work on the job, echo the id in `done`.
// The loop never yields to the event loop; the pool unref()s and
// terminate()s us, both of which work while we sleep in Atomics.wait.
//
// In a browser the pool starts this file as a module Web Worker and sends the
// same data as its first message. Importing it anywhere else does nothing.

import { CTL_BYTES, jobGate, runShare, slot } from './jobs.js';
import { instantiate } from './module.js';
import { SPIN_MS, spinUntil, type WorkerInit } from './pool.js';
import { isNode, nodeBuiltin } from '../../platform/node.js';

if (isNode) {
  const threads = nodeBuiltin<typeof import('node:worker_threads')>('node:worker_threads')!;
  const parentPort = threads.parentPort;
  const init = threads.workerData as WorkerInit | null;
  if (parentPort && init?.cdamWasm) serve(init, (msg) => parentPort.postMessage(msg));
} else if ((globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== undefined) {
  const scope = globalThis as unknown as { onmessage: ((e: { data: unknown }) => void) | null; postMessage(m: unknown): void };
  scope.onmessage = (e) => {
    const init = e.data as WorkerInit | null;
    if (!init?.cdamWasm) return;
    scope.onmessage = null;
    serve(init, (msg) => scope.postMessage(msg)); // never returns: the pool terminates us
  };
}

function serve(init: WorkerInit, report: (msg: string) => void): void {
  const { thread: t, memory } = init;
  const ex = instantiate(init.module, memory);
  const ctl = new Int32Array(memory.buffer, 0, CTL_BYTES / 4);
  Atomics.store(ctl, slot.ready(t), 1);
  Atomics.notify(ctl, slot.ready(t));
  let last = 0;
  const fresh = (): boolean => {
    const v = Atomics.load(ctl, slot.seq(t));
    return v > 0 && v !== last;
  };
  for (;;) {
    // jobs often come in bursts (one matmul after another): spin a little
    // before sleeping, as a futex wake-up takes tens of microseconds
    if (!spinUntil(fresh, SPIN_MS.workerIdle)) {
      const v = Atomics.load(ctl, slot.seq(t));
      if (!fresh()) Atomics.wait(ctl, slot.seq(t), v);
      continue;
    }
    const id = Atomics.load(ctl, slot.seq(t));
    // the main thread may have revoked the job (seq -> 0) since fresh() saw it:
    // claiming 0 would "succeed" (0 -> -0) and join a later job nobody waits
    // for, writing results after the main thread has copied them out
    if (id <= 0 || id === last) continue;
    if (Atomics.compareExchange(ctl, slot.seq(t), id, -id) !== id) continue; // revoked meanwhile
    last = id;
    try {
      jobGate.awaitRelease(ctl, (cond) => spinUntil(cond, SPIN_MS.workerRelease));
      runShare(ex, ctl, t);
    } catch (e) {
      Atomics.store(ctl, slot.error(t), 1);
      report(`cdam wasm worker ${t}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    }
    Atomics.store(ctl, slot.done(t), id);
    Atomics.notify(ctl, slot.done(t));
  }
}
