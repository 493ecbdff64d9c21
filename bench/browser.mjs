// The browser bench: ViT-Ti forward (classify) and CDAM per backend in
// headless Chromium (the demo page's engine worker; medians of 5 after a
// warm-up), beside the same in Node in the same run. SwiftShader is a CPU
// emulation of a GPU: its gpu.js times are not GPU times.
//   npm run build && node bench/browser.mjs
import { openSession, openDemo } from '../build/test/support/browser.js';
import { loadViT } from '../build/src/api/load.js';
import { classifyImage, explainImage } from '../build/src/api/explainImage.js';
import { setBackend, describeBackend } from '../build/src/kernels/index.js';
import { registerAllBackends } from '../build/src/kernels/all.js';
import { readFileSync } from 'node:fs';

const RUNS = 5;
const rows = [];
const median = async (fn) => {
  await fn();
  const ts = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await fn();
    ts.push(performance.now() - t0);
  }
  return ts.sort((a, b) => a - b)[Math.floor(RUNS / 2)];
};

registerAllBackends();
const vit = await loadViT();
const photo = new Uint8Array(readFileSync(new URL('../examples/catcoffee_224.png', import.meta.url)));
for (const be of ['wasm', 'js']) {
  setBackend(be); // not withBackend: its scope ends when the (async) function returns
  rows.push({
    where: 'Node',
    backend: describeBackend(be),
    forward: await median(() => classifyImage(vit, photo)),
    cdam: await median(() => explainImage(vit, photo, { method: 'cdam', target: 285 })),
  });
}

for (const isolated of [true, false]) {
  const s = await openSession({ isolated });
  try {
    const { page } = await openDemo(s);
    const backends = isolated ? ['wasm', 'js', 'gpujs'] : ['wasm'];
    for (const be of backends) {
      const r = await page.evaluate(
        async ([b, runs]) => {
          const d = window.cdamDemo;
          await d.setBackend(b);
          return d.state.engine.bench('cdam', 285, runs);
        },
        [be, RUNS],
      );
      rows.push({ where: `Chromium${isolated ? '' : ', no COOP/COEP'}`, backend: r.backend, forward: r.forwardMs, cdam: r.methodMs });
      process.stderr.write(`  ${r.backend}: forward ${r.forwardMs.toFixed(0)} ms, cdam ${r.methodMs.toFixed(0)} ms\n`);
    }
  } finally {
    await s.close();
  }
}

const nodeWasm = rows[0];
console.log('| where | backend | forward ms | CDAM ms | CDAM / Node wasm |');
console.log('|---|---|---:|---:|---:|');
for (const r of rows) console.log(`| ${r.where} | ${r.backend} | ${r.forward.toFixed(1)} | ${r.cdam.toFixed(1)} | ${(r.cdam / nodeWasm.cdam).toFixed(2)} |`);
