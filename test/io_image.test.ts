import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { pathToFileURL } from 'node:url';
import jpegjs from 'jpeg-js';
import { applyExifOrientation, decodeImage, jpegOrientation, readImageFile, sniffImageFormat, type RgbImage } from '../src/io/image.js';
import { encodePng } from '../src/io/png.js';
import { concat } from './support/bytes.js';
import { expectError } from './support/expect.js';
import { repoPath } from './support/fixtures.js';
import { sharedTest } from './support/shared.js';

// The sample photos ship in examples/; the other photos are in ../shared (sharedTest skips without them).
const example = (f: string): string => repoPath(`examples/${f}`);

type Rgb = [number, number, number];

const px = (img: RgbImage, x: number, y: number): Rgb => {
  const i = (y * img.width + x) * 3;
  if (!(Number.isInteger(i) && i >= 0 && i + 3 <= img.data.length)) throw new Error(`pixel (${x}, ${y}) is outside the ${img.width}x${img.height} image`);
  return [img.data[i]!, img.data[i + 1]!, img.data[i + 2]!];
};

// ---------------------------------------------------------------------------
// Hand-built PNGs (so colour types / bit depths pngjs cannot write are covered)

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8); // 256 entries
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  dv.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** PNG from raw unfiltered scanlines (each row = filter byte 0 + samples). */
function buildPng(width: number, height: number, bitDepth: number, colorType: number, rows: number[][], extra: Uint8Array[] = []): Uint8Array {
  const ihdr = new Uint8Array(13);
  const dv = new DataView(ihdr.buffer);
  dv.setUint32(0, width);
  dv.setUint32(4, height);
  ihdr[8] = bitDepth;
  ihdr[9] = colorType;
  const raw = new Uint8Array(rows.flatMap((r) => [0, ...r]));
  return concat([
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    ...extra,
    chunk('IDAT', new Uint8Array(zlib.deflateSync(raw))),
    chunk('IEND', new Uint8Array(0)),
  ]);
}

// ---------------------------------------------------------------------------
// Real images

test('chelsea.png decodes to 451x300 RGB', () => {
  const img = readImageFile(example('chelsea.png'));
  assert.is(img.width, 451);
  assert.is(img.height, 300);
  assert.is(img.data.length, 451 * 300 * 3);
  assert.instance(img.data, Uint8Array);
  let min = 255;
  let max = 0;
  for (const v of img.data) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  assert.ok(max - min > 100, 'has real contrast');
});

sharedTest('dog.jpg decodes to 768x576 RGB (also via file: URL)', ['images/dog.jpg'], (dogPath) => {
  const img = readImageFile(pathToFileURL(dogPath));
  assert.is(img.width, 768);
  assert.is(img.height, 576);
  assert.is(img.data.length, 768 * 576 * 3);
  const bytes = fs.readFileSync(dogPath);
  assert.is(sniffImageFormat(bytes), 'jpeg');
  // same result from bytes with a misleading name: format comes from the magic bytes
  const again = decodeImage(bytes, 'dog.png');
  assert.equal(again.data, img.data);
});

test('the other sample photos decode with the documented sizes', () => {
  for (const [f, w, h] of [
    ['coffee.png', 600, 400],
    ['catcoffee_224.png', 224, 224],
  ] as const) {
    const img = readImageFile(example(f));
    assert.equal([img.width, img.height, img.data.length], [w, h, w * h * 3], f);
  }
});

sharedTest('the JPEG photos in ../shared decode with the documented sizes', ['images/rocket.jpg', 'images/eagle.jpg'], (rocket, eagle) => {
  for (const [f, w, h] of [
    [rocket, 640, 427],
    [eagle, 773, 512],
  ] as const) {
    const img = readImageFile(f);
    assert.equal([img.width, img.height, img.data.length], [w, h, w * h * 3], f);
  }
});

// ---------------------------------------------------------------------------
// PNG colour types

test('greyscale 8-bit PNG decodes to RGB', () => {
  const png = buildPng(3, 2, 8, 0, [
    [0, 128, 255],
    [10, 20, 30],
  ]);
  const img = decodeImage(png, 'grey.png');
  assert.equal([img.width, img.height], [3, 2]);
  assert.equal(Array.from(img.data), [0, 0, 0, 128, 128, 128, 255, 255, 255, 10, 10, 10, 20, 20, 20, 30, 30, 30]);
});

test('greyscale 16-bit PNG is rescaled to 8 bits', () => {
  const png = buildPng(3, 1, 16, 0, [[0x00, 0x00, 0xff, 0xff, 0x80, 0x80]]);
  const img = decodeImage(png, 'grey16.png');
  assert.equal(Array.from(img.data), [0, 0, 0, 255, 255, 255, 128, 128, 128]);
});

test('RGB 16-bit and grey+alpha PNGs', () => {
  const rgb16 = buildPng(1, 1, 16, 2, [[0xff, 0xff, 0x00, 0x00, 0x80, 0x00]]);
  assert.equal(Array.from(decodeImage(rgb16, 'rgb16.png').data), [255, 0, 128]);
  const ga = buildPng(2, 1, 8, 4, [[50, 0, 200, 255]]);
  assert.equal(Array.from(decodeImage(ga, 'ga.png').data), [50, 50, 50, 200, 200, 200]);
});

test('palette PNG decodes to RGB', () => {
  const plte = chunk('PLTE', new Uint8Array([255, 0, 0, 0, 255, 0, 0, 0, 255]));
  const png = buildPng(3, 1, 8, 3, [[2, 0, 1]], [plte]);
  assert.equal(Array.from(decodeImage(png, 'pal.png').data), [0, 0, 255, 255, 0, 0, 0, 255, 0]);
});

test('RGBA PNG: alpha is dropped, RGB kept', () => {
  const w = 4;
  const h = 3;
  const rgba = new Uint8Array(w * h * 4).map((_, i) => (i * 37) % 256);
  const png = encodePng({ width: w, height: h, data: rgba, channels: 4 });
  const img = decodeImage(png, 'rgba.png');
  assert.equal([img.width, img.height], [w, h]);
  const want: number[] = [];
  for (let i = 0; i < w * h; i++) want.push(...rgba.subarray(4 * i, 4 * i + 3));
  assert.equal(Array.from(img.data), want);
  assert.is(img.transparency, 'alpha channel', 'the CLI notes that the alpha was dropped');
  assert.is(decodeImage(encodePng({ width: w, height: h, data: new Uint8Array(w * h * 3), channels: 3 }), 'rgb.png').transparency, undefined);
});

test("tRNS colour key: keyed pixels keep their stored colour, as Pillow's convert('RGB')", () => {
  // Pillow's rule: transparency is dropped, every pixel keeps the colour stored for it (pngjs blanks keyed ones to black)
  const rgb = [
    [1, 2, 3, 200, 100, 50],
    [9, 9, 9, 1, 2, 3],
  ];
  const key = chunk('tRNS', new Uint8Array([0, 1, 0, 2, 0, 3]));
  const img = decodeImage(buildPng(2, 2, 8, 2, rgb, [key]), 'key.png');
  assert.equal(Array.from(img.data), rgb.flat());
  assert.is(img.transparency, 'tRNS transparency');
  const grey = decodeImage(buildPng(3, 1, 8, 0, [[7, 100, 7]], [chunk('tRNS', new Uint8Array([0, 7]))]), 'keyg.png');
  assert.equal(Array.from(grey.data), [7, 7, 7, 100, 100, 100, 7, 7, 7]);
});

test('unnamed bytes: the errors say "image bytes", not "image image"', async () => {
  const { classifyImage } = await import('../src/api/explainImage.js');
  const { loadViTFolder } = await import('../src/vit/load.js');
  const vit = loadViTFolder(repoPath('test/fixtures/vit/timm_plain'));
  const gif = new TextEncoder().encode('GIF89a....');
  for (const bytes of [gif, gif.buffer]) {
    try {
      await classifyImage(vit, bytes);
      assert.unreachable('GIF bytes are refused');
    } catch (e) {
      assert.is((e as Error).message, 'image bytes: GIF images are not supported');
    }
  }
  expectError(() => decodeImage(encodePng({ width: 2, height: 2, data: new Uint8Array(12), channels: 3 }).subarray(0, 40)), /^image bytes: truncated PNG/);
});

test('encodePng RGB round trip is lossless; bad input rejected', () => {
  const rgb = new Uint8Array(5 * 7 * 3).map((_, i) => (i * 91 + 7) % 256);
  const png = encodePng({ width: 5, height: 7, data: rgb, channels: 3 });
  assert.instance(png, Uint8Array);
  assert.is(sniffImageFormat(png), 'png');
  const img = decodeImage(png, 'rt.png');
  assert.equal([img.width, img.height], [5, 7]);
  assert.equal(Array.from(img.data), Array.from(rgb));
  expectError(() => encodePng({ width: 5, height: 7, data: rgb, channels: 4 }), 'needs 140 bytes');
  expectError(() => encodePng({ width: 0, height: 7, data: new Uint8Array(0), channels: 3 }), 'positive integers');
});

test('zero-size PNG is rejected', () => {
  const png = buildPng(0, 2, 8, 0, [[], []]);
  expectError(() => decodeImage(png, 'empty.png'), 'empty.png', 'zero-size');
});

test('truncated or corrupt PNG -> clear error', () => {
  const png = encodePng({ width: 20, height: 20, data: new Uint8Array(1200).map((_, i) => (i * 13) % 256), channels: 3 });
  for (const cut of [20, 40, Math.floor(png.length / 2), png.length - 12, png.length - 1]) {
    expectError(() => decodeImage(png.subarray(0, cut), 'cut.png'), 'cut.png', 'truncated', 'PNG');
  }
  const bad = png.slice();
  bad[bad.length - 20]! ^= 0xff; // inside IDAT: CRC mismatch
  expectError(() => decodeImage(bad, 'crc.png'), 'crc.png', 'corrupt PNG');
  const real = fs.readFileSync(example('chelsea.png'));
  expectError(() => decodeImage(real.subarray(0, real.length >> 1), 'half-chelsea.png'), 'half-chelsea.png', 'truncated PNG');
});

// ---------------------------------------------------------------------------
// JPEG: EXIF orientation

const RED: Rgb = [255, 0, 0];
const GREEN: Rgb = [0, 255, 0];
const BLUE: Rgb = [0, 0, 255];
const WHITE: Rgb = [255, 255, 255];
const COLOURS: Array<[string, Rgb]> = [
  ['red', RED],
  ['green', GREEN],
  ['blue', BLUE],
  ['white', WHITE],
];

/** 64x32 JPEG: top-left red, top-right green, bottom-left blue, bottom-right white. */
function quadrantJpeg(): Uint8Array {
  const W = 64;
  const H = 32;
  const rgba = new Uint8Array(W * H * 4);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const c = y < H / 2 ? (x < W / 2 ? RED : GREEN) : x < W / 2 ? BLUE : WHITE;
      rgba.set([...c, 255], (y * W + x) * 4);
    }
  }
  const enc = jpegjs.encode({ width: W, height: H, data: rgba }, 95);
  return new Uint8Array(enc.data);
}

/** Nearest of the four quadrant colours, by squared distance. */
function colourAt(img: RgbImage, x: number, y: number): string {
  const p = px(img, x, y);
  let best = '';
  let bestD = Infinity;
  for (const [n, c] of COLOURS) {
    const d = (p[0] - c[0]) ** 2 + (p[1] - c[1]) ** 2 + (p[2] - c[2]) ** 2;
    if (d < bestD) {
      bestD = d;
      best = n;
    }
  }
  assert.ok(bestD < 60 ** 2, `pixel (${x},${y}) = ${p} is not close to any quadrant colour`);
  return best;
}

/** Colours at the centres of the TL, TR, BL, BR quadrants. */
function quadrants(img: RgbImage): string[] {
  const [x0, x1] = [img.width / 4, (3 * img.width) / 4];
  const [y0, y1] = [img.height / 4, (3 * img.height) / 4];
  return [colourAt(img, x0, y0), colourAt(img, x1, y0), colourAt(img, x0, y1), colourAt(img, x1, y1)];
}

/** APP1 Exif segment with IFD0 holding only the orientation tag. */
function exifSegment(orientation: number, bigEndian: boolean): Uint8Array {
  const tiff = new Uint8Array(8 + 2 + 12 + 4);
  const dv = new DataView(tiff.buffer);
  const le = !bigEndian;
  tiff[0] = tiff[1] = bigEndian ? 0x4d : 0x49;
  dv.setUint16(2, 42, le);
  dv.setUint32(4, 8, le);
  dv.setUint16(8, 1, le); // one entry
  dv.setUint16(10, 0x0112, le); // Orientation
  dv.setUint16(12, 3, le); // SHORT
  dv.setUint32(14, 1, le); // count
  dv.setUint16(18, orientation, le);
  dv.setUint32(22, 0, le); // no next IFD
  const payload = concat([new Uint8Array([0x45, 0x78, 0x69, 0x66, 0, 0]), tiff]);
  const seg = new Uint8Array(4 + payload.length);
  seg[0] = 0xff;
  seg[1] = 0xe1;
  seg[2] = (payload.length + 2) >> 8;
  seg[3] = (payload.length + 2) & 0xff;
  seg.set(payload, 4);
  return seg;
}

/** Splices an APP1 Exif segment right after SOI. */
function withExif(jpeg: Uint8Array, orientation: number, bigEndian = false): Uint8Array {
  return concat([jpeg.subarray(0, 2), exifSegment(orientation, bigEndian), jpeg.subarray(2)]);
}

test('quadrant JPEG without EXIF keeps its layout', () => {
  const img = decodeImage(quadrantJpeg(), 'q.jpg');
  assert.equal([img.width, img.height], [64, 32]);
  assert.equal(quadrants(img), ['red', 'green', 'blue', 'white']);
  const one = decodeImage(withExif(quadrantJpeg(), 1), 'q1.jpg');
  assert.equal(one.data, img.data);
});

// Pillow's Image.open does not apply EXIF orientation, so PyTorch pipelines see
// the stored layout; decodeImage does the same (numbers equal theirs), and
// jpegOrientation + applyExifOrientation give the displayed view on request.
function displayed(bytes: Uint8Array, name: string): RgbImage {
  return applyExifOrientation(decodeImage(bytes, name), jpegOrientation(bytes, name));
}

test('EXIF orientation 6 (rotate 90 CW): stored layout decoded, as Pillow; displayed view on request', () => {
  for (const be of [false, true]) {
    const bytes = withExif(quadrantJpeg(), 6, be);
    const img = decodeImage(bytes, 'q6.jpg');
    assert.equal([img.width, img.height], [64, 32], be ? 'MM' : 'II');
    assert.equal(quadrants(img), ['red', 'green', 'blue', 'white'], be ? 'MM' : 'II');
    assert.equal(jpegOrientation(bytes, 'q6.jpg'), 6);
    const view = displayed(bytes, 'q6.jpg');
    assert.equal([view.width, view.height], [32, 64], be ? 'MM' : 'II');
    assert.equal(quadrants(view), ['blue', 'red', 'white', 'green'], be ? 'MM' : 'II');
  }
});

test('EXIF orientation 3 (rotate 180): stored layout decoded; displayed view on request', () => {
  const bytes = withExif(quadrantJpeg(), 3);
  assert.equal(quadrants(decodeImage(bytes, 'q3.jpg')), ['red', 'green', 'blue', 'white']);
  const view = displayed(bytes, 'q3.jpg');
  assert.equal([view.width, view.height], [64, 32]);
  assert.equal(quadrants(view), ['white', 'blue', 'green', 'red']);
});

test('EXIF orientation 8 (rotate 90 CCW): stored layout decoded; displayed view on request', () => {
  for (const be of [false, true]) {
    const bytes = withExif(quadrantJpeg(), 8, be);
    assert.equal(quadrants(decodeImage(bytes, 'q8.jpg')), ['red', 'green', 'blue', 'white']);
    const view = displayed(bytes, 'q8.jpg');
    assert.equal([view.width, view.height], [32, 64]);
    assert.equal(quadrants(view), ['green', 'white', 'red', 'blue']);
  }
});

test('invalid EXIF orientation values and malformed EXIF are ignored', () => {
  for (const o of [0, 9, 300]) {
    const img = decodeImage(withExif(quadrantJpeg(), o), 'qx.jpg');
    assert.equal([img.width, img.height], [64, 32]);
    assert.equal(quadrants(img), ['red', 'green', 'blue', 'white']);
  }
  const j = withExif(quadrantJpeg(), 6);
  j[4 + 6] = 0x58; // break the "II" byte order mark
  assert.equal(decodeImage(j, 'broken-exif.jpg').width, 64);
});

test('applyExifOrientation: all eight orientations move corners correctly (lossless)', () => {
  // 3x2 image, pixel value encodes its stored position.
  const W = 3;
  const H = 2;
  const data = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) data.set([x, y, 100 + y * W + x], (y * W + x) * 3);
  const img = { width: W, height: H, data };
  // Where the stored top-left and top-right pixels end up (display corner names).
  const tl = ['TL', 'TR', 'BR', 'BL', 'TL', 'TR', 'BR', 'BL'];
  const tr = ['TR', 'TL', 'BL', 'BR', 'BL', 'BR', 'TR', 'TL'];
  for (let o = 1; o <= 8; o++) {
    const out = applyExifOrientation(img, o);
    const swap = o >= 5;
    assert.equal([out.width, out.height], swap ? [H, W] : [W, H], `orientation ${o}`);
    const corner = (c: string): number[] => px(out, c[1] === 'L' ? 0 : out.width - 1, c[0] === 'T' ? 0 : out.height - 1);
    // tl and tr have an entry for each of the 8 orientations
    assert.equal(corner(tl[o - 1]!), [0, 0, 100], `orientation ${o}: stored top-left`);
    assert.equal(corner(tr[o - 1]!), [W - 1, 0, 100 + W - 1], `orientation ${o}: stored top-right`);
    // every pixel appears exactly once
    const seen = new Set<number>();
    for (let i = 0; i < out.data.length; i += 3) seen.add(out.data[i + 2]!); // length is a multiple of 3
    assert.is(seen.size, W * H);
  }
  expectError(() => applyExifOrientation(img, 9), 'orientation must be 1-8');
});

// ---------------------------------------------------------------------------
// JPEG errors

test('truncated JPEG -> clear error, never a partly grey image', () => {
  const small = quadrantJpeg();
  for (const cut of [3, 30, Math.floor(small.length / 2), small.length - 10, small.length - 2, small.length - 1]) {
    expectError(() => decodeImage(small.subarray(0, cut), 'cut.jpg'), 'cut.jpg', 'truncated');
  }
});

sharedTest('a truncated real JPEG -> clear error', ['images/dog.jpg'], (dogPath) => {
  const dog = fs.readFileSync(dogPath);
  for (const frac of [0.05, 0.5, 0.9, 0.999]) {
    expectError(() => decodeImage(dog.subarray(0, Math.floor(dog.length * frac)), 'dog-cut.jpg'), 'dog-cut.jpg', 'truncated');
  }
  // only the final EOI marker missing
  expectError(() => decodeImage(dog.subarray(0, dog.length - 2), 'dog-noeoi.jpg'), 'dog-noeoi.jpg', 'truncated');
});

test('zero-size JPEG is rejected', () => {
  const j = quadrantJpeg().slice();
  // find SOF0 and set its height to 0
  let i = 2;
  while (!(j[i] === 0xff && j[i + 1] === 0xc0)) i++;
  j[i + 5] = 0;
  j[i + 6] = 0;
  expectError(() => decodeImage(j, 'zero.jpg'), 'zero.jpg', 'zero-size');
});

test('corrupt JPEG (garbage scan data) -> error naming the file', () => {
  const j = quadrantJpeg().slice();
  let sos = 2;
  while (!(j[sos] === 0xff && j[sos + 1] === 0xda)) sos++;
  // corrupt the segment length of SOS so the header overruns
  j[sos + 2] = 0xff;
  j[sos + 3] = 0xff;
  expectError(() => decodeImage(j, 'bad.jpg'), 'bad.jpg');
});

// ---------------------------------------------------------------------------
// Unknown formats

test('unknown or unsupported bytes -> error naming the file', () => {
  expectError(() => decodeImage(new TextEncoder().encode('hello world, not an image'), 'notes.png'), 'notes.png', 'unknown image format');
  expectError(() => decodeImage(new TextEncoder().encode('GIF89a......'), 'anim.gif'), 'anim.gif', 'GIF');
  expectError(() => decodeImage(new Uint8Array(0), 'empty.jpg'), 'empty.jpg', 'empty');
  expectError(() => decodeImage(new Uint8Array([0x89, 0x50, 0x4e]), 'short.png'), 'short.png', 'unknown image format');
  assert.is(sniffImageFormat(new Uint8Array([1, 2, 3])), undefined);
  expectError(() => readImageFile('/nonexistent/dir/pic.png'), '/nonexistent/dir/pic.png', 'cannot read');
});

test.run();
