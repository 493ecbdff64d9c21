// GFLOP/s of the wasm matmul (1 and 2 threads) against the JS reference on
// the ViT shapes (plain, a linear with its bias fused, attention on the q/k/v
// column blocks of a fused qkv output), plus the row kernels and GELU.
// Medians over repeated runs after a warm-up; the machine may be shared, so
// run it more than once.
//
// A build whose wasm backend lacks lda/ldb/bias or GELU (an older tree, via
// --build) is measured the way the registry would run it: extendMatmul
// (dense copies, a JS bias pass) and the reference GELU.
//
//   npm run build && node bench/matmul_wasm.mjs [--quick] [--build <dir>]

import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import path from 'node:path';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const buildDir = args.includes('--build') ? args[args.indexOf('--build') + 1] : 'build';
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', buildDir);
const { createWasmBackend } = await import(pathToFileURL(path.join(root, 'src/kernels/wasm.js')).href);
const { jsBackend } = await import(pathToFileURL(path.join(root, 'src/kernels/js.js')).href);
const { extendMatmul } = await import(pathToFileURL(path.join(root, 'src/kernels/registry.js')).href);

/** What the registry makes of a backend: extended matmul, missing kernels from the reference. */
function completed(be) {
  const matmul = be.matmulExtended ? be.matmul.bind(be) : extendMatmul(be.matmul.bind(be));
  return { ...jsBackend, ...be, matmul, gelu: be.gelu ?? jsBackend.gelu, geluBackward: be.geluBackward ?? jsBackend.geluBackward, dispose: () => be.dispose() };
}

const shapes = [
  // m, k, n
  [197, 192, 576],
  [197, 192, 768],
  [197, 768, 192],
  [197, 384, 1536],
  [785, 384, 1152],
];

const random = (n) => Float32Array.from({ length: n }, () => Math.random() * 2 - 1);

/** Median milliseconds of fn over runs lasting about `budgetMs` after a warm-up. */
function time(fn, budgetMs) {
  const w0 = performance.now();
  do fn();
  while (performance.now() - w0 < budgetMs / 4);
  const times = [];
  const t0 = performance.now();
  do {
    const s = performance.now();
    fn();
    times.push(performance.now() - s);
  } while (performance.now() - t0 < budgetMs || times.length < 5);
  times.sort((a, b) => a - b);
  return times[times.length >> 1];
}

const backends = [
  ['wasm x1', completed(createWasmBackend({ threads: 1 }))],
  ['wasm x2', completed(createWasmBackend({ threads: 2 }))],
];
const budget = quick ? 150 : 600;

console.log('matmul GFLOP/s (m x k x n, flops = 2mnk; median)');
console.log(['shape'.padEnd(16), ...backends.map(([n]) => n.padStart(9)), 'js'.padStart(7)].join(' '));
for (const [m, k, n] of shapes) {
  const p = {
    a: random(m * k),
    aOffset: 0,
    strideA: 0,
    transA: false,
    b: random(k * n),
    bOffset: 0,
    strideB: 0,
    transB: false,
    c: new Float32Array(m * n),
    cOffset: 0,
    batch: 1,
    m,
    n,
    k,
  };
  const gflops = (ms) => ((2 * m * n * k) / ms / 1e6).toFixed(1);
  const cols = backends.map(([, be]) => gflops(time(() => be.matmul(p), budget)).padStart(9));
  const js = gflops(time(() => jsBackend.matmul(p), quick ? 300 : 1000)).padStart(7);
  console.log([`${m}x${k}x${n}`.padEnd(16), ...cols, js].join(' '));
}

// attention-style batched products: q @ k^T and attn @ v over 6 heads
console.log('\nbatched (6 heads, 197 tokens, head dim 64)');
for (const [label, m, k, n, transB] of [
  ['q @ k^T', 197, 64, 197, true],
  ['attn @ v', 197, 197, 64, false],
]) {
  const batch = 6;
  const p = {
    a: random(batch * m * k),
    aOffset: 0,
    strideA: m * k,
    transA: false,
    b: random(batch * k * n),
    bOffset: 0,
    strideB: k * n,
    transB,
    c: new Float32Array(batch * m * n),
    cOffset: 0,
    batch,
    m,
    n,
    k,
  };
  const gflops = (ms) => ((2 * batch * m * n * k) / ms / 1e6).toFixed(1);
  const cols = backends.map(([, be]) => gflops(time(() => be.matmul(p), budget)).padStart(9));
  const js = gflops(time(() => jsBackend.matmul(p), quick ? 300 : 1000)).padStart(7);
  console.log([label.padEnd(16), ...cols, js].join(' '));
}

// a linear with bias, x W^T + b (W stored [out, in]), and attention on the
// q, k, v column blocks of a fused [N, 3D] qkv output (row distance 3D)
console.log('\nfused / row-strided (GFLOP/s)');
for (const [d, heads] of [
  [192, 3],
  [384, 6],
]) {
  const tokens = 197;
  const hd = d / heads;
  const x = random(tokens * d);
  const w = random(3 * d * d);
  const bias = random(3 * d);
  const qkv = random(tokens * 3 * d);
  const attn = random(heads * tokens * tokens);
  const cases = [
    [
      `linear+bias ${tokens}x${d}->${3 * d}`,
      { a: x, aOffset: 0, strideA: 0, transA: false, b: w, bOffset: 0, strideB: 0, transB: true, bias, biasOffset: 0, batch: 1, m: tokens, n: 3 * d, k: d },
    ],
    [
      `q @ k^T strided, ${heads} heads`,
      {
        a: qkv,
        aOffset: 0,
        strideA: hd,
        transA: false,
        lda: 3 * d,
        b: qkv,
        bOffset: d,
        strideB: hd,
        transB: true,
        ldb: 3 * d,
        batch: heads,
        m: tokens,
        n: tokens,
        k: hd,
      },
    ],
    [
      `attn @ v strided, ${heads} heads`,
      {
        a: attn,
        aOffset: 0,
        strideA: tokens * tokens,
        transA: false,
        b: qkv,
        bOffset: 2 * d,
        strideB: hd,
        transB: false,
        ldb: 3 * d,
        batch: heads,
        m: tokens,
        n: hd,
        k: tokens,
      },
    ],
  ];
  for (const [label, args] of cases) {
    const p = { ...args, c: new Float32Array(args.batch * args.m * args.n), cOffset: 0 };
    const gflops = (ms) => ((2 * p.batch * p.m * p.n * p.k) / ms / 1e6).toFixed(1);
    const cols = backends.map(([, be]) => gflops(time(() => be.matmul(p), budget)).padStart(9));
    const js = gflops(time(() => jsBackend.matmul(p), quick ? 300 : 1000)).padStart(7);
    console.log([label.padEnd(30), ...cols, js].join(' '));
  }
}

console.log('\nGELU, ms (median)');
console.log(['kernel'.padEnd(28), ...backends.map(([n]) => n.padStart(9)), 'js'.padStart(7)].join(' '));
for (const [rows, cols] of [
  [197, 768],
  [197, 1536],
]) {
  const n = rows * cols;
  const x = random(n).map((v) => v * 4);
  const y = new Float32Array(n);
  const dy = random(n);
  const dx = new Float32Array(n);
  for (const [name, run] of [
    ['gelu', (be) => be.gelu(x, y, n)],
    ['geluBackward', (be) => be.geluBackward(x, dy, dx, n)],
  ]) {
    const ms = backends.map(([, be]) =>
      time(() => run(be), budget / 2)
        .toFixed(3)
        .padStart(9),
    );
    const js = time(() => run(jsBackend), budget / 2)
      .toFixed(3)
      .padStart(7);
    console.log([`${name} ${rows}x${cols}`.padEnd(28), ...ms, js].join(' '));
  }
}

console.log('\nrow kernels, ms (median)');
console.log(['kernel'.padEnd(28), ...backends.map(([n]) => n.padStart(9)), 'js'.padStart(7)].join(' '));
for (const [rows, cols] of [
  [6 * 197, 197],
  [785, 384],
]) {
  const x = random(rows * cols);
  const y = new Float32Array(rows * cols);
  const dy = random(rows * cols);
  const dx = new Float32Array(rows * cols);
  const rstd = new Float32Array(rows);
  const kernels = [
    ['softmax', (be) => be.softmax(x, y, rows, cols)],
    ['softmaxBackward', (be) => be.softmaxBackward(y, dy, dx, rows, cols)],
    ['layerNorm', (be) => be.layerNorm(x, y, rstd, rows, cols, 1e-6)],
    ['layerNormBackward', (be) => be.layerNormBackward(y, rstd, dy, dx, rows, cols)],
  ];
  for (const [name, run] of kernels) {
    const ms = backends.map(([, be]) =>
      time(() => run(be), budget / 2)
        .toFixed(3)
        .padStart(9),
    );
    const js = time(() => run(jsBackend), budget / 2)
      .toFixed(3)
      .padStart(7);
    console.log([`${name} ${rows}x${cols}`.padEnd(28), ...ms, js].join(' '));
  }
}

for (const [, be] of backends) be.dispose();
