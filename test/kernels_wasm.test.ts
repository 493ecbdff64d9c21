import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { MatmulArgs } from '../src/kernels/backend.js';
import { jsBackend } from '../src/kernels/js.js';
import { createWasmBackend } from '../src/kernels/wasm.js';
import { ModuleBuilder } from '../src/kernels/wasm/emit.js';
import { buildModuleBytes, instantiate } from '../src/kernels/wasm/module.js';
import { relaxedSimdAvailable } from '../src/kernels/wasm/features.js';
import { erf } from '../src/kernels/erf.js';
import { relErr } from './support/fixtures.js';

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

const backends = [createWasmBackend({ threads: 1 }), createWasmBackend({ threads: 2 })];

test('emitted module validates (shared and unshared memory)', () => {
  assert.ok(WebAssembly.validate(buildModuleBytes(false)));
  assert.ok(WebAssembly.validate(buildModuleBytes(true)));
});

test('relaxed SIMD: available under Node (enabled at run time on Node 20), and the FMA module validates', () => {
  if (process.env['CDAM_WASM_RELAXED'] === '0') {
    console.log('  (skipped: CDAM_WASM_RELAXED=0 keeps relaxed SIMD off)');
    return;
  }
  assert.ok(relaxedSimdAvailable());
  assert.ok(WebAssembly.validate(buildModuleBytes(true, true)));
  assert.is(backends[1]!.fma, true, 'the default backend uses the FMA kernel');
});

// Both micro-kernels, whichever is the default: fused multiply-add and separate mul + add.
for (const fma of [true, false]) {
  test(`matmul with the ${fma ? 'FMA' : 'mul + add'} micro-kernel matches the reference`, () => {
    if (fma && !relaxedSimdAvailable()) {
      console.log('  (skipped: this runtime has no relaxed SIMD)');
      return;
    }
    const be = createWasmBackend({ threads: 2, fma });
    try {
      assert.is(be.fma, fma);
      for (const [m, n, k] of [
        [131, 150, 77],
        [197, 576, 192],
        [70, 40, 600],
        [7, 9, 300],
      ] as const) {
        for (const [transA, transB] of [
          [false, false],
          [true, true],
          [false, true],
        ] as const) {
          const err = runCase(be, { m, n, k, transA, transB, batch: 2, strideA: 'packed', strideB: 'zero', bias: true });
          assert.ok(err < 1e-5, `m=${m} n=${n} k=${k} transA=${transA} transB=${transB}: rel error ${err}`);
        }
      }
    } finally {
      be.dispose();
    }
  });
}

test('emitter: LEB128 constants and structured control flow', () => {
  // f(x) = sum of i for i < x, plus a large negative constant, to exercise signed LEB128
  const mb = new ModuleBuilder({ module: 'env', name: 'memory', initialPages: 1, maximumPages: 1, shared: false });
  const f = mb.func('f', ['i32'], ['i32']);
  const i = f.local('i32');
  const s = f.local('i32');
  f.for(
    i,
    () => f.i32(0),
    () => f.get(f.param(0)),
    1,
    () => f.set(s, f.i32Add(f.get(s), f.get(i))),
  );
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
  /** Extra elements between stored rows (lda = stored row length + padA). */
  padA?: number;
  padB?: number;
  bias?: boolean;
  biasOffset?: number;
}

function runCase(be: (typeof backends)[number], c: Case): number {
  const { m, n, k, batch } = c;
  const stride = (kind: Case['strideA'], size: number): number => (kind === 'zero' ? 0 : kind === 'packed' ? size : size + 3);
  // stored rows x row length, and the row distance
  const [rowsA, colsA] = c.transA ? [k, m] : [m, k];
  const [rowsB, colsB] = c.transB ? [n, k] : [k, n];
  const lda = colsA + (c.padA ?? 0);
  const ldb = colsB + (c.padB ?? 0);
  const sizeA = (rowsA - 1) * lda + colsA;
  const sizeB = (rowsB - 1) * ldb + colsB;
  const strideA = stride(c.strideA, rowsA * lda);
  const strideB = stride(c.strideB, rowsB * ldb);
  const aOffset = 5;
  const bOffset = 2;
  const cOffset = 7;
  const a = random(aOffset + (batch - 1) * strideA + sizeA);
  const b = random(bOffset + (batch - 1) * strideB + sizeB);
  const out = random(cOffset + batch * m * n + 3); // garbage that must be overwritten
  const ref = out.slice();
  const args: Omit<MatmulArgs, 'c'> = {
    a,
    aOffset,
    strideA,
    transA: c.transA,
    b,
    bOffset,
    strideB,
    transB: c.transB,
    cOffset,
    batch,
    m,
    n,
    k,
    ...(c.padA !== undefined ? { lda } : {}),
    ...(c.padB !== undefined ? { ldb } : {}),
    ...(c.bias ? { bias: random((c.biasOffset ?? 0) + n + 2), biasOffset: c.biasOffset ?? 0 } : {}),
  };
  be.matmul({ ...args, c: out });
  jsBackend.matmul({ ...args, c: ref });
  // untouched around C
  for (let i = 0; i < cOffset; i++) assert.is(out[i], ref[i]);
  for (let i = cOffset + batch * m * n; i < out.length; i++) assert.is(out[i], ref[i]);
  return relErr(out, ref);
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
    for (const [m, n, k] of [
      [17, 13, 9],
      [64, 64, 64],
      [131, 150, 77],
      [197, 197, 64],
    ] as const) {
      for (const [strideA, strideB] of strides) {
        for (const [transA, transB] of [
          [false, false],
          [true, true],
          [false, true],
        ] as const) {
          const err = runCase(be, { m, n, k, transA, transB, batch: 3, strideA, strideB });
          assert.ok(err < 1e-5, `m=${m} n=${n} k=${k} ${strideA}/${strideB} ${transA}/${transB}: rel error ${err}`);
        }
      }
    }
  });

  test(`matmul ${ti + 1} thread(s): row-strided operands (lda/ldb), padded rows`, () => {
    for (const [m, n, k] of [
      [17, 13, 9],
      [64, 64, 64],
      [131, 150, 77],
      [70, 40, 600],
    ] as const) {
      for (const [strideA, strideB] of [
        ['packed', 'zero'],
        ['gap', 'packed'],
        ['zero', 'gap'],
      ] as const) {
        for (const [transA, transB] of [
          [false, false],
          [true, true],
          [false, true],
          [true, false],
        ] as const) {
          for (const [padA, padB] of [
            [3, 0],
            [0, 5],
            [40, 1000],
          ] as const) {
            const err = runCase(be, { m, n, k, transA, transB, batch: 2, strideA, strideB, padA, padB });
            assert.ok(err < 1e-5, `m=${m} n=${n} k=${k} ${strideA}/${strideB} ${transA}/${transB} pad ${padA}/${padB}: rel error ${err}`);
          }
        }
      }
    }
  });

  test(`matmul ${ti + 1} thread(s): bias, with offsets, batches and strided operands`, () => {
    for (const [m, n, k] of [
      [3, 5, 7],
      [17, 13, 9],
      [197, 576, 192],
      [300, 20, 100],
      [20, 300, 100],
      [70, 40, 600],
    ] as const) {
      const big = m * n * k > 1e6; // keep the reference's run time down: one batch, the linear layout
      for (const batch of big ? [1] : [1, 3]) {
        for (const [transA, transB] of big
          ? ([[false, true]] as const)
          : ([
              [false, true],
              [false, false],
              [true, true],
            ] as const)) {
          for (const biasOffset of [0, 3]) {
            const strideB = batch > 1 ? 'zero' : 'packed';
            const err = runCase(be, { m, n, k, transA, transB, batch, strideA: 'gap', strideB, bias: true, biasOffset, padA: biasOffset });
            assert.ok(err < 1e-5, `m=${m} n=${n} k=${k} batch=${batch} ${transA}/${transB} bias@${biasOffset}: rel error ${err}`);
          }
        }
      }
    }
  });

  test(`matmul ${ti + 1} thread(s): attention on the q/k/v column blocks of a fused [N, 3D] tensor`, () => {
    for (const [tokens, heads, hd] of [
      [13, 2, 8],
      [197, 3, 64],
      [50, 6, 64],
    ] as const) {
      const d = heads * hd;
      const qkv = random(4 + tokens * 3 * d);
      const off = 4; // the tensor starts inside its buffer
      const check = (label: string, args: Omit<MatmulArgs, 'c' | 'cOffset'>): void => {
        const size = args.batch * args.m * args.n;
        const out = random(size + 2);
        const ref = out.slice();
        be.matmul({ ...args, c: out, cOffset: 1 });
        jsBackend.matmul({ ...args, c: ref, cOffset: 1 });
        assert.is(out[0], ref[0]);
        assert.is(out[size + 1], ref[size + 1]);
        const err = relErr(out, ref);
        assert.ok(err < 1e-5, `${label} ${tokens}x${heads}x${hd}: rel error ${err}`);
      };
      const view = (which: number) => ({ offset: off + which * d, stride: hd, ld: 3 * d });
      const [q, k, v] = [view(0), view(1), view(2)];
      // q @ k^T per head
      check('q @ k^T', {
        a: qkv,
        aOffset: q.offset,
        strideA: q.stride,
        transA: false,
        lda: q.ld,
        b: qkv,
        bOffset: k.offset,
        strideB: k.stride,
        transB: true,
        ldb: k.ld,
        batch: heads,
        m: tokens,
        n: tokens,
        k: hd,
      });
      // attn @ v per head
      const attn = random(heads * tokens * tokens);
      check('attn @ v', {
        a: attn,
        aOffset: 0,
        strideA: tokens * tokens,
        transA: false,
        b: qkv,
        bOffset: v.offset,
        strideB: v.stride,
        transB: false,
        ldb: v.ld,
        batch: heads,
        m: tokens,
        n: hd,
        k: tokens,
      });
      // transposed strided A: k^T @ v (the gradient of attn @ v has this form)
      check('k^T @ v', {
        a: qkv,
        aOffset: k.offset,
        strideA: k.stride,
        transA: true,
        lda: k.ld,
        b: qkv,
        bOffset: v.offset,
        strideB: v.stride,
        transB: false,
        ldb: v.ld,
        batch: heads,
        m: hd,
        n: hd,
        k: tokens,
      });
      // the q block as one [N, D] operand of a linear with bias
      const w = random(d * d);
      const bias = random(d + 3);
      check('q W^T + b', {
        a: qkv,
        aOffset: q.offset,
        strideA: 0,
        transA: false,
        lda: q.ld,
        b: w,
        bOffset: 0,
        strideB: 0,
        transB: true,
        bias,
        biasOffset: 3,
        batch: 1,
        m: tokens,
        n: d,
        k: d,
      });
    }
  });

  test(`row kernels ${ti + 1} thread(s) match the reference`, () => {
    for (const [rows, cols] of [
      [1, 1],
      [256, 1],
      [100, 3],
      [3, 85],
      [7, 197],
      [700, 100],
      [300, 384],
    ] as const) {
      const x = random(rows * cols).map((v) => v * 8);
      const dy = random(rows * cols);
      const pair = (): [Float32Array, Float32Array] => [new Float32Array(rows * cols), new Float32Array(rows * cols)];
      const label = `${rows}x${cols}`;

      const [y, yRef] = pair();
      be.softmax(x, y, rows, cols);
      jsBackend.softmax(x, yRef, rows, cols);
      assert.ok(relErr(y, yRef) < 1e-5, `softmax ${label}: ${relErr(y, yRef)}`);

      const [dx, dxRef] = pair();
      be.softmaxBackward(yRef, dy, dx, rows, cols);
      jsBackend.softmaxBackward(yRef, dy, dxRef, rows, cols);
      assert.ok(relErr(dx, dxRef) < 1e-5, `softmaxBackward ${label}: ${relErr(dx, dxRef)}`);

      const [ln, lnRef] = pair();
      const rstd = new Float32Array(rows);
      const rstdRef = new Float32Array(rows);
      be.layerNorm(x, ln, rstd, rows, cols, 1e-5);
      jsBackend.layerNorm(x, lnRef, rstdRef, rows, cols, 1e-5);
      assert.ok(relErr(ln, lnRef) < 1e-5, `layerNorm ${label}: ${relErr(ln, lnRef)}`);
      assert.ok(relErr(rstd, rstdRef) < 1e-5, `layerNorm rstd ${label}: ${relErr(rstd, rstdRef)}`);

      const [dln, dlnRef] = pair();
      be.layerNormBackward(lnRef, rstdRef, dy, dln, rows, cols);
      jsBackend.layerNormBackward(lnRef, rstdRef, dy, dlnRef, rows, cols);
      assert.ok(relErr(dln, dlnRef) < 1e-5, `layerNormBackward ${label}: ${relErr(dln, dlnRef)}`);
    }
  });
}

test('wasm erf (inside the GELU kernels): max abs error below 5e-7 over [-10, 10]', () => {
  const n = 400_000;
  const memory = new WebAssembly.Memory({ initial: 64, maximum: 64 });
  const ex = instantiate(new WebAssembly.Module(buildModuleBytes(false)), memory);
  const at = 65536; // past the control block and constant table
  const x = new Float32Array(memory.buffer, at, n);
  for (let i = 0; i < n; i++) x[i] = -10 + (20 * i) / (n - 1);
  x.set([0, -0, 1, -1, 0.9999999, 1.0000001, 1e-20, 4, 6, -6], 0); // branch edges, tiny, saturated
  ex.erf(at, at + n * 4, 0, n);
  const y = new Float32Array(memory.buffer, at + n * 4, n);
  let worst = 0;
  let where = 0;
  for (let i = 0; i < n; i++) {
    const e = Math.abs(y[i]! - erf(x[i]!));
    if (!(e <= worst)) {
      worst = e;
      where = x[i]!;
    }
  }
  assert.ok(worst < 5e-7, `max abs error ${worst} at ${where}`);
});

/** GELU inputs: a sweep over [-12, 12] plus large, tiny and signed-zero values. */
function geluInputs(n: number): Float32Array {
  const special = [0, -0, 1e-30, -1e-30, 50, -50, 1e4, -1e4, 3e38, -3e38, 1.4142135, -1.4142135];
  const x = random(n).map((v) => v * 12);
  for (let i = 0; i < n; i += 7) x[i] = special[(i / 7) % special.length]!;
  return x;
}

for (const [ti, be] of backends.entries()) {
  test(`gelu / geluBackward ${ti + 1} thread(s) match the float64 reference`, () => {
    // below the wasm threshold, odd lengths, just past thresholds, ViT-sized
    for (const n of [5, 127, 128, 1001, 8191, 8195, 197 * 768 + 3]) {
      const x = geluInputs(n);
      const dy = random(n);
      const x64 = Float64Array.from(x);
      const dy64 = Float64Array.from(dy);
      const ref = new Float64Array(n);
      const dref = new Float64Array(n);
      jsBackend.gelu(x64, ref, n);
      jsBackend.geluBackward(x64, dy64, dref, n);
      // outputs longer than n: the tail must stay as it was
      const y = new Float32Array(n + 5).fill(7);
      const dx = new Float32Array(n + 5).fill(7);
      be.gelu(x, y, n);
      be.geluBackward(x, dy, dx, n);
      for (const [name, out, r] of [
        ['gelu', y, ref],
        ['geluBackward', dx, dref],
      ] as const) {
        let diff = 0;
        let scale = 0;
        // the scale comes from |x| <= 12; the large inputs are held to a relative bound instead
        for (let i = 0; i < n; i++) {
          assert.ok(!Number.isNaN(out[i]), `${name} n=${n}: NaN at ${i} (x = ${x[i]})`);
          if (Math.abs(x[i]!) > 12) {
            assert.ok(Math.abs(out[i]! - r[i]!) <= 1e-6 * Math.abs(r[i]!), `${name} n=${n} x=${x[i]}: ${out[i]} vs ${r[i]}`);
            continue;
          }
          diff = Math.max(diff, Math.abs(out[i]! - r[i]!));
          scale = Math.max(scale, Math.abs(r[i]!));
        }
        assert.ok(diff / scale < 1e-6, `${name} n=${n}: abs error ${diff} relative to max ${scale}`);
        for (let i = n; i < n + 5; i++) assert.is(out[i], 7);
      }
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
