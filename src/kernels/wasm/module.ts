// Assembles the one wasm module every thread instantiates over the same
// linear memory, and instantiates it.

import { ATTENTION_BACKWARD_FUNCS, emitAttentionBackward } from './attentionBackward.kernel.js';
import { ATTENTION_FUNCS, emitAttention } from './attention.kernel.js';
import { ModuleBuilder, type ExportsOf } from './emit.js';
import { GEMM_FUNCS, emitGemm } from './matmul.kernel.js';
import { GELU_FUNCS, emitGelu } from './gelu.kernel.js';
import { CONST_TABLE } from './jobs.js';
import { ROW_FUNCS, emitRowKernels } from './rows.kernel.js';

/** 64 KiB pages; a shared memory needs a maximum: 1 GiB. */
export const MAX_PAGES = 16384;
export const PAGE_BYTES = 65536;

/** Every function the module exports, with its signature. */
export const KERNEL_FUNCS = { ...GEMM_FUNCS, ...ROW_FUNCS, ...GELU_FUNCS, ...ATTENTION_FUNCS, ...ATTENTION_BACKWARD_FUNCS };
export type KernelExports = ExportsOf<typeof KERNEL_FUNCS>;

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
  0x00,
  0x61,
  0x73,
  0x6d,
  0x01,
  0x00,
  0x00,
  0x00, // magic, version
  0x01,
  0x05,
  0x01,
  0x60,
  0x00,
  0x01,
  0x7b, // type: () -> v128
  0x03,
  0x02,
  0x01,
  0x00, // one function of that type
  0x0a,
  0x16,
  0x01,
  0x14,
  0x00,
  0xfd,
  0x0c,
  ...new Array<number>(16).fill(0),
  0x0b, // v128.const 0, end
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
  // the module exports exactly the declared functions (so the type below is true)
  const names = Object.keys(inst.exports)
    .filter((n) => typeof inst.exports[n] === 'function')
    .sort();
  const declared = Object.keys(KERNEL_FUNCS).sort();
  if (names.join() !== declared.join()) throw new Error(`wasm module exports [${names}] but declares [${declared}]`);
  return inst.exports as unknown as KernelExports;
}
