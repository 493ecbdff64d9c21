#!/usr/bin/env node
// Our evaluation beside the paper's DINO ViT-S/8 numbers (spec/cdam.md, last
// section), for docs/RESULTS.md: for each statistic the paper reports, the
// paper's value and ours per method, and the two rankings of the methods both
// have, so the agreement can be read off.
//   node tools/results-compare.mjs RUN_DIR [RUN_DIR...]   (each with summary.json from cdam report)
import { readFileSync } from 'node:fs';
import { join, basename } from 'node:path';

// the paper's numbers (DINO ViT-S/8, ImageNet multi-object subset), by our method names
const PAPER = {
  aMif: { cdam: 404 },
  aLif: { cdam: 1038 },
  aLifMif: { cdam: 632, 'smooth-cdam': 827, relevance: 643, attention: 393 },
  aBox: { cdam: 12.2, 'integrated-cdam': 13.0 },
  dLifMif: { cdam: 739, 'smooth-cdam': 823, 'integrated-cdam': 708, relevance: 293, attention: 0 },
  dBox: { cdam: 14.6, 'smooth-cdam': 13.4, 'integrated-cdam': 14.8, relevance: 6.6, attention: -0.2 },
  compactness: { cdam: 0.88, 'smooth-cdam': 0.75, relevance: 0.48, attention: 0.56 },
};
const NAMES = { aMif: 'A_MIF', aLif: 'A_LIF', aLifMif: 'A_LIF-MIF', aBox: 'A_box', dLifMif: 'dA_LIF-MIF', dBox: 'dA_box', compactness: 'compactness' };

const runs = process.argv.slice(2).map((d) => ({ name: basename(d), s: JSON.parse(readFileSync(join(d, 'summary.json'), 'utf8')) }));
if (runs.length === 0) {
  console.error('usage: node tools/results-compare.mjs RUN_DIR [RUN_DIR...]');
  process.exit(2);
}
const stat = (m, k) => {
  if (k === 'dLifMif' || k === 'dBox') return m.discrimination?.[k];
  if (k === 'compactness') return m.compactness;
  return m.correctness?.[k];
};
const fmt = (v, k) => (v === undefined || v === null ? '–' : k === 'compactness' || k === 'aBox' || k === 'dBox' ? v.toFixed(2) : v.toFixed(0));
const rank = (pairs) =>
  pairs
    .filter(([, v]) => v !== undefined && v !== null)
    .sort((a, b) => b[1] - a[1])
    .map(([m]) => m);

for (const [k, paper] of Object.entries(PAPER)) {
  const methods = Object.keys(paper);
  console.log(`\n#### ${NAMES[k]}\n`);
  console.log(`| method | paper (DINO ViT-S/8) | ${runs.map((r) => r.name).join(' | ')} |`);
  console.log(`|---|---:|${runs.map(() => '---:').join('|')}|`);
  const ours = runs.map((r) => Object.fromEntries(r.s.models[0].methods.map((m) => [m.method, stat(m, k)?.mean])));
  const rows = methods.flatMap((m) => (m === 'smooth-cdam' ? [m, 'smooth-cdam-robust'] : [m]));
  for (const m of rows) console.log(`| ${m} | ${fmt(paper[m], k)} | ${ours.map((o) => fmt(o[m], k)).join(' | ')} |`);
  if (methods.length >= 2) {
    console.log(`\nRanking of the paper's methods, largest first:\n- paper: ${rank(methods.map((m) => [m, paper[m]])).join(' > ')}`);
    runs.forEach((r, i) => console.log(`- ${r.name}: ${rank(methods.map((m) => [m, ours[i][m]])).join(' > ')}`));
  }
}
