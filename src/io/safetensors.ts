/**
 * A lazy, validating reader (and a small F32 writer) for the safetensors format.
 *
 * Layout: 8 bytes u64 little-endian N, then N bytes of UTF-8 JSON header, then
 * the data section. The header maps tensor names to
 * `{dtype, shape, data_offsets: [begin, end]}` (offsets relative to the start
 * of the data section) plus an optional `__metadata__` string->string map.
 *
 * Only the header is read when a file is opened; tensor bytes are read on
 * demand through a {@link ByteSource}, so a multi-GB file never has to sit in
 * memory. Works in Node ({@link fileSource}) and in a browser
 * ({@link bufferSource} over bytes you fetched).
 *
 * Every malformed-file error names the file, and where relevant the tensor.
 */
import { nodeFs, openRegularFile, pathToString, type PathLike } from './node.js';
import { InputError } from './errors.js';

// ---------------------------------------------------------------------------
// Byte sources

/** Random access to the bytes of a file or buffer. */
export interface ByteSource {
  /** Total size in bytes. */
  readonly size: number;
  /**
   * Returns exactly `length` bytes starting at `offset` (throws if the range is
   * outside the source). The result may be a view into a shared buffer: treat
   * it as read-only.
   */
  read(offset: number, length: number): Uint8Array;
  /** Releases the underlying resource (file descriptor). Idempotent. */
  close?(): void;
  /** Name used in error messages (usually the path). */
  readonly name: string;
}

function checkRange(name: string, size: number, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > size) {
    throw new InputError(name, `${name}: read of ${length} bytes at offset ${offset} is outside the ${size}-byte source`);
  }
}

/**
 * A Node.js file opened for positional reads (fs.openSync + fs.readSync);
 * the file is never read whole into memory. Accepts a path or a file: URL.
 */
export function fileSource(path: PathLike): ByteSource {
  const fs = nodeFs('fileSource');
  const name = pathToString(path);
  let fd: number | undefined;
  try {
    const opened = openRegularFile(name, 'a safetensors file');
    fd = opened.fd;
    const size = opened.size;
    const handle = fd;
    let closed = false;
    return {
      name,
      size,
      read(offset: number, length: number): Uint8Array {
        if (closed) throw new InputError(name, `${name}: read after close`);
        checkRange(name, size, offset, length);
        const out = new Uint8Array(length);
        let done = 0;
        while (done < length) {
          const n = fs.readSync(handle, out, done, length - done, offset + done);
          if (n <= 0) throw new InputError(name, `${name}: unexpected end of file at offset ${offset + done} (file changed while open?)`);
          done += n;
        }
        return out;
      },
      close(): void {
        if (!closed) {
          closed = true;
          fs.closeSync(handle);
        }
      },
    };
  } catch (e) {
    if (fd !== undefined) fs.closeSync(fd);
    if (e instanceof InputError) throw e; // already names the file and the problem
    throw new InputError(name, `${name}: cannot open: ${(e as Error).message}`);
  }
}

/** A source over bytes already in memory (e.g. a fetched ArrayBuffer in a browser). `read` returns views, not copies. */
export function bufferSource(bytes: Uint8Array, name: string): ByteSource {
  return {
    name,
    size: bytes.byteLength,
    read(offset: number, length: number): Uint8Array {
      checkRange(name, bytes.byteLength, offset, length);
      return bytes.subarray(offset, offset + length);
    },
  };
}

// ---------------------------------------------------------------------------
// Dtypes

/** Element sizes in bytes of the dtypes defined by the safetensors format. */
const DTYPE_SIZES = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
} as const;

export type SafetensorsDtype = keyof typeof DTYPE_SIZES;

/** Dtypes {@link SafetensorsFile.readF32} can convert to float32. */
const FLOAT_DTYPES: ReadonlySet<SafetensorsDtype> = new Set<SafetensorsDtype>(['F32', 'F16', 'BF16', 'F64']);

function isDtype(s: string): s is SafetensorsDtype {
  return Object.prototype.hasOwnProperty.call(DTYPE_SIZES, s);
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

let f16Table: Float32Array | undefined;
/** float16 bit pattern -> float32 value, for all 65536 patterns (built on first use, 256 KB). */
function halfTable(): Float32Array {
  if (f16Table) return f16Table;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const mant = h & 0x3ff;
    let v: number;
    if (exp === 0)
      v = sign * mant * 2 ** -24; // zero / subnormal
    else if (exp === 31) v = mant ? NaN : sign * Infinity;
    else v = sign * (1 + mant / 1024) * 2 ** (exp - 15);
    t[h] = v;
  }
  f16Table = t;
  return t;
}

/** Converts raw little-endian tensor bytes of a float dtype to a fresh Float32Array. */
function bytesToF32(bytes: Uint8Array, dtype: SafetensorsDtype, count: number): Float32Array {
  const out = new Float32Array(count);
  switch (dtype) {
    case 'F32':
      if (LITTLE_ENDIAN) {
        new Uint8Array(out.buffer).set(bytes);
      } else {
        const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        for (let i = 0; i < count; i++) out[i] = dv.getFloat32(4 * i, true);
      }
      return out;
    case 'F16': {
      // bytes has 2 * count entries (the byte length was checked against the shape); t has all 65536
      const t = halfTable();
      for (let i = 0; i < count; i++) out[i] = t[bytes[2 * i]! | (bytes[2 * i + 1]! << 8)]!;
      return out;
    }
    case 'BF16': {
      // bfloat16 is the top half of a float32: shift the 16 bits into place.
      const u32 = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) u32[i] = ((bytes[2 * i]! | (bytes[2 * i + 1]! << 8)) << 16) >>> 0; // 2 * count bytes
      return out;
    }
    case 'F64': {
      const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      for (let i = 0; i < count; i++) out[i] = dv.getFloat64(8 * i, true);
      return out;
    }
    default:
      throw new Error(`internal: no float32 conversion for ${dtype}`);
  }
}

// ---------------------------------------------------------------------------
// Reader

export interface TensorInfo {
  dtype: SafetensorsDtype;
  shape: number[];
  byteLength: number;
}

interface Entry extends TensorInfo {
  begin: number;
  end: number;
}

export interface SafetensorsFile {
  /** Name of the underlying source (for messages). */
  readonly name: string;
  /** The `__metadata__` map ({} if absent). */
  readonly metadata: Record<string, string>;
  /** Tensor names in header order. */
  names(): string[];
  has(name: string): boolean;
  info(name: string): TensorInfo;
  /** The raw little-endian bytes of a tensor (read-only; may be a view). */
  readBytes(name: string): Uint8Array;
  /** The tensor as float32 (F32 copied, F16/BF16/F64 converted). Integer/bool/F8 dtypes are rejected. */
  readF32(name: string): Float32Array;
  close(): void;
}

/** Largest accepted header, as in the reference implementation. */
export const MAX_HEADER_BYTES = 100_000_000;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isNonNegInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/**
 * Reads and validates the header of a safetensors file; tensor data is read
 * lazily. The returned object owns `src` (close() closes it). If validation
 * fails, `src` is closed and an Error naming the file and problem is thrown.
 *
 * Offsets policy: the reference implementation requires the tensors to tile
 * the data section exactly (no gaps, no trailing bytes). This reader is more
 * lenient on gaps and trailing bytes (they are harmless: nothing is read from
 * them) but rejects overlapping tensors and any tensor extending past the end
 * of the file. Zero-byte tensors occupy nothing and never count as overlapping.
 */
export function openSafetensors(src: ByteSource): SafetensorsFile {
  try {
    return parse(src);
  } catch (e) {
    src.close?.();
    throw e;
  }
}

/** The first key that appears twice in the top-level object of valid JSON text, or null. */
export function duplicateTopLevelKey(text: string): string | null {
  const seen = new Set<string>();
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // a string: find its end (skipping escapes)
      let j = i + 1;
      while (text.charCodeAt(j) !== 0x22) j += text.charCodeAt(j) === 0x5c ? 2 : 1;
      if (depth === 1 && expectKey) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (seen.has(key)) return key;
        seen.add(key);
        expectKey = false;
      }
      i = j;
    } else if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth === 1) expectKey = true;
    } else if (c === 0x7d || c === 0x5d) depth--;
    else if (c === 0x2c && depth === 1) expectKey = true;
  }
  return null;
}

function parse(src: ByteSource): SafetensorsFile {
  const file = src.name;
  const fail = (msg: string): never => {
    throw new InputError(file, `safetensors file ${file}: ${msg}`);
  };

  if (src.size < 8) fail(`file is only ${src.size} bytes, shorter than the 8-byte header length prefix`);
  const prefix = src.read(0, 8);
  const dvp = new DataView(prefix.buffer, prefix.byteOffset, 8);
  const lo = dvp.getUint32(0, true);
  const hi = dvp.getUint32(4, true);
  const headerLen = hi * 2 ** 32 + lo;
  if (headerLen === 0) fail('header length is zero');
  if (headerLen > MAX_HEADER_BYTES) fail(`header length ${headerLen} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  if (8 + headerLen > src.size) fail(`header length ${headerLen} runs beyond the end of the ${src.size}-byte file`);

  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(src.read(8, headerLen));
  } catch {
    return fail('header is not valid UTF-8');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    const at = /position (\d+)/.exec((e as Error).message);
    return fail(`header is not valid JSON${at ? ` (at byte ${at[1]} of the header)` : ''}`);
  }
  if (!isPlainObject(json)) return fail(`header must be a JSON object, got ${Array.isArray(json) ? 'an array' : json === null ? 'null' : typeof json}`);
  // JSON.parse keeps the last of repeated keys; the format forbids them (the reference reader refuses them)
  const dup = duplicateTopLevelKey(text);
  if (dup !== null) fail(`header names tensor '${dup}' more than once`);

  const dataStart = 8 + headerLen;
  const dataLen = src.size - dataStart;
  const metadata: Record<string, string> = {};
  const entries = new Map<string, Entry>();

  for (const [key, raw] of Object.entries(json)) {
    if (key === '__metadata__') {
      if (!isPlainObject(raw)) fail('__metadata__ must be an object mapping strings to strings');
      for (const [mk, mv] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof mv !== 'string') fail(`__metadata__ value for key '${mk}' must be a string, got ${JSON.stringify(mv)}`);
        metadata[mk] = mv as string;
      }
      continue;
    }
    const bad = (msg: string): never => fail(`tensor '${key}': ${msg}`);
    if (!isPlainObject(raw)) bad('header entry must be an object with dtype, shape and data_offsets');
    const ent = raw as Record<string, unknown>;
    for (const field of ['dtype', 'shape', 'data_offsets']) {
      if (!(field in ent)) bad(`missing '${field}'`);
    }
    const dtype = ent.dtype;
    if (typeof dtype !== 'string') return bad(`dtype must be a string, got ${JSON.stringify(dtype)}`);
    if (!isDtype(dtype)) return bad(`unknown dtype '${dtype}' (known: ${Object.keys(DTYPE_SIZES).join(', ')})`);
    const shape = ent.shape;
    if (!Array.isArray(shape)) return bad(`shape must be an array of integers, got ${JSON.stringify(shape)}`);
    let count = 1;
    for (const d of shape) {
      if (!isNonNegInt(d)) return bad(`shape ${JSON.stringify(shape)} has an invalid dimension ${JSON.stringify(d)} (must be a non-negative integer)`);
      count *= d;
    }
    if (!Number.isSafeInteger(count)) bad(`shape ${JSON.stringify(shape)} has too many elements`);
    const offs = ent.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !isNonNegInt(offs[0]) || !isNonNegInt(offs[1])) {
      return bad(`data_offsets must be [begin, end] with non-negative integers, got ${JSON.stringify(offs)}`);
    }
    const [begin, end] = offs as [number, number];
    if (begin > end) bad(`data_offsets [${begin}, ${end}] have begin > end`);
    if (end > dataLen) bad(`data_offsets end ${end} is beyond the end of the data section (${dataLen} bytes)`);
    const expected = count * DTYPE_SIZES[dtype];
    if (end - begin !== expected) {
      bad(`byte length ${end - begin} from data_offsets does not match shape ${JSON.stringify(shape)} x ${dtype} (${expected} bytes)`);
    }
    entries.set(key, { dtype, shape: shape.slice() as number[], byteLength: end - begin, begin, end });
  }

  // Overlap check (gaps are allowed, see the comment on openSafetensors).
  const spans = [...entries.entries()].filter(([, e]) => e.end > e.begin).sort((a, b) => a[1].begin - b[1].begin);
  for (let i = 1; i < spans.length; i++) {
    const [pn, p] = spans[i - 1]!;
    const [cn, c] = spans[i]!;
    if (c.begin < p.end) {
      fail(`tensors '${pn}' [${p.begin}, ${p.end}) and '${cn}' [${c.begin}, ${c.end}) overlap`);
    }
  }

  let closed = false;
  const get = (name: string): Entry => {
    const e = entries.get(name);
    if (!e) throw new InputError(file, `safetensors file ${file}: no tensor named '${name}' (file has ${entries.size} tensors)`);
    return e;
  };
  const readBytes = (name: string): Uint8Array => {
    const e = get(name);
    if (closed) throw new InputError(file, `safetensors file ${file}: tensor '${name}': read after close()`);
    return src.read(dataStart + e.begin, e.byteLength);
  };

  return {
    name: file,
    metadata,
    names: () => [...entries.keys()],
    has: (name: string) => entries.has(name),
    info(name: string): TensorInfo {
      const e = get(name);
      return { dtype: e.dtype, shape: e.shape.slice(), byteLength: e.byteLength };
    },
    readBytes,
    readF32(name: string): Float32Array {
      const e = get(name);
      if (!FLOAT_DTYPES.has(e.dtype)) {
        throw new InputError(file, `safetensors file ${file}: tensor '${name}': dtype ${e.dtype} cannot be read as float32 (supported: F32, F16, BF16, F64)`);
      }
      const bytes = readBytes(name);
      return bytesToF32(bytes, e.dtype, e.byteLength / DTYPE_SIZES[e.dtype]);
    },
    close(): void {
      if (!closed) {
        closed = true;
        src.close?.();
      }
    },
  };
}

// ---------------------------------------------------------------------------
// Writer

export interface F32TensorRecord {
  /** F32 is stored as given; F16 is rounded from the float32 values (nearest, ties to even) */
  dtype: 'F32' | 'F16';
  shape: number[];
  data: Float32Array;
}

const f32Bits = new Uint32Array(1);
const f32View = new Float32Array(f32Bits.buffer);

/** IEEE half-precision bits of a float32 value, rounded to nearest (ties to even); overflow gives +-Infinity. */
export function float32ToF16Bits(v: number): number {
  f32View[0] = v;
  const x = f32Bits[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // Inf, NaN
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // below half the smallest subnormal
    const m = mant | 0x800000; // implicit 1
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = m & ((1 << shift) - 1);
    let r = m >>> shift;
    if (rest > half || (rest === half && r & 1)) r++;
    return sign | r;
  }
  let r = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && r & 1)) r++; // may carry into the exponent: still correct
  return sign | r;
}

/**
 * Serialises F32 or F16 tensors (in object key order) into safetensors bytes. The
 * header is space-padded to a multiple of 8 bytes, as the reference writer
 * does, so tensor data is 8-byte aligned relative to the file start.
 */
export function writeSafetensors(tensors: Record<string, F32TensorRecord>, metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new Error(`writeSafetensors: metadata value for '${k}' must be a string`);
    }
    header.__metadata__ = { ...metadata };
  }
  let offset = 0;
  const parts: Array<[number, F32TensorRecord]> = [];
  for (const [name, t] of Object.entries(tensors)) {
    if (name === '__metadata__') throw new Error(`writeSafetensors: '__metadata__' is reserved and cannot be a tensor name`);
    if (t.dtype !== 'F32' && t.dtype !== 'F16') throw new Error(`writeSafetensors: tensor '${name}': only F32 and F16 are supported, got ${String(t.dtype)}`);
    let count = 1;
    for (const d of t.shape) {
      if (!isNonNegInt(d)) throw new Error(`writeSafetensors: tensor '${name}': invalid shape ${JSON.stringify(t.shape)}`);
      count *= d;
    }
    if (count !== t.data.length) {
      throw new Error(`writeSafetensors: tensor '${name}': shape ${JSON.stringify(t.shape)} needs ${count} values, data has ${t.data.length}`);
    }
    const bytes = DTYPE_SIZES[t.dtype] * count;
    header[name] = { dtype: t.dtype, shape: t.shape.slice(), data_offsets: [offset, offset + bytes] };
    parts.push([offset, t]);
    offset += bytes;
  }
  let headerBytes = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(headerBytes.length / 8) * 8;
  if (padded !== headerBytes.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(headerBytes);
    headerBytes = p;
  }
  const out = new Uint8Array(8 + padded + offset);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, padded % 2 ** 32, true);
  dv.setUint32(4, Math.floor(padded / 2 ** 32), true);
  out.set(headerBytes, 8);
  const base = 8 + padded;
  for (const [off, { dtype, data }] of parts) {
    if (dtype === 'F16') {
      for (let i = 0; i < data.length; i++) dv.setUint16(base + off + 2 * i, float32ToF16Bits(data[i]!), true);
    } else if (LITTLE_ENDIAN) {
      out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), base + off);
    } else {
      for (let i = 0; i < data.length; i++) dv.setFloat32(base + off + 4 * i, data[i]!, true);
    }
  }
  return out;
}
