// Optional WebAssembly features the kernels can use when the runtime has them.
//
// Relaxed SIMD gives f32x4.relaxed_madd, which x86 with FMA3 (and ARM NEON)
// runs as one fused multiply-add: the GEMM micro-kernel then issues half the
// arithmetic instructions, measured +23-28% GFLOP/s here (bench/matmul_wasm.mjs).
// Browsers (Chrome 114+, Firefox 120+) and Node 22+ have it on by default.
// Node 20's V8 has it behind --experimental-wasm-relaxed-simd; V8 reads wasm
// feature flags when a module is compiled, so setting the flag at run time
// (node:v8 setFlagsFromString) before our one compile is enough. Set
// CDAM_WASM_RELAXED=0 to keep the flag alone and use plain SIMD.

import { nodeBuiltin } from '../../platform/node.js';

const v8 = nodeBuiltin<typeof import('node:v8')>('node:v8');

// (func (param v128 v128 v128) (result v128) local.get 0 local.get 1 local.get 2 f32x4.relaxed_madd)
const PROBE = new Uint8Array([
  0x00,
  0x61,
  0x73,
  0x6d,
  0x01,
  0x00,
  0x00,
  0x00, // magic, version
  0x01,
  0x08,
  0x01,
  0x60,
  0x03,
  0x7b,
  0x7b,
  0x7b,
  0x01,
  0x7b, // type: (v128 v128 v128) -> v128
  0x03,
  0x02,
  0x01,
  0x00, // one function of that type
  0x0a,
  0x0d,
  0x01,
  0x0b,
  0x00,
  0x20,
  0x00,
  0x20,
  0x01,
  0x20,
  0x02,
  0xfd,
  0x85,
  0x02,
  0x0b, // its body
]);

let relaxed: boolean | null = null;

/** Whether modules compiled from now on may use relaxed SIMD (enabling it under Node 20 if allowed). */
export function relaxedSimdAvailable(): boolean {
  if (relaxed !== null) return relaxed;
  relaxed = WebAssembly.validate(PROBE);
  if (!relaxed && v8 && process.env['CDAM_WASM_RELAXED'] !== '0') {
    try {
      v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
      relaxed = WebAssembly.validate(PROBE);
    } catch {
      relaxed = false;
    }
  }
  return relaxed;
}
