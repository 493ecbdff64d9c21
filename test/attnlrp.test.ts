// AttnLRP's properties, beside its parity with PyTorch (baselines_parity):
// where its rules conserve relevance (CP-LRP inside attention, every bias,
// position embedding and prefix token zero) the pixel relevances sum to the
// target logit; the variants and the gammas change the map; the map follows
// the target on cat|espresso; the rule table really replaces the gradient.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { useFastestBackend } from '../src/kernels/default.js';
import { Explainer } from '../src/cdam/explainer.js';
import { runMethod } from '../src/methods/registry.js';
import { attnLrp } from '../src/baselines/attnLrp.js';
import { noGrad } from '../src/autograd/index.js';
import { select, type Tensor } from '../src/tensor/index.js';
import { loadViTFolder } from '../src/vit/load.js';
import type { ViT } from '../src/vit/model.js';
import { loadJson, decode, relErr, repoPath, type Encoded } from './support/fixtures.js';
import { catcoffee, leftShare } from './support/real.js';

useFastestBackend();
const CAT = { kind: 'class', index: 285 } as const;
const ESPRESSO = { kind: 'class', index: 967 } as const;

function fixture(name: string): { vit: ViT; input: Tensor } {
  const vit = loadViTFolder(repoPath(`test/fixtures/vit/${name}`));
  return { vit, input: decode(loadJson<{ input: Encoded }>(`test/fixtures/vit/${name}/expected.json`).input) };
}

/** Every additive constant of the model set to 0: biases, LayerNorm shifts, position embedding, prefix tokens. */
function withoutConstants(vit: ViT): void {
  const P = vit.params;
  const zero = (t: Tensor | null | undefined) => t?.data.fill(0);
  [P.patchBias, P.cls, P.dist, P.reg, P.pos, P.norm.bias, P.head?.bias, P.headDist?.bias].forEach(zero);
  for (const b of P.blocks) [b.norm1.bias, b.qkv.bias, b.proj.bias, b.norm2.bias, b.fc1.bias, b.fc2.bias].forEach(zero);
}

const sum = (v: ArrayLike<number>) => Array.from(v).reduce((s, x) => s + x, 0);

for (const name of ['timm_plain', 'timm_reg_ls', 'timm_distilled']) {
  test(`${name}, constants zeroed: CP-LRP relevance sums to the target logit, for every gamma`, () => {
    const { vit, input } = fixture(name);
    withoutConstants(vit);
    const ex = new Explainer(vit, input);
    let worst = 0;
    for (const c of [1, 3]) {
      const logit = noGrad(() => select(vit.forward(input).logits!, 1, c).item());
      for (const [gamma, patchGamma] of [
        [0, 0],
        [0.05, 0.25],
        [1, 100],
      ] as const) {
        const m = attnLrp(ex, { kind: 'class', index: c }, { variant: 'cp', gamma, patchGamma }).map.values;
        const gap = Math.abs(sum(m) - logit) / Math.abs(logit);
        assert.ok(gap < 1e-4, `${name} target ${c} gamma ${gamma}/${patchGamma}: sum ${sum(m)} vs logit ${logit} (gap ${gap.toExponential(2)})`);
        worst = Math.max(worst, gap);
      }
    }
    console.log(`  ${name}: |sum R - logit| / |logit| at most ${worst.toExponential(2)}`);
  });
}

test('the full AttnLRP rules do not conserve through the softmax, and differ from CP-LRP; the gammas matter', () => {
  const { vit, input } = fixture('timm_plain');
  const ex = new Explainer(vit, input);
  const t = { kind: 'class', index: 1 } as const;
  const cp = attnLrp(ex, t, { variant: 'cp' }).map.values;
  const fullRules = attnLrp(ex, t, { variant: 'full' }).map.values;
  const plain = attnLrp(ex, t, { variant: 'cp', gamma: 0, patchGamma: 0 }).map.values;
  assert.ok(relErr(fullRules, cp) > 1e-2, `full vs cp ${relErr(fullRules, cp)}`);
  assert.ok(relErr(plain, cp) > 1e-2, `gamma 0 vs default ${relErr(plain, cp)}`);
  // with the relevance rules the map is not input x gradient
  const ixg = runMethod(ex, 'input-x-grad', t)[0]!.map.values.map((v) => 3 * v);
  assert.ok(relErr(ixg, cp) > 1e-2, `input x gradient vs attnlrp ${relErr(ixg, cp)}`);
});

test('AttnLRP follows the target on cat|espresso, in both variants', () => {
  const { vit, prepared } = catcoffee();
  const ex = new Explainer(vit, prepared.input);
  for (const variant of ['cp', 'full'] as const) {
    const a = attnLrp(ex, CAT, { variant }).map;
    const b = attnLrp(ex, ESPRESSO, { variant }).map;
    const cat = leftShare(a);
    const esp = leftShare(b);
    console.log(`  attnlrp ${variant}: left-half share of the positive relevance ${cat.toFixed(2)} for the cat, ${esp.toFixed(2)} for the espresso`);
    assert.ok(cat > 0.6 && esp < 0.4, `${variant}: ${cat} vs ${esp}`);
  }
});

test('bad options are refused by name', () => {
  const { vit, input } = fixture('timm_plain');
  const ex = new Explainer(vit, input);
  const t = { kind: 'class', index: 1 } as const;
  assert.throws(() => attnLrp(ex, t, { gamma: -1 }), /gamma must be a finite number >= 0/);
  assert.throws(() => attnLrp(ex, t, { patchGamma: Number.NaN }), /patch gamma/);
  assert.throws(() => attnLrp(ex, t, { variant: 'both' as 'cp' }), /variant must be cp or full/);
});

test.run();
