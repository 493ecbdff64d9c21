// safetensors bytes built by hand, for malformed-file tests.

/** A file from a header (object or raw JSON text) and data bytes; `headerLen` overrides the length prefix (to make it lie). */
export function raw(header: unknown, data: Uint8Array = new Uint8Array(0), headerLen?: number): Uint8Array {
  const text = typeof header === 'string' ? header : JSON.stringify(header);
  return rawBytes(new TextEncoder().encode(text), data, headerLen);
}

export function rawBytes(hb: Uint8Array, data: Uint8Array = new Uint8Array(0), headerLen?: number): Uint8Array {
  const out = new Uint8Array(8 + hb.length + data.length);
  const dv = new DataView(out.buffer);
  const n = headerLen ?? hb.length;
  dv.setUint32(0, n % 2 ** 32, true);
  dv.setUint32(4, Math.floor(n / 2 ** 32), true);
  out.set(hb, 8);
  out.set(data, 8 + hb.length);
  return out;
}
