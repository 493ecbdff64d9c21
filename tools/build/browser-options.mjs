// The esbuild options every browser bundle of src needs (the package bundle,
// tools/build/bundle-browser.mjs, and the suites the browser tests bundle,
// test/support/browser.ts): pngjs's own browser build (it otherwise needs
// Node's zlib and streams), Node built-ins left to the Node-only helpers that
// load them lazily (src/io/node.ts, src/kernels/wasm/pool.ts), and two
// plugins that swap Node-only loaders for modules carrying what they load.
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
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
      contents: `import { GPU } from 'gpu.js';\nexport function loadGpuJs() { return GPU; }`,
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
// The wasm pool's worker goes inside the bundle as well: built here from
// build/src/kernels/wasm/worker.js, started from a blob: URL
// (src/kernels/wasm/workerUrl.ts is the module replaced), so no second file
// has to be found beside the bundle. Built once per process.
let workerCode;
const inlineWasmWorker = {
  name: 'inline-wasm-worker',
  setup(b) {
    b.onLoad({ filter: /[\\/]kernels[\\/]wasm[\\/]workerUrl\.js$/ }, async () => {
      workerCode ??= build({
        ...baseOptions(),
        entryPoints: [`${root}build/src/kernels/wasm/worker.js`],
        write: false,
        minify: true,
      }).then((r) => r.outputFiles[0].text);
      return {
        loader: 'js',
        contents: `const CODE = ${JSON.stringify(await workerCode)};
let url;
export function workerUrl() {
  url ??= URL.createObjectURL(new Blob([CODE], { type: 'text/javascript' }));
  return new URL(url);
}`,
      };
    });
  },
};
const baseOptions = () => ({
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  alias: { pngjs: 'pngjs/browser.js' },
  external: ['node:*'],
  logLevel: 'warning',
  plugins: [inlineJpegWasm, staticGpuJs],
});
export const browserBuildOptions = () => {
  const o = baseOptions();
  return { ...o, plugins: [...o.plugins, inlineWasmWorker] };
};
