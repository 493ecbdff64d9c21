// tier: end-to-end (test/README.md)
// The browser build end to end: the demo page (web/) in headless Chromium
// loads the embedded model from dist/browser/cdam.js in its engine worker,
// explains the cat|espresso photo, and its maps equal Node's for the same
// input: within 1e-4 of max|s| on the CPU backends (js, wasm with worker
// threads), within 1e-3 on gpu.js (WebGL2 under SwiftShader: float32 GPU
// arithmetic in another order). Each case proves the named backend ran.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { loadViT } from '../src/api/load.js';
import { explainImage } from '../src/api/explainImage.js';
import { withBackend } from '../src/kernels/index.js';
import { registerAllBackends } from '../src/kernels/all.js';
import { decodeImage } from '../src/io/image.js';
import { displayRange } from '../src/render/colormap.js';
import { relErr, repoPath } from './support/fixtures.js';
import { browserTest, browserAvailable, openSession, openDemo, bundleSuites, type Session } from './support/browser.js';

registerAllBackends();
const TARGETS = [285, 967] as const;
const photo = readFileSync(repoPath('examples/catcoffee_224.png'));

let nodeMaps: Map<number, Float32Array> | null = null;
async function nodeMap(c: number): Promise<Float32Array> {
  if (!nodeMaps) {
    const vit = await loadViT();
    nodeMaps = new Map();
    for (const t of TARGETS)
      nodeMaps.set(t, await withBackend('wasm', () => explainImage(vit, new Uint8Array(photo), { method: 'cdam', target: t })).then((r) => r.map.values));
  }
  return nodeMaps.get(c)!;
}

interface PageResult {
  values: number[];
  rows: number;
  backendDetail: string;
  calls: number;
}
/** One map from the page's engine, on one backend, with the backend's own-call counter before and after. */
async function pageMap(page: Page, backend: string, method: string, target: number, which = 'A'): Promise<PageResult> {
  return page.evaluate(
    async ([be, m, t, w]) => {
      type Demo = {
        setBackend(n: string): Promise<string>;
        backendCalls(n: string): Promise<number>;
        explain(w: string, m: string, t: number): Promise<{ map: { values: Float32Array; rows: number }; backendDetail: string }>;
      };
      const d = (window as unknown as { cdamDemo: Demo }).cdamDemo;
      await d.setBackend(be);
      const before = await d.backendCalls(be);
      const r = await d.explain(w, m, t);
      return { values: Array.from(r.map.values), rows: r.map.rows, backendDetail: r.backendDetail, calls: (await d.backendCalls(be)) - before };
    },
    [backend, method, target, which] as const,
  );
}

let session: Session | null = null;
let page: Page | null = null;
let errors: string[] = [];
test.after(async () => {
  await session?.close();
});

browserTest('demo page, cross-origin isolated: CDAM for cat and espresso equals Node, on wasm with worker threads and on js', async () => {
  session = await openSession();
  ({ page, errors } = await openDemo(session));
  for (const be of ['wasm', 'js']) {
    for (const [i, c] of TARGETS.entries()) {
      const r = await pageMap(page, be, 'cdam', c, i ? 'B' : 'A');
      const e = relErr(r.values, await nodeMap(c));
      console.log(`  ${be} (${r.backendDetail}), target ${c}: error ${e.toExponential(2)} of max|s|`);
      assert.ok(e < 1e-4, `${be} target ${c}: ${e}`);
      assert.is(r.rows, 14);
      if (be === 'wasm') {
        assert.ok(r.calls > 0, 'wasm ran its own kernels');
        assert.match(r.backendDetail, /wasm: [2-9] threads \(Web Workers\)/, 'threads in the engine worker');
      }
    }
  }
  assert.equal(errors, []);
});

browserTest('demo page: gpu.js runs its kernels on WebGL2 (SwiftShader) and CDAM agrees with Node within 1e-3', async () => {
  assert.ok(page, 'the page from the first test');
  for (const c of TARGETS) {
    const r = await pageMap(page, 'gpujs', 'cdam', c);
    const e = relErr(r.values, await nodeMap(c));
    console.log(`  gpujs (${r.backendDetail}), target ${c}: error ${e.toExponential(2)} of max|s|, ${r.calls} gpu.js kernel calls`);
    assert.match(r.backendDetail, /gpu\.js webgl2/);
    assert.ok(r.calls > 0, 'gpu.js ran its own kernels');
    assert.ok(e < 1e-3, `gpujs target ${c}: ${e}`);
  }
  assert.equal(errors, []);
});

interface Demo {
  state: {
    loading: Promise<void> | null;
    panels: Record<'A' | 'B', { method: string; backend: string; map: { values: Float32Array } } | null>;
    requests: Record<'A' | 'B', number | 'concept' | null>;
    ranges: Record<'A' | 'B', { lo: number; hi: number; shared: boolean } | null>;
  };
  backendCalls(n: string): Promise<number>;
  loadExample(name: string): Promise<void>;
}
const demo = (p: Page) => p.evaluateHandle(() => (window as unknown as { cdamDemo: Demo }).cdamDemo);
/** Waits for the user action just started (an upload, a backend change) to finish. */
async function settle(p: Page): Promise<void> {
  await p.waitForFunction(() => (window as unknown as { cdamDemo: Demo }).cdamDemo.state.loading !== null);
  await p.evaluate(() => (window as unknown as { cdamDemo: Demo }).cdamDemo.state.loading);
}
/** The two panels' targets and maps, as the page holds them. */
async function panels(p: Page) {
  return (await demo(p)).evaluate((d) =>
    (['A', 'B'] as const).map((w) => ({
      target: d.state.requests[w] as number,
      method: d.state.panels[w]!.method,
      backend: d.state.panels[w]!.backend,
      values: Array.from(d.state.panels[w]!.map.values),
      range: d.state.ranges[w]!,
    })),
  );
}
const chelsea = readFileSync(repoPath('examples/chelsea.png'));

browserTest('demo page: a non-square upload keeps its aspect ratio in every picture, and the colour photo is shown', async () => {
  assert.ok(page, 'the page from the first test');
  const p = page;
  await p.evaluate(() => ((window as unknown as { cdamDemo: Demo }).cdamDemo.state.loading = null));
  await p.setInputFiles('#file', repoPath('examples/chelsea.png'));
  await settle(p);
  const img = decodeImage(new Uint8Array(chelsea), 'chelsea.png');
  const aspect = img.width / img.height; // 451x300
  for (const sel of ['#panelA canvas.picture', '#panelB canvas.picture', '#photo canvas']) {
    const r = await p.$eval(sel, (c) => {
      const el = c as HTMLCanvasElement;
      const box = el.getBoundingClientRect();
      return { w: el.width, h: el.height, cssW: box.width, cssH: box.height };
    });
    assert.is(Math.max(r.w, r.h), 448, `${sel}: the longer side is 448 canvas pixels`);
    assert.ok(Math.abs(r.w / r.h - aspect) < 0.01, `${sel}: canvas ${r.w}x${r.h}, photo ${img.width}x${img.height}`);
    assert.ok(Math.abs(r.cssW / r.cssH - aspect) < 0.02, `${sel}: on screen ${r.cssW}x${r.cssH}, photo ${img.width}x${img.height}`);
  }
  const [a, b] = await panels(p);
  assert.ok(a!.target !== b!.target && a!.values.length === 196 && b!.values.length === 196, 'both panels explained the new photo');
  // the photo canvas shows the photo in colour: its mean colour is the photo's (a resize keeps the mean)
  const shown = await p.$eval('#photo canvas', (c) => {
    const el = c as HTMLCanvasElement;
    const d = el.getContext('2d')!.getImageData(0, 0, el.width, el.height).data;
    const m = [0, 0, 0];
    for (let i = 0; i < d.length; i += 4) for (let k = 0; k < 3; k++) m[k]! += d[i + k]!;
    return m.map((v) => v / (d.length / 4));
  });
  const mean = [0, 1, 2].map((k) => {
    let t = 0;
    for (let i = k; i < img.data.length; i += 3) t += img.data[i]!;
    return t / (img.width * img.height);
  });
  console.log(`  photo canvas mean RGB ${shown.map((v) => v.toFixed(1)).join(', ')}; the photo's ${mean.map((v) => v.toFixed(1)).join(', ')}`);
  assert.ok(mean[0]! - mean[2]! > 20, 'the photo is coloured (an orange cat), so a grey picture would fail');
  for (let k = 0; k < 3; k++) assert.ok(Math.abs(shown[k]! - mean[k]!) < 2, `channel ${k}: ${shown[k]} against ${mean[k]}`);
  assert.match((await p.textContent('#photo figcaption')) ?? '', /chelsea\.png \(451x300\)/);
  assert.equal(errors, []);
});

browserTest("demo page: the two panels of one method share one colour scale, the range of both maps together (as the CLI's --compare)", async () => {
  assert.ok(page, 'the page from the first test');
  const [a, b] = await panels(page);
  assert.is(a!.method, b!.method);
  const joint = displayRange([...a!.values, ...b!.values], true);
  for (const r of [a!, b!]) {
    assert.ok(r.range.shared, 'drawn with the shared scale');
    assert.ok(
      Math.abs(r.range.lo - joint.lo) <= 1e-6 * joint.hi && Math.abs(r.range.hi - joint.hi) <= 1e-6 * joint.hi,
      `${JSON.stringify(r.range)} against ${JSON.stringify(joint)}`,
    );
  }
  // the panels' own ranges differ, so one scale per panel would fail the check above
  const own = [a!, b!].map((r) => displayRange(r.values, true).hi);
  console.log(`  shared scale ±${joint.hi.toFixed(4)}; the panels' own ±${own.map((v) => v.toFixed(4)).join(', ±')}`);
  assert.ok(Math.abs(own[0]! - own[1]!) > 0.05 * joint.hi, 'the two maps have different own ranges');
  for (const w of ['A', 'B']) assert.match((await page.textContent(`#panel${w} figcaption`)) ?? '', /colour scale shared by both panels/);
});

browserTest('demo page: choosing another backend explains both panels again on it, with the same maps as Node', async () => {
  assert.ok(page, 'the page from the first test');
  const p = page;
  const vit = await loadViT();
  for (const be of ['js', 'wasm']) {
    const before = await (await demo(p)).evaluate((d, n) => d.backendCalls(n), be);
    await p.evaluate(() => ((window as unknown as { cdamDemo: Demo }).cdamDemo.state.loading = null));
    await p.selectOption('#backend', be);
    await settle(p);
    const calls = (await (await demo(p)).evaluate((d, n) => d.backendCalls(n), be)) - before;
    const shown = await panels(p);
    for (const r of shown) {
      const ref = await withBackend('wasm', () => explainImage(vit, new Uint8Array(chelsea), { method: 'cdam', target: r.target }));
      const e = relErr(r.values, ref.map.values);
      console.log(`  backend ${be} chosen: panel target ${r.target} explained again on ${r.backend}, error ${e.toExponential(2)} of max|s|`);
      assert.is(r.backend, be);
      assert.ok(e < 1e-4, `${be} target ${r.target}: ${e}`);
    }
    if (be === 'wasm') assert.ok(calls > 0, `wasm ran its own kernels (${calls} calls)`); // js has no call counter: its proof is r.backend
  }
  assert.equal(errors, []);
});

browserTest("demo page: a method's options appear as inputs made from its declaration, and a changed value reaches the method", async () => {
  assert.ok(page, 'the page from the first test');
  const p = page;
  const inputs = () =>
    p.$$eval('#methodOptions [data-option]', (els) => els.map((e) => [(e as HTMLInputElement).dataset['option'], (e as HTMLInputElement).value]));
  assert.equal(await inputs(), [], 'cdam declares no options');
  await p.evaluate(() => ((window as unknown as { cdamDemo: Demo }).cdamDemo.state.loading = null));
  await p.selectOption('#method', 'smooth-cdam');
  await settle(p);
  assert.equal(Object.fromEntries(await inputs()), { samples: '50', noise: '0.05', seed: '0', batch: '16' }, "smooth-cdam's declared options and defaults");
  await p.evaluate(() => ((window as unknown as { cdamDemo: Demo }).cdamDemo.state.loading = null));
  await p.fill('#methodOptions [data-option="samples"]', '4');
  await p.dispatchEvent('#methodOptions [data-option="samples"]', 'change');
  await settle(p);
  const vit = await loadViT();
  for (const r of await panels(p)) {
    assert.is(r.method, 'smooth-cdam');
    const ref = await withBackend('wasm', () => explainImage(vit, new Uint8Array(chelsea), { method: 'smooth-cdam', samples: 4, target: r.target }));
    const e = relErr(r.values, ref.map.values);
    assert.ok(e < 1e-4, `samples 4 reached the method: target ${r.target} differs from Node's by ${e}`);
  }
  await p.evaluate(() => ((window as unknown as { cdamDemo: Demo }).cdamDemo.state.loading = null));
  await p.selectOption('#method', 'cdam');
  await settle(p);
  assert.equal(await inputs(), []);
  assert.equal(errors, []);
});

browserTest('demo page: no console error and no failed request (no favicon 404), and the check would see one', async () => {
  assert.ok(page, 'the page from the first test');
  const p = page;
  assert.equal(errors, [], 'nothing since the page opened');
  assert.match((await p.getAttribute('link[rel=icon]', 'href')) ?? '', /^data:image\/svg\+xml,/, 'an inline favicon: no request for /favicon.ico');
  // a missing file is seen (then forgotten, it was ours)
  await p.evaluate(() => fetch('/no-such-file.png').then(() => undefined));
  await p.waitForTimeout(200);
  assert.ok(
    errors.some((e) => /HTTP 404 .*no-such-file\.png/.test(e)),
    errors.join('; '),
  );
  errors.length = 0;
  // back to the photo the later tests compare with Node
  await (await demo(p)).evaluate((d) => d.loadExample('catcoffee_224.png'));
  assert.equal(errors, []);
});

browserTest('without COOP/COEP headers the wasm backend runs on one thread, the page says so, and the maps do not change', async () => {
  const s = await openSession({ isolated: false });
  try {
    const { page: p, errors: errs } = await openDemo(s);
    assert.match((await p.textContent('#isolation')) ?? '', /not cross-origin isolated .* one thread/);
    const r = await pageMap(p, 'wasm', 'cdam', 285);
    assert.match(r.backendDetail, /wasm: 1 thread \(no SharedArrayBuffer/);
    assert.ok(r.calls > 0);
    assert.ok(relErr(r.values, await nodeMap(285)) < 1e-4);
    assert.equal(errs, []);
  } finally {
    await s.close();
  }
});

browserTest('the op, block, fused-kernel and autograd suites pass in Chromium (in a Web Worker) on every backend, as in Node', async () => {
  const s = await openSession();
  try {
    const p = await s.browser.newPage();
    await p.goto(s.server.url + (await bundleSuites()));
    await p.waitForFunction(() => (window as unknown as { log: string[] }).log.some((l) => /Duration:|worker error|uncaught/.test(l)), null, {
      timeout: 600000,
      polling: 1000,
    });
    const log = (await p.evaluate(() => (window as unknown as { log: string[] }).log)).join('\n').replace(/\x1b\[[0-9;]*m/g, '');
    const num = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(log)?.[1] ?? NaN);
    console.log(`  in Chromium: ${num('Total')} tests, ${num('Passed')} passed, ${num('Skipped')} skipped`);
    assert.not.match(log, /FAIL|worker error|uncaught/, log.slice(0, 4000));
    assert.ok(num('Total') > 300, `ran ${num('Total')} tests`);
    assert.match(log, /gpu\.js webgl2/, 'the gpu.js cases ran on WebGL2');
    assert.is(num('Passed'), num('Total') - num('Skipped'));
  } finally {
    await s.close();
  }
});

// WebGPU: Chromium offers an adapter only with these flags (headless, SwiftShader's Vulkan)
const WEBGPU_FLAGS = ['--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-angle=swiftshader', '--enable-unsafe-swiftshader'];

browserTest('demo page controls: a model chosen from disk, downloads of the map and the picture, a concept from dropped images, cancel', async () => {
  assert.ok(page, 'the page from the first test');
  const p = page;
  // the model files, as a user picks them
  await p.setInputFiles('#modelFiles', [repoPath('weights/model.safetensors'), repoPath('weights/config.json')]);
  await p.waitForFunction(() => (window as unknown as { cdamDemo: { state: { loading: unknown } } }).cdamDemo.state.loading !== null);
  await p.evaluate(() => (window as unknown as { cdamDemo: { state: { loading: Promise<void> } } }).cdamDemo.state.loading);
  assert.match((await p.textContent('#model')) ?? '', /^model \(1000 classes/);
  const fromDisk = await pageMap(p, 'wasm', 'cdam', 285);
  assert.ok(relErr(fromDisk.values, await nodeMap(285)) < 1e-4, 'the model from disk gives the embedded model map');
  // downloads: the raw map as JSON, the picture as PNG
  const [json] = await Promise.all([p.waitForEvent('download'), p.click('#panelA .json')]);
  const saved = JSON.parse(readFileSync(await json.path(), 'utf8')) as { method: string; map: { rows: number; values: number[] } };
  assert.is(saved.method, 'cdam');
  assert.ok(relErr(saved.map.values, await nodeMap(285)) < 1e-4, 'the downloaded JSON is the raw map');
  const [png] = await Promise.all([p.waitForEvent('download'), p.click('#panelA .png')]);
  assert.equal([...readFileSync(await png.path()).subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47], 'a PNG');
  // a concept from two dropped example images
  const photos = ['examples/chelsea.png', 'examples/catcoffee_224.png'].map((f) => [...readFileSync(repoPath(f))]);
  await p.evaluate((files) => {
    const dt = new DataTransfer();
    files.forEach((b, i) => dt.items.add(new File([new Uint8Array(b)], `ex${i}.png`, { type: 'image/png' })));
    document.getElementById('conceptDrop')!.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, photos);
  await p.evaluate(() => (window as unknown as { cdamDemo: { state: { loading: Promise<void> } } }).cdamDemo.state.loading);
  assert.match((await p.textContent('#concept')) ?? '', /concept of 2 images/);
  await p.click('#explainConcept');
  await p.waitForFunction(() => /concept of 2 images/.test(document.querySelector('#panelA figcaption')!.textContent ?? ''), null, { timeout: 120000 });
  // cancel a long method: the engine restarts and works again
  await p.selectOption('#method', 'smoothgrad');
  await p.click('#top li:first-child');
  await p.waitForFunction(() => !(document.getElementById('cancel') as HTMLButtonElement).disabled, null, { timeout: 60000 });
  await p.click('#cancel');
  await p.waitForFunction(() => document.getElementById('status')!.textContent === 'cancelled', null, { timeout: 120000 });
  const after = await pageMap(p, 'wasm', 'cdam', 967);
  assert.ok(relErr(after.values, await nodeMap(967)) < 1e-4, 'the restarted engine explains again');
  assert.equal(errors, []);
});

/** Whether Chromium offers a WebGPU adapter here with WEBGPU_FLAGS (asked once, before the test is registered). */
async function webgpuAdapter(): Promise<boolean> {
  if (browserAvailable()) return false;
  const s = await openSession({ args: WEBGPU_FLAGS });
  try {
    const p = await s.browser.newPage();
    await p.goto(`${s.server.url}web/index.html`);
    return await p.evaluate(async () => {
      const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
      return !!(gpu && (await gpu.requestAdapter()));
    });
  } finally {
    await s.close();
  }
}
const WEBGPU_TEST = 'WebGPU: the gpu.js matmul kernel runs correctly on gpu.js webgpu; the synchronous backend refuses that mode and says why';
if (!browserAvailable() && !(await webgpuAdapter())) {
  console.log(`  skip "${WEBGPU_TEST}": Chromium offers no WebGPU adapter here, even with ${WEBGPU_FLAGS.join(' ')} (run headed, or on a GPU)`);
  test.skip(WEBGPU_TEST, () => {});
} else
  browserTest(WEBGPU_TEST, async () => {
    const s = await openSession({ args: WEBGPU_FLAGS });
    try {
      const p = await s.browser.newPage();
      await p.goto(`${s.server.url}web/`); // any page of ours: the test loads gpu.js's browser build and our bundle itself
      await p.addScriptTag({ url: `${s.server.url}node_modules/gpu.js/dist/gpu-browser.js` });
      const r = await p.evaluate(async () => {
        const bundle = '/dist/browser/cdam.js';
        const cdam = (await import(bundle)) as {
          gpujsMatmulSource(k: number, ta: boolean, tb: boolean, ba: boolean, bb: boolean): string;
          gpujsKernelSettings(o: number[], c: Record<string, number>): unknown;
          createGpujsBackend(o: { mode: string }): unknown;
        };
        const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
        const adapter = gpu ? await gpu.requestAdapter() : null;
        if (!adapter) return { adapter: false };
        const G = (
          window as unknown as {
            GPU: { GPU: new (o: { mode: string }) => { createKernel(src: string, s: unknown): (a: Float32Array, b: Float32Array) => Promise<Float32Array[]> } };
          }
        ).GPU;
        const [m, k, n] = [96, 83, 64]; // k not a multiple of 4: the unrolled loop's tail too
        let seed = 1;
        const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5;
        const a = Float32Array.from({ length: m * k }, rnd);
        const b = Float32Array.from({ length: k * n }, rnd);
        const kernel = new G.GPU({ mode: 'webgpu' }).createKernel(
          cdam.gpujsMatmulSource(k, false, false, false, false),
          cdam.gpujsKernelSettings([n, m], { m, n, k, k4: k - (k % 4), strideA: 0, strideB: 0 }),
        );
        const out = kernel(a, b);
        const isPromise = out instanceof Promise;
        const rows = await out;
        let err = 0;
        let top = 0;
        for (let i = 0; i < m; i++)
          for (let j = 0; j < n; j++) {
            let ref = 0;
            for (let q = 0; q < k; q++) ref += a[i * k + q]! * b[q * n + j]!;
            err = Math.max(err, Math.abs(rows[i]![j]! - ref));
            top = Math.max(top, Math.abs(ref));
          }
        let refusal = '';
        try {
          cdam.createGpujsBackend({ mode: 'webgpu' });
        } catch (e) {
          refusal = String((e as Error).message);
        }
        return { adapter: true, isPromise, err: err / top, refusal };
      });
      assert.ok(r.adapter, 'the adapter seen before the test');
      console.log(`  WebGPU: gpu.js webgpu matmul 96x83x64, error ${r.err!.toExponential(2)} of max|c|; a kernel call returns a Promise: ${r.isPromise}`);
      assert.ok(r.err! < 1e-5, `webgpu matmul error ${r.err}`);
      assert.ok(r.isPromise, 'gpu.js webgpu kernels are asynchronous');
      assert.match(r.refusal, /returns Promises; the kernel interface is synchronous/);
    } finally {
      await s.close();
    }
  });

test.run();
