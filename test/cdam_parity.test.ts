// Every method against the PyTorch reference (tools/make_cdam_fixtures.py) on
// the real ViT-Ti and the cat|espresso image: maps agree within 1e-4 of the
// map's max|s|. Smooth CDAM is fed the same noise (the generator is ported to
// the script). Both score engines (closed form and autograd) are checked.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { useFastestBackend } from '../src/kernels/default.js';
import { Explainer, conceptVector } from '../src/cdam/explainer.js';
import { Tensor, tensor, allocate } from '../src/tensor/index.js';
import { loadJson, relErr } from './support/fixtures.js';
import { catcoffee } from './support/real.js';

useFastestBackend();

interface Fx {
  attention: number[];
  attention_heads: number[][];
  cdam: Record<string, number[]>;
  cdam_diff: { pos: number; neg: number; map: number[] };
  concept_vector: number[];
  concept_map: number[];
  integrated: { m: number; target: number; map: number[] };
  smooth: { n: number; nu: number; seed: number; target: number; sigma: number; map: number[] };
  logits: Record<string, number>;
}
const fx = loadJson<Fx>('test/fixtures/cdam/catcoffee_vit_tiny.json');
const TOL = 1e-4;

function close(a: Float32Array, b: number[], what: string) {
  const e = relErr(a, b);
  assert.ok(e < TOL, `${what}: error ${e.toExponential(2)} of max|s|`);
}

const real = catcoffee();

test('attention map (mean and per head) matches the reference', () => {
  const ex = new Explainer(real.vit, real.prepared.input);
  const a = ex.attention();
  assert.is(a.map.rows, 14);
  assert.is(a.map.cols, 14);
  close(a.map.values, fx.attention, 'attention');
  fx.attention_heads.forEach((h, i) => close(ex.attention(i).map.values, h, `attention head ${i}`));
});

for (const engine of ['closed-form', 'autograd'] as const) {
  test(`CDAM (${engine}): classes 285 and 967, a logit difference, and a concept`, () => {
    const ex = new Explainer(real.vit, real.prepared.input, engine);
    for (const c of ['285', '967']) {
      const r = ex.cdam({ kind: 'class', index: Number(c) });
      close(r.map.values, fx.cdam[c]!, `cdam ${c}`);
      assert.ok(Math.abs(r.score! - fx.logits[c]!) < 1e-4, `logit ${c}`);
    }
    close(ex.cdam({ kind: 'difference', a: fx.cdam_diff.pos, b: fx.cdam_diff.neg }).map.values, fx.cdam_diff.map, 'cdam of f285 - f967');
  });
}

test('concept CDAM: concept vector from two example images, dot-product score', () => {
  const input = real.prepared.input;
  // the second example is the image mirrored left-right (in the normalised tensor)
  const [, c, h, w] = input.shape as number[];
  const src = input.contiguousData();
  const mir = allocate('float32', input.size);
  for (let ch = 0; ch < c!; ch++)
    for (let y = 0; y < h!; y++)
      for (let x = 0; x < w!; x++) {
        mir[(ch * h! + y) * w! + x] = src[(ch * h! + y) * w! + (w! - 1 - x)]!;
      }
  const vec = conceptVector(real.vit, [input, new Tensor(mir, input.shape)]);
  close(vec.contiguousData() as Float32Array, fx.concept_vector, 'concept vector');
  const ex = new Explainer(real.vit, input);
  close(ex.cdam({ kind: 'concept', vector: tensor(fx.concept_vector) }).map.values, fx.concept_map, 'concept map');
});

test('Integrated CDAM (m = 50, alpha = k/m for k = 1..49) matches the reference', () => {
  const ex = new Explainer(real.vit, real.prepared.input);
  assert.is(fx.integrated.m, 50);
  close(ex.integrated({ kind: 'class', index: fx.integrated.target }, { steps: 50 }).map.values, fx.integrated.map, 'integrated');
});

test('Smooth CDAM with the same noise (n = 8, nu = 0.05, seed 1234) matches the reference', () => {
  const ex = new Explainer(real.vit, real.prepared.input);
  const s = fx.smooth;
  const r = ex.smooth({ kind: 'class', index: s.target }, { samples: s.n, noise: s.nu, seed: s.seed, batch: 3 });
  close(r.map.values, s.map, 'smooth');
  // batching does not change the result
  const r2 = ex.smooth({ kind: 'class', index: s.target }, { samples: s.n, noise: s.nu, seed: s.seed, batch: 8 });
  assert.ok(relErr(r2.map.values, Array.from(r.map.values)) < 1e-6);
});

test.run();
