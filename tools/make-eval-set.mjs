#!/usr/bin/env node
// The real photos of docs/RESULTS.md and their manifests, made reproducibly:
//
//   npm run build && node tools/make-eval-set.mjs --out /tmp/evalset [--shared ../shared]
//
// Photos: every one in ../shared/images, the real photos of Debian's
// python3-skimage data folder and darknet's data folder (apt-get install
// python3-skimage darknet). Two-class composites are made as catcoffee is:
// two photos squashed to half width each (Pillow-exact bicubic) side by side
// at 224x224. For each model a manifest: a photo's target is the model's
// top-1 class; a composite's targets are the top-1 classes of its two halves'
// photos, kept only when both are in the model's top 3 on the composite
// (catcoffee uses the shared fixture's classes 285 and 967 when they are).
// Also writes SOURCES.md: every file, where it came from, package versions.
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { readImageFile } from '../build/src/io/image.js';
import { encodePng } from '../build/src/io/png.js';
import { loadViTFolder } from '../build/src/vit/load.js';
import { prepareImage, resizeRgb } from '../build/src/vit/preprocess.js';
import { noGrad } from '../build/src/autograd/index.js';
import { useFastestBackend } from '../build/src/kernels/default.js';

const { values } = parseArgs({ options: { out: { type: 'string' }, shared: { type: 'string', default: '../shared' } } });
if (!values.out) {
  console.error('usage: node tools/make-eval-set.mjs --out DIR [--shared ../shared]');
  process.exit(2);
}
const out = resolve(values.out);
const shared = resolve(values.shared);
mkdirSync(out, { recursive: true });
useFastestBackend();

const SKIMAGE = '/usr/lib/python3/dist-packages/skimage/data';
const DARKNET = '/usr/share/darknet/data';
const sources = [];
const add = (file, from, licence) => {
  const name = basename(file);
  if (sources.some((s) => s.name === name)) return;
  copyFileSync(file, join(out, name));
  sources.push({ name, from, licence });
};
for (const f of readdirSync(join(shared, 'images')).sort()) {
  if (/\.(png|jpe?g)$/i.test(f)) add(join(shared, 'images', f), '../shared/images', 'see ../shared/images/README.md');
}
// skimage's real colour photos beyond the shared ones (camera.png is grey: read as RGB)
for (const f of ['motorcycle_left.png', 'camera.png'])
  add(join(SKIMAGE, f), `python3-skimage ${pkgVersion('python3-skimage')} data/`, 'CC0 / public domain (skimage data README)');
for (const f of ['giraffe.jpg', 'horses.jpg', 'kite.jpg', 'person.jpg', 'scream.jpg'])
  add(join(DARKNET, f), `darknet ${pkgVersion('darknet')} data/`, 'darknet sample data (public domain licence of darknet; photos as distributed by Debian)');

const singles = sources.map((s) => s.name).filter((n) => n !== 'catcoffee_224.png');
// every pair of photos (left | right) is a candidate composite; made on demand
const compositeName = (a, b) => `${a.replace(/\.\w+$/, '')}_${b.replace(/\.\w+$/, '')}_224.png`;
const composite = (a, b) => {
  const name = compositeName(a, b);
  if (!existsSync(join(out, name))) {
    const A = resizeRgb(readImageFile(join(out, a)), 112, 224, 'bicubic');
    const B = resizeRgb(readImageFile(join(out, b)), 112, 224, 'bicubic');
    const data = new Uint8Array(224 * 224 * 3);
    for (let y = 0; y < 224; y++) {
      data.set(A.data.subarray(y * 112 * 3, (y + 1) * 112 * 3), y * 224 * 3);
      data.set(B.data.subarray(y * 112 * 3, (y + 1) * 112 * 3), (y * 224 + 112) * 3);
    }
    writeFileSync(join(out, name), encodePng({ width: 224, height: 224, channels: 3, data }));
  }
  return name;
};
const PAIRS = singles.flatMap((a, i) => singles.slice(i + 1).map((b) => [a, b]));
const MAX_COMPOSITES = 5;
const used = new Map();

const models = ['vit_tiny_patch16_224.augreg_in21k_ft_in1k', 'deit_tiny_patch16_224.fb_in1k'];
const summary = [];
for (const m of models) {
  const vit = loadViTFolder(join(shared, 'weights', m));
  const memo = new Map();
  const top = (file, k) => {
    if (memo.has(file)) return memo.get(file).slice(0, k);
    const { input } = prepareImage(readImageFile(join(out, file)), vit.config.preprocess, 'squash');
    const l = noGrad(() => vit.forward(input).logits).contiguousData();
    memo.set(file, [...l.keys()].sort((i, j) => l[j] - l[i]).slice(0, 5));
    return memo.get(file).slice(0, k);
  };
  const lines = [];
  for (const s of singles) {
    const c = top(s, 1)[0];
    lines.push({ image: s, targets: [c] });
    summary.push(`${m}\t${s}\t${c} ${vit.label(c)}`);
  }
  // catcoffee (the shared fixture's classes), then the first pairs whose composite has, in its
  // top 3, a class from the left photo's top 5 and another from the right photo's top 5
  const two = [{ name: 'catcoffee_224.png', classes: [285, 967] }];
  for (const [a, b] of PAIRS) {
    if (two.length > MAX_COMPOSITES) break;
    const name = composite(a, b);
    const t3 = top(name, 3);
    const ca = t3.find((c) => top(a, 5).includes(c));
    const cb = t3.find((c) => c !== ca && top(b, 5).includes(c));
    if (ca !== undefined && cb !== undefined) two.push({ name, classes: [ca, cb] });
  }
  for (const { name, classes } of two) {
    const t3 = top(name, 3);
    const ok = classes.every((c) => t3.includes(c));
    summary.push(`${m}\t${name}\t${classes.map((c) => `${c} ${vit.label(c)}`).join(' | ')}\t${ok ? 'kept' : `dropped (top 3: ${t3.join(', ')})`}`);
    if (ok) {
      lines.push({ image: name, targets: classes });
      if (!used.has(name)) used.set(name, name);
    }
  }
  writeFileSync(join(out, `manifest-${m}.jsonl`), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
}
// candidates no model kept are removed
for (const [a, b] of PAIRS) {
  const name = compositeName(a, b);
  if (!used.has(name) && existsSync(join(out, name))) rmSync(join(out, name));
}
for (const name of used.keys()) {
  if (name === 'catcoffee_224.png') continue;
  const [a, b] = PAIRS.find(([x, y]) => compositeName(x, y) === name);
  sources.push({ name, from: `made here: ${a} | ${b}, each squashed to 112x224 (bicubic)`, licence: 'as its two photos' });
}
writeFileSync(
  join(out, 'SOURCES.md'),
  `# Evaluation photos\n\nMade by \`node tools/make-eval-set.mjs --out ${values.out}\`.\n\n| file | from | licence |\n|---|---|---|\n${sources.map((s) => `| ${s.name} | ${s.from} | ${s.licence} |`).join('\n')}\n\n## Targets\n\n\`\`\`\n${summary.join('\n')}\n\`\`\`\n`,
);
console.log(summary.join('\n'));
console.log(`wrote ${sources.length} images and ${models.length} manifests to ${out}`);

function pkgVersion(p) {
  try {
    return execFileSync('dpkg-query', ['-W', '-f=${Version}', p], { encoding: 'utf8' });
  } catch {
    return '(not installed)';
  }
}
if (!existsSync(join(out, 'SOURCES.md'))) process.exit(1);
