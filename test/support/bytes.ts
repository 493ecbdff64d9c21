// Byte helpers shared by the malformed-file tests, the fuzz suite and
// tools/probe-hostile.mjs.
import * as zlib from 'node:zlib';

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** A PNG with its IDAT payload replaced (CRC recomputed, so only the stream itself is wrong). */
export function withIdat(png: Uint8Array, payload: (data: Uint8Array) => Uint8Array): Uint8Array {
  const dv = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const parts: Uint8Array[] = [png.subarray(0, 8)];
  for (let pos = 8; pos < png.length;) {
    const len = dv.getUint32(pos);
    const type = png.subarray(pos + 4, pos + 8);
    let data = png.subarray(pos + 8, pos + 8 + len);
    if (String.fromCharCode(...type) === 'IDAT') data = payload(data);
    const chunk = new Uint8Array(12 + data.length);
    const cv = new DataView(chunk.buffer);
    cv.setUint32(0, data.length);
    chunk.set(type, 4);
    chunk.set(data, 8);
    cv.setUint32(8 + data.length, zlib.crc32(chunk.subarray(4, 8 + data.length)));
    parts.push(chunk);
    pos += 12 + len;
  }
  return concat(parts);
}
