// Choose the float32 backend: the one named, or the fastest measured on this
// machine (bench/engine.mjs): wasm where WebAssembly SIMD is available, else js.
// The package entry calls chooseFastestOnFirstUse(): every backend registered
// (factories only: nothing is built before its first use), so setBackend('wasm')
// works as a first call, and "the fastest" chosen on first use when nobody
// picked a backend. Importing this module does nothing by itself.
import { registerAllBackends } from './all.js';
import { backendNames, setBackend, setAutoChooser, type Backend } from './index.js';
import { WasmSimdUnavailable } from './wasm/module.js';

export const PREFERRED_ORDER = ['wasm', 'js'] as const;

/** The named backend, or the first of `order` this runtime can run (order: fastest first, as measured). */
export function useFastestBackend(name?: string, order: readonly string[] = PREFERRED_ORDER): Backend {
  registerAllBackends();
  if (name) return setBackend(name);
  for (const n of order) {
    if (!backendNames().includes(n)) continue;
    try {
      return setBackend(n);
    } catch (e) {
      // only a runtime without the feature falls back; a broken kernel is a bug and fails loudly
      if (!(e instanceof WasmSimdUnavailable)) throw e;
      warn(`cdam: ${e.message}; using the js reference kernels (about 10x slower)`);
    }
  }
  return setBackend('js');
}

function warn(s: string): void {
  const stderr = (globalThis as { process?: { stderr?: { write(s: string): unknown } } }).process?.stderr;
  if (stderr) stderr.write(s + '\n');
  else console.warn(s);
}

/** CDAM_BACKEND from the environment (Node), if set. */
export function backendFromEnv(): string | undefined {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  return env?.['CDAM_BACKEND'] || undefined;
}

/** Register every backend, and let the first kernel call pick the fastest (or CDAM_BACKEND's) when none was set. */
export function chooseFastestOnFirstUse(): void {
  registerAllBackends();
  setAutoChooser(() => useFastestBackend(backendFromEnv()));
}
