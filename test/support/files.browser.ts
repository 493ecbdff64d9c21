// files.ts for the suites bundled into Chromium (test/browser/suites.ts):
// the repository is served from the page's origin, and the suites run in a
// Web Worker, where a synchronous XMLHttpRequest is allowed (the suites are
// synchronous). ../shared is never there.
declare const XMLHttpRequest: new () => { open(m: string, u: string, a: boolean): void; send(): void; status: number; responseText: string };

/** The repository root as served: the folder two levels above this bundle (build/browser-tests/). */
const ROOT = new URL('../../', import.meta.url);

export function repoPath(rel: string): string {
  return new URL(rel, ROOT).href;
}

export function sharedPath(_rel: string): string | null {
  return null;
}

export function loadJson<T>(rel: string): T {
  const r = new XMLHttpRequest();
  r.open('GET', repoPath(rel), false);
  r.send();
  if (r.status !== 200) throw new Error(`${rel}: HTTP ${r.status}`);
  return JSON.parse(r.responseText) as T;
}
