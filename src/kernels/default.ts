// Choose the float32 backend: the one named, or the fastest measured on this
// machine (bench/engine.mjs): wasm where WebAssembly SIMD is available, else js.
import { registerAllBackends } from './all.js';
import { backendNames, setBackend, type Backend } from './index.js';

export const PREFERRED_ORDER = ['wasm', 'js'] as const;

export function useFastestBackend(name?: string): Backend {
  registerAllBackends();
  if (name) return setBackend(name);
  for (const n of PREFERRED_ORDER) {
    if (!backendNames().includes(n)) continue;
    try {
      return setBackend(n);
    } catch {
      // not available in this runtime; try the next
    }
  }
  return setBackend('js');
}
