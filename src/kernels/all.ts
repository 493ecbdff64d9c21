// Register every backend this build ships. Separate from the registry so that
// the reference backend can be used without pulling in workers or gpu.js.
import { registerBackend } from './registry.js';
import { createGpujsBackend } from './gpujs.js';
import { createWasmBackend } from './wasm.js';

let done = false;
export function registerAllBackends(): void {
  if (done) return;
  done = true;
  registerBackend('wasm', () => createWasmBackend({ threads: threadsFromEnv() }));
  registerBackend('gpujs', () => createGpujsBackend());
}

/** CDAM_THREADS from the environment (Node): the wasm pool's thread count (default: min(2, cores)). */
function threadsFromEnv(): number | undefined {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const v = env?.['CDAM_THREADS'];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new Error(`CDAM_THREADS must be an integer in [1, 64], got "${v}"`);
  return n;
}
