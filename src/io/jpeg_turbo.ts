/**
 * JPEG decoding with libjpeg-turbo (the WebAssembly build of @cwasm/jpeg-turbo,
 * MIT; libjpeg-turbo itself is IJG/BSD-3-Clause/zlib), driven through its
 * TurboJPEG calls with default flags: the accurate integer IDCT (islow) and
 * fancy upsampling, as Pillow decodes. So pixels equal Pillow's bit for bit
 * (test/io_jpeg.test.ts).
 *
 * The package's own glue is not used: it reads the wasm with fs at import
 * (no browser), asks for RGBA only, and shares one instance across calls. Its
 * libjpeg error exit is a longjmp, which this build implements as a JS throw
 * out of the middle of the decoder, leaving that instance's heap and stack
 * pointer wherever it was. So every decode gets a FRESH instance of the
 * compiled module: a throw poisons nothing, and a big image's memory goes with
 * its instance instead of staying grown.
 */
import { jpegTurboWasm } from './jpeg_wasm_bytes.js';

/** TurboJPEG pixel formats and colour spaces (turbojpeg.h). */
const TJPF_RGB = 0;
const TJPF_CMYK = 11;
const TJCS_CMYK = 3;
const TJCS_YCCK = 4;

interface TurboExports {
  memory: WebAssembly.Memory;
  malloc(n: number): number;
  free(p: number): void;
  tjInitDecompress(): number;
  tjDestroy(h: number): number;
  tjDecompressHeader3(h: number, src: number, size: number, w: number, hgt: number, subsamp: number, colorspace: number): number;
  tjDecompress2(h: number, src: number, size: number, dst: number, w: number, pitch: number, hgt: number, format: number, flags: number): number;
}

/** Decoded pixels: RGB, or CMYK as stored in the file (Adobe files store it inverted). */
export interface TurboImage {
  width: number;
  height: number;
  channels: 3 | 4;
  data: Uint8Array;
}

let compiled: WebAssembly.Module | undefined;

/** Thrown for anything libjpeg-turbo refuses; the caller names the file. */
export class TurboJpegError extends Error {}

function fail(what: string): never {
  throw new TurboJpegError(what);
}

function instantiate(): TurboExports {
  compiled ??= new WebAssembly.Module(jpegTurboWasm());
  const stop = (what: string) => () => fail(`libjpeg-turbo stopped (${what})`);
  const inst = new WebAssembly.Instance(compiled, {
    // setjmp returns 0 (no error yet); libjpeg's error exit longjmps, i.e. throws out of the decoder
    env: { setjmp: () => 0, longjmp: stop('corrupt or unsupported data') },
    wasi_snapshot_preview1: {
      environ_sizes_get: () => 0,
      environ_get: stop('environ_get'),
      proc_exit: stop('proc_exit'),
      fd_close: stop('fd_close'),
      fd_seek: stop('fd_seek'),
      fd_write: stop('fd_write'),
    },
  });
  return inst.exports as unknown as TurboExports;
}

/** Decodes a whole JPEG (the caller has checked its structure and size limits). */
export function decodeJpegTurbo(bytes: Uint8Array): TurboImage {
  const tj = instantiate(); // fresh per call: see the module comment
  const src = tj.malloc(bytes.length);
  const meta = tj.malloc(16);
  if (!src || !meta) fail('out of memory for the input');
  new Uint8Array(tj.memory.buffer, src, bytes.length).set(bytes);
  const handle = tj.tjInitDecompress();
  if (!handle) fail('could not start a decompressor');
  if (tj.tjDecompressHeader3(handle, src, bytes.length, meta, meta + 4, meta + 8, meta + 12) !== 0) fail('unreadable header');
  const [width, height, , colorspace] = new Int32Array(tj.memory.buffer, meta, 4);
  const cmyk = colorspace === TJCS_CMYK || colorspace === TJCS_YCCK;
  const channels = cmyk ? 4 : 3;
  const size = width! * height! * channels;
  const dst = tj.malloc(size);
  if (!dst) fail(`out of memory for ${width}x${height} pixels`);
  // A libjpeg ERROR throws (longjmp, above). A -1 return without a throw is a
  // libjpeg WARNING (e.g. corrupt scan data it decoded through), which Pillow
  // ignores too, so the pixels are kept; the argument checks and the row-pointer
  // malloc, TurboJPEG's other -1 paths, cannot fail after the mallocs above.
  tj.tjDecompress2(handle, src, bytes.length, dst, width!, width! * channels, height!, cmyk ? TJPF_CMYK : TJPF_RGB, 0);
  // copied out before the instance (and its memory) is dropped
  const data = new Uint8Array(tj.memory.buffer, dst, size).slice();
  return { width: width!, height: height!, channels, data };
}
