// Finite-difference gradient checks in float64 for every op, on the fixture
// inputs (small random shapes kept away from kinks), with support/gradcheck.ts:
// central differences with h = 1e-6 against the analytic vector-Jacobian product.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Tensor } from '../src/tensor/index.js';
import { loadJson, decode, type Encoded } from './support/fixtures.js';
import { gradcheck } from './support/gradcheck.js';
import { runOp, type Params } from './support/optable.js';

interface Case {
  name: string;
  op: string;
  params: Params;
  inputs: Record<string, Encoded>;
  grads: Record<string, Encoded>;
}
const fx = loadJson<{ cases: Case[] }>('test/fixtures/ops.json');

export { gradcheck };

for (const c of fx.cases) {
  test(`finite differences (float64): ${c.name}`, () => {
    const inputs: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries(c.inputs)) inputs[k] = decode(v, 'float64');
    const e = gradcheck((xs) => runOp(c.op, c.params, xs), inputs, Object.keys(c.grads));
    assert.ok(e < 1e-7, `${c.name}: relative error ${e}`);
  });
}

test.run();
