/** Crash-safe file output (Node only). */
import { nodeFs, nodePath, pathToString, type PathLike } from './node.js';

let counter = 0;

/**
 * Writes `data` to `path` atomically: the bytes go to a temporary file in the
 * same directory (same file system, so rename is atomic), are flushed with
 * fsync, and the temporary file is then renamed over `path`. Readers see
 * either the old file or the complete new one, never a partial file. On any
 * failure the temporary file is removed and an Error naming `path` is thrown.
 */
export function writeFileAtomic(path: PathLike, data: Uint8Array | string): void {
  const fs = nodeFs('writeFileAtomic');
  const pathMod = nodePath('writeFileAtomic');
  const target = pathToString(path);
  const dir = pathMod.dirname(target);
  const base = pathMod.basename(target);
  const rand = Math.floor(Math.random() * 0x100000000).toString(16).padStart(8, '0');
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
    fs.renameSync(tmp, target);
    created = false;
  } catch (e) {
    if (fd !== undefined) {
      try {
        fs.closeSync(fd);
      } catch {
        /* already failing */
      }
    }
    if (created) {
      try {
        fs.unlinkSync(tmp);
      } catch {
        /* best effort */
      }
    }
    throw new Error(`writeFileAtomic ${target}: ${(e as Error).message}`);
  }
}
