// Fused forward attention (attentionForward: one kernel call from the qkv
// projection output) against the composite of tensor ops the block used
// before (scale q, q @ k^T, softmax, @ v, merge the heads), ms per call.
// Part of bench/engine.mjs; alone:
//   npm run build && node bench/attention.mjs [--quick] [--backends wasm,js]
import { pathToFileURL } from 'node:url';
import { setBackend, backendNames, disposeBackends } from '../build/src/kernels/index.js';
import { registerAllBackends } from '../build/src/kernels/all.js';
import { randn, matmul, softmax, mul, permute, reshape, select, transpose, contiguous, attentionForward } from '../build/src/tensor/index.js';
import { noGrad } from '../build/src/autograd/index.js';
import { timeIt } from './timing.mjs';

/** The block's attention before the fused kernel, up to the merged heads (contiguous, as the projection needs them). */
function composite(qkvOut, heads) {
  const [b, n, d3] = qkvOut.shape;
  const d = d3 / 3;
  const hd = d / heads;
  const qkv = permute(reshape(qkvOut, [b, n, 3, heads, hd]), [2, 0, 3, 1, 4]);
  const attn = softmax(matmul(mul(select(qkv, 0, 0), 1 / Math.sqrt(hd)), transpose(select(qkv, 0, 1))));
  const out = contiguous(reshape(permute(matmul(attn, select(qkv, 0, 2)), [0, 2, 1, 3]), [b, n, d]));
  return { out, attn };
}

export const attentionShapes = [
  // batch, tokens, D, heads
  [1, 197, 192, 3],
  [8, 197, 192, 3],
  [1, 197, 384, 6],
  [8, 197, 384, 6],
];

/** Print a table: shape | per backend, composite ms / fused ms / speed-up. */
export function benchAttention(backends, time) {
  console.log('\nattention forward from qkv [B, N, 3D], ms (median): composite ops vs fused kernel');
  console.log(`| B x N, D, heads | ${backends.map((b) => `${b} composite | ${b} fused | ${b} speed-up`).join(' | ')} |`);
  console.log(`|---|${backends.map(() => '---:|---:|---:').join('|')}|`);
  for (const [b, n, d, heads] of attentionShapes) {
    const qkv = randn([b, n, 3 * d], 7);
    const cells = [];
    for (const be of backends) {
      setBackend(be);
      const c = time(() => noGrad(() => composite(qkv, heads)));
      const f = time(() => noGrad(() => attentionForward(qkv, heads)));
      cells.push(c.toFixed(2), f.toFixed(2), `${(c / f).toFixed(1)}x`);
    }
    console.log(`| ${b} x ${n}, ${d}, ${heads} | ${cells.join(' | ')} |`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  registerAllBackends();
  const wanted = args.includes('--backends') ? args[args.indexOf('--backends') + 1].split(',') : ['wasm', 'js'];
  const backends = backendNames().filter((b) => wanted.includes(b));
  benchAttention(backends, (fn) => timeIt(fn, { minRuns: 5, minMs: quick ? 150 : 600, maxMs: 20000 }));
  disposeBackends();
}
