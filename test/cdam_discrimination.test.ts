// Class discrimination on a real image: cat (285) on the left half, espresso
// (967) on the right. CDAM for each class puts more positive mass on its own
// half; the attention map is the same whatever the target.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { useFastestBackend } from '../src/kernels/default.js';
import { Explainer, type PatchMap } from '../src/cdam/explainer.js';
import { runMethod } from '../src/methods/registry.js';
import { catcoffee } from './support/real.js';

useFastestBackend();
const real = catcoffee();

function positiveMass(m: PatchMap): { left: number; right: number } {
  let left = 0;
  let right = 0;
  for (let r = 0; r < m.rows; r++) {
    for (let c = 0; c < m.cols; c++) {
      const v = Math.max(0, m.values[r * m.cols + c]!);
      if (c < m.cols / 2) left += v;
      else right += v;
    }
  }
  return { left, right };
}

test('CDAM for cat lights the left half, for espresso the right half', () => {
  const ex = new Explainer(real.vit, real.prepared.input);
  const cat = positiveMass(ex.cdam({ kind: 'class', index: 285 }).map);
  const esp = positiveMass(ex.cdam({ kind: 'class', index: 967 }).map);
  assert.ok(cat.left > cat.right, `cat: left ${cat.left} <= right ${cat.right}`);
  assert.ok(esp.right > esp.left, `espresso: right ${esp.right} <= left ${esp.left}`);
  // the difference of the two logits separates the halves most clearly
  const diff = positiveMass(ex.cdam({ kind: 'difference', a: 285, b: 967 }).map);
  assert.ok(diff.left > diff.right);
});

test('the attention map is identical for both targets (it has no target)', () => {
  const ex = new Explainer(real.vit, real.prepared.input);
  const [cat] = runMethod(ex, 'attention', { kind: 'class', index: 285 });
  const [esp] = runMethod(ex, 'attention', { kind: 'class', index: 967 });
  assert.is(cat!.target, null);
  assert.equal(Array.from(cat!.map.values), Array.from(esp!.map.values));
  // while CDAM for the two targets differs
  const [c1] = runMethod(ex, 'cdam', { kind: 'class', index: 285 });
  const [c2] = runMethod(ex, 'cdam', { kind: 'class', index: 967 });
  assert.not.equal(Array.from(c1!.map.values), Array.from(c2!.map.values));
});

test('class index out of range is a clear error', () => {
  const ex = new Explainer(real.vit, real.prepared.input);
  assert.throws(() => ex.cdam({ kind: 'class', index: 1000 }), /class index 1000 is out of range: the model has 1000 classes/);
  assert.throws(() => ex.cdam({ kind: 'class', index: -1 }), /out of range/);
});

test.run();
