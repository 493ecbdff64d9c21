// npm run build, second step: the ES module bundle for browsers,
// dist/browser/cdam.js, one file holding its wasm worker and the JPEG
// decoder's wasm (from build/src/browser.js, which tsc has just written), with the options of tools/build/browser-options.mjs; gpu.js's package
// "browser" field picks its browser build. The bundle must not mention a Node
// built-in it would load.
import { build } from 'esbuild';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { browserBuildOptions } from './browser-options.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));
const outfile = `${root}dist/browser/cdam.js`;
// a worker file written by older builds would only mislead
rmSync(`${root}dist/browser/wasm`, { recursive: true, force: true });
const result = await build({
  entryPoints: [{ in: `${root}build/src/browser.js`, out: 'cdam' }],
  ...browserBuildOptions(),
  outdir: `${root}dist/browser`,
  sourcemap: true,
  metafile: true,
});
// the demo page (web/): its two scripts, with comlink inlined; the package bundle stays a separate module
await build({
  entryPoints: [`${root}web/src/app.js`, `${root}web/src/engine.js`],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  outdir: `${root}web/dist`,
  external: ['../../dist/browser/cdam.js'],
  logLevel: 'warning',
});
// A Node built-in imported on the bundle's path would fail to load in every
// browser (the page stays blank): refuse to write such a build.
for (const [file, out] of Object.entries(result.metafile.outputs)) {
  const node = out.imports.filter((i) => i.external && i.path.startsWith('node:'));
  if (node.length) {
    rmSync(outfile, { force: true });
    throw new Error(`${file} imports ${node.map((i) => i.path).join(', ')}: a module on the browser path imports a Node built-in statically (reach it through src/platform/node.ts)`);
  }
}
// the bundle's types: the browser entry's, which tsc wrote (a .d.ts beside a .js wins over the .js for TypeScript)
writeFileSync(`${root}dist/browser/cdam.d.ts`, "export * from '../../build/src/browser.js';\n");
const bytes = readFileSync(outfile).length;
const inputs = Object.keys(result.metafile.inputs).length;
console.log(`dist/browser/cdam.js: ${(bytes / 1e6).toFixed(2)} MB from ${inputs} modules`);
