// Engine bench: matmul GFLOP/s per backend on the ViT shapes, and one
// transformer block forward / forward+backward in ms per backend, and the
// fused attention forward and backward against the ops they replaced
// (bench/attention.mjs).
// Run: npm run build && node bench/engine.mjs [--quick]
import { setBackend, backendNames, disposeBackends } from '../build/src/kernels/index.js';
import { registerAllBackends } from '../build/src/kernels/all.js';
import { Tensor, randn, matmul, sum, mul } from '../build/src/tensor/index.js';
import { grad, enableGrad, noGrad } from '../build/src/autograd/index.js';
import { block } from '../build/src/vit/block.js';
import { timeIt } from './timing.mjs';
import { benchAttention, benchAttentionBackward } from './attention.mjs';

const quick = process.argv.includes('--quick');
registerAllBackends();

const time = (fn, { minRuns = 5, minMs = quick ? 150 : 600 } = {}) => timeIt(fn, { minRuns, minMs, maxMs: 20000 });

const shapes = [
  [197, 192, 576],
  [197, 192, 768],
  [197, 768, 192],
  [197, 384, 1536],
  [785, 384, 1152],
];
const backends = backendNames();
const rows = [];
for (const [m, k, n] of shapes) {
  const a = randn([m, k], 1);
  const b = randn([k, n], 2);
  const row = { shape: `${m}x${k}x${n}` };
  for (const be of backends) {
    setBackend(be);
    const ms = time(() => noGrad(() => matmul(a, b)));
    row[be] = (2 * m * n * k) / (ms * 1e6);
  }
  rows.push(row);
}
console.log('\nmatmul GFLOP/s (m x k x n, median)');
console.log(`| shape | ${backends.join(' | ')} |`);
console.log(`|---|${backends.map(() => '---:').join('|')}|`);
for (const r of rows) console.log(`| ${r.shape} | ${backends.map((b) => r[b].toFixed(2)).join(' | ')} |`);

function blockParams(d, heads, seed) {
  let s = seed;
  const w = (shape, scale = 0.05) => mul(randn(shape, s++), scale);
  const lin = (o, i) => ({ weight: w([o, i]), bias: w([o]) });
  const nrm = () => ({
    weight: new Tensor(
      Float32Array.from(mul(randn([d], s++), 0.1).data, (v) => 1 + v),
      [d],
    ),
    bias: w([d]),
    eps: 1e-6,
  });
  return { norm1: nrm(), qkv: lin(3 * d, d), proj: lin(d, d), norm2: nrm(), fc1: lin(4 * d, d), fc2: lin(d, 4 * d), ls1: null, ls2: null, heads };
}

const models = [
  ['ViT-Ti block (197 tok, D 192)', 192, 3, 197],
  ['ViT-S block (197 tok, D 384)', 384, 6, 197],
];
console.log('\ntransformer block, ms (median)');
console.log(`| block | pass | ${backends.join(' | ')} |`);
console.log(`|---|---|${backends.map(() => '---:').join('|')}|`);
for (const [name, d, h, nTok] of models) {
  const p = blockParams(d, h, 10);
  const x = randn([1, nTok, d], 3);
  const fwd = {};
  const fb = {};
  for (const be of backends) {
    setBackend(be);
    fwd[be] = time(() => noGrad(() => block(x, p)), { minRuns: 3 });
    fb[be] = time(
      () => {
        const xi = new Tensor(x.data, x.shape).requireGrad();
        const out = enableGrad(() => block(xi, p).out);
        grad(sum(out), [xi]);
      },
      { minRuns: 3 },
    );
  }
  console.log(`| ${name} | forward | ${backends.map((b) => fwd[b].toFixed(2)).join(' | ')} |`);
  console.log(`| ${name} | forward+backward (to input) | ${backends.map((b) => fb[b].toFixed(2)).join(' | ')} |`);
}
benchAttention(
  backends.filter((b) => b !== 'gpujs'),
  time,
); // gpujs has no attention kernel: it runs the js one
benchAttentionBackward(
  backends.filter((b) => b !== 'gpujs'),
  time,
);
disposeBackends();
