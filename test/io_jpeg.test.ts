// JPEG decoding equals Pillow's (Image.open(f).convert('RGB')) bit for bit:
// on Pillow-written fixtures covering every subsampling, progressive, grayscale,
// restart markers, CMYK and an EXIF-rotated file (tools/make_jpeg_fixtures.py),
// and on the shared photos through the sha256 of Pillow's RGB bytes. Also the
// decoder's error paths: a corrupt file names itself and leaves the decoder
// working; unsupported precision and broken progressive scans are refused.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { decodeImage, jpegOrientation, readImageFile, applyExifOrientation } from '../src/io/image.js';
import { expectError } from './support/expect.js';
import { loadJson, repoPath } from './support/fixtures.js';
import { sharedTest } from './support/shared.js';

interface Expected {
  files: Record<string, { width: number; height: number; mode: string; progressive: boolean; orientation: number; sha256: string }>;
  shared: Record<string, { width: number; height: number; sha256: string }>;
}
const fx = loadJson<Expected>('test/fixtures/jpeg/expected.json');
const fixture = (f: string): string => repoPath(`test/fixtures/jpeg/${f}`);
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** How two RGB buffers differ: count of differing values and the largest difference. */
function difference(a: Uint8Array, b: Uint8Array): { count: number; max: number } {
  let count = 0;
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (d) count++;
    max = Math.max(max, d);
  }
  return { count, max };
}

test('the fixture set covers what it says', () => {
  const names = Object.keys(fx.files);
  for (const kind of ['s420', 's422', 's444', 'progressive', 'gray', 'restart', 'cmyk', 'exif6', '1x1', 'corrupt_scan']) {
    assert.ok(
      names.some((n) => n.includes(kind)),
      `no ${kind} fixture`,
    );
  }
  assert.ok(Object.values(fx.files).some((f) => f.mode === 'CMYK'));
  assert.ok(Object.values(fx.files).some((f) => f.mode === 'L' && f.progressive));
  assert.ok(Object.values(fx.files).some((f) => f.orientation === 6));
  for (const n of names.filter((n) => n.startsWith('restart'))) {
    assert.ok(readFileSync(fixture(`${n}.jpg`)).includes(Buffer.from([0xff, 0xdd])), `${n} has no DRI marker`);
  }
});

for (const [name, want] of Object.entries(fx.files)) {
  test(`${name} (${want.mode}${want.progressive ? ', progressive' : ''}): pixels equal Pillow's`, () => {
    const img = readImageFile(fixture(`${name}.jpg`));
    const pillow = new Uint8Array(readFileSync(fixture(`${name}.rgb`)));
    assert.is(sha256(pillow), want.sha256, 'fixture .rgb file matches expected.json');
    assert.equal([img.width, img.height], [want.width, want.height]);
    const d = difference(img.data, pillow);
    assert.ok(d.count === 0, `${d.count} of ${pillow.length} values differ from Pillow's, by up to ${d.max}`);
  });
}

test('EXIF orientation 6 is not applied, as Pillow: stored orientation, tag still readable', () => {
  const bytes = new Uint8Array(readFileSync(fixture('exif6_24x16.jpg')));
  const img = decodeImage(bytes, 'exif6.jpg');
  assert.equal([img.width, img.height], [24, 16]); // stored landscape; displayed it would be 16x24
  assert.is(jpegOrientation(bytes), 6);
  const shown = applyExifOrientation(img, jpegOrientation(bytes));
  assert.equal([shown.width, shown.height], [16, 24]);
});

for (const [file, want] of Object.entries(fx.shared)) {
  sharedTest(`shared ${file}: RGB bytes equal Pillow's (sha256)`, [`images/${file}`], (path) => {
    const img = readImageFile(path);
    assert.equal([img.width, img.height], [want.width, want.height]);
    assert.is(sha256(img.data), want.sha256);
  });
}

// ---------------------------------------------------------------------------
// Error paths

const good = (): Uint8Array => new Uint8Array(readFileSync(fixture('s422_64x48.jpg')));

test('corrupt Huffman data: a clear error naming the file, and the next decode still works', () => {
  const ref = decodeImage(good(), 'good.jpg').data;
  for (let round = 0; round < 3; round++) {
    const bad = good();
    const sos = bad.indexOf(0xc4, 2) - 1; // first DHT segment: wreck its code counts so no table can be built
    assert.is(bad[sos], 0xff);
    bad.fill(0xff, sos + 5, sos + 21);
    expectError(() => decodeImage(bad, `bad-huffman-${round}.jpg`), `bad-huffman-${round}.jpg`, 'corrupt or unsupported JPEG');
    assert.ok(
      decodeImage(good(), 'good.jpg').data.every((v, i) => v === ref[i]),
      `decode after error ${round} differs`,
    );
  }
});

test('scrambled scan data is a libjpeg warning, decoded through as Pillow does (fixture corrupt_scan_*)', () => {
  assert.ok(fx.files['corrupt_scan_422_64x48'], 'fixture missing');
  const clean = new Uint8Array(readFileSync(fixture('s422_64x48.rgb')));
  const noisy = readImageFile(fixture('corrupt_scan_422_64x48.jpg')).data;
  assert.ok(difference(noisy, clean).count > 0, 'the scrambling changed nothing');
});

test('many failing decodes in a row leave the decoder working (fresh wasm instance each)', () => {
  const bad = good();
  const dqt = bad.indexOf(0xdb, 2) - 1;
  bad[dqt + 4] = 0x47; // DQT precision/table byte: table index 7 is invalid
  for (let i = 0; i < 50; i++) expectError(() => decodeImage(bad, 'bad-dqt.jpg'), 'bad-dqt.jpg', 'JPEG');
  assert.is(sha256(decodeImage(good(), 'good.jpg').data), fx.files['s422_64x48']!.sha256);
});

test('12-bit and 16-bit sample precision are refused before decoding', () => {
  for (const p of [12, 16]) {
    const b = good();
    const sof = b.indexOf(0xc0, 2) - 1;
    assert.is(b[sof], 0xff);
    b[sof + 4] = p;
    expectError(() => decodeImage(b, `p${p}.jpg`), `p${p}.jpg`, `${p}-bit JPEG samples are not supported`);
  }
});

test('a baseline (0..63) scan under a progressive frame marker is refused', () => {
  const b = good();
  const sof = b.indexOf(0xc0, 2) - 1;
  b[sof + 1] = 0xc2; // claim progressive; the scan stays sequential
  expectError(() => decodeImage(b, 'fake-progressive.jpg'), 'fake-progressive.jpg', 'progressive frame has a scan over coefficients 0..63');
});

test('a second frame header is refused', () => {
  const b = good();
  const sof = b.indexOf(0xc0, 2) - 1;
  const len = (b[sof + 2]! << 8) | b[sof + 3]!;
  const twice = new Uint8Array(b.length + len + 2);
  twice.set(b.subarray(0, sof + 2 + len));
  twice.set(b.subarray(sof, sof + 2 + len), sof + 2 + len);
  twice.set(b.subarray(sof + 2 + len), sof + 2 * (2 + len));
  expectError(() => decodeImage(twice, 'two-frames.jpg'), 'two-frames.jpg', 'a second start-of-frame header');
});

test.run();
