// The attention primitive (Kernels.attention forward, Kernels.attentionBackward
// and attentionBackward) on every backend against the composite of
// primitives (scale q, q @ k^T, softmax, @ v, merge the heads with a
// permute): values and gradients.
// Tolerances, normwise relative error: float32 1e-5 (sums of <= 785 terms
// and a float32 exp, against a float64 composite or a float32 one); float64
// 1e-12 (the reference kernels, which differ from the composite only in
// where the scale is applied).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Backend } from '../src/kernels/backend.js';
import { jsBackend } from '../src/kernels/js.js';
import { registerAllBackends } from '../src/kernels/all.js';
import { getBackendByName, withBackend } from '../src/kernels/registry.js';
import { createWasmBackend } from '../src/kernels/wasm.js';
import { wasmAttention } from '../src/kernels/wasm/attention.host.js';
import { wasmAttentionBackward } from '../src/kernels/wasm/attentionBackward.host.js';
import { backwardPanelsFit } from '../src/kernels/wasm/attentionBackward.kernel.js';
import { panelsFit } from '../src/kernels/wasm/attention.kernel.js';
import { Runtime } from '../src/kernels/wasm/runtime.js';
import {
  Tensor,
  attentionForward,
  attentionOutput,
  contiguous,
  matmul,
  mul,
  permute,
  randn,
  reshape,
  select,
  softmax,
  transpose,
  type DType,
} from '../src/tensor/index.js';
import { enableGrad, grad, noGrad } from '../src/autograd/index.js';
import { attention, attentionComposite, block, blockFromNormed, blockOutput, norm, type BlockParams } from '../src/vit/block.js';
import { expectError } from './support/expect.js';
import { decode, loadJson, relErr, type Encoded } from './support/fixtures.js';

registerAllBackends();
const TOL32 = 1e-5;
const TOL64 = 1e-12;

const wasm1 = createWasmBackend({ threads: 1 });
const wasm2 = createWasmBackend({ threads: 2 });
const backends: Array<[string, Pick<Backend, 'attention' | 'attentionBackward'>]> = [
  ['js', jsBackend],
  ['wasm 1 thread', wasm1],
  ['wasm 2 threads', wasm2],
  ['gpujs (registry: js kernel)', getBackendByName('gpujs')],
];

/** The block's attention before the fused kernel, up to the merged heads. */
function composite(qkvOut: Tensor, heads: number): { out: Tensor; attn: Tensor } {
  const [b, n, d3] = qkvOut.shape as [number, number, number];
  const d = d3 / 3;
  const hd = d / heads;
  const qkv = permute(reshape(qkvOut, [b, n, 3, heads, hd]), [2, 0, 3, 1, 4]);
  const attn = softmax(matmul(mul(select(qkv, 0, 0), 1 / Math.sqrt(hd)), transpose(select(qkv, 0, 1))));
  const out = contiguous(reshape(permute(matmul(attn, select(qkv, 0, 2)), [0, 2, 1, 3]), [b, n, d]));
  return { out, attn };
}

/** qkv rows scaled so that the scores spread over several units (peaked and flat softmax rows). */
function randomQkv(b: number, n: number, d: number, seed: number, dtype: DType = 'float32'): Tensor {
  return noGrad(() => mul(randn([b, n, 3 * d], seed, dtype), 1.5));
}

// batch, tokens, D, heads
const shapes: Array<[number, number, number, number]> = [
  [1, 197, 192, 3], // ViT-Ti
  [2, 50, 64, 4], // ragged row blocks and score panels
  [2, 61, 36, 3], // head dim 12: ragged output panels too
  [1, 785, 384, 6], // ViT-S/8: tokens beyond one KC block of P @ V
  [1, 5, 16, 2], // tiny: below the wasm threshold
];

for (const [b, n, d, h] of shapes) {
  const label = `B=${b} N=${n} D=${d} H=${h}`;
  test(`kernel on every backend vs the float64 composite, ${label}`, () => {
    const qkv = randomQkv(b, n, d, n + d);
    const want = noGrad(() => composite(new Tensor(Float64Array.from(qkv.data), qkv.shape), h));
    for (const [name, be] of backends) {
      const out = new Float32Array(b * n * d);
      const attn = new Float32Array(b * h * n * n);
      be.attention(qkv.contiguousData(), out, attn, b, n, h, d / h, 1 / Math.sqrt(d / h));
      const eo = relErr(out, want.out.contiguousData());
      const ea = relErr(attn, want.attn.contiguousData());
      assert.ok(eo < TOL32 && ea < TOL32, `${name}: out ${eo.toExponential(2)}, attn ${ea.toExponential(2)}`);
    }
  });
}

for (const name of ['js', 'wasm', 'gpujs']) {
  test(`${name}: attentionForward equals the composite of tensor ops on the same backend`, () => {
    withBackend(name, () => {
      for (const [b, n, d, h] of [
        [1, 197, 192, 3],
        [2, 50, 64, 4],
        [1, 5, 16, 2],
      ] as const) {
        const qkv = randomQkv(b, n, d, 3);
        const fused = noGrad(() => attentionForward(qkv, h));
        const want = noGrad(() => composite(qkv, h));
        assert.equal(fused.out.shape, [b, n, d]);
        assert.equal(fused.attn.shape, [b, h, n, n]);
        assert.ok(relErr(fused.out.contiguousData(), want.out.contiguousData()) < TOL32, `out, B=${b} N=${n}`);
        assert.ok(relErr(fused.attn.contiguousData(), want.attn.contiguousData()) < TOL32, `attn, B=${b} N=${n}`);
      }
    });
  });
}

/**
 * Inputs of the gradient kernel in float32 (the probabilities from the
 * float64 composite, rounded) and, as the answer, dqkv by autograd through
 * the float64 composite; the float64 inputs too.
 */
function backwardCase(b: number, n: number, d: number, h: number, seed: number) {
  const qkv = randomQkv(b, n, d, seed);
  const g = randn([b, n, d], seed + 1);
  const qkv64 = new Tensor(Float64Array.from(qkv.contiguousData()), qkv.shape).requireGrad();
  const g64 = new Tensor(Float64Array.from(g.contiguousData()), g.shape);
  const { out, attn } = enableGrad(() => composite(qkv64, h));
  const [want] = grad(out, [qkv64], g64);
  return {
    qkv: qkv.contiguousData() as Float32Array,
    attn: Float32Array.from(attn.contiguousData()),
    g: g.contiguousData() as Float32Array,
    want: want!.contiguousData(),
    f64: { qkv: qkv64.contiguousData(), attn: attn.contiguousData(), g: g64.contiguousData() },
  };
}

const nanFilled = (length: number): Float32Array => new Float32Array(length).fill(NaN);

for (const [b, n, d, h] of shapes) {
  const label = `B=${b} N=${n} D=${d} H=${h}`;
  test(`gradient kernel on every backend vs autograd through the float64 composite, ${label}`, () => {
    const c = backwardCase(b, n, d, h, 2 * n + d);
    const hd = d / h;
    for (const [name, be] of backends) {
      const dqkv = nanFilled(b * n * 3 * d);
      be.attentionBackward(c.qkv, c.attn, c.g, dqkv, b, n, h, hd, 1 / Math.sqrt(hd));
      assert.ok(dqkv.every(Number.isFinite), `${name}: every element of dqkv written`);
      const err = relErr(dqkv, c.want);
      assert.ok(err < TOL32, `${name}: ${err.toExponential(2)}`);
    }
    const dqkv64 = new Float64Array(b * n * 3 * d).fill(NaN);
    jsBackend.attentionBackward(c.f64.qkv, c.f64.attn, c.f64.g, dqkv64, b, n, h, hd, 1 / Math.sqrt(hd));
    const err = relErr(dqkv64, c.want);
    assert.ok(err < TOL64, `js float64: ${err.toExponential(2)}`);
  });
}

test('wasm gradient: B operands packed per block (the path for heads too large to keep packed) equals the cached path', () => {
  for (const threads of [1, 2]) {
    const rt = new Runtime(threads, new URL('../src/kernels/wasm/worker.js', import.meta.url));
    try {
      for (const [b, n, d, h] of [
        [1, 197, 192, 3],
        [2, 300, 72, 2],
      ] as const) {
        assert.ok(backwardPanelsFit(n, d / h), 'the default path caches these');
        const c = backwardCase(b, n, d, h, 9);
        const hd = d / h;
        const run = (streamPanels: boolean) => {
          const dqkv = nanFilled(b * n * 3 * d);
          wasmAttentionBackward(rt, c.qkv, c.attn, c.g, dqkv, b, n, h, hd, 1 / Math.sqrt(hd), { streamPanels });
          return dqkv;
        };
        const cached = run(false);
        const streamed = run(true);
        assert.ok(streamed.every(Number.isFinite) && relErr(streamed, cached) < 1e-6, `threads ${threads}, N=${n}`);
        assert.ok(relErr(streamed, c.want) < TOL32, `threads ${threads}, N=${n} vs float64`);
      }
      assert.not.ok(backwardPanelsFit(2000, 64), 'a 2000-token head streams');
    } finally {
      rt.dispose();
    }
  }
});

test('float64 attentionForward (reference kernel) equals the float64 composite', () => {
  for (const [b, n, d, h] of [
    [1, 197, 192, 3],
    [2, 50, 64, 4],
    [2, 61, 36, 3],
    [1, 5, 16, 2],
  ] as const) {
    const qkv = randomQkv(b, n, d, 11, 'float64');
    const fused = noGrad(() => attentionForward(qkv, h));
    const want = noGrad(() => composite(qkv, h));
    assert.ok(relErr(fused.out.contiguousData(), want.out.contiguousData()) < TOL64, `out, N=${n}`);
    assert.ok(relErr(fused.attn.contiguousData(), want.attn.contiguousData()) < TOL64, `attn, N=${n}`);
  }
});

test('wasm: K and V packed per block (the path for heads too large to keep packed) equals the cached path', () => {
  for (const threads of [1, 2]) {
    const rt = new Runtime(threads, new URL('../src/kernels/wasm/worker.js', import.meta.url));
    try {
      for (const [b, n, d, h] of [
        [1, 197, 192, 3],
        [2, 300, 72, 2],
      ] as const) {
        assert.ok(panelsFit(n, d / h), 'the default path caches these');
        const qkv = randomQkv(b, n, d, 5).contiguousData() as Float32Array;
        const hd = d / h;
        const run = (streamPanels: boolean) => {
          const out = new Float32Array(b * n * d);
          const attn = new Float32Array(b * h * n * n);
          wasmAttention(rt, qkv, out, attn, b, n, h, hd, 1 / Math.sqrt(hd), { streamPanels });
          return { out, attn };
        };
        const cached = run(false);
        const streamed = run(true);
        assert.ok(relErr(streamed.out, cached.out) < 1e-6 && relErr(streamed.attn, cached.attn) < 1e-6, `threads ${threads}, N=${n}`);
        const ref = { out: new Float32Array(b * n * d), attn: new Float32Array(b * h * n * n) };
        jsBackend.attention(qkv, ref.out, ref.attn, b, n, h, hd, 1 / Math.sqrt(hd));
        assert.ok(relErr(streamed.out, ref.out) < TOL32 && relErr(streamed.attn, ref.attn) < TOL32);
      }
      assert.not.ok(panelsFit(2000, 64), 'a 2000-token head streams');
    } finally {
      rt.dispose();
    }
  }
});

test('attentionForward records on the tape when its input needs a gradient; bad shapes', () => {
  const qkv = randn([1, 7, 24], 1).requireGrad();
  const taped = enableGrad(() => attentionForward(qkv, 2));
  assert.ok(taped.out.requiresGrad && taped.out.node?.prim === 'attention');
  assert.not.ok(taped.attn.requiresGrad, 'the probabilities are a side output without a gradient');
  assert.not.ok(noGrad(() => attentionForward(qkv, 2)).out.requiresGrad);
  expectError(() => noGrad(() => attentionForward(randn([7, 24], 1), 2)), '[B, N, 3D]');
  expectError(() => noGrad(() => attentionForward(randn([1, 7, 24], 1), 5)), 'heads');
});

// The hand-fused backward against the composite's gradient (autograd through
// matmul, softmax, permute, select), on every backend; float64 on js to 1e-12.
for (const [name, dtype, tol] of [
  ['js', 'float32', TOL32],
  ['wasm', 'float32', TOL32],
  ['gpujs', 'float32', TOL32],
  ['js', 'float64', TOL64],
] as const) {
  test(`${name}: attention gradient equals the composite's, ${dtype}`, () => {
    withBackend(name, () => {
      for (const [b, n, d, h] of [
        [1, 197, 192, 3],
        [2, 50, 64, 4],
        [1, 5, 16, 2],
      ] as const) {
        const qkv = randomQkv(b, n, d, 11, dtype).requireGrad();
        const g = randn([b, n, d], 12, dtype);
        const [fused] = grad(
          enableGrad(() => attentionForward(qkv, h).out),
          [qkv],
          g,
        );
        const [want] = grad(
          enableGrad(() => composite(qkv, h).out),
          [qkv],
          g,
        );
        const err = relErr(fused!.contiguousData(), want!.contiguousData());
        assert.ok(err < tol, `B=${b} N=${n} D=${d} H=${h}: ${err.toExponential(2)}`);
      }
    });
  });
}

// ---- the block: fused when nothing is recorded, composite otherwise

function blockParams(d: number, heads: number, seed: number): BlockParams {
  let s = seed;
  const w = (shape: number[], scale = 0.2) => noGrad(() => mul(randn(shape, s++), scale));
  const lin = (o: number, i: number) => ({ weight: w([o, i]), bias: w([o]) });
  const nrm = () => ({
    weight: noGrad(() => mul(randn([d], s++), 0.1))
      .contiguousData()
      .map((v) => 1 + v),
    bias: w([d]),
    eps: 1e-6,
  });
  const norm1 = nrm();
  const norm2 = nrm();
  return {
    norm1: { weight: new Tensor(norm1.weight, [d]), bias: norm1.bias, eps: norm1.eps },
    qkv: lin(3 * d, d),
    proj: lin(d, d),
    norm2: { weight: new Tensor(norm2.weight, [d]), bias: norm2.bias, eps: norm2.eps },
    fc1: lin(4 * d, d),
    fc2: lin(d, 4 * d),
    ls1: w([d]),
    ls2: null,
    heads,
  };
}

for (const name of ['js', 'wasm']) {
  test(`${name}: the block's attention (one fused kernel call) equals attentionComposite, values and gradients`, () => {
    const be = getBackendByName(name);
    const kernel = be.attention;
    let calls = 0;
    be.attention = (...args) => {
      calls++;
      kernel(...args);
    };
    try {
      withBackend(name, () => {
        for (const [b, n, d, h] of [
          [1, 197, 192, 3],
          [2, 50, 64, 4],
        ] as const) {
          const p = blockParams(d, h, 20);
          const x = randn([b, n, d], 3);
          const before = calls;
          const fused = noGrad(() => block(x, p));
          assert.is(calls, before + 1, 'one fused kernel call');
          const t = randn([b, n, d], 4).requireGrad();
          const g = randn([b, n, d], 5);
          const a = enableGrad(() => attention(t, p));
          const c = enableGrad(() => attentionComposite(t, p));
          assert.is(calls, before + 2, 'the recorded attention uses the kernel too');
          assert.ok(a.out.requiresGrad && !a.attn.requiresGrad && c.attn.requiresGrad);
          assert.ok(relErr(a.out.contiguousData(), c.out.contiguousData()) < TOL32, `out, N=${n}`);
          assert.ok(relErr(a.attn.contiguousData(), c.attn.contiguousData()) < TOL32, `attn, N=${n}`);
          const [ga] = grad(a.out, [t], g);
          const [gc] = grad(c.out, [t], g);
          assert.ok(relErr(ga!.contiguousData(), gc!.contiguousData()) < TOL32, `dT, N=${n}`);
          assert.ok(fused.out.shape.length === 3);
        }
      });
    } finally {
      be.attention = kernel;
    }
  });
}

for (const name of ['js', 'wasm', 'gpujs']) {
  test(`${name}: without the maps (attentionOutput, blockOutput) the outputs are the same`, () => {
    withBackend(name, () => {
      for (const [b, n, d, h] of [
        [1, 197, 192, 3],
        [2, 50, 64, 4],
      ] as const) {
        const qkv = randomQkv(b, n, d, 21);
        const full = noGrad(() => attentionForward(qkv, h).out);
        const bare = noGrad(() => attentionOutput(qkv, h));
        assert.ok(relErr(bare.contiguousData(), full.contiguousData()) < TOL32, `attention N=${n}`);
        for (const layerScale of [true, false]) {
          const p = { ...blockParams(d, h, 40), ...(layerScale ? {} : { ls1: null }) };
          const x = randn([b, n, d], 22);
          const want = noGrad(() => block(x, p).out);
          const got = noGrad(() => blockOutput(x, p));
          assert.ok(relErr(got.contiguousData(), want.contiguousData()) < TOL32, `block N=${n} layerScale=${layerScale}`);
        }
      }
      // recorded: still differentiable
      const qkv = randomQkv(1, 9, 16, 23).requireGrad();
      const y = enableGrad(() => attentionOutput(qkv, 2));
      assert.ok(y.requiresGrad && y.node?.prim === 'attention');
    });
  });
}

// The torch fixture of block_torch.test.ts, forward only, so through the fused path.
interface BlockFixture {
  config: { dim: number; heads: number; mlp: number; eps: number };
  params: Record<string, Encoded>;
  input: Encoded;
  output: Encoded;
  attn: Encoded;
}
const fx = loadJson<BlockFixture>('test/fixtures/block.json');

for (const [name, dtype, tol] of [
  ['js', 'float32', TOL32],
  ['wasm', 'float32', TOL32],
  ['gpujs', 'float32', TOL32],
  ['js', 'float64', 1e-10],
] as const) {
  test(`${name}: block forward under noGrad vs torch, ${dtype}`, () => {
    withBackend(name, () => {
      const P = (k: string) => decode(fx.params[k]!, dtype);
      const eps = fx.config.eps;
      const p: BlockParams = {
        norm1: { weight: P('norm1.weight'), bias: P('norm1.bias'), eps },
        qkv: { weight: P('attn.qkv.weight'), bias: P('attn.qkv.bias') },
        proj: { weight: P('attn.proj.weight'), bias: P('attn.proj.bias') },
        norm2: { weight: P('norm2.weight'), bias: P('norm2.bias'), eps },
        fc1: { weight: P('mlp.fc1.weight'), bias: P('mlp.fc1.bias') },
        fc2: { weight: P('mlp.fc2.weight'), bias: P('mlp.fc2.bias') },
        ls1: null,
        ls2: null,
        heads: fx.config.heads,
      };
      const x = decode(fx.input, dtype);
      const r = noGrad(() => blockFromNormed(x, norm(x, p.norm1), p));
      const eo = relErr(r.out.contiguousData(), fx.output.data);
      const ea = relErr(r.attn.contiguousData(), fx.attn.data);
      assert.ok(eo < tol && ea < tol, `out ${eo.toExponential(2)}, attn ${ea.toExponential(2)}`);
    });
  });
}

test.after(() => {
  wasm1.dispose();
  wasm2.dispose();
});

test.run();
