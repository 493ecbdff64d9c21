// The WebAssembly SIMD backend: float32 matmul (with row-strided operands and
// a fused bias), row kernels, GELU, fused attention (forward and backward)
// and a fused MLP forward, in a wasm module emitted from TypeScript at run
// time (see wasm/emit.ts), running on the calling thread plus, under Node,
// worker threads sharing its memory.

import type { Kernels, MatmulArgs } from './backend.js';
import { jsBackend } from './js.js';
import { wasmAttention } from './wasm/attention.host.js';
import { wasmAttentionBackward } from './wasm/attentionBackward.host.js';
import { wasmMatmul } from './wasm/matmul.host.js';
import { wasmMlp } from './wasm/mlp.host.js';
import { composedMlp } from './mlp.js';
import { defaultThreads, poolStatus } from './wasm/pool.js';
import { wasmGelu, wasmGeluBackward, wasmLayerNorm, wasmLayerNormBackward, wasmSoftmax, wasmSoftmaxBackward } from './wasm/rows.host.js';
import { Runtime } from './wasm/runtime.js';
import { workerUrl } from './wasm/workerUrl.js';

export interface WasmBackendOptions {
  /** Threads including the caller's; default min(2, cores) under Node, 1 in a browser. */
  threads?: number;
  /** Cap on the packed constant matrices kept between calls (default RESIDENT_CAP_BYTES, 384 MiB). */
  residentCapBytes?: number;
  /** Fused multiply-adds in the GEMM (relaxed SIMD); default: where the runtime has it (wasm/features.ts). */
  fma?: boolean;
  /**
   * Scale of the sizes below which a call goes to the reference kernels
   * (default 1, the measured thresholds; 0 runs every float32 call in wasm,
   * which the parity tests use on their small cases).
   */
  minWork?: number;
}

/** Every kernel of the interface (backend.ts), in WebAssembly. */
export interface WasmBackend extends Kernels {
  readonly name: 'wasm';
  /** matmul honours lda/ldb and a bias itself (no dense copies or bias pass by the registry). */
  readonly matmulExtended: true;
  /** Threads that actually take part in parallel work (1 if workers are unavailable). */
  readonly threads: number;
  /** Whether the GEMM uses relaxed SIMD's fused multiply-add. */
  readonly fma: boolean;
  /** Bytes of packed constant matrices held now, and how often that store was emptied. */
  residentStats(): { bytes: number; resets: number };
  /** wasm jobs run so far (calls handed to the reference kernels are not counted). */
  ownCalls(): number;
  /** Terminate the worker threads (they never keep the process alive anyway). */
  dispose(): void;
  /** Threads and SIMD in words; with one thread where more were possible, why. */
  describe(): string;
}

export function createWasmBackend(opts: WasmBackendOptions = {}): WasmBackend {
  const threads = Math.max(1, Math.floor(opts.threads ?? defaultThreads()));
  const rt = new Runtime(threads, workerUrl(), opts.residentCapBytes, opts.fma, opts.minWork ?? 1);
  const matmul = (p: MatmulArgs): void => wasmMatmul(rt, p, jsBackend.matmul);
  return {
    name: 'wasm',
    matmulExtended: true,
    get threads() {
      return rt.threads;
    },
    fma: rt.fma,
    matmul,
    softmax: (x, y, rows, cols) => wasmSoftmax(rt, x, y, rows, cols),
    softmaxBackward: (y, dy, dx, rows, cols) => wasmSoftmaxBackward(rt, y, dy, dx, rows, cols),
    layerNorm: (x, y, rstd, rows, cols, eps, weight, bias, xhat) => wasmLayerNorm(rt, x, y, rstd, rows, cols, eps, weight, bias, xhat),
    layerNormBackward: (y, rstd, dy, dx, rows, cols, weight) => wasmLayerNormBackward(rt, y, rstd, dy, dx, rows, cols, weight),
    gelu: (x, y, n) => wasmGelu(rt, x, y, n),
    geluBackward: (x, dy, dx, n) => wasmGeluBackward(rt, x, dy, dx, n),
    attention: (qkv, out, attn, batch, tokens, heads, headDim, scale) => wasmAttention(rt, qkv, out, attn, batch, tokens, heads, headDim, scale),
    attentionBackward: (qkv, attn, g, dqkv, batch, tokens, heads, headDim, scale) =>
      wasmAttentionBackward(rt, qkv, attn, g, dqkv, batch, tokens, heads, headDim, scale),
    mlp: (p) => wasmMlp(rt, p, (q) => composedMlp(matmul, q)),
    residentStats: () => ({ bytes: rt.resident.used, resets: rt.resident.resets }),
    ownCalls: () => rt.jobs,
    describe: () => {
      const pool = poolStatus();
      const t = rt.threads === 1 ? `1 thread${threads > 1 || pool.ok ? '' : ` (${pool.why})`}` : `${rt.threads} threads (${pool.why})`;
      return `${t}, SIMD${rt.fma ? ' with relaxed FMA' : ''}`;
    },
    dispose: () => rt.dispose(),
  };
}
