// npm run build, second step: the ES module bundle for browsers,
// dist/browser/cdam.js and its wasm worker dist/browser/wasm/worker.js (from build/src/browser.js, which tsc has just
// written). pngjs is swapped for its own browser build (it otherwise needs
// Node's zlib and streams); gpu.js's package "browser" field picks its
// browser build. The bundle must not mention a Node built-in it would load.
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
// The JPEG decoder's wasm (libjpeg-turbo, @cwasm/jpeg-turbo) goes inside the
// bundle: src/io/jpeg_wasm_bytes.ts reads it from disk under Node, and this
// plugin puts a module carrying the same bytes (base64) in its place.
const jpegWasm = readFileSync(createRequire(import.meta.url).resolve('@cwasm/jpeg-turbo/jpeg-turbo.wasm'));
// gpu.js is an optional peer dependency that Node requires on first use
// (src/kernels/gpujsModule.ts); the bundle imports its browser build statically.
const staticGpuJs = {
  name: 'static-gpu.js',
  setup(b) {
    b.onLoad({ filter: /[\\/]kernels[\\/]gpujsModule\.js$/ }, () => ({
      loader: 'js',
      resolveDir: root,
      contents: `import { GPU } from 'gpu.js';\nexport class GpujsUnavailable extends Error {}\nexport function loadGpuJs() { return GPU; }`,
    }));
  },
};
const inlineJpegWasm = {
  name: 'inline-jpeg-wasm',
  setup(b) {
    b.onLoad({ filter: /[\\/]io[\\/]jpeg_wasm_bytes\.js$/ }, () => ({
      loader: 'js',
      contents: `const B64 = ${JSON.stringify(jpegWasm.toString('base64'))};
let bytes;
export function jpegTurboWasm() {
  if (!bytes) { const s = atob(B64); bytes = new Uint8Array(s.length); for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i); }
  return bytes;
}`,
    }));
  },
};
const outfile = `${root}dist/browser/cdam.js`;
const result = await build({
  // the wasm backend's worker threads load wasm/worker.js beside the bundle (new URL('./wasm/worker.js', import.meta.url))
  entryPoints: [
    { in: `${root}build/src/browser.js`, out: 'cdam' },
    { in: `${root}build/src/kernels/wasm/worker.js`, out: 'wasm/worker' },
  ],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  outdir: `${root}dist/browser`,
  sourcemap: true,
  alias: { pngjs: 'pngjs/browser.js' },
  // the Node-only helpers load these lazily, only under Node (src/io/node.ts, src/kernels/wasm/pool.ts)
  external: ['node:*'],
  logLevel: 'warning',
  metafile: true,
  plugins: [inlineJpegWasm, staticGpuJs],
});
// the demo page (web/): its two scripts, with comlink inlined; the package bundle stays a separate module
await build({
  entryPoints: [`${root}web/src/app.js`, `${root}web/src/engine.js`],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  outdir: `${root}web/dist`,
  external: ['../../dist/browser/cdam.js'],
  logLevel: 'warning',
});
const bytes = readFileSync(outfile).length;
const inputs = Object.keys(result.metafile.inputs).length;
console.log(`dist/browser/cdam.js: ${(bytes / 1e6).toFixed(2)} MB from ${inputs} modules`);
