// The browser entry, bundled by `npm run build` into dist/browser/cdam.js:
// the package entry as it is, except that the embedded model is fetched from
// the package's weights/ folder beside the bundle (dist/browser/ -> ../../weights/).
//
//   import { loadViT, decodeImage, explainImage } from './cdam.js';
//   const vit = await loadViT();                         // or loadViT({ safetensors, config })
//   const r = await explainImage(vit, decodeImage(bytes), { method: 'cdam', target: 285 });
import { loadViT as loadFrom, type ModelSource, type LoadViTOptions } from './api/load.js';
import type { ViT } from './vit/model.js';

export * from './index.js';

/** The embedded ViT-Ti/16's folder, relative to this module (the bundle sits two folders below the package root). */
export const EMBEDDED_MODEL_URL = new URL('../../weights/', import.meta.url);

/** loadViT of the package entry; with no source, the embedded model fetched from EMBEDDED_MODEL_URL. */
export function loadViT(source?: ModelSource, opts?: LoadViTOptions): Promise<ViT> {
  return loadFrom(source ?? EMBEDDED_MODEL_URL, opts);
}

/**
 * The gpu.js backend's matmul kernel source and settings, for running it on
 * gpu.js modes the synchronous backend cannot use (WebGPU: a kernel call
 * returns a Promise). test/browser.test.ts runs it on WebGPU this way.
 */
export { matmulSource as gpujsMatmulSource, kernelSettings as gpujsKernelSettings, createGpujsBackend } from './kernels/gpujs.js';
