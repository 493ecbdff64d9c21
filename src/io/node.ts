/**
 * Lazy access to Node's file system for the io layer.
 *
 * The io modules must also load in a browser, so none of them imports
 * `node:fs` statically: a bundler would then have to resolve (and usually
 * fail on) a Node built-in. Instead, Node's file system is fetched at run
 * time, only when a Node-only helper (fileSource, readImageFile,
 * writeFileAtomic) is actually called. In a browser those helpers throw a
 * clear error; everything else (parsing bytes you already have) works.
 */
import type * as FsModule from 'node:fs';
import type * as PathModule from 'node:path';
import type * as UrlModule from 'node:url';

interface NodeProcessLike {
  versions?: { node?: string };
  getBuiltinModule?: (id: string) => unknown;
}

const proc: NodeProcessLike | undefined = (globalThis as { process?: NodeProcessLike }).process;

/** True when running under Node.js. */
export const isNode: boolean = typeof proc?.versions?.node === 'string';

/**
 * `process.getBuiltinModule` exists from Node 20.16 / 22.3. On older Node 20
 * releases fall back to a one-off dynamic import at module load (only
 * executed under Node; the ignore comments keep bundlers from trying to
 * resolve it for a browser build).
 */
let fsModule: typeof FsModule | undefined;
let pathModule: typeof PathModule | undefined;
let urlModule: typeof UrlModule | undefined;
if (isNode) {
  if (typeof proc?.getBuiltinModule === 'function') {
    fsModule = proc.getBuiltinModule('node:fs') as typeof FsModule;
    pathModule = proc.getBuiltinModule('node:path') as typeof PathModule;
    urlModule = proc.getBuiltinModule('node:url') as typeof UrlModule;
  } else {
    const ids = ['node:fs', 'node:path', 'node:url'];
    const mods = await Promise.all(ids.map((id) => import(/* webpackIgnore: true */ /* @vite-ignore */ id)));
    fsModule = mods[0] as typeof FsModule;
    pathModule = mods[1] as typeof PathModule;
    urlModule = mods[2] as typeof UrlModule;
  }
}

/** Node's `fs`, or a clear error naming the helper that needed it. @internal (kept out of the published types, which need no @types/node) */
export function nodeFs(what: string): typeof FsModule {
  if (!fsModule) {
    throw new Error(`${what} needs Node.js file system access (node:fs), which is not available in this environment`);
  }
  return fsModule;
}

/** Node's `path`, or a clear error naming the helper that needed it. @internal */
export function nodePath(what: string): typeof PathModule {
  if (!pathModule) {
    throw new Error(`${what} needs Node.js (node:path), which is not available in this environment`);
  }
  return pathModule;
}

/** Accepts a string path or a file: URL (as produced by `new URL(..., import.meta.url)`). */
export type PathLike = string | URL;

/** Turns a path or file: URL into a string path for fs calls and error messages. */
export function pathToString(p: PathLike): string {
  if (typeof p === 'string') return p;
  if (p.protocol !== 'file:') throw new Error(`only file: URLs can be read from disk, got ${p.href}`);
  if (!urlModule) throw new Error(`reading ${p.href} needs Node.js (node:url), which is not available in this environment`);
  return urlModule.fileURLToPath(p);
}
