// Where the pool's workers start: worker.js beside this module. The browser
// bundle replaces this module with one that carries the worker's code and
// starts it from a blob: URL (tools/build/browser-options.mjs), so the bundle is one
// file that keeps working when an app re-bundles it or serves it elsewhere.

/** The URL a wasm pool worker is started from. */
export function workerUrl(): URL {
  return new URL('./worker.js', import.meta.url);
}
