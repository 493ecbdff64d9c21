/**
 * The libjpeg-turbo WebAssembly build of @cwasm/jpeg-turbo, as bytes. Under
 * Node it is read from the installed package; the browser bundle replaces
 * this module with one that carries the same file inline
 * (tools/build/browser-options.mjs), so browsers fetch nothing at decode time.
 */
import { nodeFs } from './node.js';

const WASM = '@cwasm/jpeg-turbo/jpeg-turbo.wasm';

export function jpegTurboWasm(): Uint8Array<ArrayBuffer> {
  const resolve = (import.meta as { resolve?: (s: string) => string }).resolve;
  if (typeof resolve !== 'function') throw new Error('JPEG decoding needs Node.js 20.6 or later (import.meta.resolve)');
  return new Uint8Array(nodeFs('JPEG decoding').readFileSync(new URL(resolve(WASM))));
}
