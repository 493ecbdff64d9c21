// The repository's files from a test: paths and JSON fixtures (Node). The
// suites that also run in Chromium (test/browser/suites.ts) are bundled with
// files.browser.ts in this module's place.
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** A path inside the repository, from the compiled test at build/test/support. */
export function repoPath(rel: string): string {
  return fileURLToPath(new URL(`../../../${rel}`, import.meta.url));
}

/** A path inside ../shared (real weights and images), or null when it is not there. */
export function sharedPath(rel: string): string | null {
  const p = fileURLToPath(new URL(`../../../../shared/${rel}`, import.meta.url));
  return existsSync(p) ? p : null;
}

export function loadJson<T>(rel: string): T {
  return JSON.parse(readFileSync(repoPath(rel), 'utf8')) as T;
}
