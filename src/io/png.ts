/** PNG encoding (8-bit RGB or RGBA) with pngjs. */
import { Buffer } from 'buffer'; // Node's built-in; the npm package of the same name in the browser bundle
import pngjs from 'pngjs';

export interface PngInput {
  width: number;
  height: number;
  /** Interleaved 8-bit samples, row-major, length width*height*channels. */
  data: Uint8Array;
  channels: 3 | 4;
}

/** Encodes an 8-bit RGB (colour type 2) or RGBA (colour type 6) PNG. */
export function encodePng(img: PngInput): Uint8Array {
  const { width, height, data, channels } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new Error(`encodePng: width and height must be positive integers, got ${width}x${height}`);
  }
  if (channels !== 3 && channels !== 4) throw new Error(`encodePng: channels must be 3 or 4, got ${String(channels)}`);
  if (data.length !== width * height * channels) {
    throw new Error(`encodePng: ${width}x${height}x${channels} needs ${width * height * channels} bytes, data has ${data.length}`);
  }
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const colorType = channels === 3 ? 2 : 6;
  const out = pngjs.PNG.sync.write({ width, height, data: buf } as unknown as pngjs.PNG, {
    colorType,
    inputColorType: colorType,
    inputHasAlpha: channels === 4,
    bitDepth: 8,
  });
  // A plain Uint8Array view (same memory) so callers never depend on Buffer.
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}
