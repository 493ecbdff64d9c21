// The data layer of src/train: ImageFolder and table datasets (CSV quoting,
// JSON lines, errors naming file and line, the size limits), seeded splits
// and epoch orders, augmentation (deterministic for a stream, exact flip,
// identities) and batches (shape and normalised values of known pixels).
// Small PNGs are written into a temporary folder with pngjs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pngjs from 'pngjs';
import { InputError } from '../src/io/errors.js';
import type { RgbImage } from '../src/io/image.js';
import { rng } from '../src/tensor/index.js';
import type { PreprocessConfig } from '../src/vit/config.js';
import {
  readImageFolder,
  readTable,
  permutation,
  epochOrder,
  stratifiedSplit,
  augment,
  augmentFor,
  NO_AUGMENT,
  DEFAULT_AUGMENT_CLASSIFICATION,
  loadBatch,
  type Dataset,
} from '../src/train/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'cdam-train-data-'));
let serial = 0;
const fresh = (): string => {
  const d = join(tmp, `t${serial++}`);
  mkdirSync(d, { recursive: true });
  return d;
};

/** Writes a w x h PNG whose pixel (x, y) is rgb(x, y); colorType 0 writes greyscale (from R). */
function writePng(file: string, w: number, h: number, rgb: (x: number, y: number) => [number, number, number], colorType: 0 | 2 | 6 = 2): void {
  const png = new pngjs.PNG({ width: w, height: h });
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const [r, g, b] = rgb(x, y);
      png.data.set([r, g, b, 255], (y * w + x) * 4);
    }
  writeFileSync(file, pngjs.PNG.sync.write(png, { colorType }));
}
const grey = (v: number) => (): [number, number, number] => [v, v, v];

/** The InputError `f` throws; fails when it throws nothing or something else. */
function inputError(f: () => unknown): InputError {
  try {
    f();
  } catch (e) {
    assert.instance(e, InputError, `an InputError, got ${String(e)}`);
    return e as InputError;
  }
  assert.unreachable('expected an InputError');
  throw new Error('unreachable');
}

function image(w: number, h: number, f: (x: number, y: number, c: number) => number): RgbImage {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) data[(y * w + x) * 3 + c] = f(x, y, c);
  return { width: w, height: h, data };
}

// ---------------------------------------------------------------------------
// ImageFolder

test('ImageFolder: classes sorted by name, images sorted, nested and any-case extensions, hidden and other files skipped', () => {
  const d = fresh();
  for (const c of ['zebra', 'Ant', 'cat']) mkdirSync(join(d, c));
  mkdirSync(join(d, 'cat', 'more'));
  mkdirSync(join(d, '.hidden'));
  writePng(join(d, 'zebra', 'b.png'), 2, 2, grey(1));
  writePng(join(d, 'zebra', 'a.PNG'), 2, 2, grey(2));
  writePng(join(d, 'Ant', 'x.JPG.png'), 2, 2, grey(3));
  writePng(join(d, 'cat', 'more', 'deep.png'), 2, 2, grey(4));
  writePng(join(d, 'cat', 'c.png'), 2, 2, grey(5));
  writePng(join(d, 'cat', '.secret.png'), 2, 2, grey(6));
  writePng(join(d, '.hidden', 'h.png'), 2, 2, grey(7));
  writeFileSync(join(d, 'cat', 'notes.txt'), 'not an image');
  writePng(join(d, 'top.png'), 2, 2, grey(8)); // directly in the root: no class
  const ds = readImageFolder(d);
  assert.equal(ds.kind, 'classification');
  assert.equal(ds.classes, ['Ant', 'cat', 'zebra']); // code-unit order, as Python's sorted()
  assert.equal(
    ds.items.map((it) => [it.path.slice(d.length + 1), it.label]),
    [
      ['Ant/x.JPG.png', 0],
      ['cat/c.png', 1],
      ['cat/more/deep.png', 1],
      ['zebra/a.PNG', 2],
      ['zebra/b.png', 2],
    ],
  );
  assert.equal(ds.items[0]!.source, ds.items[0]!.path);
});

test('ImageFolder errors: no such folder, no class folders, an empty class, an undecodable image format', () => {
  const missing = join(tmp, 'nope');
  const e1 = inputError(() => readImageFolder(missing));
  assert.match(e1.message, `${missing}: no such folder`);
  const flat = fresh();
  writePng(join(flat, 'a.png'), 2, 2, grey(0));
  assert.match(inputError(() => readImageFolder(flat)).message, 'no class folders');
  const d = fresh();
  mkdirSync(join(d, 'dog'));
  mkdirSync(join(d, 'cat'));
  writePng(join(d, 'dog', 'a.png'), 2, 2, grey(0));
  writeFileSync(join(d, 'cat', 'readme.txt'), 'x');
  const e3 = inputError(() => readImageFolder(d));
  assert.match(e3.message, 'class folder cat has no images');
  assert.ok(e3.message.startsWith(d), e3.message);
  writeFileSync(join(d, 'cat', 'anim.gif'), 'GIF89a');
  assert.match(inputError(() => readImageFolder(d)).message, /anim\.gif: GIF images are not supported/);
});

// ---------------------------------------------------------------------------
// Tables

test('CSV: quotes, commas and line breaks inside quotes, doubled quotes, CRLF, classification with sorted string classes', () => {
  const d = fresh();
  const f = join(d, 'list.csv');
  writeFileSync(f, 'path,label,note\r\n"a,b.png",cat,"say ""hi"""\r\nsub/c.png,dog,"two\r\nlines"\r\n\r\n/abs/d.png,10,x\r\ne.png,2,y\r\n');
  const ds = readTable(f, { label: 'label' });
  assert.equal(ds.kind, 'classification');
  assert.equal(ds.root, d);
  assert.equal(ds.classes, ['10', '2', 'cat', 'dog']); // strings, code-unit order
  assert.equal(
    ds.items.map((it) => [it.path, it.label, it.source]),
    [
      [join(d, 'a,b.png'), 2, `${f}:2`],
      [join(d, 'sub/c.png'), 3, `${f}:3`],
      ['/abs/d.png', 0, `${f}:6`], // the quoted line break and the blank line count
      [join(d, 'e.png'), 1, `${f}:7`],
    ],
  );
});

test('CSV regression: targets parsed as numbers, the "image" column by default; a non-number names file:line and column', () => {
  const d = fresh();
  const f = join(d, 'r.csv');
  writeFileSync(f, 'image, x ,y\nq.png,1.5,-2e-1\nr.png, 3 ,4\n');
  const ds = readTable(f, { targets: ['x', 'y'] });
  assert.equal(ds.kind, 'regression');
  assert.equal(ds.targetNames, ['x', 'y']);
  assert.equal(
    ds.items.map((it) => it.targets),
    [
      [1.5, -0.2],
      [3, 4],
    ],
  );
  writeFileSync(f, 'image,x,y\nq.png,1,2\nr.png,abc,4\n');
  assert.is(inputError(() => readTable(f, { targets: ['x', 'y'] })).message, `${f}:3: column "x" is "abc", not a number`);
  writeFileSync(f, 'image,x,y\nq.png,1,\n');
  assert.is(inputError(() => readTable(f, { targets: ['x', 'y'] })).message, `${f}:2: column "y" is "", not a number`);
  writeFileSync(f, 'image,x\nq.png,Infinity\n');
  assert.match(inputError(() => readTable(f, { targets: ['x'] })).message, `${f}:2: column "x" is "Infinity", not a number`);
});

test('CSV errors: missing column lists the columns, wrong field count, duplicate header, empty path, empty table, bad quotes, extension', () => {
  const d = fresh();
  const f = join(d, 't.csv');
  writeFileSync(f, 'path,kind\na.png,cat\n');
  const e = inputError(() => readTable(f, { label: 'label' }));
  assert.is(e.message, `${f}:1: no column "label" (the columns are "path", "kind")`);
  assert.is(e.file, f);
  writeFileSync(f, 'path,label\na.png,cat\nb.png,dog,extra\n');
  assert.is(inputError(() => readTable(f, { label: 'label' })).message, `${f}:3: 3 fields, the header has 2 ("path", "label")`);
  writeFileSync(f, 'path,label,path\na.png,cat,b\n');
  assert.is(inputError(() => readTable(f, { label: 'label' })).message, `${f}:1: the header names column "path" twice`);
  writeFileSync(f, 'path,label\na.png,cat\n,dog\n');
  assert.match(inputError(() => readTable(f, { label: 'label' })).message, `${f}:3: column "path" must be a non-empty image path`);
  writeFileSync(f, 'path,label\na.png,\n');
  assert.match(inputError(() => readTable(f, { label: 'label' })).message, `${f}:2: column "label" must be a non-empty class label`);
  writeFileSync(f, 'path,label\n');
  assert.is(inputError(() => readTable(f, { label: 'label' })).message, `${f}: the table has no rows`);
  writeFileSync(f, '');
  assert.match(inputError(() => readTable(f, { label: 'label' })).message, 'the table is empty');
  writeFileSync(f, 'path,label\n"a.png,cat\n');
  assert.match(inputError(() => readTable(f, { label: 'label' })).message, `${f}:2: a quoted field is not closed`);
  writeFileSync(f, 'path,label\na"b.png,cat\n');
  assert.match(inputError(() => readTable(f, { label: 'label' })).message, `${f}:2: a quote inside an unquoted field`);
  writeFileSync(f, 'path,label\n"a.png"x,cat\n');
  assert.match(inputError(() => readTable(f, { label: 'label' })).message, `${f}:2: text after a closing quote`);
  const txt = join(d, 't.txt');
  writeFileSync(txt, 'path,label\n');
  assert.match(inputError(() => readTable(txt, { label: 'label' })).message, 'must be .csv or .jsonl');
  assert.throws(() => readTable(f, { label: 'a', targets: ['b'] }), /not both/);
});

test('JSON lines: classification (numbers are labels by their text), regression, errors name the line', () => {
  const d = fresh();
  const f = join(d, 'm.jsonl');
  writeFileSync(f, '{"path": "a.png", "label": 3, "x": 1}\n\n{"path": "b.png", "label": "3", "x": "2.5"}\n{"path": "c.png", "label": "bird", "x": -1}\n');
  const c = readTable(f, { label: 'label' });
  assert.equal(c.classes, ['3', 'bird']);
  assert.equal(
    c.items.map((it) => [it.label, it.source]),
    [
      [0, `${f}:1`],
      [0, `${f}:3`],
      [1, `${f}:4`],
    ],
  );
  const r = readTable(f, { targets: ['x'] });
  assert.equal(
    r.items.map((it) => it.targets),
    [[1], [2.5], [-1]],
  );
  const g = join(d, 'n.json-lines');
  writeFileSync(g, '{"image": "a.png", "x": 1}\n{"image": "b.png", "y": 2}\n');
  assert.is(inputError(() => readTable(g, { targets: ['x'] })).message, `${g}:2: no column "x" (the columns are "image", "y")`);
  writeFileSync(g, '{"image": "a.png", "x": 1}\n{"image": "b.png", "x": true}\n');
  assert.is(inputError(() => readTable(g, { targets: ['x'] })).message, `${g}:2: column "x" is true, not a number`);
  writeFileSync(g, '{"image": "a.png", "x": 1}\n[1, 2]\n');
  assert.match(inputError(() => readTable(g, { targets: ['x'] })).message, `${g}:2: expected a JSON object`);
  writeFileSync(g, '{"image": "a.png", "x": 1\n');
  assert.match(inputError(() => readTable(g, { targets: ['x'] })).message, `${g}:1: not JSON`);
});

test('table limits: a file over maxBytes and a line over maxLineChars are refused (defaults 64 MiB, 1 Mi)', () => {
  const d = fresh();
  const f = join(d, 'big.csv');
  writeFileSync(f, `path,label\n${'a.png,cat\n'.repeat(10)}`);
  assert.is(readTable(f, { label: 'label' }).items.length, 10);
  assert.match(inputError(() => readTable(f, { label: 'label', maxBytes: 100 })).message, `${f}: 111 bytes is more than the 100-byte limit`);
  writeFileSync(f, `path,label\n${'x'.repeat(50)}.png,cat\n`);
  assert.match(
    inputError(() => readTable(f, { label: 'label', maxLineChars: 40 })).message,
    `${f}:2: a line of 58 characters is longer than the 40-character limit`,
  );
});

// ---------------------------------------------------------------------------
// Splits and orders

/** A classification dataset with `counts[c]` items of class c (no files). */
function synthetic(counts: number[]): Dataset {
  const items = counts.flatMap((n, label) => Array.from({ length: n }, (_, k) => ({ path: `c${label}/${k}.png`, label, source: `t.csv:${k}` })));
  return { root: '.', items, classes: counts.map((_, c) => `c${c}`), kind: 'classification' };
}

test('stratifiedSplit: every class in validation, round(count * fraction) per class, disjoint and complete, seeded', () => {
  const ds = synthetic([10, 3, 2, 1, 25]);
  const { train, val } = stratifiedSplit(ds, 0.2, 7);
  const perClass = (ix: number[]) => ds.classes!.map((_, c) => ix.filter((i) => ds.items[i]!.label === c).length);
  assert.equal(perClass(val), [2, 1, 1, 0, 5]); // round(0.6) = 1, at least 1 of 2, a lone item stays in training
  assert.equal(perClass(train), [8, 2, 1, 1, 20]);
  assert.equal(
    [...train, ...val].sort((a, b) => a - b),
    Array.from({ length: ds.items.length }, (_, i) => i),
  );
  assert.equal(new Set([...train, ...val]).size, ds.items.length);
  assert.equal(stratifiedSplit(ds, 0.2, 7), { train, val });
  assert.not.equal(stratifiedSplit(ds, 0.2, 8).val, val);
  assert.equal(stratifiedSplit(ds, 0, 7), { train: Array.from({ length: ds.items.length }, (_, i) => i), val: [] });
  assert.throws(() => stratifiedSplit(ds, 1, 7), /\[0, 1\)/);
  assert.throws(() => stratifiedSplit(ds, -0.1, 7), /\[0, 1\)/);
  assert.throws(() => stratifiedSplit(ds, NaN, 7), /\[0, 1\)/);
});

test('stratifiedSplit on regression: a seeded random split of round(n * fraction)', () => {
  const ds: Dataset = { root: '.', items: Array.from({ length: 40 }, (_, i) => ({ path: `${i}.png`, targets: [i], source: `${i}` })), kind: 'regression' };
  const a = stratifiedSplit(ds, 0.25, 1);
  assert.is(a.val.length, 10);
  assert.is(a.train.length, 30);
  assert.equal(
    [...a.train, ...a.val].sort((x, y) => x - y),
    Array.from({ length: 40 }, (_, i) => i),
  );
  assert.equal(stratifiedSplit(ds, 0.25, 1), a);
  assert.not.equal(stratifiedSplit(ds, 0.25, 2).val, a.val);
  assert.not.equal(
    a.val,
    Array.from({ length: 10 }, (_, i) => i),
  ); // shuffled, not the first ten
});

test('permutation and epochOrder: permutations, deterministic for (seed, epoch), different across epochs and seeds', () => {
  const p = permutation(50, 3);
  assert.equal(
    [...p].sort((a, b) => a - b),
    Array.from({ length: 50 }, (_, i) => i),
  );
  assert.equal(permutation(50, 3), p);
  assert.not.equal(permutation(50, 4), p);
  assert.equal(permutation(0, 1), []);
  assert.equal(permutation(1, 1), [0]);
  const e0 = epochOrder(50, 3, 0);
  const e1 = epochOrder(50, 3, 1);
  assert.equal(
    [...e1].sort((a, b) => a - b),
    Array.from({ length: 50 }, (_, i) => i),
  );
  assert.equal(epochOrder(50, 3, 1), e1); // a resumed run at epoch 1 gets the same order
  assert.not.equal(e0, e1);
  assert.not.equal(epochOrder(50, 4, 1), e1);
  assert.throws(() => epochOrder(5, 1, -1), /epoch/);
  assert.throws(() => permutation(2.5, 1), /non-negative integer/);
});

// ---------------------------------------------------------------------------
// Augmentation

const pattern = image(16, 12, (x, y, c) => (x * 13 + y * 7 + c * 50) % 256);

test('augment: deterministic for a given stream; NO_AUGMENT changes nothing and draws nothing', () => {
  const opts = { ...DEFAULT_AUGMENT_CLASSIFICATION, rotate: 10, translate: 0.1 };
  const a = augment(pattern, opts, rng(5), [8, 8]);
  const b = augment(pattern, opts, rng(5), [8, 8]);
  assert.is(a.width, 8);
  assert.is(a.height, 8);
  assert.equal(a.data, b.data);
  const others = [6, 7, 8, 9].map((s) => augment(pattern, opts, rng(s), [8, 8]).data);
  assert.ok(
    others.some((o) => !o.every((v, i) => v === a.data[i])),
    'other streams give other images',
  );
  let draws = 0;
  const counting = () => (draws++, 0.5);
  const same = augment(pattern, NO_AUGMENT, counting, [12, 16]);
  assert.equal(same.data, pattern.data);
  assert.is(draws, 0);
  assert.equal(augmentFor('regression'), NO_AUGMENT);
  assert.equal(augmentFor('classification'), DEFAULT_AUGMENT_CLASSIFICATION);
});

test('flip mirrors left to right exactly (a draw < 0.5 flips, >= 0.5 does not)', () => {
  const f = augment(pattern, { flip: true }, () => 0.1, [12, 16]);
  for (let y = 0; y < 12; y++)
    for (let x = 0; x < 16; x++) for (let c = 0; c < 3; c++) assert.is(f.data[(y * 16 + x) * 3 + c], pattern.data[(y * 16 + 15 - x) * 3 + c]);
  assert.equal(augment(pattern, { flip: true }, () => 0.5, [12, 16]).data, pattern.data);
});

test('rotate 0 and translate 0 are the identity; translation shifts by whole pixels with fill 0; rotation by 90 degrees is exact', () => {
  assert.equal(augment(pattern, { rotate: 0, translate: 0 }, rng(1), [12, 16]).data, pattern.data);
  // translate 0.25 of width 16 = 4: a draw of 1 shifts by +4 (right), 0.5 by 0 (down)
  const seq = [1, 0.5];
  const t = augment(pattern, { translate: 0.25 }, () => seq.shift()!, [12, 16]);
  for (let y = 0; y < 12; y++)
    for (let x = 0; x < 16; x++) assert.is(t.data[(y * 16 + x) * 3], x < 4 ? 0 : pattern.data[(y * 16 + x - 4) * 3], `pixel ${x},${y}`);
  // rotate 90: a draw of 1 gives +90 degrees (counter-clockwise): the square's right column becomes its top row
  const sq = image(6, 6, (x, y, c) => (x * 40 + y * 3 + c) % 256);
  const r = augment(sq, { rotate: 90 }, () => 1, [6, 6]);
  for (let y = 0; y < 6; y++) for (let x = 0; x < 6; x++) assert.is(r.data[(y * 6 + x) * 3], sq.data[(x * 6 + (5 - y)) * 3], `pixel ${x},${y}`);
});

test('RandomResizedCrop: the crop stays inside the image, and scale [1, 1] ratio of the image is the whole image', () => {
  const whole = augment(pattern, { crop: { scale: [1, 1], ratio: [16 / 12, 16 / 12] } }, rng(2), [12, 16]);
  assert.equal(whole.data, pattern.data);
  // an impossible ratio falls back to the centre crop within the range, after 10 tries (20 draws)
  let draws = 0;
  const out = augment(pattern, { crop: { scale: [1, 1], ratio: [3, 3] } }, () => (draws++, 0.5), [4, 12]);
  assert.is(draws, 20);
  // fallback: w = 16, h = round(16 / 3) = 5, top = floor((12 - 5) / 2) = 3; resized to 12x4, a copy would show rows 3..7
  assert.is(out.width, 12);
  assert.is(out.height, 4);
});

// ---------------------------------------------------------------------------
// Batches

const CFG: PreprocessConfig = { mean: [0.5, 0.25, 0.0], std: [0.5, 0.25, 1.0], interpolation: 'bicubic', cropPct: 0.9, size: [2, 2] };

test('loadBatch: [B, 3, H, W] normalised values of a known 2x2 image, a grey PNG as RGB, labels and targets', () => {
  const d = fresh();
  const px: [number, number, number][] = [
    [0, 255, 51],
    [255, 0, 102],
    [128, 64, 0],
    [10, 20, 30],
  ];
  writePng(join(d, 'a.png'), 2, 2, (x, y) => px[y * 2 + x]!);
  writePng(join(d, 'g.png'), 2, 2, grey(51), 0);
  const f = join(d, 'r.csv');
  writeFileSync(f, 'path,u,v\na.png,1,2\ng.png,3,4\n');
  const ds = readTable(f, { targets: ['u', 'v'] });
  const b = loadBatch(ds, [0, 1, 0], CFG);
  assert.equal(b.images.shape, [3, 3, 2, 2]);
  assert.is(b.images.dtype, 'float32');
  const v = b.images.contiguousData();
  for (let i = 0; i < 4; i++)
    for (let c = 0; c < 3; c++) {
      const want = (px[i]![c]! / 255 - CFG.mean[c]!) / CFG.std[c]!;
      assert.ok(Math.abs(v[c * 4 + i]! - want) < 1e-6, `image 0 channel ${c} pixel ${i}: ${v[c * 4 + i]} vs ${want}`);
      assert.ok(Math.abs(v[24 + c * 4 + i]! - want) < 1e-6, 'image 2 is image 0 again');
      const g = (51 / 255 - CFG.mean[c]!) / CFG.std[c]!;
      assert.ok(Math.abs(v[12 + c * 4 + i]! - g) < 1e-6, `grey image channel ${c}: ${v[12 + c * 4 + i]} vs ${g}`);
    }
  assert.equal(b.targets!.shape, [3, 2]);
  assert.equal([...b.targets!.contiguousData()], [1, 2, 3, 4, 1, 2]);
  assert.is(b.labels, undefined);
  // a larger image is resized to the model size; with augmentation, the stream decides
  writePng(join(d, 'big.png'), 8, 6, (x, y) => [x * 30, y * 40, 0]);
  writeFileSync(join(d, 'c.csv'), 'path,label\nbig.png,b\na.png,a\n');
  const c = readTable(join(d, 'c.csv'), { label: 'label' });
  const cb = loadBatch(c, [0, 1], CFG, { augment: DEFAULT_AUGMENT_CLASSIFICATION, next: rng(3) });
  assert.equal(cb.images.shape, [2, 3, 2, 2]);
  assert.equal(cb.labels, [1, 0]);
  assert.equal(
    [...loadBatch(c, [0], CFG, { augment: DEFAULT_AUGMENT_CLASSIFICATION, next: rng(3) }).images.contiguousData()],
    [...cb.images.contiguousData()].slice(0, 12),
  );
  assert.throws(() => loadBatch(c, [0], CFG, { augment: DEFAULT_AUGMENT_CLASSIFICATION }), /random stream/);
  assert.throws(() => loadBatch(c, [2], CFG), /outside/);
});

test('loadBatch: a corrupt or missing image is an InputError naming its path and its row', () => {
  const d = fresh();
  writeFileSync(join(d, 'bad.png'), new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]));
  const f = join(d, 'l.csv');
  writeFileSync(f, 'path,label\nbad.png,x\nmissing.png,y\n');
  const ds = readTable(f, { label: 'label' });
  const e = inputError(() => loadBatch(ds, [0], CFG));
  assert.is(e.file, join(d, 'bad.png'));
  assert.ok(e.message.startsWith(`${f}:2: image ${join(d, 'bad.png')}: `), e.message);
  assert.match(e.message, 'corrupt PNG');
  const m = inputError(() => loadBatch(ds, [1], CFG));
  assert.ok(m.message.startsWith(`${f}:3: `), m.message);
  assert.match(m.message, 'missing.png');
  // from an ImageFolder the source is the path, named once
  const root = fresh();
  mkdirSync(join(root, 'k'));
  writeFileSync(join(root, 'k', 'bad.png'), 'not a png');
  const e2 = inputError(() => loadBatch(readImageFolder(root), [0], CFG));
  assert.ok(e2.message.startsWith(`image ${join(root, 'k', 'bad.png')}: `), e2.message);
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));
test.run();
