#!/usr/bin/env node
// The effect of F16 on the embedded model, for weights/README.md: on every
// photo in ../shared/images, in both preprocessing modes, the F32 original
// (../shared/weights) and the F16 copy (weights/) are compared: top-1 class,
// the largest logit difference, and the Pearson correlation of the CDAM maps
// of the F32 model's top-1 class (and of 285 and 967 on catcoffee).
// Run after `npm run build`:  node tools/measure-f16.mjs [SHARED_DIR]
import { readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadViTFolder, EMBEDDED_MODEL_URL } from '../build/src/vit/load.js';
import { readImageFile } from '../build/src/io/image.js';
import { prepareImage } from '../build/src/vit/preprocess.js';
import { Explainer } from '../build/src/cdam/explainer.js';
import { useFastestBackend } from '../build/src/kernels/default.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const shared = process.argv[2] ?? join(root, '..', 'shared');
useFastestBackend();
const f32 = loadViTFolder(join(shared, 'weights', 'vit_tiny_patch16_224.augreg_in21k_ft_in1k'));
const f16 = loadViTFolder(EMBEDDED_MODEL_URL);

function pearson(a, b) {
  const n = a.length;
  let ma = 0,
    mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i] / n;
    mb += b[i] / n;
  }
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
const argmax = (v) => v.indexOf(Math.max(...v));

let worstLogit = 0,
  worstCorr = 1,
  allSame = true,
  cases = 0;
console.log('| image | resize | top-1 F32 | top-1 F16 | max abs logit diff | CDAM corr (class) |');
console.log('|---|---|---|---|---:|---:|');
for (const file of readdirSync(join(shared, 'images'))
  .filter((f) => /\.(png|jpe?g)$/i.test(f))
  .sort()) {
  const img = readImageFile(join(shared, 'images', file));
  for (const mode of ['squash', 'crop']) {
    const [a, b] = [f32, f16].map((m) => new Explainer(m, prepareImage(img, m.config.preprocess, mode).input));
    const la = a.logits(),
      lb = b.logits();
    let d = 0;
    for (let i = 0; i < la.length; i++) d = Math.max(d, Math.abs(la[i] - lb[i]));
    const t = argmax([...la]);
    const classes = file.startsWith('catcoffee') ? [t, 285, 967].filter((c, i, s) => s.indexOf(c) === i) : [t];
    const corrs = classes.map((c) => {
      const r = pearson(a.cdam({ kind: 'class', index: c }).map.values, b.cdam({ kind: 'class', index: c }).map.values);
      worstCorr = Math.min(worstCorr, r);
      return `${r.toFixed(5)} (${c})`;
    });
    const same = t === argmax([...lb]);
    allSame &&= same;
    worstLogit = Math.max(worstLogit, d);
    cases++;
    console.log(`| ${file} | ${mode} | ${t} ${f32.label(t)} | ${argmax([...lb])} ${f16.label(argmax([...lb]))} | ${d.toFixed(4)} | ${corrs.join(', ')} |`);
  }
}
console.log(
  `\n${cases} cases: top-1 ${allSame ? 'identical in every case' : 'DIFFERS somewhere'}; largest logit difference ${worstLogit.toFixed(4)}; lowest CDAM correlation ${worstCorr.toFixed(6)}`,
);
