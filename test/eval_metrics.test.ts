// The evaluation's statistics against values worked out by hand, and the
// per-image protocol's invariants on the small generated model: curves start
// at the unperturbed logit and end at the fully blurred one, step k perturbs
// exactly floor(k/40 HW) pixels in the map's order, box r is the Pearson r of
// the map's box sums against the logit drops, and the records come in the
// spec's pairings.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  compactness,
  makeBoxes,
  checkBoxes,
  pearson,
  pixelOrder,
  perturbedCount,
  toPixels,
  trapezoid,
  trapezoidXY,
  integralImage,
  boxSum,
} from '../src/eval/metrics.js';
import { evaluateImage, pairings } from '../src/eval/protocol.js';
import { gaussianBlurPillow } from '../src/eval/blur.js';
import { loadViTFolder } from '../src/vit/load.js';
import { normalise, toModelResolution } from '../src/vit/preprocess.js';
import { readImageFile } from '../src/io/image.js';
import { Tensor } from '../src/tensor/index.js';
import { noGrad } from '../src/autograd/index.js';
import { Explainer } from '../src/cdam/explainer.js';
import { repoPath } from './support/fixtures.js';

test('pixel order: by signed value, ties by pixel index in both directions', () => {
  const v = [0.5, -1, 0.5, 2, -1, 0];
  assert.equal(Array.from(pixelOrder(v, 'mif')), [3, 0, 2, 5, 1, 4]);
  assert.equal(Array.from(pixelOrder(v, 'lif')), [1, 4, 5, 0, 2, 3]);
});

test('perturbed counts and trapezoid areas', () => {
  assert.equal(
    [0, 1, 20, 39, 40].map((k) => perturbedCount(k, 40, 50176)),
    [0, 1254, 25088, 48921, 50176],
  );
  // 41 points over 0..100: a constant 3 has area 300, a line from 0 to 10 has area 500
  assert.ok(Math.abs(trapezoid(new Array(41).fill(3), 0, 100) - 300) < 1e-9);
  assert.ok(
    Math.abs(
      trapezoid(
        Array.from({ length: 41 }, (_, k) => k / 4),
        0,
        100,
      ) - 500,
    ) < 1e-9,
  );
  // r over sizes 16, 32, 48, 64, 96: (16*(0.1+0.2) + 16*(0.2+0.3) + 16*(0.3+0.4) + 32*(0.4+0.5)) / 2
  assert.ok(Math.abs(trapezoidXY([16, 32, 48, 64, 96], [0.1, 0.2, 0.3, 0.4, 0.5]) - 26.4) < 1e-12);
});

test('pearson: +1, -1, a hand-worked value, and 0 for a constant side', () => {
  assert.ok(Math.abs(pearson([1, 2, 3], [2, 4, 6]) - 1) < 1e-15);
  assert.ok(Math.abs(pearson([1, 2, 3], [3, 2, 1]) + 1) < 1e-15);
  // x = 1,2,3,4; y = 1,3,2,4: deviations give sum dx dy = 4, sum dx^2 = sum dy^2 = 5 -> 0.8
  assert.ok(Math.abs(pearson([1, 2, 3, 4], [1, 3, 2, 4]) - 0.8) < 1e-15);
  assert.is(pearson([1, 1, 1], [1, 2, 3]), 0);
});

test('compactness: entries with |s| <= 0.05 max|s|', () => {
  assert.is(compactness([1, -0.05, 0.049, 0.2, -1]), 2 / 5);
  assert.is(compactness([0, 0]), 1);
});

test('nearest upsampling copies each patch score to its block; pixel maps stay as they are', () => {
  const up = toPixels({ rows: 2, cols: 2, values: [1, 2, 3, 4] }, 4, 4);
  assert.equal(Array.from(up), [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
  assert.equal(Array.from(toPixels({ rows: 2, cols: 2, values: [1, 2, 3, 4] }, 2, 2)), [1, 2, 3, 4]);
  assert.throws(() => toPixels({ rows: 3, cols: 3, values: new Array(9).fill(0) }, 4, 4), /does not tile/);
});

test('boxes: seeded, inside the image, the sizes asked for; sums by summed-area table', () => {
  const b = makeBoxes(224, 224, [16, 96], 100, 0);
  assert.equal(b, makeBoxes(224, 224, [16, 96], 100, 0));
  assert.not.equal(b, makeBoxes(224, 224, [16, 96], 100, 1));
  for (const s of [16, 96]) {
    const list = b.boxes[String(s)]!;
    assert.is(list.length, 100);
    for (const [x0, y0, x1, y1] of list) assert.ok(x0 >= 0 && y0 >= 0 && x0 < 224 - s && y0 < 224 - s && x1 - x0 === s && y1 - y0 === s);
  }
  assert.equal(checkBoxes(JSON.parse(JSON.stringify(b)), 224, 224), b);
  assert.throws(() => checkBoxes(b, 32, 32), /for 224x224 images/);
  assert.throws(
    () =>
      checkBoxes(
        {
          ...b,
          boxes: {
            '16': [
              [0, 0, 10, 16],
              [0, 0, 16, 16],
            ],
            '96': b.boxes['96'],
          },
        },
        224,
        224,
      ),
    /size 16, box 0/,
  );
  const v = Array.from({ length: 12 }, (_, i) => i);
  const t = integralImage(v, 3, 4);
  assert.is(boxSum(t, 4, [1, 1, 3, 3]), 5 + 6 + 9 + 10);
  assert.is(boxSum(t, 4, [0, 0, 4, 3]), 66);
});

test('pairings: (c, c) for one class; (c,c), (c2,c), (c2,c2), (c,c2) for two', () => {
  assert.equal(pairings([7]), [[7, 7]]);
  assert.equal(pairings([1, 3]), [
    [1, 1],
    [3, 1],
    [3, 3],
    [1, 3],
  ]);
});

const vit = loadViTFolder(repoPath('test/fixtures/vit/timm_plain'));
const rgb = toModelResolution(readImageFile(repoPath('examples/catcoffee_224.png')), vit.config.preprocess, 'squash');
const logitsOf = (data: Uint8Array) => [
  Array.from(noGrad(() => vit.forward(normalise({ width: rgb.width, height: rgb.height, data }, vit.config.preprocess)).logits!).contiguousData()),
];

test('protocol: curve ends, step counts in map order, box r from the map and the drops', () => {
  const boxes = makeBoxes(16, 16, [4, 8], 12, 3);
  const { records, timing } = evaluateImage(vit, { image: 'x', line: 1, rgb, targets: [1, 3] }, ['cdam', 'attention'], { boxes, batch: 5 });
  assert.is(records.length, 8);
  assert.equal(
    records.slice(0, 4).map((r) => [r.mapTarget, r.logitTarget]),
    [
      [1, 1],
      [3, 1],
      [3, 3],
      [1, 3],
    ],
  );
  // 2 map-free + 24 boxes + 39 inner steps x 2 orders x (2 CDAM targets + 1 attention map)
  assert.is(timing.forwards, 2 + 24 + 39 * 2 * 3);
  const blurred = gaussianBlurPillow(rgb, 14).data;
  const base = logitsOf(rgb.data)[0]!;
  const allBlur = logitsOf(blurred)[0]!;
  const ex = new Explainer(vit, normalise(rgb, vit.config.preprocess));
  const map = toPixels(ex.cdam({ kind: 'class', index: 3 }).map, 16, 16);
  const rec = records.find((r) => r.method === 'cdam' && r.mapTarget === 3 && r.logitTarget === 1)!;
  const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= 1e-5 * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);
  close(rec.curves.mif[0]!, base[1]!, 'step 0');
  close(rec.curves.lif[40]!, allBlur[1]!, 'step 40');
  // step 10 of LIF: the 64 lowest-scoring pixels (ties by index) take the blurred values
  const order = pixelOrder(map, 'lif');
  const img = rgb.data.slice();
  for (let i = 0; i < perturbedCount(10, 40, 256); i++) for (let c = 0; c < 3; c++) img[order[i]! * 3 + c] = blurred[order[i]! * 3 + c]!;
  close(rec.curves.lif[10]!, logitsOf(img)[0]![1]!, 'LIF step 10');
  close(rec.aLifMif, rec.aLif - rec.aMif, 'difference');
  close(rec.aLif, trapezoid(rec.curves.lif, 0, 100), 'A_LIF');
  // box r for size 8: the map's box sums against the drops of logit 1
  const sums: number[] = [];
  const drops: number[] = [];
  for (const [x0, y0, x1, y1] of boxes.boxes['8']!) {
    let s = 0;
    const b = rgb.data.slice();
    for (let y = y0; y < y1; y++)
      for (let x = x0; x < x1; x++) {
        s += map[y * 16 + x]!;
        for (let c = 0; c < 3; c++) b[(y * 16 + x) * 3 + c] = blurred[(y * 16 + x) * 3 + c]!;
      }
    sums.push(s);
    drops.push(base[1]! - logitsOf(b)[0]![1]!);
  }
  close(rec.boxR[1]!, pearson(sums, drops), 'r(8)');
  close(rec.aBox, trapezoidXY([4, 8], rec.boxR), 'A_box');
  // the attention map is the same for both targets: its four records pair up
  const att = records.filter((r) => r.method === 'attention');
  assert.equal(att[0]!.curves, att[1]!.curves);
  assert.equal(att[2]!.curves, att[3]!.curves);
  assert.is(att[0]!.compactness, att[2]!.compactness);
});

test('protocol: batch size does not change the numbers', () => {
  const boxes = makeBoxes(16, 16, [4, 8], 6, 0);
  const job = { image: 'x', line: 1, rgb, targets: [2] };
  const a = evaluateImage(vit, job, ['cdam'], { boxes, batch: 1 }).records[0]!;
  const b = evaluateImage(vit, job, ['cdam'], { boxes, batch: 16 }).records[0]!;
  for (let k = 0; k <= 40; k++) assert.ok(Math.abs(a.curves.mif[k]! - b.curves.mif[k]!) <= 1e-5, `step ${k}`);
});

test("smooth-cdam-robust: the noise scale leaves out high-norm tokens, and is the paper's range without them", () => {
  const ex = new Explainer(vit, normalise(rgb, vit.config.preprocess));
  const X = ex.x.contiguousData();
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of X) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  // without outlier tokens both scales agree
  assert.ok(Math.abs(ex.robustRange() - (hi - lo)) < 1e-6, `${ex.robustRange()} vs ${hi - lo}`);
  // one token blown up 100x: the paper's range follows it, the robust one does not
  const [, n, d] = ex.x.shape as [number, number, number];
  const big = Float32Array.from(X);
  for (let j = 0; j < d; j++) big[5 * d + j]! *= 100;
  const ex2 = Object.create(Explainer.prototype) as Explainer;
  Object.assign(ex2, { ...ex, x: new Tensor(big, [1, n, d]) });
  assert.ok(Math.abs(ex2.robustRange() - (hi - lo)) < 1e-6, 'the blown-up token is left out');
  const smooth = ex.smooth({ kind: 'class', index: 1 }, { samples: 4, scale: 'robust' });
  assert.is(smooth.method, 'smooth-cdam-robust');
  assert.throws(() => ex.smooth({ kind: 'class', index: 1 }, { scale: 'bogus' as never }), /scale must be one of range, robust/);
});

test.run();
