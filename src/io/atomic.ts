/** Crash-safe file output (Node only). */
import { nodeFs, nodePath, pathToString, type PathLike } from './node.js';

let counter = 0;

/** The message of a failed file operation, with the user's path in place of the temporary file's. */
function explain(e: unknown, tmp: string, target: string): string {
  const msg = (e as Error).message ?? String(e);
  return msg.split(tmp).join(target);
}

interface Staged {
  tmp: string;
  target: string;
}

/** Writes `data` next to `path` under a temporary name, flushed with fsync. */
function stage(path: PathLike, data: Uint8Array | string): Staged {
  const fs = nodeFs('writeFileAtomic');
  const pathMod = nodePath('writeFileAtomic');
  const target = pathToString(path);
  const dir = pathMod.dirname(target);
  const base = pathMod.basename(target);
  const rand = Math.floor(Math.random() * 0x100000000)
    .toString(16)
    .padStart(8, '0');
  const tmp = pathMod.join(dir, `.${base}.${process.pid}.${(counter++).toString(36)}.${rand}.tmp`);
  let fd: number | undefined;
  let created = false;
  try {
    fd = fs.openSync(tmp, 'wx', 0o644); // wx: never clobber an existing file
    created = true;
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    let done = 0;
    while (done < bytes.byteLength) done += fs.writeSync(fd, bytes, done, bytes.byteLength - done);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    return { tmp, target };
  } catch (e) {
    if (fd !== undefined) {
      try {
        fs.closeSync(fd);
      } catch {
        /* already failing */
      }
    }
    if (created) discard(tmp);
    throw new Error(`cannot write ${target}: ${explain(e, tmp, target)}`);
  }
}

function discard(tmp: string): void {
  try {
    nodeFs('writeFileAtomic').unlinkSync(tmp);
  } catch {
    /* best effort */
  }
}

/**
 * Writes `data` to `path` atomically: the bytes go to a temporary file in the
 * same directory (same file system, so rename is atomic), are flushed with
 * fsync, and the temporary file is then renamed over `path`. Readers see
 * either the old file or the complete new one, never a partial file. On any
 * failure the temporary file is removed and an Error naming `path` is thrown.
 */
export function writeFileAtomic(path: PathLike, data: Uint8Array | string): void {
  writeFilesAtomic([{ path, data }]);
}

/**
 * Several files, all or none: every file is staged (written and flushed)
 * before any is renamed into place, so a failure while writing leaves no
 * output at all.
 */
export function writeFilesAtomic(files: { path: PathLike; data: Uint8Array | string }[]): void {
  const fs = nodeFs('writeFileAtomic');
  const staged: Staged[] = [];
  try {
    for (const f of files) staged.push(stage(f.path, f.data));
  } catch (e) {
    for (const s of staged) discard(s.tmp);
    throw e;
  }
  for (let i = 0; i < staged.length; i++) {
    const s = staged[i]!;
    try {
      fs.renameSync(s.tmp, s.target);
    } catch (e) {
      for (const r of staged.slice(i)) discard(r.tmp);
      throw new Error(`cannot write ${s.target}: ${explain(e, s.tmp, s.target)}`);
    }
  }
}

/**
 * Checks, before any work, that each output path can be written: its folder
 * exists and is writable, the path is not a folder, and no path is given
 * twice. Throws naming the option and the path.
 */
export function checkOutputPaths(outputs: { option: string; path: string }[]): void {
  const fs = nodeFs('checkOutputPaths');
  const pathMod = nodePath('checkOutputPaths');
  const seen = new Map<string, string>();
  for (const { option, path } of outputs) {
    const abs = pathMod.resolve(path);
    const other = seen.get(abs);
    if (other) throw new Error(`${option} ${path}: the same file as ${other}; give each output its own path`);
    seen.set(abs, `${option} ${path}`);
    const dir = pathMod.dirname(abs);
    let st;
    try {
      st = fs.statSync(dir);
    } catch {
      throw new Error(`${option} ${path}: the folder ${pathMod.dirname(path)} does not exist`);
    }
    if (!st.isDirectory()) throw new Error(`${option} ${path}: ${pathMod.dirname(path)} is not a folder`);
    try {
      fs.accessSync(dir, fs.constants.W_OK);
    } catch {
      throw new Error(`${option} ${path}: the folder ${pathMod.dirname(path)} is not writable`);
    }
    if (fs.existsSync(abs) && fs.statSync(abs).isDirectory()) throw new Error(`${option} ${path}: is a folder, not a file`);
  }
}
