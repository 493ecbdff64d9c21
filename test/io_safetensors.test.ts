import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { bufferSource, fileSource, openSafetensors, writeSafetensors, type ByteSource } from '../src/io/safetensors.js';
import { writeFileAtomic } from '../src/io/atomic.js';
import { expectError } from './support/expect.js';
import { raw, rawBytes } from './support/safetensors.js';

import { sharedTest } from './support/shared.js';
import { VIT_TINY } from './support/real.js';

function u16le(values: number[]): Uint8Array {
  const b = new Uint8Array(values.length * 2);
  values.forEach((v, i) => {
    b[2 * i] = v & 0xff;
    b[2 * i + 1] = v >> 8;
  });
  return b;
}

const NAME = 'test-file.safetensors';
const open = (bytes: Uint8Array) => openSafetensors(bufferSource(bytes, NAME));

// ---------------------------------------------------------------------------
// Round trips and conversions

test('F32 round trip through writeSafetensors / bufferSource', () => {
  const a = new Float32Array([1, -2, 3.5, Math.PI, -0, 1e-30, 3e38]);
  const b = new Float32Array(2 * 3 * 4).map((_, i) => i * 0.25 - 1);
  const bytes = writeSafetensors(
    {
      a: { dtype: 'F32', shape: [7], data: a },
      'blocks.0.b': { dtype: 'F32', shape: [2, 3, 4], data: b },
      s: { dtype: 'F32', shape: [], data: new Float32Array([42]) },
    },
    { format: 'pt', note: 'hello' },
  );
  const headerLen = new DataView(bytes.buffer).getUint32(0, true);
  assert.is(headerLen % 8, 0, 'header padded to 8 bytes');
  const f = open(bytes);
  assert.equal(f.names(), ['a', 'blocks.0.b', 's']);
  assert.equal(f.metadata, { format: 'pt', note: 'hello' });
  assert.equal(f.info('blocks.0.b'), { dtype: 'F32', shape: [2, 3, 4], byteLength: 96 });
  assert.equal(f.info('s'), { dtype: 'F32', shape: [], byteLength: 4 });
  assert.equal(Array.from(f.readF32('a')), Array.from(a));
  assert.ok(Object.is(f.readF32('a')[4], -0));
  assert.equal(Array.from(f.readF32('blocks.0.b')), Array.from(b));
  assert.equal(Array.from(f.readF32('s')), [42]);
  assert.ok(f.has('a') && !f.has('zzz'));
  f.close();
});

test('readF32 returns an aligned copy even from an unaligned buffer view', () => {
  const bytes = writeSafetensors({ x: { dtype: 'F32', shape: [3], data: new Float32Array([1, 2, 3]) } });
  const big = new Uint8Array(bytes.length + 3);
  big.set(bytes, 3);
  const f = openSafetensors(bufferSource(big.subarray(3), NAME));
  const x = f.readF32('x');
  assert.instance(x, Float32Array);
  assert.is(x.byteOffset, 0);
  assert.equal(Array.from(x), [1, 2, 3]);
  x[0] = 99; // a copy: the source is untouched
  assert.equal(Array.from(f.readF32('x')), [1, 2, 3]);
});

test('writeSafetensors without metadata; empty tensor', () => {
  const f = open(writeSafetensors({ e: { dtype: 'F32', shape: [0, 5], data: new Float32Array(0) } }));
  assert.equal(f.metadata, {});
  assert.equal(f.info('e'), { dtype: 'F32', shape: [0, 5], byteLength: 0 });
  assert.is(f.readF32('e').length, 0);
});

test('writeSafetensors rejects bad input', () => {
  expectError(() => writeSafetensors({ a: { dtype: 'F32', shape: [2, 2], data: new Float32Array(3) } }), "'a'", 'needs 4 values');
  expectError(() => writeSafetensors({ __metadata__: { dtype: 'F32', shape: [1], data: new Float32Array(1) } }), 'reserved');
});

test('F16 conversion', () => {
  const bits = [0x3c00, 0xc100, 0x7bff, 0x3800, 0x0001, 0x8000, 0x7c00, 0xfc00, 0x7e00, 0x0400];
  const want = [1.0, -2.5, 65504, 0.5, 2 ** -24, -0, Infinity, -Infinity, NaN, 2 ** -14];
  const f = open(raw({ h: { dtype: 'F16', shape: [2, 5], data_offsets: [0, 20] } }, u16le(bits)));
  assert.equal(f.info('h'), { dtype: 'F16', shape: [2, 5], byteLength: 20 });
  const got = f.readF32('h');
  assert.is(got.length, 10);
  want.forEach((w, i) => assert.ok(Object.is(got[i], w), `F16 ${bits[i]?.toString(16)}: got ${got[i]}, want ${w}`));
});

test('BF16 conversion', () => {
  const bits = [0x3f80, 0xc020, 0x3f00, 0x4040, 0x477f, 0x8000, 0x7f80, 0xff7f];
  const want = [1.0, -2.5, 0.5, 3.0, 65280, -0, Infinity, -(2 - 2 ** -7) * 2 ** 127];
  const f = open(raw({ __metadata__: { k: 'v' }, b: { dtype: 'BF16', shape: [8], data_offsets: [0, 16] } }, u16le(bits)));
  const got = f.readF32('b');
  want.forEach((w, i) => assert.ok(Object.is(got[i], Math.fround(w)), `BF16 ${bits[i]?.toString(16)}: got ${got[i]}, want ${w}`));
});

test('F64 conversion; integer dtypes are rejected by readF32 but readable as bytes', () => {
  const d = new Uint8Array(new Float64Array([1.5, -2.25, 1e-3]).buffer);
  const i64 = new Uint8Array(new BigInt64Array([5n, -7n]).buffer);
  const data = new Uint8Array(d.length + i64.length);
  data.set(d);
  data.set(i64, d.length);
  const f = open(raw({ d: { dtype: 'F64', shape: [3], data_offsets: [0, 24] }, idx: { dtype: 'I64', shape: [2], data_offsets: [24, 40] } }, data));
  assert.equal(Array.from(f.readF32('d')), [1.5, -2.25, Math.fround(1e-3)]);
  expectError(() => f.readF32('idx'), NAME, "'idx'", 'I64', 'cannot be read as float32');
  const b = f.readBytes('idx');
  assert.equal(Array.from(new BigInt64Array(b.slice().buffer)), [5n, -7n]);
  expectError(() => f.info('nope'), NAME, "'nope'");
  expectError(() => f.readF32('nope'), NAME, "'nope'");
});

test('bool and U8 dtypes rejected by readF32', () => {
  const f = open(
    raw({ m: { dtype: 'BOOL', shape: [2], data_offsets: [0, 2] }, u: { dtype: 'U8', shape: [2], data_offsets: [2, 4] } }, new Uint8Array([1, 0, 3, 4])),
  );
  expectError(() => f.readF32('m'), NAME, "'m'", 'BOOL');
  expectError(() => f.readF32('u'), NAME, "'u'", 'U8');
});

test('gaps between tensors and trailing bytes are accepted', () => {
  const data = new Uint8Array(32);
  new DataView(data.buffer).setFloat32(4, 7, true);
  new DataView(data.buffer).setFloat32(16, 9, true);
  const f = open(raw({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [16, 20] } }, data));
  assert.equal(Array.from(f.readF32('a')), [7]);
  assert.equal(Array.from(f.readF32('b')), [9]);
});

test('fileSource: lazy positional reads, round trip via writeFileAtomic, close', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdam-io-'));
  try {
    const p = path.join(dir, 'm.safetensors');
    const w = new Float32Array(1000).map((_, i) => Math.sin(i));
    writeFileAtomic(p, writeSafetensors({ w: { dtype: 'F32', shape: [10, 100], data: w } }, { format: 'pt' }));
    const src = fileSource(p);
    assert.is(src.size, fs.statSync(p).size);
    const f = openSafetensors(src);
    assert.equal(f.metadata, { format: 'pt' });
    assert.equal(Array.from(f.readF32('w')), Array.from(w));
    f.close();
    f.close(); // idempotent
    expectError(() => f.readF32('w'), p, 'after close');
    expectError(() => fileSource(path.join(dir, 'missing.safetensors')), 'missing.safetensors', 'cannot read a safetensors file: no such file');
    expectError(() => fileSource(dir), dir, 'not a regular file');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the source is closed when validation fails', () => {
  let closed = 0;
  const inner = bufferSource(new Uint8Array([1, 2, 3]), 'tracked.safetensors');
  const src: ByteSource = { name: inner.name, size: inner.size, read: (o, l) => inner.read(o, l), close: () => closed++ };
  expectError(() => openSafetensors(src), 'tracked.safetensors');
  assert.is(closed, 1);
});

// ---------------------------------------------------------------------------
// The real checkpoint

sharedTest('real ViT-Ti checkpoint opens and reads', [`weights/${VIT_TINY}/model.safetensors`], (p) => {
  const f = openSafetensors(fileSource(p));
  try {
    const names = f.names();
    assert.is(names.length, 152);
    assert.equal(f.metadata, { format: 'pt' });
    assert.equal(f.info('cls_token').shape, [1, 1, 192]);
    assert.equal(f.info('pos_embed').shape, [1, 197, 192]);
    const w = f.readF32('patch_embed.proj.weight');
    assert.is(w.length, 192 * 3 * 16 * 16);
    let sumSq = 0;
    for (const v of w) {
      assert.ok(Number.isFinite(v));
      sumSq += v * v;
    }
    assert.ok(sumSq > 0, 'weights not all zero');
    let total = 0;
    for (const n of names) total += f.info(n).byteLength / 4;
    assert.is(total, 5_717_416, 'parameter count from the README');
  } finally {
    f.close();
  }
});

// ---------------------------------------------------------------------------
// Malformed files: each error names the file and the problem

const F32_1 = new Uint8Array(4);

test('malformed: file shorter than 8 bytes', () => {
  expectError(() => open(new Uint8Array(5)), NAME, 'shorter than the 8-byte');
  expectError(() => open(new Uint8Array(0)), NAME, '0 bytes');
});

test('malformed: header length zero', () => {
  expectError(() => open(new Uint8Array(16)), NAME, 'header length is zero');
});

test('malformed: header length over 100 MB', () => {
  expectError(() => open(raw('{}', new Uint8Array(0), 200_000_000)), NAME, 'exceeds', '100000000');
  expectError(() => open(raw('{}', new Uint8Array(0), 2 ** 40)), NAME, 'exceeds');
});

test('malformed: header length beyond the end of the file', () => {
  expectError(() => open(raw('{}', new Uint8Array(0), 1000)), NAME, 'beyond the end');
});

test('malformed: header not UTF-8', () => {
  expectError(() => open(rawBytes(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]))), NAME, 'not valid UTF-8');
});

test('malformed: header not JSON', () => {
  expectError(() => open(raw('{"a": ')), NAME, 'not valid JSON');
});

test('malformed: header not an object', () => {
  expectError(() => open(raw('[1, 2]')), NAME, 'must be a JSON object', 'array');
  expectError(() => open(raw('null')), NAME, 'must be a JSON object');
  expectError(() => open(raw('"x"')), NAME, 'must be a JSON object');
});

test('malformed: entry missing dtype / shape / data_offsets', () => {
  expectError(() => open(raw({ t: { shape: [1], data_offsets: [0, 4] } }, F32_1)), NAME, "'t'", "missing 'dtype'");
  expectError(() => open(raw({ t: { dtype: 'F32', data_offsets: [0, 4] } }, F32_1)), NAME, "'t'", "missing 'shape'");
  expectError(() => open(raw({ t: { dtype: 'F32', shape: [1] } }, F32_1)), NAME, "'t'", "missing 'data_offsets'");
  expectError(() => open(raw({ t: 5 }, F32_1)), NAME, "'t'", 'must be an object');
});

test('malformed: entry fields of the wrong type', () => {
  expectError(() => open(raw({ t: { dtype: 4, shape: [1], data_offsets: [0, 4] } }, F32_1)), NAME, "'t'", 'dtype must be a string');
  expectError(() => open(raw({ t: { dtype: 'F32', shape: '1', data_offsets: [0, 4] } }, F32_1)), NAME, "'t'", 'shape must be an array');
  expectError(() => open(raw({ t: { dtype: 'F32', shape: [1], data_offsets: '0,4' } }, F32_1)), NAME, "'t'", 'data_offsets must be [begin, end]');
});

test('malformed: unknown dtype', () => {
  expectError(() => open(raw({ t: { dtype: 'F128', shape: [1], data_offsets: [0, 4] } }, F32_1)), NAME, "'t'", "unknown dtype 'F128'");
});

test('malformed: negative or non-integer shape dims', () => {
  expectError(() => open(raw({ t: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, F32_1)), NAME, "'t'", 'invalid dimension -1');
  expectError(() => open(raw({ t: { dtype: 'F32', shape: [1.5], data_offsets: [0, 4] } }, F32_1)), NAME, "'t'", 'invalid dimension 1.5');
  expectError(() => open(raw({ t: { dtype: 'F32', shape: ['1'], data_offsets: [0, 4] } }, F32_1)), NAME, "'t'", 'invalid dimension');
});

test('malformed: data_offsets not [begin, end] integers with begin <= end', () => {
  expectError(() => open(raw({ t: { dtype: 'F32', shape: [1], data_offsets: [4] } }, F32_1)), NAME, "'t'", 'data_offsets must be [begin, end]');
  expectError(() => open(raw({ t: { dtype: 'F32', shape: [1], data_offsets: [0, 4, 8] } }, F32_1)), NAME, "'t'", 'data_offsets must be [begin, end]');
  expectError(() => open(raw({ t: { dtype: 'F32', shape: [1], data_offsets: [-4, 0] } }, F32_1)), NAME, "'t'", 'data_offsets must be [begin, end]');
  expectError(() => open(raw({ t: { dtype: 'F32', shape: [1], data_offsets: [0.5, 4.5] } }, F32_1)), NAME, "'t'", 'data_offsets must be [begin, end]');
  expectError(() => open(raw({ t: { dtype: 'F32', shape: [0], data_offsets: [4, 0] } }, F32_1)), NAME, "'t'", 'begin > end');
});

test('malformed: data_offsets end beyond the data section', () => {
  expectError(() => open(raw({ t: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, F32_1)), NAME, "'t'", 'beyond the end of the data section');
});

test('malformed: byte length does not match shape x dtype', () => {
  expectError(() => open(raw({ t: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, new Uint8Array(8))), NAME, "'t'", 'does not match shape');
  expectError(() => open(raw({ t: { dtype: 'F16', shape: [3], data_offsets: [0, 4] } }, new Uint8Array(8))), NAME, "'t'", 'does not match shape');
});

test('malformed: overlapping tensors', () => {
  const h = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } };
  expectError(() => open(raw(h, new Uint8Array(12))), NAME, "'a'", "'b'", 'overlap');
  const same = { a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } };
  expectError(() => open(raw(same, F32_1)), NAME, 'overlap');
  // zero-byte tensors take no space and never overlap
  const zero = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, z: { dtype: 'F32', shape: [0], data_offsets: [4, 4] } };
  assert.equal(open(raw(zero, new Uint8Array(8))).names(), ['a', 'z']);
});

test('malformed: __metadata__ not a string -> string map', () => {
  expectError(() => open(raw({ __metadata__: ['x'] })), NAME, '__metadata__ must be an object');
  expectError(() => open(raw({ __metadata__: 'x' })), NAME, '__metadata__ must be an object');
  expectError(() => open(raw({ __metadata__: { epoch: 3 } })), NAME, '__metadata__', "'epoch'", 'must be a string');
});

// ---------------------------------------------------------------------------
// writeFileAtomic

test('writeFileAtomic writes bytes and strings, replaces existing files', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdam-atomic-'));
  try {
    const p = path.join(dir, 'out.txt');
    writeFileAtomic(p, 'hello');
    assert.is(fs.readFileSync(p, 'utf8'), 'hello');
    writeFileAtomic(p, new Uint8Array([1, 2, 3]));
    assert.equal(Array.from(fs.readFileSync(p)), [1, 2, 3]);
    writeFileAtomic(new URL(`file://${p}`), 'via url');
    assert.is(fs.readFileSync(p, 'utf8'), 'via url');
    assert.equal(fs.readdirSync(dir), ['out.txt'], 'no temp files left');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('writeFileAtomic failures leave no partial or temp file', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdam-atomic-'));
  try {
    // directory does not exist
    const missing = path.join(dir, 'no-such-dir', 'out.bin');
    expectError(() => writeFileAtomic(missing, 'x'), missing);
    assert.equal(fs.readdirSync(dir), []);
    // the rename fails after the temp file was written (target is a non-empty directory)
    const target = path.join(dir, 'target');
    fs.mkdirSync(target);
    fs.writeFileSync(path.join(target, 'keep'), 'k');
    expectError(() => writeFileAtomic(target, new Uint8Array(1000)), target);
    assert.equal(fs.readdirSync(dir), ['target'], 'temp file removed');
    assert.equal(fs.readdirSync(target), ['keep']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
