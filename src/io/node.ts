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
import type * as ZlibModule from 'node:zlib';
import { isNode, nodeBuiltin } from '../platform/node.js';
import { InputError } from './errors.js';

/** True when running under Node.js. */
export { isNode };

const fsModule = nodeBuiltin<typeof FsModule>('node:fs');
const pathModule = nodeBuiltin<typeof PathModule>('node:path');
const urlModule = nodeBuiltin<typeof UrlModule>('node:url');
const zlibModule = nodeBuiltin<typeof ZlibModule>('node:zlib');

/** Node's `fs`, or a clear error naming the helper that needed it. @internal (kept out of the published types, which need no @types/node) */
export function nodeFs(what: string): typeof FsModule {
  if (!fsModule) {
    throw new Error(`${what} needs Node.js file system access (node:fs), which is not available in this environment`);
  }
  return fsModule;
}

/** Node's zlib when running under Node (null elsewhere). @internal */
export function nodeZlib(): typeof ZlibModule | null {
  return zlibModule ?? null;
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

/** Read limits per kind of file (bytes); a file over its limit is refused before it is read. */
export const READ_LIMITS = {
  /** config.json, preprocessor_config.json */
  config: 16 << 20,
  /** a PNG or JPEG file */
  image: 256 << 20,
  /** a concept file from `cdam concept` */
  concept: 16 << 20,
} as const;

/**
 * Open a path for reading only if it is a regular file: a FIFO, a device
 * (/dev/zero) or a folder is refused by name before anything blocks or grows.
 * Returns the descriptor and the size. @internal
 */
export function openRegularFile(path: string, what: string): { fd: number; size: number } {
  const fs = nodeFs(what);
  let st;
  try {
    st = fs.statSync(path);
  } catch (e) {
    throw new InputError(path, `${path}: cannot read ${what}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  if (!st.isFile())
    throw new InputError(
      path,
      `${path}: not a regular file (${what} must be a file, not a ${st.isDirectory() ? 'folder' : st.isFIFO() ? 'FIFO' : 'device or socket'})`,
    );
  // O_NONBLOCK: should the path have been swapped for a FIFO since the stat, opening still returns at once
  const fd = fs.openSync(path, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
  const again = fs.fstatSync(fd);
  if (!again.isFile()) {
    fs.closeSync(fd);
    throw new InputError(path, `${path}: not a regular file`);
  }
  return { fd, size: again.size };
}

/** The whole of a regular file of at most `limit` bytes. @internal */
export function readRegularFile(path: string, what: string, limit: number): Uint8Array {
  const fs = nodeFs(what);
  const { fd, size } = openRegularFile(path, what);
  try {
    if (size > limit) throw new InputError(path, `${path}: ${size} bytes is more than the ${limit}-byte limit for ${what}`);
    const out = new Uint8Array(size);
    let done = 0;
    while (done < size) {
      const n = fs.readSync(fd, out, done, size - done, done);
      if (n <= 0) throw new InputError(path, `${path}: file shrank while being read`);
      done += n;
    }
    return out;
  } finally {
    fs.closeSync(fd);
  }
}
