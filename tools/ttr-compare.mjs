#!/usr/bin/env node
// What a test-time register does to each method's statistics, for
// docs/RESULTS.md: two `cdam eval` runs of the same model (without and with
// --test-time-register), compared on the images both hold (a run may be one
// shard of the manifest). For each statistic: the mean without, the mean with,
// and the mean of the paired change (with its standard error) over the same
// records, so that the change is not confused with a change of images.
//   npm run build && node tools/ttr-compare.mjs WITHOUT_DIR WITH_DIR
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseResults, summarizeResults, meanSe } from '../build/src/eval/report.js';

const [without, withTtr] = process.argv.slice(2);
if (!without || !withTtr) {
  console.error('usage: node tools/ttr-compare.mjs WITHOUT_DIR WITH_DIR');
  process.exit(2);
}
const read = (dir) => {
  const file = join(dir, 'results.jsonl');
  return parseResults(readFileSync(file, 'utf8'), file);
};
const key = (r) => JSON.stringify([r.image, r.method, r.mapTarget, r.logitTarget]);
const a = read(without);
const b = read(withTtr);
const images = new Set(b.map((r) => r.image));
const aSame = a.filter((r) => images.has(r.image));
const aBy = new Map(aSame.map((r) => [key(r), r]));
const missing = b.filter((r) => !aBy.has(key(r)));
if (missing.length) {
  console.error(
    `${missing.length} records of ${withTtr} have no counterpart in ${without} (first: ${key(missing[0])}); the runs must share images, methods and targets`,
  );
  process.exit(1);
}
const s = summarizeResults([...aSame.map((r) => ({ ...r, model: 'without' })), ...b.map((r) => ({ ...r, model: 'with' }))]);
const [sa, sb] = ['without', 'with'].map((m) => s.models.find((x) => x.model === m));
const twoClass = sa.twoClassImages;

// paired changes: per record for the correctness statistics, per map for compactness,
// per (image, direction) for discrimination (the same grouping as the report's)
const right = b.filter((r) => r.mapTarget === r.logitTarget);
const paired = (method, f) => meanSe(right.filter((r) => r.method === method).map((r) => f(r) - f(aBy.get(key(r)))));
const pairedMaps = (method) => {
  const seen = new Map();
  for (const r of b.filter((x) => x.method === method)) {
    const k = JSON.stringify([r.image, r.mapTarget]);
    if (!seen.has(k)) seen.set(k, r.compactness - aBy.get(key(r)).compactness);
  }
  return meanSe([...seen.values()]);
};
const pairedDiscrimination = (method, field) => {
  const by = (recs) => new Map(recs.filter((r) => r.method === method).map((r) => [JSON.stringify([r.image, r.mapTarget, r.logitTarget]), r]));
  const A = by(aSame);
  const B = by(b);
  const out = [];
  for (const img of images) {
    const targets = [...new Set(b.filter((r) => r.image === img).map((r) => r.mapTarget))];
    if (targets.length < 2) continue;
    for (const c of targets) {
      for (const c2 of targets) {
        if (c === c2) continue;
        const d = (m) => {
          const own = m.get(JSON.stringify([img, c, c]));
          const other = m.get(JSON.stringify([img, c2, c]));
          return field === 'dLifMif' ? own.aLifMif - other.aLifMif : own.aBox - other.aBox;
        };
        out.push(d(B) - d(A));
      }
    }
  }
  return meanSe(out);
};

const fmt = (v, d) => (v === null || v === undefined ? '–' : v.toFixed(d));
const pm = (st, d) => (st.mean === null ? '–' : `${fmt(st.mean, d)}${st.se === null ? '' : ` ± ${fmt(st.se, d)}`}`);
const STATS = [
  ['A_MIF (lower is better)', 0, (m) => m.correctness.aMif, (meth) => paired(meth, (r) => r.aMif)],
  ['A_LIF', 0, (m) => m.correctness.aLif, (meth) => paired(meth, (r) => r.aLif)],
  ['A_LIF-MIF', 0, (m) => m.correctness.aLifMif, (meth) => paired(meth, (r) => r.aLifMif)],
  ['A_box', 2, (m) => m.correctness.aBox, (meth) => paired(meth, (r) => r.aBox)],
  ['dA_LIF-MIF', 0, (m) => m.discrimination.dLifMif, (meth) => pairedDiscrimination(meth, 'dLifMif')],
  ['dA_box', 2, (m) => m.discrimination.dBox, (meth) => pairedDiscrimination(meth, 'dBox')],
  ['compactness', 2, (m) => m.compactness, (meth) => pairedMaps(meth)],
];
console.log(
  `${sb.images} images (${twoClass} two-class), ${right.length / sb.methods.length} correctness records per method; mean ± standard error; "change" is the mean of the paired differences (with - without) over the same records.`,
);
for (const [name, d, get, change] of STATS) {
  console.log(`\n#### ${name}\n`);
  console.log('| method | without | with the register | change |');
  console.log('|---|---:|---:|---:|');
  for (const m of sa.methods) {
    const mb = sb.methods.find((x) => x.method === m.method);
    console.log(`| ${m.method} | ${pm(get(m), d)} | ${pm(get(mb), d)} | ${pm(change(m.method), d)} |`);
  }
}
