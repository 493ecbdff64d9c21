// PyTorch parity for every op: the fixtures hold inputs, a random upstream
// gradient, torch's float64 output and input gradients. float32 runs on every
// backend within 1e-5 normwise relative error; float64 (reference backend) within 1e-10.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { grad, enableGrad } from '../src/autograd/index.js';
import { withBackend, backendNames } from '../src/kernels/index.js';
import { registerAllBackends } from '../src/kernels/all.js';

registerAllBackends();
import type { DType, Tensor } from '../src/tensor/index.js';
import { loadJson, decode, assertClose, type Encoded } from './support/fixtures.js';
import { runOp, type Params } from './support/optable.js';

interface Case {
  name: string;
  op: string;
  params: Params;
  inputs: Record<string, Encoded>;
  upstream: Encoded;
  output: Encoded;
  grads: Record<string, Encoded>;
}
const fx = loadJson<{ cases: Case[] }>('test/fixtures/ops.json');

const opsCovered = new Set(fx.cases.map((c) => c.op));
test('fixtures cover every listed op', () => {
  for (const op of ['add', 'sub', 'mul', 'div', 'neg', 'exp', 'log', 'sqrt', 'tanh', 'erf', 'relu', 'clamp', 'where', 'sum', 'mean', 'max',
    'matmul', 'softmax', 'layer_norm', 'gelu', 'concat', 'slice', 'gather', 'reshape', 'permute', 'expand', 'patch_embed', 'resize']) {
    assert.ok(opsCovered.has(op), `no fixture for ${op}`);
  }
});

function check(c: Case, dtype: DType, tol: number, label: string) {
  const inputs: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(c.inputs)) {
    inputs[k] = decode(v, dtype);
    if (k in c.grads) inputs[k]!.requireGrad();
  }
  const out = enableGrad(() => runOp(c.op, c.params, inputs));
  assertClose(out, c.output, tol, `${label} ${c.name} forward`);
  const names = Object.keys(c.grads);
  const gs = grad(out, names.map((n) => inputs[n]!), decode(c.upstream, dtype));
  names.forEach((n, i) => assertClose(gs[i]!, c.grads[n]!, tol, `${label} ${c.name} d/d${n}`));
}

for (const be of backendNames()) {
  test(`torch parity, float32, backend ${be}`, () => {
    withBackend(be, () => {
      for (const c of fx.cases) check(c, 'float32', 1e-5, be);
    });
  });
}

test('torch parity, float64 (reference backend)', () => {
  for (const c of fx.cases) check(c, 'float64', 1e-10, 'f64');
});

test.run();
