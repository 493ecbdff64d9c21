// tier: end-to-end (test/README.md)
// An app that bundles cdam itself, as a web developer would: the packed
// tarball unpacked into an empty project's node_modules, `import ... from
// 'cdam'` (the package's "browser" export condition), bundled by esbuild and
// by Vite with no cdam-specific settings, the model served from a folder the
// app chose. The page's map must equal Node's, and nothing may 404.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadViT } from '../src/api/load.js';
import { explainImage } from '../src/api/explainImage.js';
import { withBackend } from '../src/kernels/index.js';
import { registerAllBackends } from '../src/kernels/all.js';
import { relErr, repoPath } from './support/fixtures.js';
import { browserTest, openSession, type Session } from './support/browser.js';
import { serveStatic } from './support/server.js';

registerAllBackends();
const tmp = mkdtempSync(join(tmpdir(), 'cdam-consumer-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

// What the app does: its own weights folder, a photo it fetched, one CDAM map on
// the wasm backend; and the error a caller gets from loadViT() with no source,
// since a re-bundled module cannot find the package's weights beside itself.
const APP = `import { loadViT, explainImage, decodeImage, setBackend } from 'cdam';
window.runCdam = async () => {
  const out = {};
  try { await loadViT(); out.defaultError = 'none'; } catch (e) { out.defaultError = e.message; }
  const vit = await loadViT(new URL('cdam-weights/', location.href));
  const photo = new Uint8Array(await (await fetch('photo.png')).arrayBuffer());
  setBackend('wasm');
  const r = await explainImage(vit, decodeImage(photo), { method: 'cdam', target: 285 });
  out.values = Array.from(r.map.values);
  return out;
};
`;
const HTML =
  '<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"></head><body><script type="module" src="./app.js"></script></body></html>';

/** An empty project with the packed package in node_modules/cdam and the app's sources. */
function makeProject(): string {
  const dir = join(tmp, 'app');
  mkdirSync(join(dir, 'node_modules', 'cdam'), { recursive: true });
  const packed = spawnSync('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', tmp], { cwd: repoPath('.'), encoding: 'utf8' });
  assert.is(packed.status, 0, packed.stderr);
  const tarball = join(tmp, packed.stdout.trim().split('\n').pop()!);
  const untar = spawnSync('tar', ['xzf', tarball, '-C', join(dir, 'node_modules', 'cdam'), '--strip-components=1']);
  assert.is(untar.status, 0, String(untar.stderr));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  writeFileSync(join(dir, 'app.js'), APP);
  writeFileSync(join(dir, 'index.html'), HTML);
  return dir;
}

/** The app's static files beside its bundle: the model the app serves itself, and the photo. */
function addAssets(dist: string, project: string): void {
  cpSync(join(project, 'node_modules', 'cdam', 'weights'), join(dist, 'cdam-weights'), { recursive: true });
  cpSync(repoPath('examples/catcoffee_224.png'), join(dist, 'photo.png'));
}

let project = '';
let session: Session | null = null;
let nodeValues: Float32Array | null = null;
test.before(async () => {
  const vit = await loadViT();
  const photo = new Uint8Array(readFileSync(repoPath('examples/catcoffee_224.png')));
  nodeValues = (await withBackend('wasm', () => explainImage(vit, photo, { method: 'cdam', target: 285 }))).map.values;
});
test.after(async () => {
  await session?.close();
});

/** Serve dist, open it, run the app; the map against Node's and the default-location error. */
async function runApp(dist: string, what: string): Promise<void> {
  session ??= await openSession();
  const server = await serveStatic(dist);
  const page = await session.browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('response', (r) => void (r.status() >= 400 && !r.url().includes('/weights/') && errors.push(`HTTP ${r.status()} for ${r.url()}`)));
  try {
    await page.goto(server.url);
    await page.waitForFunction(() => typeof (window as unknown as { runCdam?: unknown }).runCdam === 'function', null, { timeout: 30000 });
    const out = await page.evaluate(() => (window as unknown as { runCdam: () => Promise<{ defaultError: string; values: number[] }> }).runCdam());
    assert.equal(errors, [], `${what}: errors on the page`);
    assert.match(out.defaultError, /node_modules\/cdam\/weights\//, `${what}: loadViT() without a source says where to serve the weights from`);
    assert.match(out.defaultError, /HTTP 404/);
    assert.is(out.values.length, nodeValues!.length);
    const err = relErr(out.values, nodeValues!);
    assert.ok(err < 1e-5, `${what}: the page's CDAM map differs from Node's by ${err} (relative)`);
  } finally {
    await page.close();
    await server.close();
  }
}

browserTest("esbuild --platform=browser bundles `import from 'cdam'` with no cdam-specific settings; the page's map equals Node's", async () => {
  project ||= makeProject();
  const { build } = await import('esbuild');
  const dist = join(project, 'esbuild-dist');
  const r = await build({
    absWorkingDir: project,
    entryPoints: ['app.js'],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    outfile: join(dist, 'app.js'),
    logLevel: 'silent',
    metafile: true,
  });
  assert.equal(r.errors, []);
  assert.equal(r.warnings, [], 'esbuild warns about nothing');
  assert.ok(
    Object.keys(r.metafile.inputs).some((f) => f.endsWith('cdam/dist/browser/cdam.js')),
    'the "browser" condition chose the browser bundle',
  );
  writeFileSync(join(dist, 'index.html'), HTML);
  addAssets(dist, project);
  await runApp(dist, 'esbuild');
});

browserTest("vite build bundles `import from 'cdam'` with a default config; the page's map equals Node's", async () => {
  project ||= makeProject();
  const vite = await import('vite');
  const dist = join(project, 'vite-dist');
  const warnings: string[] = [];
  const logger = vite.createLogger('warn');
  const customLogger = { ...logger, warn: (m: string) => void warnings.push(m), warnOnce: (m: string) => void warnings.push(m) };
  await vite.build({
    root: project,
    configFile: false,
    logLevel: 'warn',
    customLogger,
    build: { outDir: dist, emptyOutDir: true, chunkSizeWarningLimit: 4000 },
  });
  assert.equal(warnings, [], 'vite warns about nothing');
  addAssets(dist, project);
  await runApp(dist, 'vite');
});

test('tools/serve.mjs serves the demo page on the port asked for, with the isolation headers, from the source tree', async () => {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, [repoPath('tools/serve.mjs'), '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const line = await new Promise<string>((ok, fail) => {
      child.stdout.setEncoding('utf8').on('data', (d: string) => ok(d));
      child.once('exit', (c) => fail(new Error(`serve.mjs exited ${c}`)));
    });
    const url = /demo page: (http\S+?\/web\/)/.exec(line)?.[1];
    assert.ok(url, line);
    const r = await fetch(url);
    assert.is(r.status, 200);
    assert.is(r.headers.get('cross-origin-opener-policy'), 'same-origin');
    assert.match(await r.text(), /<script/);
  } finally {
    child.kill();
  }
  const bad = spawnSync(process.execPath, [repoPath('tools/serve.mjs'), '--port', 'x'], { encoding: 'utf8' });
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /--port must be an integer/);
});

test.run();
