// Assembles the one wasm module every thread instantiates over the same
// linear memory, and instantiates it.

import { emitAttentionBackward, type AttentionBackwardExports } from './attentionBackwardKernels.js';
import { emitAttention, type AttentionExports } from './attentionKernels.js';
import { ModuleBuilder } from './emit.js';
import { emitGemm, type GemmExports } from './gemm.js';
import { emitGelu, type GeluExports } from './gelu.js';
import { CONST_TABLE } from './jobs.js';
import { emitRowKernels, type RowExports } from './rows.js';

/** 64 KiB pages; a shared memory needs a maximum: 1 GiB. */
export const MAX_PAGES = 16384;
export const PAGE_BYTES = 65536;

export type KernelExports = GemmExports & RowExports & GeluExports & AttentionExports & AttentionBackwardExports;

/** `fma`: the kernels (GEMM micro-kernel, exp and erf polynomials) use relaxed SIMD's multiply-add (see features.ts). */
export function buildModuleBytes(shared: boolean, fma = false): Uint8Array<ArrayBuffer> {
  const mb = new ModuleBuilder({ module: 'env', name: 'memory', initialPages: 1, maximumPages: MAX_PAGES, shared, constants: CONST_TABLE }, { fma });
  emitGemm(mb);
  emitRowKernels(mb);
  emitGelu(mb);
  emitAttention(mb);
  emitAttentionBackward(mb);
  return mb.bytes();
}

export function compileModule(shared: boolean, fma: boolean): WebAssembly.Module {
  const bytes = buildModuleBytes(shared, fma);
  if (!WebAssembly.validate(bytes)) throw new Error('cdam wasm backend: this runtime lacks WebAssembly SIMD');
  return new WebAssembly.Module(bytes);
}

export function instantiate(module: WebAssembly.Module, memory: WebAssembly.Memory): KernelExports {
  const inst = new WebAssembly.Instance(module, { env: { memory } });
  return inst.exports as unknown as KernelExports;
}
