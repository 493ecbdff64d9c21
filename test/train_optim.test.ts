// The optimizers of src/train against torch.optim (tools/make_train_fixtures.py):
// three steps from the same float32 parameters and fixed float32 gradients
// (one parameter without a gradient in step 2) of AdamW with clipping, the
// warm-up + cosine schedule and weight decay groups, and of SGD with momentum
// (plain, and Nesterov with clipping). After every step each parameter is
// within 1e-5 of torch's, normwise relative; clipping norms and learning
// rates within 1e-6 relative.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { freeze, tensor, type Tensor } from '../src/tensor/index.js';
import { AdamW, SGD, clipGradNorm, isNoDecay, paramGroups, warmupCosine, type Grads } from '../src/train/index.js';
import { loadJson, decode, assertClose, type Encoded } from './support/fixtures.js';

interface Schedule {
  warmup: number;
  total: number;
  base: number;
  lo: number;
}
interface Run {
  name: string;
  kind: 'adamw' | 'sgd';
  config: {
    betas?: [number, number];
    eps?: number;
    lr?: number;
    momentum?: number;
    nesterov?: boolean;
    weightDecay: number;
    clip?: number;
    schedule?: Schedule;
  };
  steps: { norm?: number; lr?: number; params: Record<string, Encoded> }[];
}
interface Fixture {
  params: Record<string, Encoded>;
  decay: string[];
  grads: Record<string, Encoded | null>[];
  runs: Run[];
  schedule: { config: Schedule; lr: number[] };
}
const fx = loadJson<Fixture>('test/fixtures/train_optim.json');
const sched = (s: Schedule) => ({ warmup: s.warmup, total: s.total, base: s.base, min: s.lo });
const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

test('paramGroups by name: decay only for the weight matrices, as the fixture states by hand', () => {
  const params = new Map(Object.entries(fx.params).map(([n, e]) => [n, decode(e)]));
  const groups = paramGroups(params, 0.05);
  assert.equal(groups.length, 2);
  assert.equal([...groups[0]!.names].sort(), [...fx.decay].sort());
  assert.is(groups[0]!.weightDecay, 0.05);
  assert.is(groups[1]!.weightDecay, 0);
  for (const n of ['bias', 'norm.weight', 'fc_norm.weight', 'blocks.3.ls1.gamma', 'encoder.layer.0.layernorm_before.weight', 'embeddings.position_embeddings'])
    assert.ok(isNoDecay(n), n);
  for (const n of ['embeddings.cls_token', 'reg_token', 'register_tokens', 'dist_token', 'class_token', 'encoder.pos_embedding']) assert.ok(isNoDecay(n), n);
  for (const n of ['patch_embed.proj.weight', 'blocks.0.mlp.fc1.weight', 'head.weight', 'encoder.layer.0.attention.attention.query.weight'])
    assert.not.ok(isNoDecay(n), n);
});

for (const run of fx.runs) {
  test(`${run.name}: every parameter within 1e-5 of torch after each of 3 steps`, () => {
    const params = new Map<string, Tensor>(Object.entries(fx.params).map(([n, e]) => [n, decode(e, 'float32')]));
    const c = run.config;
    const groups = paramGroups(params, c.weightDecay);
    const opt =
      run.kind === 'adamw'
        ? new AdamW(params, { betas: c.betas!, eps: c.eps!, groups })
        : new SGD(params, { momentum: c.momentum!, nesterov: c.nesterov!, groups });
    run.steps.forEach((want, s) => {
      const grads: Grads = new Map();
      for (const [n, g] of Object.entries(fx.grads[s]!)) if (g) grads.set(n, decode(g, 'float32'));
      if (c.clip !== undefined) {
        const norm = clipGradNorm(grads, c.clip);
        assert.ok(rel(norm, want.norm!) < 1e-6, `step ${s + 1} norm ${norm} vs torch ${want.norm}`);
      }
      const lr = c.schedule ? warmupCosine(s + 1, sched(c.schedule)) : c.lr!;
      if (want.lr !== undefined) assert.ok(rel(lr, want.lr) < 1e-12, `step ${s + 1} lr ${lr} vs ${want.lr}`);
      opt.step(grads, lr);
      for (const [n, t] of params) assertClose(t, want.params[n]!, 1e-5, `${run.name} step ${s + 1} ${n}`);
    });
    if (opt instanceof AdamW) {
      assert.is(opt.stepsOf('head.bias'), 2, 'the parameter without a gradient in step 2 took 2 steps');
      assert.is(opt.stepsOf('head.weight'), 3);
    }
  });
}

test('the runs clip (the norm exceeds the bound at least once) and decay', () => {
  const adamw = fx.runs.find((r) => r.kind === 'adamw')!;
  assert.ok(adamw.steps.some((s) => s.norm! > adamw.config.clip!));
  assert.ok(adamw.config.weightDecay > 0 && fx.runs.every((r) => r.config.weightDecay > 0));
});

test('warmupCosine agrees with the generator at every step, and by hand', () => {
  const s = sched(fx.schedule.config);
  fx.schedule.lr.forEach((want, step) => assert.ok(Math.abs(warmupCosine(step, s) - want) <= 1e-15 * want + 1e-18, `step ${step}`));
  const h = { warmup: 10, total: 110, base: 1, min: 0 };
  assert.is(warmupCosine(0, h), 0);
  assert.is(warmupCosine(5, h), 0.5);
  assert.is(warmupCosine(10, h), 1);
  assert.ok(Math.abs(warmupCosine(60, h) - 0.5) < 1e-15);
  assert.is(warmupCosine(110, h), 0);
  assert.is(warmupCosine(500, h), 0);
});

test('clipGradNorm by hand: norm 5 clipped to 1; a norm below the bound is left alone', () => {
  const g: Grads = new Map([
    ['a', tensor([3, 0], [2], 'float64')],
    ['b', tensor([4], [1], 'float64')],
  ]);
  assert.is(clipGradNorm(g, 1), 5);
  const scale = 1 / (5 + 1e-6);
  assert.equal(g.get('a')!.toArray(), [3 * scale, 0]);
  assert.equal(g.get('b')!.toArray(), [4 * scale]);
  const small: Grads = new Map([['a', tensor([0.3, 0.4], [2], 'float64')]]);
  assert.ok(Math.abs(clipGradNorm(small, 1) - 0.5) < 1e-15);
  assert.equal(small.get('a')!.toArray(), [0.3, 0.4]);
});

test('SGD by hand (float64): momentum buffer starts at the gradient; Nesterov looks ahead', () => {
  const p = tensor([1], [1], 'float64');
  const sgd = new SGD({ p }, { momentum: 0.5 });
  const g: Grads = new Map([['p', tensor([1], [1], 'float64')]]);
  sgd.step(g, 0.1); // b = 1, p = 1 - 0.1
  sgd.step(g, 0.1); // b = 1.5, p = 0.9 - 0.15
  assert.ok(Math.abs(p.item() - 0.75) < 1e-15);
  const q = tensor([1], [1], 'float64');
  new SGD({ q }, { momentum: 0.5, nesterov: true }).step(new Map([['q', tensor([1], [1], 'float64')]]), 0.1); // d = 1 + 0.5
  assert.ok(Math.abs(q.item() - 0.85) < 1e-15);
});

test('AdamW by hand (float64): the first step moves each element by lr (sign of g), after decay', () => {
  const p = tensor([2, -2], [2], 'float64');
  new AdamW({ p }, { weightDecay: 0.1, eps: 0 }).step(new Map([['p', tensor([0.3, -7], [2], 'float64')]]), 0.01);
  assert.ok(Math.abs(p.toArray()[0]! - (2 * (1 - 0.001) - 0.01)) < 1e-15);
  assert.ok(Math.abs(p.toArray()[1]! - (-2 * (1 - 0.001) + 0.01)) < 1e-15);
});

test('optimizers refuse frozen parameters and parameters outside their groups', () => {
  assert.throws(() => new AdamW({ w: freeze(tensor([1, 2])) }), /frozen/);
  assert.throws(() => new SGD({ w: tensor([1]), b: tensor([1]) }, { groups: [{ names: ['w'], weightDecay: 0 }] }), /no param group/);
  assert.throws(() => new SGD({ w: tensor([1]) }, { groups: [{ names: ['v'], weightDecay: 0 }] }), /not a parameter/);
});

test.run();
