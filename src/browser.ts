// The browser entry, bundled by `npm run build` into dist/browser/cdam.js:
// the package entry and its browser-safe subpaths (everything but cdam/eval) as they are, except that the embedded model is fetched from
// the package's weights/ folder beside the bundle (dist/browser/ -> ../../weights/).
// The package's "browser" export condition points here, so `import ... from
// 'cdam'` in an app built for browsers gets this bundle.
//
//   import { loadViT, decodeImage, explainImage } from 'cdam';
//   const vit = await loadViT(new URL('cdam-weights/', location.href)); // a copy of node_modules/cdam/weights/
//   // (or loadViT() when the package folder itself is served; or loadViT({ safetensors, config }))
//   const r = await explainImage(vit, decodeImage(bytes), { method: 'cdam', target: 285 });
import { loadViT as loadFrom, type ModelSource, type LoadViTOptions } from './api/load.js';
import type { ViT } from './vit/model.js';

// One bundle for every entry: in a browser, 'cdam', 'cdam/methods', 'cdam/model'
// and 'cdam/engine' all resolve to this file (package.json, the browser
// condition), so an app that imports several gets one copy of the engine.
export * from './index.js';
export * from './engine.js';
export * from './model.js';
export * from './methods/index.js';

/** The embedded ViT-Ti/16's folder, relative to this module (the bundle sits two folders below the package root). */
// a name, not a literal: app bundlers (Vite) would try to resolve a literal folder at build time and warn
const WEIGHTS_FOLDER = '../../weights/';
export const EMBEDDED_MODEL_URL = new URL(WEIGHTS_FOLDER, import.meta.url);

/**
 * loadViT of the package entry; with no source, the embedded model fetched
 * from EMBEDDED_MODEL_URL. An app that bundles cdam itself (esbuild, Vite)
 * serves the package's weights/ folder where it likes and passes that URL.
 */
export async function loadViT(source?: ModelSource, opts?: LoadViTOptions): Promise<ViT> {
  if (source !== undefined) return loadFrom(source, opts);
  try {
    return await loadFrom(EMBEDDED_MODEL_URL, opts);
  } catch (e) {
    throw new Error(
      `the embedded model is not where this module expects it (${(e as Error).message}). ` +
        'When an app bundles cdam, serve the package folder node_modules/cdam/weights/ with the app ' +
        "and give its URL: loadViT(new URL('cdam-weights/', location.href))",
      { cause: e },
    );
  }
}

/**
 * The gpu.js backend's matmul kernel source and settings, for running it on
 * gpu.js modes the synchronous backend cannot use (WebGPU: a kernel call
 * returns a Promise). test/browser.test.ts runs it on WebGPU this way.
 */
export { matmulSource as gpujsMatmulSource, kernelSettings as gpujsKernelSettings, createGpujsBackend } from './kernels/gpujs.js';
