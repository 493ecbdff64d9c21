// Hostile input (issue 12): one test per kind of defect found by probing:
// memory by what a header claims, unwritten memory in decoded pixels, files
// that are not regular files, silent NaN, safetensors abuse, outputs, a
// closed stdout (the last two in cli_args.test.ts), messages. Each ends in
// one clear error naming the file, quickly. The fuzz suite (fuzz.test.ts)
// mutates real files by the thousand on top of these.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, truncateSync, rmSync, symlinkSync, unlinkSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadViTFolder } from '../src/vit/load.js';
import * as zlib from 'node:zlib';
import { readImageFile, decodeImage } from '../src/io/image.js';
import { encodePng } from '../src/io/png.js';
import { fileSource, openSafetensors, bufferSource } from '../src/io/safetensors.js';
import { repoPath } from './support/fixtures.js';
import { expectError } from './support/expect.js';
import { raw } from './support/safetensors.js';
import { copyModel, editConfig, editTensors, removeModels } from './support/models.js';
import { runCli } from './support/cli.js';
import { withIdat } from './support/bytes.js';
import jpegjs from 'jpeg-js';
import { resizeTaps } from '../src/tensor/index.js';
import { resizeRgb } from '../src/vit/preprocess.js';
import { InputError } from '../src/io/errors.js';
import { writeSafetensors } from '../src/io/safetensors.js';
import { decodeConcept } from '../src/cdam/concept.js';
import { runMethod } from '../src/methods/registry.js';
import type { Explainer } from '../src/cdam/explainer.js';
import type { ViT } from '../src/vit/model.js';

const tmp = mkdtempSync(join(tmpdir(), 'cdam-hostile-'));
const fifo = join(tmp, 'fifo');
execFileSync('mkfifo', [fifo]);

test('a FIFO or a device as image, config, weights or concept is refused at once (never blocks, never grows)', () => {
  const t0 = Date.now();
  expectError(() => readImageFile(fifo), fifo, 'not a regular file', 'FIFO');
  expectError(() => readImageFile('/dev/zero'), '/dev/zero', 'not a regular file');
  expectError(() => fileSource(fifo), 'not a regular file');
  const d = copyModel();
  unlinkSync(join(d, 'config.json'));
  symlinkSync('/dev/zero', join(d, 'config.json'));
  expectError(() => loadViTFolder(d), 'config.json', 'not a regular file');
  const w = copyModel();
  unlinkSync(join(w, 'model.safetensors'));
  symlinkSync(fifo, join(w, 'model.safetensors'));
  expectError(() => loadViTFolder(w), 'model.safetensors', 'not a regular file');
  const img = join(tmp, 'img.png');
  copyFileSync(repoPath('examples/catcoffee_224.png'), img);
  const r = runCli('explain', img, '--model', repoPath('test/fixtures/vit/timm_plain'), '--concept', fifo);
  assert.is(r.code, 1);
  assert.match(r.err, /not a regular file/);
  assert.ok(Date.now() - t0 < 20_000, 'all of it quickly');
});

test("files over their kind's limit are refused before they are read", () => {
  const d = copyModel();
  truncateSync(join(d, 'config.json'), 40 << 20); // sparse: 40 MB claimed, nothing read
  expectError(() => loadViTFolder(d), 'config.json', 'more than the', 'limit for a config file');
  const big = join(tmp, 'big.png');
  writeFileSync(big, '');
  truncateSync(big, 300 << 20);
  expectError(() => readImageFile(big), 'big.png', 'limit for an image');
});

test('a non-finite weight is named at load time', () => {
  const d = copyModel();
  editTensors(d, (t) => {
    t['blocks.1.mlp.fc1.weight']!.data[5] = NaN;
  });
  expectError(() => loadViTFolder(d), 'model.safetensors', '"blocks.1.mlp.fc1.weight"', 'non-finite', 'NaN');
  const h = copyModel();
  editTensors(h, (t) => {
    t['head.weight']!.data[3] = Infinity;
  });
  expectError(() => loadViTFolder(h), '"head.weight"', 'non-finite');
});

test('config values of the wrong type or range: one precise message each', () => {
  const cases: [string, (c: Record<string, any>) => void, string][] = [
    ['zero std', (c) => (c.pretrained_cfg.std = [0.5, 0, 0.5]), 'pretrained_cfg.std must be three positive numbers'],
    ['crop_pct 0', (c) => (c.pretrained_cfg.crop_pct = 0), 'crop_pct must be a number in (0.05, 1]'],
    ['crop_pct -1', (c) => (c.pretrained_cfg.crop_pct = -1), 'crop_pct must be a number'],
    ['crop_pct as a string', (c) => (c.pretrained_cfg.crop_pct = '0.9'), 'crop_pct must be a number'],
    ['input_size as strings', (c) => (c.pretrained_cfg.input_size = [3, '16', '16']), 'input_size[1] (height) must be an integer'],
    ['input_size of 2', (c) => (c.pretrained_cfg.input_size = [16, 16]), 'input_size must be [channels, height, width]'],
    ['1.5 heads', (c) => (c.model_args.num_heads = 1.5), 'model_args.num_heads must be an integer'],
    ['-3 heads', (c) => (c.model_args.num_heads = -3), 'model_args.num_heads must be an integer'],
    ['num_classes -1', (c) => (c.num_classes = -1), 'num_classes must be a non-negative integer'],
  ];
  for (const [, edit, msg] of cases) {
    const d = copyModel();
    editConfig(d, edit);
    expectError(() => loadViTFolder(d), 'config.json', msg);
  }
  const hf = copyModel('hf_vit');
  editConfig(hf, (c) => (c.num_attention_heads = 2.5));
  expectError(() => loadViTFolder(hf), 'config.json', '"num_attention_heads" must be an integer');
  const eps = copyModel('hf_vit');
  editConfig(eps, (c) => (c.layer_norm_eps = 0));
  expectError(() => loadViTFolder(eps), '"layer_norm_eps" must be a number in (0, 1)');
});

test('a PNG whose image data is cut short or too short is refused (no unwritten memory in the pixels)', () => {
  const px = new Uint8Array(20 * 20 * 3).map((_, i) => (i * 31) % 251);
  const png = encodePng({ width: 20, height: 20, data: px, channels: 3 });
  assert.equal(Array.from(decodeImage(png, 'ok.png').data), Array.from(px), 'the untouched file decodes');
  const cut = withIdat(png, (d) => d.subarray(0, d.length >> 1));
  expectError(() => decodeImage(cut, 'cut-idat.png'), 'cut-idat.png', 'the compressed stream ends early');
  // a complete zlib stream holding only half of the rows
  const half = withIdat(png, (d) => zlib.deflateSync(zlib.inflateSync(d).subarray(0, 10 * (1 + 20 * 3))));
  expectError(() => decodeImage(half, 'half-rows.png'), 'half-rows.png', 'inflates to only 610 bytes, the header needs 1220');
  for (let i = 0; i < 5; i++) expectError(() => decodeImage(cut, 'again.png'), 'the compressed stream ends early');
});

test("safetensors: duplicate tensor names, and the safetensors project's three abuse files, refused quickly", () => {
  const t = (o: number) => `{"dtype":"F32","shape":[1],"data_offsets":[${o},${o + 4}]}`;
  expectError(
    () => openSafetensors(bufferSource(raw(`{"w":${t(0)},"v":${t(4)},"w":${t(4)}}`, new Uint8Array(8)), 'dup')),
    'dup',
    "names tensor 'w' more than once",
  );
  // nested keys may repeat across entries (each entry has its own dtype/shape); only top-level names count
  assert.is(openSafetensors(bufferSource(raw(`{"a":${t(0)},"b":${t(4)}}`, new Uint8Array(8)), 'ok')).names().length, 2);
  const t0 = Date.now();
  // attempt 1: a header length that lies (claims far more than the file holds)
  expectError(() => openSafetensors(bufferSource(raw('{}', new Uint8Array(0), 2 ** 40), 'lie1')), 'lie1', 'exceeds the');
  expectError(() => openSafetensors(bufferSource(raw('{"a":1}', new Uint8Array(0), 50_000_000), 'lie2')), 'lie2', 'runs beyond the end');
  // attempt 2: ten million entries (a header of hundreds of MB): refused from its length alone, nothing read
  expectError(() => openSafetensors(bufferSource(raw('{', new Uint8Array(0), 10_000_000 * 60), 'many')), 'many', 'exceeds the 100000000-byte limit');
  // attempt 3: a hundred thousand 200x200 tensors all pointing at the same bytes
  const entries = Array.from({ length: 100_000 }, (_, i) => `"w${i}":{"dtype":"F32","shape":[200,200],"data_offsets":[0,160000]}`);
  const same = raw(`{${entries.join(',')}}`, new Uint8Array(160000));
  expectError(() => openSafetensors(bufferSource(same, 'aliased')), 'aliased', 'overlap');
  assert.ok(Date.now() - t0 < 10_000, `${Date.now() - t0} ms`);
});

test('a 1 x 3000 PNG cropped would grow to 185 million pixels: refused at once, naming the sizes; --max-pixels is the knob', () => {
  const thin = join(tmp, 'thin.png');
  writeFileSync(thin, encodePng({ width: 1, height: 3000, data: new Uint8Array(9000).fill(128), channels: 3 }));
  const t0 = Date.now();
  const r = runCli('classify', thin, '--resize', 'crop');
  assert.is(r.code, 1);
  assert.match(r.err, /would make a 248x744000 image \(185 million pixels; the limit is 89 million\)/);
  assert.ok(Date.now() - t0 < 10_000, `${Date.now() - t0} ms`);
  assert.is(runCli('classify', thin, '--resize', 'squash').code, 0, 'squash makes no such image');
  const small = runCli('classify', thin, '--max-pixels', '1000');
  assert.is(small.code, 1);
  assert.match(small.err, /1x3000 exceeds the 1000-pixel limit \(--max-pixels\)/);
  assert.is(runCli('classify', thin, '--max-pixels', '0').code, 2);
});

test('a JSON error says where, never quotes the file', () => {
  const d = copyModel();
  writeFileSync(join(d, 'config.json'), 'SECRET-TOKEN-abc123 not json');
  const msg = expectError(() => loadViTFolder(d), 'config.json', 'not valid JSON');
  assert.not.match(msg, /SECRET/);
});

test('a head with no rows is refused', () => {
  const d = copyModel();
  editTensors(d, (t) => {
    t['head.weight'] = { dtype: 'F32', shape: [0, 16], data: new Float32Array(0) };
    t['head.bias'] = { dtype: 'F32', shape: [0], data: new Float32Array(0) };
  });
  editConfig(d, (c) => {
    delete c.num_classes;
    delete c.id2label;
  });
  expectError(() => loadViTFolder(d), '"head.weight" has no rows');
});

test('a 1.5 KB JPEG claiming 9000 x 9000 is refused before the decoder allocates (one bit per 8x8 block at least)', () => {
  const small = jpegjs.encode({ width: 64, height: 64, data: new Uint8Array(64 * 64 * 4).map((_, i) => (i * 7) % 256) }, 80).data;
  assert.is(decodeImage(small, 'ok.jpg').width, 64);
  const big = Uint8Array.from(small);
  const sof = big.findIndex((b, i) => b === 0xff && big[i + 1] === 0xc0);
  big.set([9000 >> 8, 9000 & 255, 9000 >> 8, 9000 & 255], sof + 5);
  const t0 = Date.now();
  const before = process.memoryUsage().arrayBuffers;
  const msg = expectError(() => decodeImage(big, 'claims9000.jpg'), 'claims9000.jpg', 'a 9000x9000 frame needs at least', 'bytes of coded data');
  assert.ok(Date.now() - t0 < 1000, `${Date.now() - t0} ms`);
  assert.ok(process.memoryUsage().arrayBuffers - before < 16 << 20, 'nothing the size of the frame was allocated');
  assert.ok(msg.length < 200);
});

test('resizing uses sparse taps: a 1 x 200000 photo squashes in memory proportional to the filter, ', () => {
  const taps = resizeTaps(200_000, 224, 'bicubic', true);
  const scale = 200_000 / 224;
  assert.ok(
    taps.every((t) => t.index.length <= 2 * Math.ceil(2 * scale) + 2),
    'each row holds only its filter window',
  );
  const long = { width: 1, height: 200_000, data: new Uint8Array(600_000).map((_, i) => (i >> 10) % 256) };
  const out = resizeRgb(long, 224, 224, 'bicubic');
  assert.is(out.data.length, 224 * 224 * 3);
  assert.ok(
    out.data.some((v) => v > 0),
    'the pixels came through',
  );
});

test('NaN concept vectors and non-finite maps are refused where they appear', () => {
  const vit = { config: { dim: 4, name: 'm' } } as unknown as ViT;
  const bytes = writeSafetensors({ concept: { dtype: 'F32', shape: [4], data: Float32Array.of(1, NaN, 0, 2) } }, { format: 'cdam-concept' });
  expectError(() => decodeConcept(bytes, 'nan.concept', vit), 'nan.concept', 'non-finite value (NaN at entry 1)');
  const ex = {
    cdam: () => ({ method: 'cdam', target: 'c', score: 0, map: { rows: 1, cols: 2, values: Float32Array.of(0, Infinity) } }),
  } as unknown as Explainer;
  expectError(() => runMethod(ex, 'cdam', { kind: 'class', index: 0 }), 'cdam: the map has a non-finite value (Infinity at cell 1)');
  const r = runCli(
    'explain',
    repoPath('examples/catcoffee_224.png'),
    '--model',
    repoPath('test/fixtures/vit/timm_plain'),
    '--method',
    'smooth-cdam',
    '--noise',
    '1e30',
  );
  assert.is(r.code, 2, 'an absurd --noise is a usage error');
  assert.match(r.err, /--noise must be a number in \[0, 10\]/);
});

test('every loader error is an InputError carrying the file', () => {
  let e: unknown;
  try {
    decodeImage(new Uint8Array([1, 2, 3]), 'junk.bin');
  } catch (x) {
    e = x;
  }
  assert.instance(e, InputError);
  assert.is((e as InputError).file, 'junk.bin');
});

test.after(() => {
  removeModels();
  rmSync(tmp, { recursive: true, force: true });
});

test.run();
