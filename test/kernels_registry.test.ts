// The registry and the choice of backend: a kernel missing from the typed
// records does not compile; a broken wasm module fails loudly with its
// CompileError; only a runtime without SIMD falls back to the js kernels, and
// says so.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { registerBackend, getBackend, setBackend, ownKernels, type KernelName } from '../src/kernels/index.js';
import { registerAllBackends } from '../src/kernels/all.js';
import { useFastestBackend } from '../src/kernels/default.js';
import { buildModuleBytes, compileKernels, simdAvailable, WasmSimdUnavailable } from '../src/kernels/wasm/module.js';
import { PRIM_KERNELS, type Prim } from '../src/tensor/index.js';

registerAllBackends();

test('the kernel and primitive records are typed over their names (a missing entry is a compile error)', () => {
  // @ts-expect-error: a record over the kernel names without "mlp" (and the rest) does not compile
  const partial: { readonly [K in KernelName]: true } = { matmul: true };
  // @ts-expect-error: neither does a primitive table missing "copy"
  const prims: { readonly [P in Prim]: readonly KernelName[] } = { add: [] };
  assert.ok(partial && prims);
  assert.equal(PRIM_KERNELS.softmax, ['softmax', 'softmaxBackward']);
  assert.equal([...ownKernels('gpujs')].sort(), ['matmul', 'mlp', 'softmax', 'softmaxBackward']);
  assert.is(ownKernels('wasm').size, 10);
});

test('a broken wasm module reports its CompileError, not "lacks SIMD"', () => {
  assert.ok(simdAvailable(), 'this Node has WebAssembly SIMD');
  const bytes = buildModuleBytes(false);
  // a kernel that returns an i32 where it declares an f32: the emitter writes it, the compiler refuses it
  const broken = buildModuleBytes(false, false, (mb) => {
    const f = mb.func('broken', [], ['f32']);
    f.i32(7);
  });
  let err: unknown;
  try {
    compileKernels(broken);
  } catch (e) {
    err = e;
  }
  assert.instance(err, WebAssembly.CompileError);
  assert.not.match(String((err as Error).message), /lacks/);
  assert.match(String((err as Error).message), /broken|function/i, 'the message names the function');
  assert.ok(compileKernels(bytes) instanceof WebAssembly.Module);
});

test('the fastest-backend choice: a broken kernel fails loudly; no SIMD falls back to js and says so', () => {
  const was = getBackend().name;
  registerBackend('broken-wasm', () => {
    throw new WebAssembly.CompileError('Compiling function #3 failed: invalid opcode 0xff @+1234');
  });
  registerBackend('simd-less-wasm', () => {
    throw new WasmSimdUnavailable('this runtime lacks WebAssembly SIMD');
  });
  try {
    assert.throws(() => useFastestBackend(undefined, ['broken-wasm', 'js']), /Compiling function #3 failed/);
    const written: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = (s: string) => written.push(s) > 0;
    try {
      assert.is(useFastestBackend(undefined, ['simd-less-wasm', 'js']).name, 'js');
      assert.is(getBackend().name, 'js');
    } finally {
      process.stderr.write = write;
    }
    assert.match(written.join(''), /lacks WebAssembly SIMD; using the js reference kernels/);
  } finally {
    setBackend(was);
  }
});

test.run();
