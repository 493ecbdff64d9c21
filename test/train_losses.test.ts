// The losses of src/train: gradients by central differences in float64
// (support/gradcheck.ts, h = 1e-6, within 1e-7), and values and input
// gradients against PyTorch (tools/make_train_fixtures.py): float64 within
// 1e-10, float32 within 1e-5 (normwise relative).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { grad, enableGrad } from '../src/autograd/index.js';
import { tensor, type DType, type Tensor } from '../src/tensor/index.js';
import { crossEntropy, bceWithLogits, mse, huber } from '../src/train/index.js';
import { loadJson, decode, assertClose, type Encoded } from './support/fixtures.js';
import { gradcheck } from './support/gradcheck.js';

interface Case {
  name: string;
  loss: 'crossEntropy' | 'bceWithLogits' | 'mse' | 'huber';
  params: { labelSmoothing?: number; delta?: number };
  targets: number[] | null;
  inputs: Record<string, Encoded>;
  value: number;
  grads: Record<string, Encoded>;
}
const fx = loadJson<{ cases: Case[] }>('test/fixtures/train_losses.json');

function run(c: Case, xs: Record<string, Tensor>): Tensor {
  switch (c.loss) {
    case 'crossEntropy':
      return crossEntropy(xs.input!, c.targets!, { labelSmoothing: c.params.labelSmoothing ?? 0 });
    case 'bceWithLogits':
      return bceWithLogits(xs.input!, xs.target!);
    case 'mse':
      return mse(xs.input!, xs.target!);
    case 'huber':
      return huber(xs.input!, xs.target!, c.params.delta);
  }
}

function check(c: Case, dtype: DType, tol: number): void {
  const xs: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(c.inputs)) xs[k] = decode(v, dtype).requireGrad();
  const y = enableGrad(() => run(c, xs));
  assert.equal(y.shape, [], `${c.name}: a scalar`);
  const e = Math.abs(y.item() - c.value) / Math.abs(c.value);
  assert.ok(e <= tol, `${c.name} ${dtype} value ${y.item()} vs torch ${c.value}: relative error ${e}`);
  const names = Object.keys(c.grads);
  const gs = grad(
    y,
    names.map((n) => xs[n]!),
  );
  names.forEach((n, i) => assertClose(gs[i]!, c.grads[n]!, tol, `${c.name} ${dtype} d/d${n}`));
}

for (const c of fx.cases) {
  test(`finite differences (float64): ${c.name}`, () => {
    const xs: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries(c.inputs)) xs[k] = decode(v, 'float64');
    const e = gradcheck((ins) => run(c, ins), xs, Object.keys(c.grads));
    assert.ok(e < 1e-7, `${c.name}: relative error ${e}`);
  });
  test(`${c.name}: float64 value and gradients within 1e-10 of torch`, () => check(c, 'float64', 1e-10));
  test(`${c.name}: float32 value and gradients within 1e-5 of torch`, () => check(c, 'float32', 1e-5));
}

test('the fixtures hold every loss, label smoothing, an ignored row, and the logit 0 of BCE', () => {
  const losses = new Set(fx.cases.map((c) => c.loss));
  assert.equal([...losses].sort(), ['bceWithLogits', 'crossEntropy', 'huber', 'mse']);
  assert.ok(fx.cases.some((c) => c.targets?.includes(-100) && (c.params.labelSmoothing ?? 0) > 0));
  assert.ok(fx.cases.some((c) => c.loss === 'bceWithLogits' && c.inputs.input!.data.includes(0)));
});

test('cross-entropy by hand: uniform logits cost log C; every row ignored is NaN, as torch', () => {
  const x = tensor([0, 0, 0, 0, 5, 5, 5, 5], [2, 4], 'float64');
  assert.ok(Math.abs(crossEntropy(x, [1, 3]).item() - Math.log(4)) < 1e-15);
  assert.ok(Math.abs(crossEntropy(x, [1, 3], { labelSmoothing: 0.3 }).item() - Math.log(4)) < 1e-15);
  assert.ok(Number.isNaN(crossEntropy(x, [-100, -100]).item()));
  assert.throws(() => crossEntropy(x, [4, 0]), /class index/);
});

test('BCE with logits by hand: logit 0 costs log 2 with gradient (1/2 - y) / n', () => {
  const x = tensor([0, 0], [2], 'float64').requireGrad();
  const y = tensor([0, 1], [2], 'float64');
  const l = enableGrad(() => bceWithLogits(x, y));
  assert.ok(Math.abs(l.item() - Math.LN2) < 1e-15);
  assert.equal(grad(l, [x])[0]!.toArray(), [0.25, -0.25]);
});

test.run();
