// Image preprocessing: Pillow-compatible resampling, squash and crop modes,
// normalisation, and no resampling for an image already at the model size.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { resizeRgb, toModelResolution, normalise, prepareImage } from '../src/vit/preprocess.js';
import type { PreprocessConfig } from '../src/vit/config.js';
import type { RgbImage } from '../src/io/image.js';
import { loadJson } from './support/fixtures.js';

interface Fx {
  source: { width: number; height: number; data: number[] };
  cases: { mode: 'bilinear' | 'bicubic'; width: number; height: number; data: number[] }[];
}
const fx = loadJson<Fx>('test/fixtures/resize.json');
const src: RgbImage = { width: fx.source.width, height: fx.source.height, data: Uint8Array.from(fx.source.data) };

test('resizeRgb matches Pillow exactly (bilinear and bicubic, down and up)', () => {
  for (const c of fx.cases) {
    const r = resizeRgb(src, c.width, c.height, c.mode);
    assert.is(r.data.length, c.data.length);
    let worst = 0;
    let exact = 0;
    for (let i = 0; i < c.data.length; i++) {
      const d = Math.abs(r.data[i]! - c.data[i]!);
      worst = Math.max(worst, d);
      if (d === 0) exact++;
    }
    assert.is(worst, 0, `${c.mode} ${c.width}x${c.height}: worst difference ${worst}, ${exact}/${c.data.length} exact`);
  }
});

const cfg: PreprocessConfig = { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], interpolation: 'bicubic', cropPct: 0.875, size: [16, 16] };

test('an image at the model size is used as is; squash and crop give the model size', () => {
  const same: RgbImage = { width: 16, height: 16, data: new Uint8Array(16 * 16 * 3).fill(7) };
  assert.is(toModelResolution(same, cfg, 'crop'), same);
  assert.is(toModelResolution(same, cfg, 'squash'), same);
  const sq = toModelResolution(src, cfg, 'squash');
  assert.equal([sq.width, sq.height], [16, 16]);
  const cr = toModelResolution(src, cfg, 'crop');
  assert.equal([cr.width, cr.height], [16, 16]);
  // crop: short side (30) to floor(16 / 0.875) = 18, long side 40 -> 24, centre crop 16x16 from 24x18
  const resized = resizeRgb(src, 24, 18, 'bicubic');
  assert.equal(Array.from(cr.data.subarray(0, 3)), Array.from(resized.data.subarray((1 * 24 + 4) * 3, (1 * 24 + 4) * 3 + 3)));
});

test('normalise gives [1, 3, H, W] with (x/255 - mean)/std per channel', () => {
  const img: RgbImage = { width: 2, height: 1, data: Uint8Array.from([0, 255, 51, 255, 0, 102]) };
  const t = normalise(img, { ...cfg, mean: [0.5, 0.25, 0], std: [0.5, 0.5, 0.2] });
  assert.equal(t.shape, [1, 3, 1, 2]);
  const v = t.toArray();
  const expect = [(0 - 0.5) / 0.5, (1 - 0.5) / 0.5, (1 - 0.25) / 0.5, (0 - 0.25) / 0.5, 0.2 / 0.2, 0.4 / 0.2];
  expect.forEach((e, i) => assert.ok(Math.abs(v[i]! - e) < 1e-6));
  assert.equal(prepareImage(img, { ...cfg, size: [1, 2] }, 'crop').input.shape, [1, 3, 1, 2]);
});

test.run();
