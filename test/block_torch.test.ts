// One pre-norm transformer block against PyTorch (tools/make_op_fixtures.py):
// output, attention probabilities, and gradients for the input, every
// parameter and the normed tokens T (the tensor CDAM differentiates).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { grad, enableGrad } from '../src/autograd/index.js';
import { withBackend } from '../src/kernels/index.js';
import { parityBackends, ownCalls, ownKernelsOf, primsOf } from './support/backends.js';
import type { DType, Tensor } from '../src/tensor/index.js';
import { blockFromNormed, norm, type BlockParams } from '../src/vit/block.js';
import { loadJson, decode, assertClose, type Encoded } from './support/fixtures.js';

interface BlockFixture {
  config: { dim: number; heads: number; mlp: number; eps: number };
  params: Record<string, Encoded>;
  input: Encoded;
  upstream: Encoded;
  output: Encoded;
  attn: Encoded;
  grads: Record<string, Encoded>;
  grad_norm1_out: Encoded;
}
const fx = loadJson<BlockFixture>('test/fixtures/block.json');

function run(dtype: DType, tol: number, label: string) {
  const P: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(fx.params)) P[k] = decode(v, dtype).requireGrad();
  const eps = fx.config.eps;
  const p: BlockParams = {
    norm1: { weight: P['norm1.weight']!, bias: P['norm1.bias']!, eps },
    qkv: { weight: P['attn.qkv.weight']!, bias: P['attn.qkv.bias']! },
    proj: { weight: P['attn.proj.weight']!, bias: P['attn.proj.bias']! },
    norm2: { weight: P['norm2.weight']!, bias: P['norm2.bias']!, eps },
    fc1: { weight: P['mlp.fc1.weight']!, bias: P['mlp.fc1.bias']! },
    fc2: { weight: P['mlp.fc2.weight']!, bias: P['mlp.fc2.bias']! },
    ls1: null,
    ls2: null,
    heads: fx.config.heads,
  };
  const x = decode(fx.input, dtype).requireGrad();
  const { t, r } = enableGrad(() => {
    const t = norm(x, p.norm1);
    return { t, r: blockFromNormed(x, t, p) };
  });
  assertClose(r.out, fx.output, tol, `${label} block output`);
  assertClose(r.attn, fx.attn, tol, `${label} attention`);
  const names = Object.keys(fx.params);
  const gs = grad(r.out, [x, t, ...names.map((n) => P[n]!)], decode(fx.upstream, dtype));
  assertClose(gs[0]!, fx.grads.input!, tol, `${label} d/dinput`);
  assertClose(gs[1]!, fx.grad_norm1_out, tol, `${label} d/dT`);
  names.forEach((n, i) => assertClose(gs[i + 2]!, fx.grads[n]!, tol, `${label} d/d${n}`));
  return r.out;
}

for (const be of parityBackends()) {
  test(`transformer block vs torch, float32, on ${be} (and run by it)`, () => {
    const before = ownCalls(be);
    const out = withBackend(be, () => run('float32', 1e-5, be));
    const kernels = ownKernelsOf(primsOf(out), be);
    if (be !== 'js')
      assert.ok(kernels.length > 0 && ownCalls(be) - before >= kernels.length, `${be} ran ${ownCalls(be) - before} calls (${kernels.join(', ')})`);
  });
}
test('transformer block vs torch, float64', () => {
  run('float64', 1e-10, 'f64');
});

test.run();
