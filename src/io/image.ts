/**
 * Image decoding to 8-bit RGB (HWC, interleaved), PNG and baseline/progressive
 * JPEG, with codecs that run in Node and browsers: pngjs (pure JS), and
 * libjpeg-turbo compiled to WebAssembly (./jpeg_turbo.ts), whose pixels equal
 * Pillow's.
 *
 * - The format is sniffed from magic bytes, never from the file name.
 * - PNG: any colour type / bit depth pngjs supports (greyscale, palette,
 *   16-bit, interlaced). Alpha is simply DROPPED (no compositing over a
 *   background), as Pillow's convert('RGB') does: the RGB stored under
 *   transparent pixels is kept as is, and pixels made transparent by a tRNS
 *   colour key keep the key colour (pngjs blanks them; put back here). The
 *   result's `transparency` says that something was dropped.
 * - JPEG: decoded as Pillow's Image.open(f).convert('RGB') decodes it
 *   (libjpeg-turbo, islow IDCT, fancy upsampling; CMYK through Pillow's
 *   inverted-CMYK-to-RGB formula). EXIF orientation is NOT applied, as Pillow
 *   does not apply it on open: pixels stay in stored orientation, so numbers
 *   equal a PyTorch pipeline's on the same file. applyExifOrientation and
 *   jpegOrientation are there for a caller who wants the displayed view.
 * - Truncated files raise an error rather than returning a partly grey image:
 *   the JPEG marker structure is walked up to EOI before decoding.
 */
import { Buffer } from 'buffer'; // Node's built-in; the npm package of the same name in the browser bundle
import pngjs from 'pngjs';
import { decodeJpegTurbo, TurboJpegError } from './jpeg_turbo.js';
import { READ_LIMITS, nodeZlib, pathToString, readRegularFile, type PathLike } from './node.js';
import { InputError } from './errors.js';

export interface RgbImage {
  width: number;
  height: number;
  /** RGB interleaved, row-major (HWC), length width*height*3. */
  data: Uint8Array;
}

export type ImageFormat = 'png' | 'jpeg';

/** A decoded image; `transparency` is set when the file had some (an alpha channel or a tRNS chunk), which decoding drops. */
export interface DecodedImage extends RgbImage {
  transparency?: 'alpha channel' | 'tRNS transparency';
}

/** Decoder limits: refuse absurd dimensions before allocating. */
/** Pillow's limit (Image.MAX_IMAGE_PIXELS), for decoded images and every image made from them. */
export const MAX_IMAGE_PIXELS = 89_478_485;

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function startsWith(bytes: Uint8Array, magic: ArrayLike<number>, at = 0): boolean {
  if (bytes.length < at + magic.length) return false;
  for (let i = 0; i < magic.length; i++) if (bytes[at + i] !== magic[i]) return false;
  return true;
}

const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));

/** Identifies PNG/JPEG by magic bytes; undefined otherwise. */
export function sniffImageFormat(bytes: Uint8Array): ImageFormat | undefined {
  if (startsWith(bytes, PNG_MAGIC)) return 'png';
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'jpeg';
  return undefined;
}

/** Names a few common unsupported formats for a friendlier error. */
function describeUnsupported(bytes: Uint8Array): string {
  if (startsWith(bytes, ascii('GIF87a')) || startsWith(bytes, ascii('GIF89a'))) return 'GIF images are not supported';
  if (startsWith(bytes, ascii('RIFF')) && startsWith(bytes, ascii('WEBP'), 8)) return 'WebP images are not supported';
  if (startsWith(bytes, ascii('BM'))) return 'BMP images are not supported';
  if (startsWith(bytes, [0x49, 0x49, 0x2a, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2a])) return 'TIFF images are not supported';
  if (bytes.length === 0) return 'the file is empty';
  const head = [...bytes.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  return `unknown image format (first bytes: ${head}); only PNG and JPEG are supported`;
}

/**
 * Decodes PNG or JPEG bytes to RGB; images over `maxPixels` are refused before
 * their pixels are allocated. `name` is the file the errors name ("image
 * cat.png: truncated PNG ..."); without one they say "image bytes: ...".
 */
export function decodeImage(bytes: Uint8Array, name = 'bytes', maxPixels = MAX_IMAGE_PIXELS): DecodedImage {
  const format = sniffImageFormat(bytes);
  if (format === 'png') return decodePng(bytes, name, maxPixels);
  if (format === 'jpeg') return decodeJpeg(bytes, name, maxPixels);
  throw new InputError(name, `image ${name}: ${describeUnsupported(bytes)}`);
}

/** Node helper: reads and decodes an image file (path or file: URL). */
export function readImageFile(path: PathLike, maxPixels = MAX_IMAGE_PIXELS): DecodedImage {
  const name = pathToString(path);
  return decodeImage(readRegularFile(name, 'an image', READ_LIMITS.image), name, maxPixels);
}

// ---------------------------------------------------------------------------
// PNG

/** pngjs wants a Buffer: a view of the same bytes (Node's Buffer, or the buffer package in a browser bundle). */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function checkDims(name: string, width: number, height: number, maxPixels: number): void {
  if (!(width > 0) || !(height > 0)) throw new InputError(name, `image ${name}: zero-size image (${width}x${height})`);
  if (width * height > maxPixels) {
    throw new InputError(name, `image ${name}: ${width}x${height} exceeds the ${maxPixels}-pixel limit (--max-pixels)`);
  }
}

/**
 * The colour-key of a greyscale or RGB PNG's tRNS chunk at 8 bits, scaled as
 * pngjs scales every sample (round(v * 255 / (2^depth - 1))); undefined for
 * other colour types.
 */
function trnsKey(trns: Uint8Array, colorType: number, depth: number): number[] | undefined {
  const n = colorType === 0 ? 1 : colorType === 2 ? 3 : 0;
  if (n === 0 || trns.length < 2 * n) return undefined;
  const max = 2 ** depth - 1;
  const key = Array.from({ length: n }, (_, c) => Math.floor((((trns[2 * c]! << 8) | trns[2 * c + 1]!) * 255) / max + 0.5));
  return n === 1 ? [key[0]!, key[0]!, key[0]!] : key;
}

function decodePng(bytes: Uint8Array, name: string, maxPixels: number): DecodedImage {
  // IHDR must be the first chunk: signature(8) len(4) "IHDR"(4) width(4) height(4).
  if (bytes.length < 33 || !startsWith(bytes, ascii('IHDR'), 12)) {
    throw new InputError(name, `image ${name}: truncated or corrupt PNG (no IHDR header chunk)`);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  checkDims(name, dv.getUint32(16), dv.getUint32(20), maxPixels);
  // Walk the chunk list so a cut-off file gets a clear "truncated" message
  // (pngjs would report an obscure stream error).
  let pos = 8;
  const idat: Uint8Array[] = [];
  let trns: Uint8Array | undefined;
  for (;;) {
    if (pos + 8 > bytes.length) throw new InputError(name, `image ${name}: truncated PNG (data ends at byte ${bytes.length}, before the IEND chunk)`);
    const len = dv.getUint32(pos);
    const type = String.fromCharCode(...bytes.subarray(pos + 4, pos + 8));
    if (pos + 12 + len > bytes.length) throw new InputError(name, `image ${name}: truncated PNG (data ends inside the ${JSON.stringify(type)} chunk)`);
    if (type === 'IDAT') idat.push(bytes.subarray(pos + 8, pos + 8 + len));
    if (type === 'tRNS') trns = bytes.subarray(pos + 8, pos + 8 + len);
    pos += 12 + len;
    if (type === 'IEND') break;
  }
  checkPngStream(bytes, idat, name);
  let png: { width: number; height: number; data: Uint8Array };
  try {
    png = pngjs.PNG.sync.read(asBuffer(bytes), { checkCRC: true });
  } catch (e) {
    throw new InputError(name, `image ${name}: truncated or corrupt PNG: ${(e as Error).message}`);
  }
  const { width, height } = png;
  checkDims(name, width, height, maxPixels);
  const src = png.data; // RGBA, 8 bits (pngjs normalises every colour type and rescales 16-bit)
  if (src.length !== width * height * 4) throw new InputError(name, `image ${name}: corrupt PNG (decoded ${src.length} bytes for ${width}x${height})`);
  const colorType = bytes[25]!;
  // a colour-keyed pixel is one whose colour is the key, so the key is its stored colour
  const key = trns && trnsKey(trns, colorType, bytes[24]!);
  const out = new Uint8Array(width * height * 3);
  // src has 4 bytes for each 3 of out (checked above)
  for (let i = 0, j = 0; j < out.length; i += 4, j += 3) {
    const keyed = key && src[i + 3] === 0;
    out[j] = keyed ? key[0]! : src[i]!;
    out[j + 1] = keyed ? key[1]! : src[i + 1]!;
    out[j + 2] = keyed ? key[2]! : src[i + 2]!;
  }
  const transparency = colorType === 4 || colorType === 6 ? 'alpha channel' : trns ? 'tRNS transparency' : undefined;
  return transparency ? { width, height, data: out, transparency } : { width, height, data: out };
}

/** Samples per pixel of each PNG colour type. */
const PNG_CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/** Bytes the image data must inflate to: per row a filter byte and the packed samples, per Adam7 pass when interlaced. */
/** The seven passes of Adam7 interlacing, [x0, y0, dx, dy] each. @internal (the fuzz suite's PNG writer uses them too) */
export const ADAM7_PASSES: readonly (readonly [number, number, number, number])[] = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
];

export function pngDataLength(width: number, height: number, bitDepth: number, colorType: number, interlaced: boolean): number {
  const bitsPerPixel = (PNG_CHANNELS[colorType] ?? 0) * bitDepth;
  const rowBytes = (w: number) => 1 + Math.ceil((w * bitsPerPixel) / 8);
  if (!interlaced) return height * rowBytes(width);
  let total = 0;
  for (const [x0, y0, dx, dy] of ADAM7_PASSES) {
    const w = Math.ceil((width - x0) / dx);
    const h = Math.ceil((height - y0) / dy);
    if (w > 0 && h > 0) total += h * rowBytes(w);
  }
  return total;
}

/**
 * The IDAT stream must be a complete zlib stream of exactly the length the
 * header implies. pngjs 7's synchronous inflate does not check this and can
 * hand back memory that was never written (old heap bytes) for a truncated
 * stream, so the stream is inflated and measured here first (under Node;
 * zlib's own checks catch truncation and corruption).
 */
function checkPngStream(bytes: Uint8Array, idat: Uint8Array[], name: string): void {
  const zlib = nodeZlib();
  if (!zlib) return;
  if (!idat.length) throw new InputError(name, `image ${name}: corrupt PNG (no IDAT image data)`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const want = pngDataLength(dv.getUint32(16), dv.getUint32(20), bytes[24]!, bytes[25]!, bytes[28] === 1);
  const stream = new Uint8Array(idat.reduce((s, c) => s + c.length, 0));
  let at = 0;
  for (const c of idat) {
    stream.set(c, at);
    at += c.length;
  }
  let got: number;
  try {
    // maxOutputLength: a stream that inflates past the expected size stops there
    got = zlib.inflateSync(stream, { maxOutputLength: want + 1 }).length;
  } catch (e) {
    const msg = (e as Error).message;
    throw new InputError(name, `image ${name}: truncated or corrupt PNG image data (${/end of file/i.test(msg) ? 'the compressed stream ends early' : msg})`);
  }
  if (got !== want)
    throw new InputError(
      name,
      `image ${name}: corrupt PNG: the image data inflates to ${got > want ? 'more than' : 'only'} ${got > want ? want : got} bytes, the header needs ${want}`,
    );
}

// ---------------------------------------------------------------------------
// JPEG

interface JpegScan {
  /** EXIF orientation 1-8 (1 if absent or unreadable). */
  orientation: number;
}

/**
 * Walks the JPEG marker structure from SOI to EOI, validating segment lengths
 * and that every entropy-coded scan is terminated by a marker, and picks up
 * the EXIF orientation. Throws a "truncated" error if the data ends before EOI
 * (a decoder would otherwise be free to fill the missing part with grey).
 */
function scanJpeg(bytes: Uint8Array, name: string, maxPixels: number): JpegScan {
  const n = bytes.length;
  const truncated = (where: string): never => {
    throw new InputError(name, `image ${name}: truncated JPEG (data ends ${where}, before the end-of-image marker)`);
  };
  let orientation = 1;
  let sawFrame = false;
  let progressive = false;
  let frame: { width: number; height: number; blocks: number } | undefined;
  let codedBytes = 0;
  let pos = 2; // after SOI
  for (;;) {
    // Skip any garbage up to the next 0xFF, then fill bytes.
    while (pos < n && bytes[pos] !== 0xff) pos++;
    while (pos < n && bytes[pos] === 0xff) pos++;
    if (pos >= n) truncated(`at offset ${n}`);
    const marker = bytes[pos++]!; // pos < n
    if (marker === 0xd9) break; // EOI
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x00) continue; // standalone
    if (pos + 2 > n) truncated(`inside the length of a 0xFF${marker.toString(16).toUpperCase()} segment`);
    const len = (bytes[pos]! << 8) | bytes[pos + 1]!; // pos + 2 <= n
    if (len < 2) throw new InputError(name, `image ${name}: corrupt JPEG (segment 0xFF${marker.toString(16).toUpperCase()} has length ${len})`);
    const segStart = pos + 2;
    const segEnd = pos + len;
    if (segEnd > n) truncated(`inside a 0xFF${marker.toString(16).toUpperCase()} segment`);
    // Start-of-frame markers: C0-CF except DHT (C4), JPG (C8), DAC (CC).
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (len < 8) throw new InputError(name, `image ${name}: corrupt JPEG (short frame header)`);
      if (sawFrame) throw new InputError(name, `image ${name}: corrupt JPEG (a second start-of-frame header)`);
      const precision = bytes[segStart]!;
      if (precision !== 8) throw new InputError(name, `image ${name}: ${precision}-bit JPEG samples are not supported (only 8-bit, as Pillow)`);
      // len >= 8: the frame header's first 8 bytes are inside the segment
      const height = (bytes[segStart + 1]! << 8) | bytes[segStart + 2]!;
      const width = (bytes[segStart + 3]! << 8) | bytes[segStart + 4]!;
      checkDims(name, width, height, maxPixels);
      frame = { width, height, blocks: frameBlocks(bytes.subarray(segStart, segEnd), width, height, name) };
      sawFrame = true;
      progressive = marker === 0xc2 || marker === 0xca;
    } else if (marker === 0xe1 && orientation === 1) {
      const o = exifOrientation(bytes.subarray(segStart, segEnd));
      if (o !== undefined) orientation = o;
    }
    pos = segEnd;
    if (marker === 0xda && progressive) checkProgressiveScan(bytes.subarray(segStart, segEnd), name);
    if (marker === 0xda) {
      // Entropy-coded data follows: it ends at the first marker that is not a
      // stuffed 0xFF00 or a restart marker 0xFFD0-D7.
      const scanStart = pos;
      for (;;) {
        while (pos < n && bytes[pos] !== 0xff) pos++;
        let q = pos;
        while (q < n && bytes[q] === 0xff) q++;
        if (q >= n) truncated('inside entropy-coded scan data');
        const m = bytes[q]!; // q < n
        if (m === 0x00 || (m >= 0xd0 && m <= 0xd7)) {
          pos = q + 1;
          continue;
        }
        break; // pos is at the 0xFF of the next marker
      }
      codedBytes += pos - scanStart;
    }
  }
  if (!sawFrame || !frame) throw new InputError(name, `image ${name}: corrupt JPEG (no start-of-frame header)`);
  // Every 8x8 block costs at least one bit (its DC Huffman code), so a tiny
  // file claiming a huge frame is refused before the decoder allocates it.
  if (codedBytes * 8 < frame.blocks) {
    throw new InputError(
      name,
      `image ${name}: corrupt JPEG: a ${frame.width}x${frame.height} frame needs at least ${Math.ceil(frame.blocks / 8)} bytes of coded data (one bit per 8x8 block), the file has ${codedBytes}`,
    );
  }
  return { orientation };
}

/**
 * A scan of a progressive frame must be a spectral-selection scan: DC alone
 * (Ss = Se = 0) or one component's AC band 1 <= Ss <= Se <= 63. A sequential
 * scan (0..63) there is refused by libjpeg too; this names the problem.
 */
function checkProgressiveScan(sos: Uint8Array, name: string): void {
  const n = sos[0] ?? 0;
  if (sos.length < 1 + 2 * n + 3) throw new InputError(name, `image ${name}: corrupt JPEG (short start-of-scan header)`);
  const ss = sos[1 + 2 * n]!;
  const se = sos[2 + 2 * n]!;
  const ok = ss === 0 ? se === 0 : n === 1 && ss <= se && se <= 63;
  if (!ok)
    throw new InputError(
      name,
      `image ${name}: corrupt JPEG: a progressive frame has a scan over coefficients ${ss}..${se} of ${n} component(s) (a baseline scan under a progressive marker?)`,
    );
}

/** 8x8 blocks over all components of a frame header (SOFn payload), from each component's sampling factors. */
function frameBlocks(sof: Uint8Array, width: number, height: number, name: string): number {
  const n = sof[5] ?? 0;
  if (n < 1 || sof.length < 6 + 3 * n) throw new InputError(name, `image ${name}: corrupt JPEG (frame header lists ${n} components in ${sof.length} bytes)`);
  const hv: [number, number][] = [];
  for (let i = 0; i < n; i++) {
    const f = sof[6 + 3 * i + 1]!;
    const h = f >> 4;
    const v = f & 15;
    if (h < 1 || h > 4 || v < 1 || v > 4)
      throw new InputError(name, `image ${name}: corrupt JPEG (component ${i + 1} has sampling factors ${h}x${v}; each must be 1-4)`);
    hv.push([h, v]);
  }
  const hMax = Math.max(...hv.map(([h]) => h));
  const vMax = Math.max(...hv.map(([, v]) => v));
  let blocks = 0;
  for (const [h, v] of hv) blocks += Math.ceil(Math.ceil((width * h) / hMax) / 8) * Math.ceil(Math.ceil((height * v) / vMax) / 8);
  return blocks;
}

/**
 * EXIF orientation from an APP1 segment payload ("Exif\0\0" + TIFF), or
 * undefined if it is not EXIF, has no orientation tag, or is malformed.
 */
export function exifOrientation(app1: Uint8Array): number | undefined {
  if (!startsWith(app1, [0x45, 0x78, 0x69, 0x66, 0x00, 0x00])) return undefined; // "Exif\0\0"
  const tiff = app1.subarray(6);
  if (tiff.length < 8) return undefined;
  let le: boolean;
  if (tiff[0] === 0x49 && tiff[1] === 0x49)
    le = true; // "II"
  else if (tiff[0] === 0x4d && tiff[1] === 0x4d)
    le = false; // "MM"
  else return undefined;
  const dv = new DataView(tiff.buffer, tiff.byteOffset, tiff.byteLength);
  if (dv.getUint16(2, le) !== 42) return undefined;
  const ifd = dv.getUint32(4, le);
  if (ifd + 2 > tiff.length) return undefined;
  const count = dv.getUint16(ifd, le);
  for (let i = 0; i < count; i++) {
    const e = ifd + 2 + 12 * i;
    if (e + 12 > tiff.length) return undefined;
    if (dv.getUint16(e, le) !== 0x0112) continue;
    const type = dv.getUint16(e + 2, le);
    // Orientation is a SHORT (3); tolerate LONG (4) written by some tools.
    const v = type === 3 ? dv.getUint16(e + 8, le) : type === 4 ? dv.getUint32(e + 8, le) : 0;
    return v >= 1 && v <= 8 ? v : undefined;
  }
  return undefined;
}

/**
 * Applies an EXIF orientation (1-8) to an RGB image, returning the image as it
 * should be displayed. 5-8 swap width and height.
 *   2 mirror horizontal, 3 rotate 180, 4 mirror vertical,
 *   5 transpose, 6 rotate 90 clockwise, 7 transverse, 8 rotate 90 counter-clockwise.
 */
export function applyExifOrientation(img: RgbImage, orientation: number): RgbImage {
  if (orientation === 1) return img;
  if (!Number.isInteger(orientation) || orientation < 1 || orientation > 8) {
    throw new Error(`applyExifOrientation: orientation must be 1-8, got ${orientation}`);
  }
  const W = img.width;
  const H = img.height;
  const swap = orientation >= 5;
  const w = swap ? H : W;
  const h = swap ? W : H;
  const src = img.data;
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      // (sx, sy): the stored pixel shown at display position (x, y).
      let sx: number;
      let sy: number;
      switch (orientation) {
        case 2:
          sx = W - 1 - x;
          sy = y;
          break;
        case 3:
          sx = W - 1 - x;
          sy = H - 1 - y;
          break;
        case 4:
          sx = x;
          sy = H - 1 - y;
          break;
        case 5:
          sx = y;
          sy = x;
          break;
        case 6:
          sx = y;
          sy = H - 1 - x;
          break;
        case 7:
          sx = W - 1 - y;
          sy = H - 1 - x;
          break;
        default:
          sx = W - 1 - y;
          sy = x;
          break; // 8
      }
      const si = (sy * W + sx) * 3;
      const di = (y * w + x) * 3;
      // (sx, sy) is inside the W x H image, whose data has W * H * 3 bytes
      out[di] = src[si]!;
      out[di + 1] = src[si + 1]!;
      out[di + 2] = src[si + 2]!;
    }
  }
  return { width: w, height: h, data: out };
}

/** EXIF orientation (1-8) of a JPEG's bytes, 1 if absent; decoding does not apply it (see the module comment). */
export function jpegOrientation(bytes: Uint8Array, name = 'image', maxPixels = MAX_IMAGE_PIXELS): number {
  return scanJpeg(bytes, name, maxPixels).orientation;
}

/**
 * Pillow's CMYK to RGB (libImaging/Convert.c cmyk2rgb) on the samples as
 * stored: Pillow reads CMYK JPEGs as Adobe-inverted ("CMYK;I"), so c = 255 - stored,
 * and nk - c*nk/255 with nk = 255 - k becomes MULDIV255 on the stored values.
 */
function cmykToRgbLikePillow(cmyk: Uint8Array, pixels: number): Uint8Array {
  const out = new Uint8Array(pixels * 3);
  const muldiv255 = (a: number, b: number) => {
    const t = a * b + 128;
    return ((t >> 8) + t) >> 8;
  };
  for (let p = 0; p < pixels; p++) {
    const nk = cmyk[4 * p + 3]!; // 255 - k, k = 255 - stored
    for (let c = 0; c < 3; c++) out[3 * p + c] = Math.max(0, Math.min(255, nk - muldiv255(255 - cmyk[4 * p + c]!, nk)));
  }
  return out;
}

function decodeJpeg(bytes: Uint8Array, name: string, maxPixels: number): RgbImage {
  scanJpeg(bytes, name, maxPixels); // structure, truncation and size limits before any pixel is allocated
  let img: ReturnType<typeof decodeJpegTurbo>;
  try {
    img = decodeJpegTurbo(bytes);
  } catch (e) {
    // TurboJpegError for what libjpeg refused; a RangeError when wasm memory runs out
    const why = e instanceof TurboJpegError || e instanceof RangeError || e instanceof WebAssembly.RuntimeError ? e.message : String(e);
    throw new InputError(name, `image ${name}: corrupt or unsupported JPEG: ${why}`);
  }
  checkDims(name, img.width, img.height, maxPixels);
  const data = img.channels === 4 ? cmykToRgbLikePillow(img.data, img.width * img.height) : img.data;
  return { width: img.width, height: img.height, data };
}
