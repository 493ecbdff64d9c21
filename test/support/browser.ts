// Headless Chromium (Debian's chromium, driven by playwright-core; no browser
// download) on the demo page served from the repository on 127.0.0.1. Where
// Chromium is missing the tests are registered as skipped and say why; with
// CDAM_REQUIRE_BROWSER=1 (.ci/run sets it after installing chromium) a
// missing browser fails them instead.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { BuildOptions, Plugin } from 'esbuild';
import { test } from 'uvu';
import { chromium, type Browser, type Page } from 'playwright-core';
import { serveStatic, type StaticServer } from './server.js';
import { repoPath } from './fixtures.js';

export const CHROMIUM = process.env['CDAM_CHROMIUM'] ?? '/usr/bin/chromium';
/** The flags this machine needs (closed network: no background connections), plus the caller's. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--disable-dev-shm-usage',
];

export function browserAvailable(): string | null {
  if (!existsSync(CHROMIUM)) return `needs Chromium at ${CHROMIUM} (apt-get install chromium, or set CDAM_CHROMIUM)`;
  if (!existsSync(repoPath('dist/browser/cdam.js')) || !existsSync(repoPath('web/dist/app.js'))) return 'needs the browser build (npm run build)';
  return null;
}

/** A test that needs Chromium: skipped (and counted) without it, failed without it when CDAM_REQUIRE_BROWSER=1. */
export function browserTest(name: string, fn: () => Promise<void>): void {
  const missing = browserAvailable();
  if (!missing) return void test(name, fn);
  if (process.env['CDAM_REQUIRE_BROWSER'] === '1') {
    return void test(name, () => {
      throw new Error(`${missing} (CDAM_REQUIRE_BROWSER=1 says it must be there)`);
    });
  }
  console.log(`  skip "${name}": ${missing}`);
  test.skip(name, () => {});
}

export interface Session {
  browser: Browser;
  server: StaticServer;
  close: () => Promise<void>;
}

export async function openSession(opts: { isolated?: boolean; args?: string[] } = {}): Promise<Session> {
  const server = await serveStatic(repoPath('.'), opts.isolated ?? true);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, ...(opts.args ?? [])] });
  return {
    browser,
    server,
    close: async () => {
      await browser.close();
      await server.close();
    },
  };
}

/**
 * The demo page, ready (embedded model loaded, the first example explained in
 * both panels). `errors` collects what fails the tests: uncaught page errors,
 * console errors, and requests answered with an HTTP error (e.g. a 404 for
 * /favicon.ico) or not answered at all.
 */
export async function openDemo(s: Session, viewport = { width: 1280, height: 900 }): Promise<{ page: Page; errors: string[] }> {
  const page = await s.browser.newPage({ viewport });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => void (m.type() === 'error' && errors.push(`console: ${m.text()}`)));
  page.on('response', (r) => void (r.status() >= 400 && errors.push(`HTTP ${r.status()} for ${r.url()}`)));
  page.on('requestfailed', (r) => void (!r.url().startsWith('blob:') && errors.push(`request failed: ${r.url()} (${r.failure()?.errorText})`)));
  await page.goto(`${s.server.url}web/`);
  await page.waitForFunction(() => (window as unknown as { cdamDemo?: unknown }).cdamDemo !== undefined, null, { timeout: 60000 });
  await page.evaluate(() => (window as unknown as { cdamDemo: { ready: Promise<boolean> } }).cdamDemo.ready);
  await page.waitForFunction(() => (window as unknown as { cdamDemo: { state: { panels: { B: unknown } } } }).cdamDemo.state.panels.B !== null, null, {
    timeout: 120000,
  });
  return { page, errors };
}

/** The suites of test/browser/suites.ts, bundled for the browser with file access by fetch (support/files.browser.ts). */
export async function bundleSuites(): Promise<string> {
  const { build } = await import('esbuild');
  const { browserBuildOptions } = (await import(pathToFileURL(repoPath('tools/build/browser-options.mjs')).href)) as {
    browserBuildOptions: () => { plugins: Plugin[] } & BuildOptions;
  };
  const opts = browserBuildOptions();
  const out = repoPath('build/browser-tests');
  mkdirSync(out, { recursive: true });
  const files = repoPath('build/test/support/files.browser.js');
  await build({
    ...opts,
    entryPoints: [repoPath('build/test/browser/suites.js')],
    outfile: `${out}/suites.js`,
    plugins: [
      ...opts.plugins,
      {
        name: 'files-by-fetch',
        setup: (b) => b.onResolve({ filter: /^\.\/files\.js$/ }, (a) => (a.importer.endsWith('fixtures.js') ? { path: files } : undefined)),
      },
    ],
  });
  writeFileSync(
    `${out}/suites.html`,
    '<!doctype html><meta charset="utf-8"><script type="module">' +
      "window.log = []; const w = new Worker('./suites.js', { type: 'module' }); w.onmessage = (e) => window.log.push(e.data.log);" +
      "w.onerror = (e) => window.log.push('worker error: ' + e.message);</script>",
  );
  return 'build/browser-tests/suites.html';
}
