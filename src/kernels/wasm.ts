// The WebAssembly SIMD backend: float32 matmul (with row-strided operands and
// a fused bias), row kernels and GELU in a wasm
// module emitted from TypeScript at run time (see wasm/emit.ts), running on
// the calling thread plus, under Node, worker threads sharing its memory.

import type { Kernels } from './backend.js';
import { jsBackend } from './js.js';
import { wasmMatmul } from './wasm/matmul.js';
import { defaultThreads } from './wasm/pool.js';
import { wasmGelu, wasmGeluBackward, wasmLayerNorm, wasmLayerNormBackward, wasmSoftmax, wasmSoftmaxBackward } from './wasm/rowsHost.js';
import { Runtime } from './wasm/runtime.js';

export interface WasmBackendOptions {
  /** Threads including the caller's; default min(2, cores) under Node, 1 in a browser. */
  threads?: number;
}

/** Every kernel of the interface (backend.ts), in WebAssembly. */
export interface WasmBackend extends Kernels {
  readonly name: 'wasm';
  /** matmul honours lda/ldb and a bias itself (no dense copies or bias pass by the registry). */
  readonly matmulExtended: true;
  /** Threads that actually take part in parallel work (1 if workers are unavailable). */
  readonly threads: number;
  /** Terminate the worker threads (they never keep the process alive anyway). */
  dispose(): void;
}

export function createWasmBackend(opts: WasmBackendOptions = {}): WasmBackend {
  const threads = Math.max(1, Math.floor(opts.threads ?? defaultThreads()));
  const rt = new Runtime(threads, new URL('./wasm/worker.js', import.meta.url));
  return {
    name: 'wasm',
    matmulExtended: true,
    get threads() {
      return rt.threads;
    },
    matmul: (p) => wasmMatmul(rt, p, jsBackend.matmul),
    softmax: (x, y, rows, cols) => wasmSoftmax(rt, x, y, rows, cols),
    softmaxBackward: (y, dy, dx, rows, cols) => wasmSoftmaxBackward(rt, y, dy, dx, rows, cols),
    layerNorm: (x, y, rstd, rows, cols, eps) => wasmLayerNorm(rt, x, y, rstd, rows, cols, eps),
    layerNormBackward: (y, rstd, dy, dx, rows, cols) => wasmLayerNormBackward(rt, y, rstd, dy, dx, rows, cols),
    gelu: (x, y, n) => wasmGelu(rt, x, y, n),
    geluBackward: (x, dy, dx, n) => wasmGeluBackward(rt, x, dy, dx, n),
    dispose: () => rt.dispose(),
  };
}
