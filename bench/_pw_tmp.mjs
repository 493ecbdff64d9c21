import { chromium } from 'playwright-core';
import { serveStatic } from '../build/test/support/server.js';
const srv = await serveStatic('/work/main');
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'] });
const page = await browser.newPage({ viewport: { width: 1500, height: 900 } });
page.on('console', (m) => console.log('page:', m.text()));
page.on('pageerror', (e) => console.log('pageerror:', e.message));
await page.goto(srv.url + 'web/');
await page.waitForFunction(() => window.cdamDemo, null, { timeout: 30000 });
await page.evaluate(() => window.cdamDemo.ready);
await page.waitForFunction(() => window.cdamDemo.state.panels.B, null, { timeout: 60000 });
const r = await page.evaluate(async () => {
  const d = window.cdamDemo;
  const out = [];
  for (const be of d.state.env.backends) {
    out.push({ be, detail: await d.setBackend(be) });
    const a = await d.explain('A', 'cdam', 285);
    out.push({ be, ms: a.ms, detail: a.backendDetail, first: Array.from(a.map.values.slice(0, 3)), calls: await d.backendCalls(be) });
  }
  return out;
});
console.log(JSON.stringify(r, null, 1));
await page.screenshot({ path: '/tmp/web.png' });
await browser.close(); await srv.close();
