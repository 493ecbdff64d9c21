// The appendix (paper A.1), worked out in docs/appendix.md and checked on the
// real ViT-Ti: (1) the closed form S_i = sum_h a^h_0i r^h_i equals autograd
// CDAM to float32 precision; (2) a token with zero attention gets exactly zero
// CDAM; (3) sum over all tokens of T.dF/dT = d/da F(a T) at a = 1.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { useFastestBackend } from '../src/kernels/default.js';
import { noGrad } from '../src/autograd/index.js';
import { Explainer } from '../src/cdam/explainer.js';
import { tokenScoresAutograd, tokenScoresClosedForm } from '../src/cdam/scores.js';
import { targetScore, type Target } from '../src/cdam/target.js';
import { Tensor, full, mul } from '../src/tensor/index.js';
import { relErr } from './support/fixtures.js';
import { catcoffee } from './support/real.js';

useFastestBackend();
const real = catcoffee();
const targets: Target[] = [
  { kind: 'class', index: 285 },
  { kind: 'class', index: 967 },
  { kind: 'difference', a: 285, b: 967 },
];

test('(1) closed form = autograd CDAM on every patch token, to float32 precision', () => {
  const ex = new Explainer(real.vit, real.prepared.input);
  const pre = real.vit.numPrefix;
  for (const t of targets) {
    const a = tokenScoresAutograd(real.vit, ex.x, t).scores.slice(pre);
    const c = tokenScoresClosedForm(real.vit, ex.x, t).scores.slice(pre);
    const e = relErr(c, a);
    assert.ok(e < 1e-5, `${JSON.stringify(t)}: closed form vs autograd ${e}`);
  }
});

test('(2) zero attention gives zero CDAM', () => {
  const ex = new Explainer(real.vit, real.prepared.input);
  const n = ex.x.shape[1]!;
  const masked = [1 + 5 * 14 + 3, 1 + 9 * 14 + 10]; // two patch tokens
  const bias = full([n], 0);
  for (const i of masked) bias.data[i] = -Infinity; // the [CLS] query gives them zero attention in every head
  const t: Target = { kind: 'class', index: 285 };
  const s = tokenScoresAutograd(real.vit, ex.x, t, bias).scores;
  for (const i of masked) assert.is(s[i], 0, `token ${i}: CDAM ${s[i]} with zero attention`);
  // the neighbours still carry signal, and without the mask so do the tokens themselves
  assert.ok(Math.abs(s[masked[0]! + 1]!) > 0 && Math.abs(s[masked[1]! - 1]!) > 0);
  const free = tokenScoresAutograd(real.vit, ex.x, t).scores;
  for (const i of masked) assert.ok(free[i] !== 0);
  const c = tokenScoresClosedForm(real.vit, ex.x, t, bias).scores;
  for (const i of masked) assert.is(c[i], 0);
});

test('(3) sum_i T_i . dF/dT_i over all tokens = d/da F(a T) at a = 1 (float64, central differences)', () => {
  const vit64 = real.vit.to('float64');
  const ex = new Explainer(real.vit, real.prepared.input);
  const x = new Tensor(Float64Array.from(ex.x.contiguousData()), ex.x.shape);
  for (const t of targets) {
    const total = tokenScoresAutograd(vit64, x, t).scores.reduce((acc, v) => acc + v, 0);
    // tokenScores rounds to float32 at the end; recompute F(a T) in float64
    const F = (a: number) =>
      noGrad(() => {
        const T = mul(vit64.normedLast(x), a);
        return targetScore(t, vit64.readout(x, T).head).item();
      });
    const h = 1e-4;
    const fd = (F(1 + h) - F(1 - h)) / (2 * h);
    assert.ok(Math.abs(total - fd) <= 1e-5 * Math.max(1, Math.abs(fd)), `${JSON.stringify(t)}: sum ${total} vs d/da ${fd}`);
  }
});

test.run();
