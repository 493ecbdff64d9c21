// Register every backend this build ships. Separate from the registry so that
// the reference backend can be used without pulling in workers or gpu.js.
import { registerBackend } from './registry.js';
import { createGpujsBackend } from './gpujs.js';
import { createWasmBackend } from './wasm.js';

let done = false;
export function registerAllBackends(): void {
  if (done) return;
  done = true;
  registerBackend('wasm', () => createWasmBackend());
  registerBackend('gpujs', () => createGpujsBackend());
}
