// gpu.js, loaded when the gpujs backend is first created, not when the
// package is imported: gpu.js is an optional peer dependency, since its own
// dependencies bring native WebGPU binaries (Dawn .node files, 84 MB) that the
// default install must not carry. Under Node it is required from wherever the
// package is installed; the browser bundle replaces this module with one that
// imports gpu.js's browser build statically (tools/build/browser-options.mjs).
import type { GPU } from 'gpu.js';
import { nodeBuiltin } from '../platform/node.js';

interface NodeModuleApi {
  createRequire(from: string): (id: string) => unknown;
}

let loaded: typeof GPU | undefined;

export function loadGpuJs(): typeof GPU {
  if (loaded) return loaded;
  const mod = nodeBuiltin<NodeModuleApi>('node:module');
  if (!mod) throw new Error('the gpujs backend needs Node.js or the browser bundle (dist/browser/cdam.js)');
  try {
    loaded = (mod.createRequire(import.meta.url)('gpu.js') as { GPU: typeof GPU }).GPU;
  } catch (e) {
    if ((e as { code?: string }).code !== 'MODULE_NOT_FOUND') throw e;
    // the version to install is the peer dependency's range in package.json
    throw new Error(
      'the gpujs backend needs the optional package gpu.js, which is not installed (npm install gpu.js; ' +
        'it is left out of the default install because its dependencies ship native binaries)',
    );
  }
  return loaded;
}
