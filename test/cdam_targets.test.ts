// Any scalar of the head output is a target: a logit, a difference of two
// logits, a concept similarity, or a custom score (e.g. one output of a
// regression head). Run on a tiny generated model so it is quick.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Explainer } from '../src/cdam/explainer.js';
import { select, sub, mul, sum, tensor, reshape } from '../src/tensor/index.js';
import { loadViTFolder } from '../src/vit/load.js';
import { relErr, repoPath, loadJson, decode, type Encoded } from './support/fixtures.js';

const vit = loadViTFolder(repoPath('test/fixtures/vit/timm_reg_ls'));
const input = decode(loadJson<{ input: Encoded }>('test/fixtures/vit/timm_reg_ls/expected.json').input);

for (const engine of ['closed-form', 'autograd'] as const) {
  test(`custom targets equal the built-in ones (${engine}, registers + LayerScale model)`, () => {
    const ex = new Explainer(vit, input, engine);
    const cls = ex.cdam({ kind: 'class', index: 3 });
    const custom = ex.cdam({ kind: 'custom', name: 'output 3', score: (h) => select(h.logits!, 1, 3) });
    assert.equal(Array.from(custom.map.values), Array.from(cls.map.values));
    assert.is(cls.map.values.length, 16, 'maps cover the 4x4 patch grid, registers excluded');
    const diff = ex.cdam({ kind: 'difference', a: 3, b: 1 });
    const viaCustom = ex.cdam({ kind: 'custom', name: 'f3 - f1', score: (h) => sub(select(h.logits!, 1, 3), select(h.logits!, 1, 1)) });
    assert.ok(relErr(diff.map.values, Array.from(viaCustom.map.values)) < 1e-6);
    // linearity: CDAM(f3 - f1) = CDAM(f3) - CDAM(f1)
    const one = ex.cdam({ kind: 'class', index: 1 }).map.values;
    assert.ok(
      relErr(
        diff.map.values,
        Array.from(cls.map.values, (v, i) => v - one[i]!),
      ) < 1e-5,
    );
    const vec = tensor(Array.from({ length: vit.config.dim }, (_, i) => Math.sin(i)));
    const concept = ex.cdam({ kind: 'concept', vector: vec });
    const viaDot = ex.cdam({ kind: 'custom', name: 'dot', score: (h) => sum(mul(h.latent, reshape(vec, [1, vit.config.dim])), 1) });
    assert.ok(relErr(concept.map.values, Array.from(viaDot.map.values)) < 1e-6);
  });
}

test('bad targets are clear errors', () => {
  const ex = new Explainer(vit, input);
  assert.throws(() => ex.cdam({ kind: 'class', index: 5 }), /class index 5 is out of range: the model has 5 classes/);
  assert.throws(() => ex.cdam({ kind: 'concept', vector: tensor([1, 2, 3]) }), /concept vector has 3 entries but the model's latent has 16/);
  assert.throws(() => ex.cdam({ kind: 'custom', name: 'bad', score: (h) => h.logits! }), /one score per sample/);
  const headless = new Explainer(loadViTFolder(repoPath('test/fixtures/vit/timm_headless')), input);
  assert.throws(() => headless.cdam({ kind: 'class', index: 0 }), /needs a classifier head/);
});

test('the distilled model (two read-out tokens): closed form = autograd', () => {
  const dist = loadViTFolder(repoPath('test/fixtures/vit/timm_distilled'));
  const a = new Explainer(dist, input, 'autograd').cdam({ kind: 'class', index: 2 });
  const c = new Explainer(dist, input, 'closed-form').cdam({ kind: 'class', index: 2 });
  assert.ok(relErr(c.map.values, Array.from(a.map.values)) < 1e-5);
  const hf = loadViTFolder(repoPath('test/fixtures/vit/hf_vit'));
  const ha = new Explainer(hf, input, 'autograd').integrated({ kind: 'class', index: 0 }, { steps: 6 });
  const hc = new Explainer(hf, input, 'closed-form').integrated({ kind: 'class', index: 0 }, { steps: 6 });
  assert.ok(relErr(hc.map.values, Array.from(ha.map.values)) < 1e-5);
});

test.run();
