// tools/fashion-canvases.mjs, the seeded Fashion-MNIST canvases (training set
// and two-item ground-truth benchmark): the IDX reader on synthetic buffers
// (and a header that lies about its sizes), a synthetic item's box on a
// canvas, and on the real data (Debian's dataset-fashion-mnist; skipped
// without it, support/fashion.ts): pair boxes apart and classes different,
// two runs byte-identical, targets.csv in range, the manifest as cdam eval
// reads it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { pathToFileURL } from 'node:url';
import { PNG } from 'pngjs';
import { repoPath } from './support/fixtures.js';
import { fashionTest } from './support/fashion.js';
import { parseManifest } from '../src/eval/manifest.js';

const TOOL = repoPath('tools/fashion-canvases.mjs');
const fc: any = await import(pathToFileURL(TOOL).href);
const tmp = mkdtempSync(join(tmpdir(), 'cdam-fashion-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

function idx(magic: number, dims: number[], data: number[]): Buffer {
  const h = Buffer.alloc(4 + 4 * dims.length);
  h.writeUInt32BE(magic, 0);
  dims.forEach((d, i) => h.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([h, Buffer.from(data)]);
}

const run = (...args: string[]) => spawnSync(process.execPath, [TOOL, ...args], { encoding: 'utf8' });

/** Every file under dir, as relative path -> bytes. */
function tree(dir: string, rel = ''): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const f of readdirSync(join(dir, rel)).sort()) {
    const r = rel ? `${rel}/${f}` : f;
    if (statSync(join(dir, r)).isDirectory()) for (const [k, v] of tree(dir, r)) out.set(k, v);
    else out.set(r, readFileSync(join(dir, r)));
  }
  return out;
}

test('readIdx parses images and labels, gzipped or not', () => {
  const pixels = Array.from({ length: 2 * 3 * 4 }, (_, i) => i);
  const im = fc.readIdx(idx(0x803, [2, 3, 4], pixels), 0x803, 'x');
  assert.equal(im.dims, [2, 3, 4]);
  assert.equal([...im.data], pixels);
  const lb = fc.readIdx(gzipSync(idx(0x801, [3], [7, 0, 9])), 0x801, 'y');
  assert.equal(lb.dims, [3]);
  assert.equal([...lb.data], [7, 0, 9]);
});

test('readIdx rejects a lying header, a wrong magic and a truncated file, naming the file', () => {
  const pixels = Array.from({ length: 2 * 3 * 4 }, () => 1);
  assert.throws(() => fc.readIdx(idx(0x803, [3, 3, 4], pixels), 0x803, 'lie.idx'), /lie\.idx: the header says 3x3x4 = 36 bytes of data, the file has 24/);
  assert.throws(() => fc.readIdx(idx(0x803, [1, 3, 4], pixels), 0x803, 'long.idx'), /long\.idx: the header says 1x3x4 = 12 bytes/);
  assert.throws(() => fc.readIdx(idx(0x801, [24], pixels), 0x803, 'labels.idx'), /labels\.idx: magic 0x00000801, expected 0x00000803/);
  assert.throws(() => fc.readIdx(Buffer.from([0, 0, 8, 3, 0, 0]), 0x803, 'short.idx'), /short\.idx: .*too short/);
  assert.throws(() => fc.readIdx(Buffer.from([0x1f, 0x8b, 1, 2, 3]), 0x803, 'gz.idx'), /gz\.idx: not a readable gzip/);
});

test('loadSplit names the file whose data is bad (CLI: exit 1, no output left)', () => {
  const dir = join(tmp, 'bad-data');
  rmSync(dir, { recursive: true, force: true });
  const pics = Array.from({ length: 2 * 28 * 28 }, () => 200);
  const files = { 't10k-images-idx3-ubyte.gz': idx(0x803, [2, 28, 28], pics), 't10k-labels-idx1-ubyte.gz': idx(0x801, [2], [1, 12]) };
  spawnSync('mkdir', ['-p', dir]);
  for (const [f, b] of Object.entries(files)) writeFileSync(join(dir, f), gzipSync(b));
  assert.throws(() => fc.loadSplit('test', dir), /t10k-labels-idx1-ubyte\.gz: label 12 at item 1/);
  const r = run('single', '--split', 'test', '--out', join(tmp, 'never'), '--data', dir);
  assert.is(r.status, 1);
  assert.match(r.stderr, /t10k-labels-idx1-ubyte\.gz: label 12/);
  assert.not.ok(
    readdirSync(tmp).some((f) => f.startsWith('never')),
    'no partial output',
  );
});

test('bad arguments: the usage and exit 2', () => {
  for (const args of [
    [],
    ['both'],
    ['single', '--out', join(tmp, 'x')],
    ['single', '--split', 'valid', '--out', join(tmp, 'x')],
    ['single', '--split', 'test'],
    ['single', '--split', 'test', '--out', join(tmp, 'x'), '--scale', '1.5,0.75'],
    ['single', '--split', 'test', '--out', join(tmp, 'x'), '--size', '32', '--scale', '1,1.5'],
    ['pair', '--split', 'test', '--out', join(tmp, 'x'), '--count', 'many'],
    ['pair', '--split', 'test', '--out', join(tmp, 'x'), '--background', 'red'],
    ['pair', '--split', 'test', '--out', join(tmp, 'x'), '--colour'],
  ]) {
    const r = run(...args);
    assert.is(r.status, 2, args.join(' '));
    assert.match(r.stderr, /usage:/);
  }
});

test('a synthetic item lands inside its reported box, and the box is tight', () => {
  // a 28x28 picture: a bright rectangle (rows 5..19, columns 9..22) and a faint pixel below the threshold
  const pic = new Uint8Array(28 * 28);
  for (let y = 5; y <= 19; y++) for (let x = 9; x <= 22; x++) pic[y * 28 + x] = 180;
  pic[2 * 28 + 2] = fc.THRESHOLD;
  for (const [side, x, y] of [
    [28, 0, 0],
    [28, 36, 36],
    [21, 10, 40],
    [42, 22, 3],
  ] as const) {
    const scaled = fc.resizeBilinear(pic, 28, side);
    const { canvas, items } = fc.makeCanvas(64, new Uint8Array(64 * 64), [{ pic: scaled, side, x, y }]);
    const [x0, y0, x1, y1] = items[0].box;
    let inside = 0;
    const rows = new Set<number>();
    const cols = new Set<number>();
    for (let j = 0; j < 64; j++)
      for (let i = 0; i < 64; i++) {
        if (canvas[j * 64 + i] <= fc.THRESHOLD) continue;
        assert.ok(i >= x0 && i < x1 && j >= y0 && j < y1, `pixel (${i}, ${j}) outside [${items[0].box}]`);
        inside++;
        rows.add(j);
        cols.add(i);
      }
    assert.ok(inside > 0);
    // tight: every edge row and column of the box holds an item pixel
    for (const r of [y0, y1 - 1]) assert.ok(rows.has(r), `row ${r}`);
    for (const c of [x0, x1 - 1]) assert.ok(cols.has(c), `column ${c}`);
    if (side === 28) assert.equal(items[0].box, [x + 9, y + 5, x + 23, y + 20]);
    assert.ok(Math.abs(items[0].brightness - 180 / 255) < 0.15);
  }
  assert.throws(() => fc.makeCanvas(64, new Uint8Array(64 * 64), [{ pic, side: 28, x: 37, y: 0 }]), /not inside/);
});

fashionTest('pair: classes differ, boxes never overlap and hold their items, the manifest reads as cdam eval reads it', () => {
  const out = join(tmp, 'pair');
  const r = run('pair', '--split', 'test', '--out', out, '--count', '60', '--seed', '3', '--background', 'texture');
  assert.is(r.status, 0, r.stderr);
  const text = readFileSync(join(out, 'manifest.jsonl'), 'utf8');
  const { entries, bad } = parseManifest(text, { numClasses: 10, labels: fc.CLASSES }, (p) => join(out, p));
  assert.equal(bad, []);
  assert.is(entries.length, 60);
  for (const e of entries) {
    assert.is.not(e.targets[0], e.targets[1]);
    const [a, b] = e.boxes!;
    assert.not.ok(fc.boxesOverlap(a, b), `${e.image}: ${JSON.stringify(e.boxes)}`);
    for (const box of [a!, b!]) assert.ok(box[0] >= 0 && box[1] >= 0 && box[2] <= 64 && box[3] <= 64 && box[2] > box[0] && box[3] > box[1]);
    const png = PNG.sync.read(readFileSync(e.path));
    assert.is(png.width, 64);
    assert.is(png.height, 64);
  }
  // the generator's own stream: a canvas's item pixels are inside one of its two boxes
  const data = fc.loadSplit('test');
  for (let k = 0; k < 20; k++) {
    const c = fc.pairCanvas(data, k, { seed: 3, size: 64, scale: [0.75, 1.05], background: 'black' });
    for (let i = 0; i < 64 * 64; i++) {
      if (c.canvas[i] <= fc.THRESHOLD) continue;
      const x = i % 64;
      const y = Math.floor(i / 64);
      assert.ok(
        c.boxes.some((b: number[]) => x >= b[0]! && x < b[2]! && y >= b[1]! && y < b[3]!),
        `pair ${k}: (${x}, ${y})`,
      );
    }
  }
});

fashionTest('single: the same arguments give byte-identical files; targets.csv and boxes.jsonl in range', () => {
  const a = join(tmp, 'single');
  const args = ['single', '--split', 'train', '--out', a, '--count', '20', '--seed', '1', '--background', 'texture'];
  const r1 = run(...args);
  assert.is(r1.status, 0, r1.stderr);
  renameSync(a, `${a}-first`);
  const r2 = run(...args);
  assert.is(r2.status, 0, r2.stderr);
  const t1 = tree(`${a}-first`);
  const t2 = tree(a);
  assert.equal([...t1.keys()], [...t2.keys()]);
  for (const [k, v] of t1) assert.ok(v.equals(t2.get(k)!), `${k} differs`);
  assert.is([...t1.keys()].filter((k) => k.endsWith('.png')).length, 20);
  // a different seed moves the items
  const r3 = run('single', '--split', 'train', '--out', join(tmp, 'seed2'), '--count', '20', '--seed', '2');
  assert.is(r3.status, 0, r3.stderr);
  assert.is.not(readFileSync(join(tmp, 'seed2', 'targets.csv'), 'utf8'), t1.get('targets.csv')!.toString());
  // an existing non-empty folder is refused
  assert.is(run(...args).status, 2);

  const rows = t1.get('targets.csv')!.toString().trim().split('\n');
  assert.is(rows[0], 'path,label,scale,brightness,cx,cy');
  const boxes = t1
    .get('boxes.jsonl')!
    .toString()
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const data = fc.loadSplit('train');
  rows.slice(1).forEach((row, i) => {
    const [path, label, scale, brightness, cx, cy] = row.split(',');
    const l = Number(label);
    assert.is(l, data.labels[i]);
    assert.ok(path!.startsWith(`${fc.CLASS_FOLDERS[l]}/train-`) && t1.has(path!), path);
    assert.ok(Number(scale) >= 0.75 && Number(scale) <= 1.5, `scale ${scale}`);
    for (const v of [brightness, cx, cy]) assert.ok(Number(v) > 0 && Number(v) < 1, `${row}`);
    const b = boxes[i];
    assert.is(b.image, path);
    assert.is(b.label, l);
    const [x0, y0, x1, y1] = b.box;
    assert.ok(x0 >= 0 && y0 >= 0 && x1 <= 64 && y1 <= 64 && x1 > x0 && y1 > y0);
    assert.ok(Math.abs((x0 + x1) / 128 - Number(cx)) < 1e-6 && Math.abs((y0 + y1) / 128 - Number(cy)) < 1e-6);
    const png = PNG.sync.read(t1.get(path!)!);
    assert.is(png.width, 64);
    for (let p = 0; p < 64 * 64; p++) assert.ok(png.data[4 * p] === png.data[4 * p + 1] && png.data[4 * p] === png.data[4 * p + 2], 'grey');
  });
  const info = JSON.parse(t1.get('info.json')!.toString());
  assert.is(info.seed, 1);
  assert.is(info.command, `node tools/fashion-canvases.mjs ${args.join(' ')}`);
  assert.is(
    Object.values(info.perClass as Record<string, number>).reduce((s, n) => s + n, 0),
    20,
  );
});

test.run();
