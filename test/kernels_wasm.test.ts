import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { MatmulArgs } from '../src/kernels/backend.js';
import { jsBackend } from '../src/kernels/js.js';
import { createWasmBackend } from '../src/kernels/wasm.js';
import { ModuleBuilder } from '../src/kernels/wasm/emit.js';
import { buildModuleBytes } from '../src/kernels/wasm/module.js';

// deterministic inputs
let seed = 12345;
function random(n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    out[i] = (seed / 2 ** 32) * 2 - 1;
  }
  return out;
}

/** max |x - ref| / max |ref| */
function relError(x: Float32Array, ref: Float32Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) {
    diff = Math.max(diff, Math.abs(x[i]! - ref[i]!));
    scale = Math.max(scale, Math.abs(ref[i]!));
  }
  return diff / (scale || 1);
}

const backends = [createWasmBackend({ threads: 1 }), createWasmBackend({ threads: 2 })];

test('emitted module validates (shared and unshared memory)', () => {
  assert.ok(WebAssembly.validate(buildModuleBytes(false)));
  assert.ok(WebAssembly.validate(buildModuleBytes(true)));
});

test('emitter: LEB128 constants and structured control flow', () => {
  // f(x) = sum of i for i < x, plus a large negative constant, to exercise signed LEB128
  const mb = new ModuleBuilder({ module: 'env', name: 'memory', initialPages: 1, maximumPages: 1, shared: false });
  const f = mb.func('f', ['i32'], ['i32']);
  const i = f.local('i32');
  const s = f.local('i32');
  f.for(i, () => f.i32(0), () => f.get(f.param(0)), 1, () => f.set(s, f.i32Add(f.get(s), f.get(i))));
  f.i32Add(f.get(s), f.i32(-1234567));
  const inst = new WebAssembly.Instance(new WebAssembly.Module(mb.bytes()), { env: { memory: new WebAssembly.Memory({ initial: 1, maximum: 1 }) } });
  const run = inst.exports['f'] as (x: number) => number;
  assert.is(run(0), -1234567);
  assert.is(run(100), 4950 - 1234567);
});

test('threads: two under Node, one when asked for one', () => {
  assert.is(backends[0]!.threads, 1);
  assert.is(backends[1]!.threads, 2);
});

interface Case {
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
  batch: number;
  strideA: 'zero' | 'packed' | 'gap';
  strideB: 'zero' | 'packed' | 'gap';
}

function runCase(be: (typeof backends)[number], c: Case): number {
  const { m, n, k, batch } = c;
  const stride = (kind: Case['strideA'], size: number): number => (kind === 'zero' ? 0 : kind === 'packed' ? size : size + 3);
  const strideA = stride(c.strideA, m * k);
  const strideB = stride(c.strideB, k * n);
  const aOffset = 5;
  const bOffset = 2;
  const cOffset = 7;
  const a = random(aOffset + (batch - 1) * strideA + m * k);
  const b = random(bOffset + (batch - 1) * strideB + k * n);
  const out = random(cOffset + batch * m * n + 3); // garbage that must be overwritten
  const ref = out.slice();
  const args: Omit<MatmulArgs, 'c'> = { a, aOffset, strideA, transA: c.transA, b, bOffset, strideB, transB: c.transB, cOffset, batch, m, n, k };
  be.matmul({ ...args, c: out });
  jsBackend.matmul({ ...args, c: ref });
  // untouched around C
  for (let i = 0; i < cOffset; i++) assert.is(out[i], ref[i]);
  for (let i = cOffset + batch * m * n; i < out.length; i++) assert.is(out[i], ref[i]);
  return relError(out, ref);
}

const shapes: Array<[number, number, number]> = [
  [1, 1, 1],
  [3, 5, 7],
  [17, 13, 9],
  [64, 64, 64],
  [1, 300, 20],
  [300, 1, 20],
  [131, 150, 77], // tails in every dimension, large enough for two threads
  [70, 40, 600], // k spans several KC blocks
  [197, 576, 192],
];

for (const [ti, be] of backends.entries()) {
  test(`matmul ${ti + 1} thread(s): shapes x transposes`, () => {
    for (const [m, n, k] of shapes) {
      // tiny products go to the reference; a batch makes them big enough for wasm
      for (const batch of new Set([1, Math.ceil(4096 / (m * n * k))])) {
        for (const transA of [false, true]) {
          for (const transB of [false, true]) {
            const err = runCase(be, { m, n, k, transA, transB, batch, strideA: 'packed', strideB: 'packed' });
            assert.ok(err < 1e-5, `m=${m} n=${n} k=${k} batch=${batch} transA=${transA} transB=${transB}: rel error ${err}`);
          }
        }
      }
    }
  });

  test(`matmul ${ti + 1} thread(s): batches, broadcast and gapped strides, offsets`, () => {
    const strides: Array<[Case['strideA'], Case['strideB']]> = [
      ['packed', 'zero'],
      ['packed', 'packed'],
      ['zero', 'gap'],
      ['gap', 'gap'],
    ];
    for (const [m, n, k] of [[17, 13, 9], [64, 64, 64], [131, 150, 77], [197, 197, 64]] as const) {
      for (const [strideA, strideB] of strides) {
        for (const [transA, transB] of [[false, false], [true, true], [false, true]] as const) {
          const err = runCase(be, { m, n, k, transA, transB, batch: 3, strideA, strideB });
          assert.ok(err < 1e-5, `m=${m} n=${n} k=${k} ${strideA}/${strideB} ${transA}/${transB}: rel error ${err}`);
        }
      }
    }
  });

  test(`row kernels ${ti + 1} thread(s) match the reference`, () => {
    for (const [rows, cols] of [[1, 1], [256, 1], [100, 3], [3, 85], [7, 197], [700, 100], [300, 384]] as const) {
      const x = random(rows * cols).map((v) => v * 8);
      const dy = random(rows * cols);
      const pair = (): [Float32Array, Float32Array] => [new Float32Array(rows * cols), new Float32Array(rows * cols)];
      const label = `${rows}x${cols}`;

      const [y, yRef] = pair();
      be.softmax(x, y, rows, cols);
      jsBackend.softmax(x, yRef, rows, cols);
      assert.ok(relError(y, yRef) < 1e-5, `softmax ${label}: ${relError(y, yRef)}`);

      const [dx, dxRef] = pair();
      be.softmaxBackward(yRef, dy, dx, rows, cols);
      jsBackend.softmaxBackward(yRef, dy, dxRef, rows, cols);
      assert.ok(relError(dx, dxRef) < 1e-5, `softmaxBackward ${label}: ${relError(dx, dxRef)}`);

      const [ln, lnRef] = pair();
      const rstd = new Float32Array(rows);
      const rstdRef = new Float32Array(rows);
      be.layerNorm(x, ln, rstd, rows, cols, 1e-5);
      jsBackend.layerNorm(x, lnRef, rstdRef, rows, cols, 1e-5);
      assert.ok(relError(ln, lnRef) < 1e-5, `layerNorm ${label}: ${relError(ln, lnRef)}`);
      assert.ok(relError(rstd, rstdRef) < 1e-5, `layerNorm rstd ${label}: ${relError(rstd, rstdRef)}`);

      const [dln, dlnRef] = pair();
      be.layerNormBackward(lnRef, rstdRef, dy, dln, rows, cols);
      jsBackend.layerNormBackward(lnRef, rstdRef, dy, dlnRef, rows, cols);
      assert.ok(relError(dln, dlnRef) < 1e-5, `layerNormBackward ${label}: ${relError(dln, dlnRef)}`);
    }
  });
}

test('softmax: large negative logits underflow to zero, rows still sum to one', () => {
  const be = backends[0]!;
  const rows = 128; // enough elements for the wasm path
  const pattern = [0, -50, -100, -1000, 3, 3, 3, 3, 1, 2, -Infinity, 0];
  const cols = 4;
  const x = new Float32Array(rows * cols).map((_, i) => pattern[i % pattern.length]!);
  const y = new Float32Array(rows * cols);
  be.softmax(x, y, rows, cols);
  for (let r = 0; r < rows; r++) {
    const row = Array.from(y.subarray(r * cols, (r + 1) * cols));
    const kind = r % 3;
    if (kind === 0) {
      assert.ok(Math.abs(row[0]! - 1) < 1e-6);
      assert.equal(row.slice(2), [0, 0]);
    } else if (kind === 1) for (const v of row) assert.ok(Math.abs(v - 0.25) < 1e-7);
    else assert.is(row[2], 0); // exp(-inf)
  }
});

test('float64 arrays fall back to the reference kernels', () => {
  const be = backends[1]!;
  const a = Float64Array.from(random(6));
  const b = Float64Array.from(random(6));
  const c = new Float64Array(4);
  const ref = new Float64Array(4);
  const args = { a, aOffset: 0, strideA: 0, transA: false, b, bOffset: 0, strideB: 0, transB: false, cOffset: 0, batch: 1, m: 2, n: 2, k: 3 };
  be.matmul({ ...args, c });
  jsBackend.matmul({ ...args, c: ref });
  assert.equal(Array.from(c), Array.from(ref));
});

test('dispose terminates the workers; a new backend works afterwards', () => {
  for (const be of backends) be.dispose();
  const be = createWasmBackend({ threads: 2 });
  const err = runCase(be, { m: 131, n: 150, k: 77, transA: false, transB: false, batch: 2, strideA: 'packed', strideB: 'zero' });
  assert.ok(err < 1e-5);
  be.dispose();
});

test.run();
