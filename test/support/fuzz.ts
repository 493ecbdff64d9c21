// The fuzz suite's loaders and mutations (run by test/fuzz.test.ts in a child
// process, so its peak memory is measured alone). Each loader starts from
// real files and applies one to three mutations, described as plain objects
// so fast-check prints a readable counterexample. The property: the bytes
// either load, with output bounded by a stated multiple of the file size,
// or the loader throws InputError naming the file. Any other exception is a
// failure.
import fc from 'fast-check';
import { readFileSync, readdirSync } from 'node:fs';
import * as zlib from 'node:zlib';
import { InputError } from '../../src/io/errors.js';
import { ADAM7_PASSES, decodeImage } from '../../src/io/image.js';
import { bufferSource, openSafetensors, writeSafetensors } from '../../src/io/safetensors.js';
import { loadViTFromBytes } from '../../src/vit/load.js';
import { repoPath } from './fixtures.js';
import { concat } from './bytes.js';
import { peakMeter } from './memory.js';

type Bytes = Uint8Array;

/** A place in a file or list, as a fraction of its length (so it fits any seed). */
const at = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });
const pick = <T>(xs: readonly T[], t: number): T => xs[Math.floor(t * xs.length)]!;
const pos = (n: number, t: number) => Math.floor(t * n);

// ---------------------------------------------------------------------------
// Byte-level mutations every loader gets

const byteMutation = fc.oneof(
  fc.record({ k: fc.constant('truncate' as const), t: at }),
  fc.record({ k: fc.constant('set' as const), t: at, v: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ k: fc.constant('insert' as const), t: at, v: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ k: fc.constant('delete' as const), t: at, n: fc.integer({ min: 1, max: 64 }) }),
);
type ByteMutation = typeof byteMutation extends fc.Arbitrary<infer T> ? T : never;

function applyBytes(b: Bytes, m: ByteMutation): Bytes {
  const i = pos(b.length, m.t);
  switch (m.k) {
    case 'truncate':
      return b.slice(0, i);
    case 'set': {
      const c = b.slice();
      if (c.length) c[i] = m.v;
      return c;
    }
    case 'insert':
      return concat([b.subarray(0, i), m.v, b.subarray(i)]);
    case 'delete':
      return concat([b.subarray(0, i), b.subarray(i + m.n)]);
  }
}

const text = (b: Bytes) => new TextDecoder().decode(b);
const utf8 = (s: string) => new TextEncoder().encode(s);

// ---------------------------------------------------------------------------
// safetensors: the length field, the header JSON (dtypes, shapes, offsets,
// duplicate names, metadata) and the bytes

const anyValue = fc.oneof(fc.integer({ min: -3, max: 70_000 }), fc.constantFrom(0, 1, 2 ** 31, 2 ** 32, 2 ** 53, 1e20, 0.5, -0, '3', null, true, [], {}));
const stMutation = fc.oneof(
  fc.record({ k: fc.constant('length' as const), v: fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.integer({ min: -8, max: 8 }).map(BigInt)) }),
  fc.record({
    k: fc.constant('dtype' as const),
    t: at,
    v: fc.oneof(fc.constantFrom('F32', 'F16', 'BF16', 'F64', 'I8', 'U8', 'I64', 'BOOL', 'F8_E4M3', 'f32', ''), anyValue),
  }),
  fc.record({ k: fc.constant('shape' as const), t: at, v: fc.oneof(fc.array(anyValue, { maxLength: 5 }), anyValue) }),
  fc.record({ k: fc.constant('offsets' as const), t: at, how: fc.constantFrom('reverse', 'past', 'overlap', 'shift'), d: fc.integer({ min: -64, max: 64 }) }),
  fc.record({ k: fc.constant('offsetsValue' as const), t: at, v: fc.oneof(fc.array(anyValue, { maxLength: 3 }), anyValue) }),
  fc.record({ k: fc.constant('duplicate' as const), t: at }),
  fc.record({ k: fc.constant('drop' as const), t: at }),
  fc.record({
    k: fc.constant('metadata' as const),
    v: fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.dictionary(fc.string({ maxLength: 4 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 })),
  }),
  fc.record({ k: fc.constant('bytes' as const), m: byteMutation }),
);
type StMutation = typeof stMutation extends fc.Arbitrary<infer T> ? T : never;

function splitSafetensors(b: Bytes): { header: string; data: Bytes } | undefined {
  if (b.length < 8) return undefined;
  const n = Number(new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(0, true));
  if (8 + n > b.length) return undefined;
  return { header: text(b.subarray(8, 8 + n)), data: b.subarray(8 + n) };
}

function joinSafetensors(header: string, data: Bytes): Bytes {
  const h = utf8(header);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

function applySafetensors(b: Bytes, m: StMutation): Bytes {
  if (m.k === 'bytes') return applyBytes(b, m.m);
  if (m.k === 'length') {
    const c = b.slice();
    if (c.length >= 8) {
      const dv = new DataView(c.buffer);
      const v = m.v < 16n && m.v > -16n ? BigInt.asUintN(64, dv.getBigUint64(0, true) + m.v) : m.v;
      dv.setBigUint64(0, v, true);
    }
    return c;
  }
  const parts = splitSafetensors(b);
  if (!parts) return b;
  let h: Record<string, any>;
  try {
    h = JSON.parse(parts.header);
  } catch {
    return b;
  }
  if (typeof h !== 'object' || h === null || Array.isArray(h)) return b;
  const names = Object.keys(h).filter((n) => n !== '__metadata__');
  if (m.k === 'metadata') {
    h['__metadata__'] = m.v;
    return joinSafetensors(JSON.stringify(h), parts.data);
  }
  if (!names.length) return b;
  const name = pick(names, m.t);
  const e = h[name];
  if (m.k === 'duplicate') {
    // JSON.stringify cannot repeat a key: splice a second entry into the text
    const s = JSON.stringify(h);
    return joinSafetensors(`{${JSON.stringify(name)}:${JSON.stringify(e)},${s.slice(1)}`, parts.data);
  }
  if (m.k === 'drop') delete h[name];
  else if (typeof e !== 'object' || e === null) return b;
  else if (m.k === 'dtype') e.dtype = m.v;
  else if (m.k === 'shape') e.shape = m.v;
  else if (m.k === 'offsetsValue') e.data_offsets = m.v;
  else if (Array.isArray(e.data_offsets) && e.data_offsets.length === 2) {
    const [s0, s1] = e.data_offsets as [number, number];
    if (m.how === 'reverse') e.data_offsets = [s1, s0];
    else if (m.how === 'past') e.data_offsets = [s0, parts.data.length + Math.abs(m.d) + 1];
    else if (m.how === 'overlap') e.data_offsets = [Math.max(0, s0 - Math.abs(m.d) - 1), s1];
    else e.data_offsets = [s0 + m.d, s1 + m.d];
  }
  return joinSafetensors(JSON.stringify(h), parts.data);
}

// ---------------------------------------------------------------------------
// config.json: any value at any path, keys removed, the text mangled

const cfgMutation = fc.oneof(
  fc.record({ k: fc.constant('set' as const), t: at, v: fc.oneof(fc.jsonValue({ maxDepth: 2 }), anyValue, fc.constantFrom(1e9, -1, 0, 1e-9, 100_000)) }),
  fc.record({ k: fc.constant('delete' as const), t: at }),
  fc.record({ k: fc.constant('bytes' as const), m: byteMutation }),
);
type CfgMutation = typeof cfgMutation extends fc.Arbitrary<infer T> ? T : never;

function paths(v: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [];
  if (Array.isArray(v)) v.forEach((x, i) => out.push([...prefix, i], ...paths(x, [...prefix, i])));
  else if (typeof v === 'object' && v !== null) for (const [k, x] of Object.entries(v)) out.push([...prefix, k], ...paths(x, [...prefix, k]));
  return out;
}

function applyConfig(b: Bytes, m: CfgMutation): Bytes {
  if (m.k === 'bytes') return applyBytes(b, m.m);
  let c: unknown;
  try {
    c = JSON.parse(text(b));
  } catch {
    return b;
  }
  const ps = paths(c);
  if (!ps.length) return b;
  const p = pick(ps, m.t);
  let parent: any = c;
  for (const key of p.slice(0, -1)) parent = parent[key];
  const last = p[p.length - 1]!;
  if (m.k === 'delete') {
    if (Array.isArray(parent)) parent.splice(last as number, 1);
    else delete parent[last];
  } else parent[last] = m.v;
  return utf8(JSON.stringify(c));
}

// ---------------------------------------------------------------------------
// PNG: IHDR fields, chunk lengths, CRCs, the image data, chunk order

interface Chunk {
  type: string;
  data: Bytes;
  /** a stored CRC that is not recomputed (a CRC mutation) */
  crc?: number;
  /** a stored length that is not the data's (a length mutation) */
  len?: number;
}

const PNG_SIG = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

function readChunks(b: Bytes): Chunk[] | undefined {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: Chunk[] = [];
  for (let p = 8; p + 12 <= b.length;) {
    const len = dv.getUint32(p);
    if (p + 12 + len > b.length) return undefined;
    out.push({ type: String.fromCharCode(...b.subarray(p + 4, p + 8)), data: b.subarray(p + 8, p + 8 + len) });
    p += 12 + len;
  }
  return out;
}

function writeChunks(cs: Chunk[]): Bytes {
  return concat([
    PNG_SIG,
    ...cs.map((c) => {
      const out = new Uint8Array(12 + c.data.length);
      const dv = new DataView(out.buffer);
      dv.setUint32(0, c.len ?? c.data.length);
      out.set(utf8(c.type), 4);
      out.set(c.data, 8);
      dv.setUint32(8 + c.data.length, c.crc ?? zlib.crc32(out.subarray(4, 8 + c.data.length)));
      return out;
    }),
  ]);
}

/** A PNG from raw scanlines (filter byte 0 on every row, Adam7 passes when interlaced). */
function pngOf(width: number, height: number, depth: number, ctype: number, interlace: boolean, palette?: Bytes): Bytes {
  const channels = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }[ctype]!;
  const rowBytes = (w: number) => Math.ceil((w * channels * depth) / 8);
  const passes = interlace ? ADAM7_PASSES : ([[0, 0, 1, 1]] as const);
  const rows: Bytes[] = [];
  let k = 0;
  for (const [x0, y0, dx, dy] of passes) {
    const w = Math.ceil((width - x0) / dx);
    const h = Math.ceil((height - y0) / dy);
    if (w <= 0 || h <= 0) continue;
    for (let y = 0; y < h; y++) {
      const r = new Uint8Array(1 + rowBytes(w));
      for (let i = 1; i < r.length; i++) r[i] = ctype === 3 ? (k++ % 4) * (depth === 8 ? 1 : 0x11) : (k++ * 37) % 256;
      rows.push(r);
    }
  }
  const ihdr = new Uint8Array(13);
  const dv = new DataView(ihdr.buffer);
  dv.setUint32(0, width);
  dv.setUint32(4, height);
  ihdr.set([depth, ctype, 0, 0, interlace ? 1 : 0], 8);
  const cs: Chunk[] = [{ type: 'IHDR', data: ihdr }];
  if (palette) cs.push({ type: 'PLTE', data: palette });
  cs.push({ type: 'IDAT', data: zlib.deflateSync(concat(rows)) }, { type: 'IEND', data: new Uint8Array(0) });
  return writeChunks(cs);
}

const pngMutation = fc.oneof(
  fc.record({
    k: fc.constant('ihdr' as const),
    field: fc.constantFrom(0, 4, 8, 9, 10, 11, 12),
    v: fc.oneof(fc.nat(), fc.integer({ min: 0, max: 20 }), fc.constantFrom(9000, 65535, 2 ** 31, 2 ** 32 - 1)),
  }),
  fc.record({ k: fc.constant('length' as const), t: at, v: fc.oneof(fc.nat(), fc.integer({ min: 0, max: 64 }), fc.constant(2 ** 32 - 1)) }),
  fc.record({ k: fc.constant('crc' as const), t: at, v: fc.nat() }),
  fc.record({
    k: fc.constant('idat' as const),
    how: fc.constantFrom('truncate', 'flip', 'filters', 'rows', 'split', 'extra'),
    t: at,
    v: fc.integer({ min: 0, max: 255 }),
  }),
  fc.record({ k: fc.constant('chunks' as const), how: fc.constantFrom('duplicate', 'drop', 'swap'), t: at, u: at }),
  fc.record({ k: fc.constant('bytes' as const), m: byteMutation }),
);
type PngMutation = typeof pngMutation extends fc.Arbitrary<infer T> ? T : never;

/** The scanlines of an IDAT payload, or undefined when an earlier mutation broke the stream. */
function inflated(d: Bytes): Bytes | undefined {
  try {
    return zlib.inflateSync(d).slice();
  } catch {
    return undefined;
  }
}

function applyPng(b: Bytes, m: PngMutation): Bytes {
  if (m.k === 'bytes') return applyBytes(b, m.m);
  const cs = readChunks(b);
  if (!cs || !cs.length) return b;
  if (m.k === 'ihdr') {
    const ih = cs.find((c) => c.type === 'IHDR');
    if (!ih || ih.data.length < 13) return b;
    const d = ih.data.slice();
    if (m.field < 8) new DataView(d.buffer).setUint32(m.field, m.v >>> 0);
    else d[m.field] = m.v & 255;
    ih.data = d;
  } else if (m.k === 'length') pick(cs, m.t).len = m.v >>> 0;
  else if (m.k === 'crc') pick(cs, m.t).crc = m.v >>> 0;
  else if (m.k === 'chunks') {
    const i = pos(cs.length, m.t);
    const j = pos(cs.length, m.u);
    if (m.how === 'duplicate') cs.splice(j, 0, { ...cs[i]! });
    else if (m.how === 'drop') cs.splice(i, 1);
    else [cs[i], cs[j]] = [cs[j]!, cs[i]!];
  } else {
    const ids = cs.filter((c) => c.type === 'IDAT');
    if (!ids.length) return b;
    const c = ids[0]!;
    if (m.how === 'truncate') c.data = c.data.slice(0, pos(c.data.length, m.t));
    else if (m.how === 'flip') {
      c.data = c.data.slice();
      c.data[pos(c.data.length, m.t)]! ^= m.v | 1;
    } else if (m.how === 'extra') {
      const raw = inflated(c.data);
      if (!raw) return b;
      c.data = zlib.deflateSync(concat([raw, new Uint8Array(1 + m.v)]));
    } else if (m.how === 'split') {
      const k = pos(c.data.length, m.t);
      cs.splice(cs.indexOf(c), 1, { type: 'IDAT', data: c.data.subarray(0, k) }, { type: 'IDAT', data: c.data.subarray(k) });
    } else {
      // re-deflated with a byte of the scanlines changed: a filter byte, or a row cut off
      let raw = inflated(c.data);
      if (!raw) return b;
      if (m.how === 'filters') raw[pos(raw.length, m.t)] = m.v;
      else raw = raw.subarray(0, pos(raw.length, m.t));
      c.data = zlib.deflateSync(raw);
    }
  }
  return writeChunks(cs);
}

// ---------------------------------------------------------------------------
// JPEG: frame sizes and components, segment lengths, tables, restart
// intervals, scan data

interface Segment {
  marker: number;
  /** payload after the length field; undefined for standalone markers */
  data?: Bytes;
  /** entropy-coded bytes after an SOS header */
  scan?: Bytes;
  len?: number;
}

function readSegments(b: Bytes): Segment[] | undefined {
  const out: Segment[] = [];
  let p = 2;
  for (;;) {
    if (p + 2 > b.length || b[p] !== 0xff) return undefined;
    const marker = b[p + 1]!;
    p += 2;
    if (marker === 0xd9) {
      out.push({ marker });
      return out;
    }
    if (p + 2 > b.length) return undefined;
    const len = (b[p]! << 8) | b[p + 1]!;
    if (len < 2 || p + len > b.length) return undefined;
    const seg: Segment = { marker, data: b.subarray(p + 2, p + len) };
    p += len;
    if (marker === 0xda) {
      let q = p;
      while (q + 1 < b.length && !(b[q] === 0xff && b[q + 1] !== 0 && !(b[q + 1]! >= 0xd0 && b[q + 1]! <= 0xd7))) q++;
      seg.scan = b.subarray(p, q);
      p = q;
    }
    out.push(seg);
  }
}

function writeSegments(ss: Segment[]): Bytes {
  return concat([
    Uint8Array.of(0xff, 0xd8),
    ...ss.flatMap((s) => {
      if (!s.data) return [Uint8Array.of(0xff, s.marker)];
      const l = s.len ?? s.data.length + 2;
      return [Uint8Array.of(0xff, s.marker, (l >> 8) & 255, l & 255), s.data, ...(s.scan ? [s.scan] : [])];
    }),
  ]);
}

const isSof = (m: number) => m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;

const jpegMutation = fc.oneof(
  fc.record({
    k: fc.constant('size' as const),
    which: fc.constantFrom(1, 3),
    v: fc.oneof(fc.integer({ min: 0, max: 65535 }), fc.constantFrom(0, 1, 9000, 65535)),
  }),
  fc.record({ k: fc.constant('frame' as const), t: at, v: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ k: fc.constant('marker' as const), t: at, v: fc.constantFrom(0xc0, 0xc1, 0xc2, 0xc3, 0xc9, 0xcb, 0xc4, 0xdb, 0xda, 0xdd, 0xe1, 0xfe) }),
  fc.record({ k: fc.constant('length' as const), t: at, v: fc.integer({ min: 0, max: 65535 }) }),
  fc.record({ k: fc.constant('table' as const), t: at, u: at, v: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ k: fc.constant('restart' as const), v: fc.integer({ min: 0, max: 65535 }) }),
  fc.record({ k: fc.constant('scan' as const), how: fc.constantFrom('truncate', 'flip', 'rst', 'drop'), t: at, v: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ k: fc.constant('segments' as const), how: fc.constantFrom('duplicate', 'drop', 'swap'), t: at, u: at }),
  fc.record({ k: fc.constant('bytes' as const), m: byteMutation }),
);
type JpegMutation = typeof jpegMutation extends fc.Arbitrary<infer T> ? T : never;

function applyJpeg(b: Bytes, m: JpegMutation): Bytes {
  if (m.k === 'bytes') return applyBytes(b, m.m);
  const ss = readSegments(b);
  if (!ss) return b;
  const withData = ss.filter((s) => s.data);
  const sof = ss.find((s) => isSof(s.marker) && s.data && s.data.length >= 6);
  if (m.k === 'size' || m.k === 'frame') {
    if (!sof) return b;
    const d = sof.data!.slice();
    if (m.k === 'size') {
      d[m.which] = m.v >> 8;
      d[m.which + 1] = m.v & 255;
    } else d[pos(d.length, m.t)] = m.v;
    sof.data = d;
  } else if (m.k === 'marker') {
    if (withData.length) pick(withData, m.t).marker = m.v;
  } else if (m.k === 'length') {
    if (withData.length) pick(withData, m.t).len = m.v;
  } else if (m.k === 'table') {
    const ts = withData.filter((s) => s.marker === 0xc4 || s.marker === 0xdb || s.marker === 0xda);
    if (!ts.length) return b;
    const s = pick(ts, m.t);
    const d = s.data!.slice();
    if (d.length) d[pos(d.length, m.u)] = m.v;
    s.data = d;
  } else if (m.k === 'restart') {
    ss.splice(
      Math.max(
        0,
        ss.findIndex((s) => s.marker === 0xda),
      ),
      0,
      { marker: 0xdd, data: Uint8Array.of(m.v >> 8, m.v & 255) },
    );
  } else if (m.k === 'scan') {
    const scans = ss.filter((s) => s.scan);
    if (!scans.length) return b;
    const s = pick(scans, m.t);
    if (m.how === 'drop') ss.splice(ss.indexOf(s), 1);
    else if (m.how === 'truncate') s.scan = s.scan!.slice(0, pos(s.scan!.length, m.t));
    else if (m.how === 'rst')
      s.scan = concat([s.scan!.subarray(0, pos(s.scan!.length, m.t)), Uint8Array.of(0xff, 0xd0 + (m.v & 7)), s.scan!.subarray(pos(s.scan!.length, m.t))]);
    else {
      const d = s.scan!.slice();
      if (d.length) d[pos(d.length, m.t)] = m.v === 0xff ? 0xfe : m.v;
      s.scan = d;
    }
  } else {
    const i = pos(ss.length - 1, m.t);
    const j = pos(ss.length - 1, m.u);
    if (m.how === 'duplicate') ss.splice(j, 0, { ...ss[i]! });
    else if (m.how === 'drop') ss.splice(i, 1);
    else [ss[i], ss[j]] = [ss[j]!, ss[i]!];
  }
  return writeSegments(ss);
}

// ---------------------------------------------------------------------------
// The loaders

export interface Loader<M> {
  /** the real files mutations start from */
  seeds: () => Bytes[];
  mutation: fc.Arbitrary<M>;
  apply: (b: Bytes, m: M) => Bytes;
  /** loads the bytes; returns the bytes it produced */
  load: (b: Bytes, seed: number) => number;
  /** output may be at most this many times the input's size (0: not bounded by the input) */
  multiple: number;
  /** the name errors must carry */
  name: string;
}

const fixture = (p: string) => new Uint8Array(readFileSync(repoPath(p)));
const modelSeeds = ['test/fixtures/vit/timm_plain', 'test/fixtures/vit/hf_vit', 'test/fixtures/vit/timm_reg_ls'];
const preprocessor = (dir: string) => {
  try {
    return readFileSync(repoPath(`${dir}/preprocessor_config.json`), 'utf8');
  } catch {
    return undefined;
  }
};

/** The largest input fuzzed models may declare: it keeps position-embedding interpolation small. */
function loadModel(safetensors: Bytes, config: string, seed: number): number {
  const dir = modelSeeds[seed % modelSeeds.length]!;
  const pre = preprocessor(dir);
  const vit = loadViTFromBytes({ safetensors, config, ...(pre ? { preprocessorConfig: pre } : {}), name: 'fuzz' });
  return vit.config.dim;
}

export const LOADERS = {
  safetensors: {
    seeds: () => [
      ...modelSeeds.map((d) => fixture(`${d}/model.safetensors`)),
      writeSafetensors(
        {
          a: { dtype: 'F16', shape: [2, 3], data: Float32Array.of(1, 2, 3, 4, 5, 6) },
          b: { dtype: 'F32', shape: [], data: Float32Array.of(7) },
          c: { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
        },
        { format: 'pt', note: 'fuzz seed' },
      ),
    ],
    mutation: stMutation,
    apply: applySafetensors,
    load: (b: Bytes, seed: number) => {
      const f = openSafetensors(bufferSource(b, 'fuzz.safetensors'));
      let out = 0;
      try {
        for (const n of f.names()) out += f.readF32(n).byteLength;
      } finally {
        f.close();
      }
      // the model seeds also go through the ViT loader with their own config
      if (seed < modelSeeds.length) loadModel(b, readFileSync(repoPath(`${modelSeeds[seed]}/config.json`), 'utf8'), seed);
      return out;
    },
    multiple: 2, // F16/BF16 widen to F32
    name: 'fuzz',
  } satisfies Loader<StMutation>,
  config: {
    seeds: () => modelSeeds.map((d) => fixture(`${d}/config.json`)),
    mutation: cfgMutation,
    apply: applyConfig,
    load: (b: Bytes, seed: number) => loadModel(fixture(`${modelSeeds[seed % modelSeeds.length]}/model.safetensors`), text(b), seed),
    multiple: 0,
    name: 'fuzz',
  } satisfies Loader<CfgMutation>,
  png: {
    seeds: () => [
      pngOf(7, 5, 8, 2, false),
      pngOf(9, 6, 8, 6, false),
      pngOf(5, 4, 16, 0, false),
      pngOf(11, 3, 1, 0, false),
      pngOf(6, 6, 8, 4, false),
      pngOf(13, 9, 8, 2, true),
      pngOf(8, 8, 4, 3, false, Uint8Array.of(255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9)),
      pngOf(3, 7, 16, 6, true),
    ],
    mutation: pngMutation,
    apply: applyPng,
    load: (b: Bytes) => decodeImage(b, 'fuzz.png').data.byteLength,
    // deflate expands at most 1032:1, and the decoded RGB is at most 3/1 of the
    // inflated samples at 8 bits (24x for 1-bit greyscale)
    multiple: 1032 * 24,
    name: 'fuzz.png',
  } satisfies Loader<PngMutation>,
  jpeg: {
    seeds: () =>
      readdirSync(repoPath('test/fixtures/fuzz'))
        .filter((f) => f.endsWith('.jpg'))
        .sort()
        .map((f) => fixture(`test/fixtures/fuzz/${f}`)),
    mutation: jpegMutation,
    apply: applyJpeg,
    load: (b: Bytes) => decodeImage(b, 'fuzz.jpg').data.byteLength,
    // at least one bit per 8x8 block: 512 pixels per byte, 3 bytes each
    multiple: 512 * 3,
    name: 'fuzz.jpg',
  } satisfies Loader<JpegMutation>,
};

export type LoaderName = keyof typeof LOADERS;

export interface FuzzReport {
  loader: LoaderName;
  cases: number;
  loaded: number;
  refused: number;
  /** fast-check's report of the first failing case, shrunk */
  failure?: string;
}

/** Runs `runs` cases of one loader with a fixed seed. */
export function fuzz<M>(loader: LoaderName, runs: number, seed: number): FuzzReport {
  const l = LOADERS[loader] as unknown as Loader<M>;
  const seeds = l.seeds();
  const report: FuzzReport = { loader, cases: 0, loaded: 0, refused: 0 };
  // with --expose-gc, collect every 50 cases: the peak then measures what cases hold, not how far the collector lags
  const gc = (globalThis as { gc?: () => void }).gc;
  const prop = fc.property(fc.nat(seeds.length - 1), fc.array(l.mutation, { minLength: 1, maxLength: 3 }), (s, ms) => {
    report.cases++;
    if (gc && report.cases % 50 === 0) gc();
    const bytes = ms.reduce((b, m) => l.apply(b, m), seeds[s]!);
    let out: number;
    try {
      out = l.load(bytes, s);
    } catch (e) {
      if (!(e instanceof InputError)) throw new Error(`not an InputError: ${(e as Error)?.stack ?? String(e)}`);
      if (!e.message.includes(l.name)) throw new Error(`the error does not name the file: ${e.message}`);
      report.refused++;
      return;
    }
    if (l.multiple && out > l.multiple * bytes.length) throw new Error(`loaded ${out} bytes from a ${bytes.length}-byte file (more than ${l.multiple}x)`);
    report.loaded++;
  });
  const r = fc.check(prop, { numRuns: runs, seed });
  report.cases = r.numRuns;
  if (r.failed) report.failure = fc.defaultReportMessage(r) ?? 'failed';
  return report;
}

// node build/test/support/fuzz.js RUNS SEED [LOADER...]: one JSON report per
// loader on stdout, then the process's peak memory
if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const peak = peakMeter();
  const runs = Number(process.argv[2] ?? 2000);
  const seed = Number(process.argv[3] ?? 1);
  const names = (process.argv.length > 4 ? process.argv.slice(4) : Object.keys(LOADERS)) as LoaderName[];
  for (const n of names) {
    const t0 = Date.now();
    const r = fuzz(n, runs, seed);
    console.log(JSON.stringify({ ...r, ms: Date.now() - t0, rssMB: Math.round(peak.bytes() / 2 ** 20) }));
  }
  console.log(JSON.stringify({ maxRssBytes: peak.bytes(), peakFrom: peak.how }));
}
