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
export function buildModuleBytes(shared: boolean, fma = false, emitMore?: (mb: ModuleBuilder) => void): Uint8Array<ArrayBuffer> {
  const mb = new ModuleBuilder({ module: 'env', name: 'memory', initialPages: 1, maximumPages: MAX_PAGES, shared, constants: CONST_TABLE }, { fma });
  emitGemm(mb);
  emitRowKernels(mb);
  emitGelu(mb);
  emitAttention(mb);
  emitAttentionBackward(mb);
  emitMore?.(mb); // tests add a deliberately broken kernel here
  return mb.bytes();
}

/** The runtime has no WebAssembly SIMD (the feature probe says so): the one reason to fall back to the js kernels. */
export class WasmSimdUnavailable extends Error {}

// (func (result v128) v128.const 0 ... 0): valid wherever WebAssembly SIMD is
const SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // type: () -> v128
  0x03, 0x02, 0x01, 0x00, // one function of that type
  0x0a, 0x16, 0x01, 0x14, 0x00, 0xfd, 0x0c, ...new Array<number>(16).fill(0), 0x0b, // v128.const 0, end
]);

export function simdAvailable(): boolean {
  return typeof WebAssembly === 'object' && WebAssembly.validate(SIMD_PROBE);
}

/**
 * Compile the kernels. A runtime without SIMD gets WasmSimdUnavailable; a
 * module that fails to compile anyway is our bug, and its CompileError
 * (which names the function and the byte) goes to the caller as it is.
 */
export function compileKernels(bytes: Uint8Array<ArrayBuffer>): WebAssembly.Module {
  if (!simdAvailable()) throw new WasmSimdUnavailable('this runtime lacks WebAssembly SIMD');
  return new WebAssembly.Module(bytes);
}

export function compileModule(shared: boolean, fma: boolean): WebAssembly.Module {
  return compileKernels(buildModuleBytes(shared, fma));
}

export function instantiate(module: WebAssembly.Module, memory: WebAssembly.Memory): KernelExports {
  const inst = new WebAssembly.Instance(module, { env: { memory } });
  return inst.exports as unknown as KernelExports;
}
