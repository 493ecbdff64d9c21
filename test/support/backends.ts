// The backends the parity suites run on. The wasm backend hands small calls
// to the reference kernels (below measured size thresholds), and the fixtures
// are small, so the suites run it with minWork 0: every float32 call in wasm.
// Each case then proves the named backend ran (its own-call counter).
import { registerBackend, backendNames, getBackendByName, ownKernels, type KernelName } from '../../src/kernels/index.js';
import { registerAllBackends } from '../../src/kernels/all.js';
import { createWasmBackend } from '../../src/kernels/wasm.js';
import { PRIM_KERNELS, type Prim, type Tensor } from '../../src/tensor/index.js';

registerAllBackends();
export const WASM_EVERY_CALL = 'wasm (every call in wasm)';
registerBackend(WASM_EVERY_CALL, () => createWasmBackend({ minWork: 0 }));

/** js, wasm with every call in wasm, gpujs: each backend this build ships. */
export function parityBackends(): string[] {
  return backendNames()
    .filter((n) => n !== WASM_EVERY_CALL)
    .map((n) => (n === 'wasm' ? WASM_EVERY_CALL : n));
}

/** Kernel calls the backend ran itself so far. */
export function ownCalls(name: string): number {
  return getBackendByName(name).ownCalls?.() ?? 0;
}

/** The primitives recorded on the way to `t`. */
export function primsOf(t: Tensor): Set<Prim> {
  const seen = new Set<object>();
  const prims = new Set<Prim>();
  const stack: Tensor[] = [t];
  while (stack.length) {
    const n = stack.pop()!.node;
    if (!n || seen.has(n)) continue;
    seen.add(n);
    prims.add(n.prim);
    stack.push(...n.inputs);
  }
  return prims;
}

/** The kernels of these primitives that `backend` implements itself (so its counter must move). */
export function ownKernelsOf(prims: Iterable<Prim>, backend: string): KernelName[] {
  const mine = ownKernels(backend);
  return [...new Set([...prims].flatMap((p) => PRIM_KERNELS[p]))].filter((k) => mine.has(k));
}
