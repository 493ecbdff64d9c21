#!/usr/bin/env node
// Seeded Fashion-MNIST canvases: a training set for a small ViT made from
// scratch, and a two-item benchmark whose ground-truth boxes are known
// (issue 24, parts 3 and 4). Plain Node, no build step:
//
//   node tools/fashion-canvases.mjs single --split train|test --out DIR [--size 64] [--count N]
//        [--seed S] [--scale 0.75,1.5] [--background black|texture] [--data DIR]
//   node tools/fashion-canvases.mjs pair --split test --out DIR [--size 64] [--count 500]
//        [--seed S] [--scale 0.75,1.05] [--background black|texture] [--data DIR]
//
// Data: Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist).
// An item is its 28x28 picture resized bilinearly (half-pixel centres, no
// antialiasing) to a side of round(28 s), s uniform in the --scale range,
// placed with its whole side x side square inside the canvas, and screen-
// blended onto the background (out = 255 - (255 - bg)(255 - item) / 255: on
// black the item's pixels are kept exactly). Saved as RGB PNG, R = G = B.
// An item's pixels are those of its resized picture above THRESHOLD; its box
// is their tight box in canvas pixels, [x0, y0, x1, y1] with x1, y1 exclusive
// (a one-pixel item at (x, y) is [x, y, x + 1, y + 1]), as cdam eval's
// boxes.json (docs/EVAL.md) and the manifest's x1 > x0 check read them.
//
// single: DIR/<class folder>/<split>-<index>.png (torchvision ImageFolder),
//   DIR/targets.csv, DIR/boxes.jsonl, DIR/info.json. --count N takes the
//   first N items of the split in file order (the files are already shuffled;
//   the counts per class are in info.json).
// pair: DIR/images/pair-<k>.png and DIR/manifest.jsonl, a cdam eval manifest
//   (targets are class indices, boxes in the canvas's own pixels), and
//   DIR/info.json. Two items of two different classes whose boxes do not
//   overlap.
//
// Canvas k draws from its own mulberry32 stream, seeded from (--seed, k): the
// same arguments give byte-identical files (info.json holds no date). Output
// is written to DIR.partial-<pid> and renamed to DIR at the end; an existing
// non-empty DIR is refused. Exit 2 on bad arguments, 1 on bad data.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { gunzipSync } from 'node:zlib';
import { dirname, join, resolve, basename } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { PNG } from 'pngjs';

export const DATA_DIR = '/usr/share/datasets/fashion-mnist';
export const DEBIAN_PACKAGE = 'dataset-fashion-mnist';
/** The classes in index order (Fashion-MNIST's README). */
export const CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
// ImageFolder numbers the class folders in sorted order: a one-digit index in
// front of the name ("0-t-shirt-top" ... "9-ankle-boot") makes that order the
// class-index order, so ImageFolder's labels equal Fashion-MNIST's.
export const CLASS_FOLDERS = CLASSES.map((c, i) => `${i}-${c.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`);
/** An item's pixel is its resized picture's value above this (of 255): box, brightness and centre are over these pixels. */
export const THRESHOLD = 25;
/** Texture background: smooth value noise in [0, TEXTURE_AMPLITUDE] (of 255). */
export const TEXTURE_AMPLITUDE = 40;
export const SIDE = 28;
const FILES = {
  train: { images: 'train-images-idx3-ubyte.gz', labels: 'train-labels-idx1-ubyte.gz' },
  test: { images: 't10k-images-idx3-ubyte.gz', labels: 't10k-labels-idx1-ubyte.gz' },
};

export class DataError extends Error {}
export class UsageError extends Error {}

/**
 * Parse an IDX file (gzipped or not) of unsigned bytes. `magic` is the one
 * expected (0x00000803 images, 0x00000801 labels); the sizes in the header
 * must account for the file's length exactly. `name` names the file in errors.
 */
export function readIdx(bytes, magic, name = 'IDX data') {
  let buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
    try {
      buf = gunzipSync(buf);
    } catch (e) {
      throw new DataError(`${name}: not a readable gzip file (${e.message})`);
    }
  }
  const bad = (why) => new DataError(`${name}: ${why}`);
  if (buf.length < 4) throw bad(`${buf.length} bytes, too short for an IDX header`);
  const got = buf.readUInt32BE(0);
  if (got !== magic) throw bad(`magic 0x${got.toString(16).padStart(8, '0')}, expected 0x${magic.toString(16).padStart(8, '0')}`);
  const ndims = magic & 0xff;
  const header = 4 + 4 * ndims;
  if (buf.length < header) throw bad(`${buf.length} bytes, too short for a ${ndims}-dimension IDX header`);
  const dims = [];
  for (let d = 0; d < ndims; d++) dims.push(buf.readUInt32BE(4 + 4 * d));
  const n = dims.reduce((a, b) => a * b, 1);
  if (buf.length - header !== n)
    throw bad(`the header says ${dims.join('x')} = ${n} bytes of data, the file has ${buf.length - header} (${buf.length} bytes in all)`);
  return { dims, data: new Uint8Array(buf.buffer, buf.byteOffset + header, n) };
}

/** One split's items: `images` n x 784, `labels` n. Checked: 28x28 pictures, as many labels as pictures, labels 0..9. */
export function loadSplit(split, dataDir = DATA_DIR) {
  const f = FILES[split];
  const read = (file) => {
    const p = join(dataDir, file);
    try {
      return readFileSync(p);
    } catch (e) {
      throw new DataError(`${p}: cannot be read (${e.code ?? e.message}; apt-get install ${DEBIAN_PACKAGE}, or --data DIR)`);
    }
  };
  const ip = join(dataDir, f.images);
  const lp = join(dataDir, f.labels);
  const images = readIdx(read(f.images), 0x00000803, ip);
  const labels = readIdx(read(f.labels), 0x00000801, lp);
  if (images.dims[1] !== SIDE || images.dims[2] !== SIDE)
    throw new DataError(`${ip}: pictures of ${images.dims[1]}x${images.dims[2]}, expected ${SIDE}x${SIDE}`);
  if (labels.dims[0] !== images.dims[0]) throw new DataError(`${lp}: ${labels.dims[0]} labels for the ${images.dims[0]} pictures of ${ip}`);
  const i = labels.data.findIndex((l) => l >= CLASSES.length);
  if (i >= 0) throw new DataError(`${lp}: label ${labels.data[i]} at item ${i}, expected 0..${CLASSES.length - 1}`);
  return { count: images.dims[0], images: images.data, labels: labels.data, paths: { images: ip, labels: lp } };
}

/** mulberry32 (as src/eval/metrics.ts): floats in [0, 1). */
export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The stream of canvas k of a run seeded `seed` (a 32-bit hash of both). */
export function canvasRng(seed, k) {
  let h = Math.imul((seed >>> 0) ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(k + 1, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return mulberry32((h ^ (h >>> 16)) >>> 0);
}

/** Bilinear resize of a square grey picture (half-pixel centres, edges clamped, rounded to bytes). */
export function resizeBilinear(src, from, to) {
  const out = new Uint8Array(to * to);
  const r = from / to;
  const taps = (o) => {
    const s = Math.min(Math.max((o + 0.5) * r - 0.5, 0), from - 1);
    const i0 = Math.floor(s);
    return [i0, Math.min(i0 + 1, from - 1), s - i0];
  };
  const t = Array.from({ length: to }, (_, o) => taps(o));
  for (let y = 0; y < to; y++) {
    const [y0, y1, fy] = t[y];
    for (let x = 0; x < to; x++) {
      const [x0, x1, fx] = t[x];
      const top = src[y0 * from + x0] * (1 - fx) + src[y0 * from + x1] * fx;
      const bot = src[y1 * from + x0] * (1 - fx) + src[y1 * from + x1] * fx;
      out[y * to + x] = Math.round(top * (1 - fy) + bot * fy);
    }
  }
  return out;
}

/** The tight box [x0, y0, x1, y1] (exclusive ends) of a picture's pixels above THRESHOLD and their mean in [0, 1], or null when there are none. */
export function itemPixels(pic, side) {
  let x0 = side,
    y0 = side,
    x1 = 0,
    y1 = 0,
    sum = 0,
    n = 0;
  for (let y = 0; y < side; y++)
    for (let x = 0; x < side; x++) {
      const v = pic[y * side + x];
      if (v <= THRESHOLD) continue;
      x0 = Math.min(x0, x);
      y0 = Math.min(y0, y);
      x1 = Math.max(x1, x + 1);
      y1 = Math.max(y1, y + 1);
      sum += v;
      n++;
    }
  return n === 0 ? null : { box: [x0, y0, x1, y1], brightness: sum / n / 255, pixels: n };
}

/** A size x size background: black, or smooth value noise (two octaves, cells of 16 and 8 pixels) in [0, TEXTURE_AMPLITUDE]. */
export function makeBackground(size, kind, rng) {
  const bg = new Uint8Array(size * size);
  if (kind === 'black') return bg;
  const acc = new Float64Array(size * size);
  for (const [cell, weight] of [
    [16, 0.6],
    [8, 0.4],
  ]) {
    const g = Math.ceil(size / cell) + 1;
    const nodes = Float64Array.from({ length: g * g }, () => rng());
    const smooth = (t) => t * t * (3 - 2 * t);
    for (let y = 0; y < size; y++) {
      const gy = Math.floor(y / cell);
      const fy = smooth((y % cell) / cell);
      for (let x = 0; x < size; x++) {
        const gx = Math.floor(x / cell);
        const fx = smooth((x % cell) / cell);
        const a = nodes[gy * g + gx] * (1 - fx) + nodes[gy * g + gx + 1] * fx;
        const b = nodes[(gy + 1) * g + gx] * (1 - fx) + nodes[(gy + 1) * g + gx + 1] * fx;
        acc[y * size + x] += weight * (a * (1 - fy) + b * fy);
      }
    }
  }
  for (let i = 0; i < bg.length; i++) bg[i] = Math.round(TEXTURE_AMPLITUDE * acc[i]);
  return bg;
}

/**
 * Composite items onto a background (screen blend). Each item is
 * {pic, side, x, y}: its side x side picture with its top-left corner at
 * (x, y), wholly inside the canvas. Returns the canvas and, per item, its box
 * in canvas pixels (exclusive ends) and brightness; throws when an item has no
 * pixel above THRESHOLD.
 */
export function makeCanvas(size, background, items) {
  const canvas = Uint8Array.from(background);
  const placed = items.map(({ pic, side, x, y }) => {
    if (x < 0 || y < 0 || x + side > size || y + side > size) throw new Error(`an item of side ${side} at (${x}, ${y}) is not inside a ${size}x${size} canvas`);
    for (let j = 0; j < side; j++)
      for (let i = 0; i < side; i++) {
        const v = pic[j * side + i];
        const o = (y + j) * size + x + i;
        canvas[o] = 255 - Math.round(((255 - canvas[o]) * (255 - v)) / 255);
      }
    const p = itemPixels(pic, side);
    if (!p) throw new DataError(`an item has no pixel above ${THRESHOLD} at side ${side}`);
    const [x0, y0, x1, y1] = p.box;
    return { box: [x0 + x, y0 + y, x1 + x, y1 + y], brightness: p.brightness };
  });
  return { canvas, items: placed };
}

/** Draw an item's scale and side from the stream: s uniform in [lo, hi], side round(28 s). */
export function drawScale(rng, [lo, hi]) {
  const s = lo + (hi - lo) * rng();
  return { s, side: Math.round(SIDE * s) };
}

/** A top-left corner uniform over the positions that keep a side x side square inside the canvas. */
export function drawPosition(rng, size, side) {
  return { x: Math.floor(rng() * (size - side + 1)), y: Math.floor(rng() * (size - side + 1)) };
}

export function boxesOverlap(a, b) {
  return a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3];
}

/** A grey canvas as RGB PNG bytes (R = G = B). */
export function encodeGreyPng(canvas, size) {
  const rgb = Buffer.alloc(size * size * 3);
  for (let i = 0; i < canvas.length; i++) rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = canvas[i];
  return PNG.sync.write({ width: size, height: size, data: rgb }, { colorType: 2, inputColorType: 2, inputHasAlpha: false, deflateLevel: 6 });
}

const item = (data, i) => data.images.subarray(i * SIDE * SIDE, (i + 1) * SIDE * SIDE);

/** Canvas k of a single run: item `index` of the split, scaled and placed from canvas k's stream (scale, x, y, then the texture). */
export function singleCanvas(data, index, k, opts) {
  const rng = canvasRng(opts.seed, k);
  const { s, side } = drawScale(rng, opts.scale);
  const { x, y } = drawPosition(rng, opts.size, side);
  const bg = makeBackground(opts.size, opts.background, rng);
  const pic = resizeBilinear(item(data, index), SIDE, side);
  try {
    const r = makeCanvas(opts.size, bg, [{ pic, side, x, y }]);
    return { canvas: r.canvas, label: data.labels[index], s, ...r.items[0] };
  } catch (e) {
    if (e instanceof DataError) throw new DataError(`${data.paths.images}: item ${index} ${e.message.replace(/^an item /, '')}`);
    throw e;
  }
}

export const PAIR_TRIES = 1000;

/**
 * Canvas k of a pair run, from canvas k's stream: item a uniform over the
 * split, item b uniform until its class differs; scales of a then b; a's
 * position then b's, both redrawn until the two boxes do not overlap
 * (PAIR_TRIES tries, then an error); then the texture.
 */
export function pairCanvas(data, k, opts) {
  const rng = canvasRng(opts.seed, k);
  const a = Math.floor(rng() * data.count);
  let b = Math.floor(rng() * data.count);
  for (let t = 0; data.labels[b] === data.labels[a]; t++) {
    if (t > 100000) throw new DataError(`${data.paths.labels}: no item of a class other than ${data.labels[a]}`);
    b = Math.floor(rng() * data.count);
  }
  const sa = drawScale(rng, opts.scale);
  const sb = drawScale(rng, opts.scale);
  const pa = resizeBilinear(item(data, a), SIDE, sa.side);
  const pb = resizeBilinear(item(data, b), SIDE, sb.side);
  const ia = itemPixels(pa, sa.side);
  const ib = itemPixels(pb, sb.side);
  if (!ia || !ib) throw new DataError(`${data.paths.images}: item ${ia ? b : a} has no pixel above ${THRESHOLD} when resized`);
  const shift = (box, at) => [box[0] + at.x, box[1] + at.y, box[2] + at.x, box[3] + at.y];
  let at, bt;
  for (let t = 0; ; t++) {
    if (t === PAIR_TRIES)
      throw new Error(
        `pair ${k}: no positions of items ${a} and ${b} (sides ${sa.side}, ${sb.side}) keep their boxes apart in ${PAIR_TRIES} tries: use a larger --size or a smaller --scale`,
      );
    at = drawPosition(rng, opts.size, sa.side);
    bt = drawPosition(rng, opts.size, sb.side);
    if (!boxesOverlap(shift(ia.box, at), shift(ib.box, bt))) break;
  }
  const bg = makeBackground(opts.size, opts.background, rng);
  const r = makeCanvas(opts.size, bg, [
    { pic: pa, side: sa.side, ...at },
    { pic: pb, side: sb.side, ...bt },
  ]);
  return { canvas: r.canvas, indices: [a, b], labels: [data.labels[a], data.labels[b]], scales: [sa.s, sb.s], boxes: r.items.map((i) => i.box) };
}

export const USAGE = `usage:
  node tools/fashion-canvases.mjs single --split train|test --out DIR [--size 64] [--count N]
       [--seed S] [--scale 0.75,1.5] [--background black|texture] [--data DIR]
  node tools/fashion-canvases.mjs pair --split train|test --out DIR [--size 64] [--count 500]
       [--seed S] [--scale 0.75,1.05] [--background black|texture] [--data DIR]
  --count N   single: the first N items of the split (default all); pair: N canvases
  --seed S    integer in [0, 2^32) (default 0)
  --data DIR  the IDX files (default ${DATA_DIR}, Debian's ${DEBIAN_PACKAGE})`;

/** Parse the command line (throws UsageError). */
export function parseCommand(argv) {
  const [mode, ...rest] = argv;
  if (mode !== 'single' && mode !== 'pair') throw new UsageError(mode ? `unknown mode "${mode}" (single or pair)` : 'a mode is needed (single or pair)');
  let values;
  try {
    ({ values } = parseArgs({
      args: rest,
      strict: true,
      options: {
        split: { type: 'string' },
        out: { type: 'string' },
        size: { type: 'string', default: '64' },
        count: { type: 'string' },
        seed: { type: 'string', default: '0' },
        scale: { type: 'string', default: mode === 'single' ? '0.75,1.5' : '0.75,1.05' },
        background: { type: 'string', default: 'black' },
        data: { type: 'string', default: DATA_DIR },
      },
    }));
  } catch (e) {
    throw new UsageError(e.message);
  }
  if (values.split !== 'train' && values.split !== 'test') throw new UsageError('--split must be train or test');
  if (!values.out) throw new UsageError('--out DIR is needed');
  const int = (name, v, lo, hi) => {
    if (!/^\d+$/.test(v) || Number(v) < lo || Number(v) > hi) throw new UsageError(`--${name} must be an integer in [${lo}, ${hi}], got "${v}"`);
    return Number(v);
  };
  const size = int('size', values.size, 8, 4096);
  const seed = int('seed', values.seed, 0, 2 ** 32 - 1);
  const count = values.count === undefined ? (mode === 'pair' ? 500 : undefined) : int('count', values.count, 1, 1e7);
  const parts = values.scale.split(',').map((v) => (/^\d*\.?\d+$/.test(v.trim()) ? Number(v) : NaN));
  if (parts.length !== 2 || !parts.every((v) => v > 0) || !(parts[1] >= parts[0]))
    throw new UsageError(`--scale must be LO,HI with 0 < LO <= HI, got "${values.scale}"`);
  if (Math.round(SIDE * parts[0]) < 1) throw new UsageError(`--scale ${values.scale}: the smallest item would have no pixel`);
  if (Math.round(SIDE * parts[1]) > size)
    throw new UsageError(`--scale ${values.scale}: an item of side ${Math.round(SIDE * parts[1])} does not fit a ${size}x${size} canvas`);
  if (values.background !== 'black' && values.background !== 'texture') throw new UsageError('--background must be black or texture');
  return { mode, split: values.split, out: values.out, size, seed, count, scale: parts, background: values.background, data: values.data };
}

function pkgVersion(p) {
  try {
    return execFileSync('dpkg-query', ['-W', '-f=${Version}', p], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }) || null;
  } catch {
    return null;
  }
}

const progress = (done, total, what) => {
  if (done % 5000 === 0 || done === total) process.stderr.write(`fashion-canvases: ${done}/${total} ${what}\n`);
};

/** Write one run into `dir` (which exists and is empty). Returns what info.json says. */
export function writeRun(opts, dir, argv) {
  const data = loadSplit(opts.split, opts.data);
  const perClass = Object.fromEntries(CLASSES.map((c) => [c, 0]));
  const info = {
    command: ['node', 'tools/fashion-canvases.mjs', ...argv].join(' '),
    mode: opts.mode,
    split: opts.split,
    seed: opts.seed,
    size: opts.size,
    scale: opts.scale,
    background: opts.background,
    threshold: THRESHOLD,
    textureAmplitude: opts.background === 'texture' ? TEXTURE_AMPLITUDE : undefined,
    source: { images: data.paths.images, labels: data.paths.labels, debianPackage: DEBIAN_PACKAGE, version: pkgVersion(DEBIAN_PACKAGE) },
    boxes: '[x0, y0, x1, y1] in canvas pixels, x1 and y1 exclusive: the tight box of the item pixels above threshold',
    classes: CLASSES,
  };
  if (opts.mode === 'single') {
    const n = opts.count ?? data.count;
    if (n > data.count) throw new UsageError(`--count ${n}: the ${opts.split} split has ${data.count} items`);
    for (const f of CLASS_FOLDERS) mkdirSync(join(dir, f));
    const csv = ['path,label,scale,brightness,cx,cy'];
    const boxes = [];
    const width = String(data.count - 1).length;
    for (let i = 0; i < n; i++) {
      const c = singleCanvas(data, i, i, opts);
      const path = `${CLASS_FOLDERS[c.label]}/${opts.split}-${String(i).padStart(width, '0')}.png`;
      writeFileSync(join(dir, path), encodeGreyPng(c.canvas, opts.size));
      const [x0, y0, x1, y1] = c.box;
      const cx = (x0 + x1) / 2 / opts.size;
      const cy = (y0 + y1) / 2 / opts.size;
      csv.push(`${path},${c.label},${c.s.toFixed(6)},${c.brightness.toFixed(6)},${cx.toFixed(6)},${cy.toFixed(6)}`);
      boxes.push(JSON.stringify({ image: path, label: c.label, box: c.box }));
      perClass[CLASSES[c.label]]++;
      progress(i + 1, n, 'images');
    }
    writeFileSync(join(dir, 'targets.csv'), csv.join('\n') + '\n');
    writeFileSync(join(dir, 'boxes.jsonl'), boxes.join('\n') + '\n');
    Object.assign(info, {
      items: `the first ${n} items of the split, in file order`,
      count: n,
      perClass,
      files: '<class folder>/<split>-<index>.png (ImageFolder), targets.csv, boxes.jsonl',
      classFolders: CLASS_FOLDERS,
      targets:
        'targets.csv: path, label, scale (s; side round(28 s)), brightness (mean of the item pixels above threshold, in [0, 1]), cx, cy (the box centre, in [0, 1] of the canvas)',
    });
  } else {
    const n = opts.count;
    mkdirSync(join(dir, 'images'));
    const lines = [];
    const items = [];
    for (let k = 0; k < n; k++) {
      const c = pairCanvas(data, k, opts);
      const image = `images/pair-${String(k).padStart(String(n - 1).length, '0')}.png`;
      writeFileSync(join(dir, image), encodeGreyPng(c.canvas, opts.size));
      lines.push(JSON.stringify({ image, targets: c.labels, boxes: c.boxes }));
      items.push({ image, items: c.indices, scales: c.scales.map((s) => Number(s.toFixed(6))) });
      for (const l of c.labels) perClass[CLASSES[l]]++;
      progress(k + 1, n, 'pairs');
    }
    writeFileSync(join(dir, 'manifest.jsonl'), lines.join('\n') + '\n');
    Object.assign(info, {
      count: n,
      perClass,
      files: 'images/pair-<k>.png, manifest.jsonl (cdam eval: targets are class indices, boxes one per target in the same order)',
      pairs: items,
    });
  }
  writeFileSync(join(dir, 'info.json'), JSON.stringify(info, null, 2) + '\n');
  return info;
}

/** The CLI: returns the exit code. */
export function main(argv) {
  let opts;
  try {
    opts = parseCommand(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`fashion-canvases: ${e.message}\n${USAGE}\n`);
    return 2;
  }
  const out = resolve(opts.out);
  if (existsSync(out) && readdirSync(out).length > 0) {
    process.stderr.write(`fashion-canvases: ${out} exists and is not empty; refusing to write into it\n`);
    return 2;
  }
  if (!existsSync(dirname(out))) {
    process.stderr.write(`fashion-canvases: the folder ${dirname(out)} of --out does not exist\n`);
    return 2;
  }
  const partial = join(dirname(out), `${basename(out)}.partial-${process.pid}`);
  mkdirSync(partial);
  try {
    const info = writeRun(opts, partial, argv);
    if (existsSync(out)) rmdirSync(out);
    renameSync(partial, out);
    process.stderr.write(`fashion-canvases: wrote ${info.count} ${opts.mode === 'single' ? 'images' : 'pairs'} to ${out}\n`);
    return 0;
  } catch (e) {
    rmSync(partial, { recursive: true, force: true });
    if (e instanceof UsageError) {
      process.stderr.write(`fashion-canvases: ${e.message}\n${USAGE}\n`);
      return 2;
    }
    process.stderr.write(`fashion-canvases: ${e.message}\n`);
    return 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) process.exitCode = main(process.argv.slice(2));
