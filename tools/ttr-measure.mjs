#!/usr/bin/env node
// What a test-time register does to a model, per photo (docs/TTR.md):
//   node tools/ttr-measure.mjs [--model DIR] [--registers FILE] [--resize squash|crop] IMAGE...
// (after npm run build). For each photo, without -> with the register:
//  - L2 norms of the four corner patch tokens at the last block's input, the
//    median and largest patch-token norm, the register token's norm;
//  - the range max(X) - min(X) of the last block's input (Smooth CDAM's noise
//    scale: sigma = nu times it), over all tokens, the register included;
//  - the top-1 class and its logit, and the logit of the photo's original top-1;
//  - CDAM of the original top-1: the share of sum |S| on the four corners, and
//    Pearson r with the map without the register over the other 192 cells;
//  - attention (last block, [CLS] row, mean over heads): the share on the
//    corners, and the share on the register.
// Prints one markdown table row per photo and a summary line.
import { loadViTFolder, EMBEDDED_MODEL_URL } from '../build/src/vit/load.js';
import { readImageFile } from '../build/src/io/image.js';
import { prepareImage } from '../build/src/vit/preprocess.js';
import { readTestTimeRegisters, applyTestTimeRegisters, tokenNorms } from '../build/src/vit/registers.js';
import { Explainer } from '../build/src/cdam/explainer.js';
import { topClasses } from '../build/src/vit/classes.js';
import { useFastestBackend } from '../build/src/kernels/default.js';
import { basename, join } from 'node:path';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

useFastestBackend();
const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
};
const modelDir = opt('--model');
let regFile = opt('--registers');
const resize = opt('--resize') ?? 'squash';
const images = args;
const vit = loadViTFolder(modelDir ?? EMBEDDED_MODEL_URL);
if (!regFile) {
  const dir = modelDir ?? fileURLToPath(EMBEDDED_MODEL_URL);
  const beside = join(dir, 'test_time_registers.json');
  regFile = existsSync(beside) ? beside : fileURLToPath(new URL(`../weights/test-time-registers/${basename(dir)}.json`, import.meta.url));
}
const reg = readTestTimeRegisters(regFile, vit);
const ttr = applyTestTimeRegisters(vit, reg);
const P = vit.config.numPrefix;
const [gh, gw] = vit.config.grid;
const corners = [0, gw - 1, (gh - 1) * gw, gh * gw - 1]; // patch indices

const f = (v, d = 0) => v.toFixed(d);
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
function pearson(a, b) {
  const n = a.length;
  const ma = a.reduce((s, v) => s + v, 0) / n;
  const mb = b.reduce((s, v) => s + v, 0) / n;
  let sab = 0,
    saa = 0,
    sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) ** 2;
    sbb += (b[i] - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}
function range(x) {
  const X = x.contiguousData();
  let lo = Infinity,
    hi = -Infinity;
  for (const v of X) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return hi - lo;
}
function study(model, prefix, input, target) {
  const ex = new Explainer(model, input);
  const norms = Array.from(tokenNorms(ex.x));
  const patch = norms.slice(prefix);
  const logits = ex.logits();
  const top = topClasses(logits, (i) => vit.label(i), 5);
  const cdam = Array.from(ex.cdam({ kind: 'class', index: target ?? top[0].index }).map.values);
  const abs = cdam.reduce((s, v) => s + Math.abs(v), 0);
  const attnAll = ex['base']().parts.attn; // [1, H, rows, N]
  const [, H, rows, N] = attnAll.shape;
  const A = attnAll.contiguousData();
  const mean = new Float64Array(N);
  for (let h = 0; h < H; h++) for (let k = 0; k < N; k++) mean[k] += A[h * rows * N + k] / H;
  return {
    norms: patch,
    register: prefix > P ? norms[P] : null,
    range: range(ex.x),
    robust: ex.robustRange(),
    top,
    logits,
    cdam,
    cornerCdam: corners.reduce((s, c) => s + Math.abs(cdam[c]), 0) / abs,
    cornerAttn: corners.reduce((s, c) => s + mean[prefix + c], 0),
    regAttn: prefix > P ? mean[P] : null,
    highNorm: ex.highNormTokens().length,
  };
}

console.log(
  `model: ${vit.config.name} (${modelDir ?? 'embedded'}); register neurons: ${regFile} (${reg.neurons.length}: ${reg.neurons.map((n) => `${n.layer}:${n.neuron}`).join(' ')}); resize ${resize}`,
);
console.log('');
console.log(
  '| photo | corner norms | median / max patch norm | register norm | range of X | top-1 (logit) | orig. top-1 logit | CDAM on corners | r (other cells) | attention on corners | on register |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
let kept = 0;
const dLogit = [];
for (const path of images) {
  const { input } = prepareImage(readImageFile(path), vit.config.preprocess, resize);
  const a = study(vit, P, input);
  const t0 = a.top[0];
  const b = study(ttr, P + 1, input, t0.index);
  const t1 = b.top[0];
  if (t1.index === t0.index) kept++;
  dLogit.push(b.logits[t0.index] - t0.logit);
  const others = [...Array(a.cdam.length).keys()].filter((i) => !corners.includes(i));
  const r = pearson(
    others.map((i) => a.cdam[i]),
    others.map((i) => b.cdam[i]),
  );
  const cn = (s) => corners.map((c) => f(s.norms[c])).join(', ');
  console.log(
    `| ${basename(path)} | ${cn(a)} -> ${cn(b)} | ${f(median(a.norms))} / ${f(Math.max(...a.norms))} -> ${f(median(b.norms))} / ${f(Math.max(...b.norms))} | ${f(b.register)} | ` +
      `${f(a.range, 1)} -> ${f(b.range, 1)} | ${t0.index} ${t0.label} (${f(t0.logit, 2)}) -> ${t1.index} ${t1.label} (${f(t1.logit, 2)}) | ${f(t0.logit, 2)} -> ${f(b.logits[t0.index], 2)} | ` +
      `${f(100 * a.cornerCdam)}% -> ${f(100 * b.cornerCdam)}% | ${f(r, 2)} | ${f(100 * a.cornerAttn)}% -> ${f(100 * b.cornerAttn)}% | ${f(100 * b.regAttn)}% |`,
  );
}
const meanAbs = dLogit.reduce((s, v) => s + Math.abs(v), 0) / dLogit.length;
console.log('');
console.log(
  `top-1 kept on ${kept} of ${images.length}; mean |change| of the original top-1 logit ${meanAbs.toFixed(2)} (changes: ${dLogit.map((v) => v.toFixed(2)).join(', ')})`,
);
