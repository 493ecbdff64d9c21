// The demo page's screenshots in docs/img (run after npm run build):
//   node tools/web-screenshots.mjs
// Headless Debian chromium on the page served from this repository, the
// embedded model, the cat|espresso example: CDAM for cat (left) and espresso
// (right), then the same with AttnLRP.
import { openSession, openDemo } from '../build/test/support/browser.js';

const s = await openSession();
try {
  const { page, errors } = await openDemo(s, { width: 1400, height: 860 });
  const shot = async (method, file) => {
    await page.evaluate(async (m) => {
      const d = window.cdamDemo;
      await d.setBackend('wasm');
      await d.explain('A', m, 285);
      await d.explain('B', m, 967);
    }, method);
    await page.screenshot({ path: file, fullPage: true }); // the colour photo sits under the maps
    console.log(`wrote ${file}`);
  };
  await shot('cdam', 'docs/img/web_demo_cdam.png');
  await shot('attnlrp', 'docs/img/web_demo_attnlrp.png');
  if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
} finally {
  await s.close();
}
