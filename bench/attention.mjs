// Fused forward attention (attentionForward: one kernel call from the qkv
// projection output) against the composite of tensor ops the block used
// before (scale q, q @ k^T, softmax, @ v, merge the heads), ms per call; and
// its gradient (attentionBackward: one kernel call) against the per-item
// path it replaced (four batched matmuls, a softmax gradient and three
// scatters of dq, dk, dv per batch item).
// Part of bench/engine.mjs; alone:
//   npm run build && node bench/attention.mjs [--quick] [--backends wasm,js]
import { pathToFileURL } from 'node:url';
import { setBackend, backendNames, disposeBackends, getBackend } from '../build/src/kernels/index.js';
import { registerAllBackends } from '../build/src/kernels/all.js';
import {
  randn,
  matmul,
  softmax,
  mul,
  permute,
  reshape,
  select,
  transpose,
  contiguous,
  attentionForward,
  attentionBackward,
  Tensor,
} from '../build/src/tensor/index.js';
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

/** attentionBackward as it was before the fused kernel: per batch item, batched matmuls over the heads (float32). */
function perItemBackward(qkv, attn, g, heads) {
  const [b, n, d3] = qkv.shape;
  const d = d3 / 3;
  const hd = d / heads;
  const scale = 1 / Math.sqrt(hd);
  const K = getBackend();
  const X = qkv.contiguousData();
  const P = attn.contiguousData();
  const G = g.contiguousData();
  const dX = new Float32Array(b * n * d3);
  const part = new Float32Array(heads * n * hd);
  const dP = new Float32Array(heads * n * n);
  const dS = new Float32Array(heads * n * n);
  const nn = n * n;
  const scatter = (at, s) => {
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < n; i++) {
        const from = (h * n + i) * hd;
        const to = at + i * d3 + h * hd;
        if (s === 1) dX.set(part.subarray(from, from + hd), to);
        else for (let j = 0; j < hd; j++) dX[to + j] = s * part[from + j];
      }
    }
  };
  for (let bi = 0; bi < b; bi++) {
    const xo = bi * n * d3;
    const go = bi * n * d;
    const po = bi * heads * nn;
    const batch = { batch: heads, c: part, cOffset: 0 };
    K.matmul({ ...batch, a: P, aOffset: po, strideA: nn, transA: true, lda: n, b: G, bOffset: go, strideB: hd, transB: false, ldb: d, m: n, n: hd, k: n });
    scatter(xo + 2 * d, 1);
    K.matmul({
      batch: heads,
      c: dP,
      cOffset: 0,
      a: G,
      aOffset: go,
      strideA: hd,
      transA: false,
      lda: d,
      b: X,
      bOffset: xo + 2 * d,
      strideB: hd,
      transB: true,
      ldb: d3,
      m: n,
      n,
      k: hd,
    });
    K.softmaxBackward(P.subarray(po, po + heads * nn), dP, dS, heads * n, n);
    K.matmul({
      ...batch,
      a: dS,
      aOffset: 0,
      strideA: nn,
      transA: false,
      lda: n,
      b: X,
      bOffset: xo + d,
      strideB: hd,
      transB: false,
      ldb: d3,
      m: n,
      n: hd,
      k: n,
    });
    scatter(xo, scale);
    K.matmul({ ...batch, a: dS, aOffset: 0, strideA: nn, transA: true, lda: n, b: X, bOffset: xo, strideB: hd, transB: false, ldb: d3, m: n, n: hd, k: n });
    scatter(xo + d, scale);
  }
  return new Tensor(dX, [b, n, d3]);
}

export const attentionBackwardShapes = [
  // batch, tokens, D, heads
  [1, 197, 192, 3],
  [1, 197, 384, 6],
  [8, 197, 192, 3],
];

/** Print a table: shape | per backend, per-item ms / fused ms / speed-up. */
export function benchAttentionBackward(backends, time) {
  console.log('\nattention backward to dqkv [B, N, 3D], ms (median): per-item matmuls vs fused kernel');
  console.log(`| B x N, D, heads | ${backends.map((b) => `${b} per item | ${b} fused | ${b} speed-up`).join(' | ')} |`);
  console.log(`|---|${backends.map(() => '---:|---:|---:').join('|')}|`);
  for (const [b, n, d, heads] of attentionBackwardShapes) {
    const qkv = randn([b, n, 3 * d], 7);
    const g = randn([b, n, d], 8);
    const cells = [];
    for (const be of backends) {
      setBackend(be);
      const { attn } = noGrad(() => attentionForward(qkv, heads));
      const c = time(() => perItemBackward(qkv, attn, g, heads));
      const f = time(() => attentionBackward(qkv, attn, g, heads));
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
  const time = (fn) => timeIt(fn, { minRuns: 5, minMs: quick ? 150 : 600, maxMs: 20000 });
  benchAttention(backends, time);
  benchAttentionBackward(backends, time);
  disposeBackends();
}
