#!/usr/bin/env node
// How few tokens the last block's [CLS] attends to (README, quick start):
//   node tools/attention-share.mjs [--model DIR] IMAGE...      (after npm run build)
// Per photo: the last block's [CLS] attention row (softmax over all tokens,
// [CLS] itself included), mean over heads; the share on its top 1, 4 and 10
// tokens; the effective number of tokens exp(entropy) (197 would be uniform),
// mean over heads and of the head mean; which tokens the top 4 are; and the
// high-norm artefact tokens of the last block's input (norm > 5x the median).
import { loadViTFolder, EMBEDDED_MODEL_URL } from '../build/src/vit/load.js';
import { readImageFile } from '../build/src/io/image.js';
import { prepareImage } from '../build/src/vit/preprocess.js';
import { Explainer } from '../build/src/cdam/explainer.js';
import { useFastestBackend } from '../build/src/kernels/default.js';
import { basename } from 'node:path';

useFastestBackend();
const args = process.argv.slice(2);
const m = args.indexOf('--model');
const modelDir = m >= 0 ? args.splice(m, 2)[1] : undefined;
const vit = loadViTFolder(modelDir ?? EMBEDDED_MODEL_URL);
const P = vit.config.numPrefix;
const cols = vit.config.grid[1];
const name = (k) => (k < P ? '[CLS]' : `r${Math.floor((k - P) / cols)}c${(k - P) % cols}`);
const effective = (row) => Math.exp(-row.reduce((s, p) => (p > 0 ? s + p * Math.log(p) : s), 0));
const topShare = (row, k) =>
  [...row]
    .sort((a, b) => b - a)
    .slice(0, k)
    .reduce((s, v) => s + v, 0);

console.log(`model: ${vit.config.name} (${modelDir ?? 'embedded'})`);
console.log('| photo | top-1 / top-4 / top-10 share | effective tokens (head mean; per head, mean) | top 4 tokens | high-norm tokens (norm) |');
console.log('|---|---|---|---|---|');
for (const path of args) {
  const { input } = prepareImage(readImageFile(path), vit.config.preprocess, 'squash');
  const ex = new Explainer(vit, input);
  const attn = ex['base']().parts.attn; // [1, H, rows, N], row 0 is [CLS]
  const [, H, rows, N] = attn.shape;
  const A = attn.contiguousData();
  const heads = Array.from({ length: H }, (_, h) => Array.from(A.subarray(h * rows * N, h * rows * N + N)));
  const mean = Array.from({ length: N }, (_, k) => heads.reduce((s, r) => s + r[k], 0) / H);
  const order = [...mean.keys()].sort((a, b) => mean[b] - mean[a]).slice(0, 4);
  const perHead = heads.reduce((s, r) => s + effective(r), 0) / H;
  const hn = ex.highNormTokens();
  const pct = (v) => `${(100 * v).toFixed(0)}%`;
  console.log(
    `| ${basename(path)} | ${[1, 4, 10].map((k) => pct(topShare(mean, k))).join(' / ')} | ${effective(mean).toFixed(1)}; ${perHead.toFixed(1)} | ` +
      `${order.map((k) => `${name(k)} ${pct(mean[k])}`).join(', ')} | ${hn.map((t) => `r${t.row}c${t.col} ${t.norm.toFixed(0)}`).join(', ') || 'none'} |`,
  );
}
