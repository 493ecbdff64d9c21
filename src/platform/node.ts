// Where the code runs, and Node's built-in modules for the few Node-only paths
// (worker threads, files, V8 flags). They are fetched with
// process.getBuiltinModule, which is synchronous and names no import
// specifier: so no module needs a top-level await (require('cdam') works) and
// a browser bundler has no node: import to resolve or refuse.

interface NodeProcess {
  version?: string;
  versions?: { node?: string };
  getBuiltinModule?: (id: string) => unknown;
}
const proc: NodeProcess | undefined = (globalThis as { process?: NodeProcess }).process;

/** True when running under Node.js. */
export const isNode: boolean = typeof proc?.versions?.node === 'string';

/** A Node built-in module (`node:fs`, ...), or null outside Node. @internal */
export function nodeBuiltin<T>(id: `node:${string}`): T | null {
  if (!isNode) return null;
  if (typeof proc?.getBuiltinModule !== 'function') {
    throw new Error(`cdam needs Node.js 20.16 or later (process.getBuiltinModule); this is Node ${proc?.version ?? '(unknown)'}`);
  }
  return proc.getBuiltinModule(id) as T;
}
