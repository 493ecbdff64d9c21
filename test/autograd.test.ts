// The tape's behaviour: what is recorded, what is not, and gradients with
// respect to intermediates, seeds and reused tensors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import ndarray from 'ndarray';
import { grad, noGrad, enableGrad } from '../src/autograd/index.js';
import * as T from '../src/tensor/index.js';

test('noGrad records nothing, even for tensors that require grad', () => {
  const x = T.tensor([1, 2, 3]).requireGrad();
  const y = noGrad(() => T.mul(x, x));
  assert.is(y.node, null);
  assert.is(y.requiresGrad, false);
  const z = T.mul(x, x);
  assert.ok(z.node !== null);
});

test('ops on tensors that need no grad leave no tape', () => {
  const a = T.tensor([1, 2]);
  const b = T.exp(T.add(a, 1));
  assert.is(b.node, null);
});

test('gradient with respect to an intermediate tensor', () => {
  // y = sum(exp(t)), t = 2x: dy/dt = exp(t), dy/dx = 2 exp(t)
  const x = T.tensor([0.1, -0.3, 0.7], [3], 'float64').requireGrad();
  const t = T.mul(x, 2);
  const y = T.sum(T.exp(t));
  const [gt, gx] = grad(y, [t, x]);
  const tv = t.toArray();
  assert.equal(
    gt!.toArray().map((v) => +v.toFixed(12)),
    tv.map((v) => +Math.exp(v).toFixed(12)),
  );
  assert.equal(
    gx!.toArray().map((v) => +v.toFixed(12)),
    tv.map((v) => +(2 * Math.exp(v)).toFixed(12)),
  );
});

test('an intermediate made under noGrad can be marked and differentiated (the CDAM pattern)', () => {
  const w = T.tensor([1, 2, 3, 4], [2, 2]);
  const x = noGrad(() => T.matmul(T.tensor([1, 1], [1, 2]), w)); // no tape for the "early blocks"
  assert.is(x.node, null);
  x.requireGrad();
  const y = T.sum(T.mul(x, x));
  const [gx] = grad(y, [x]);
  assert.equal(
    gx!.toArray(),
    x.toArray().map((v) => 2 * v),
  );
});

test('seeded vector-Jacobian product: one pass for a batch of targets', () => {
  // logits [2, 3] = x [2, 2] @ W [2, 3]; seed picks class 0 for row 0 and class 2 for row 1
  const x = T.tensor([1, 2, 3, 4], [2, 2]).requireGrad();
  const W = T.tensor([1, 0, -1, 2, 1, 0], [2, 3]);
  const logits = T.matmul(x, W);
  const seed = T.tensor([1, 0, 0, 0, 0, 1], [2, 3]);
  const [gx] = grad(logits, [x], seed);
  // row 0: W[:,0] = [1, 2]; row 1: W[:,2] = [-1, 0]
  assert.equal(gx!.toArray(), [1, 2, -1, 0]);
  assert.throws(() => grad(logits, [x]), /needs a seed/);
});

test('gradients accumulate for a reused tensor', () => {
  const x = T.tensor([3], [1], 'float64').requireGrad();
  const y = T.add(T.mul(x, x), T.mul(x, 5)); // x^2 + 5x -> 2x + 5
  const [gx] = grad(T.sum(y), [x]);
  assert.is(gx!.item(), 11);
});

test('a tensor the output does not depend on gets zeros; unrelated branches are not visited', () => {
  const a = T.tensor([1, 2]).requireGrad();
  const b = T.tensor([3, 4]).requireGrad();
  const y = T.sum(T.mul(a, 2));
  const [gb] = grad(y, [b]);
  assert.equal(gb!.toArray(), [0, 0]);
});

test('enableGrad re-opens recording inside noGrad', () => {
  const x = T.tensor([2]).requireGrad();
  const y = noGrad(() => enableGrad(() => T.mul(x, x)));
  assert.ok(y.node !== null);
});

test('views share storage; contiguous copies only when needed', () => {
  const x = T.tensor([0, 1, 2, 3, 4, 5], [2, 3]);
  const t = T.transpose(x);
  assert.is(t.data, x.data);
  assert.equal(t.shape, [3, 2]);
  assert.equal(t.toArray(), [0, 3, 1, 4, 2, 5]);
  assert.is(T.slice(x, [1], [2]).data, x.data);
  assert.equal(T.slice(x, [1, 1], [2, 3]).toArray(), [4, 5]);
  assert.is(T.reshape(x, [3, 2]).data, x.data);
  assert.ok(T.reshape(t, [6]).data !== x.data, 'reshaping a transposed view copies');
  assert.equal(T.reshape(t, [6]).toArray(), [0, 3, 1, 4, 2, 5]);
  const e = T.expand(T.tensor([7, 8], [2, 1]), [2, 2, 3]);
  assert.equal(e.strides, [0, 1, 0]);
  assert.equal(e.toArray(), [7, 7, 7, 8, 8, 8, 7, 7, 7, 8, 8, 8]);
});

test('matmul on transposed views needs no copy and matches the dense result', () => {
  const a = T.randn([4, 3], 1);
  const b = T.randn([4, 5], 2);
  const viaView = T.matmul(T.transpose(a), b);
  const dense = T.matmul(T.contiguous(T.copy(T.transpose(a))), b);
  assert.equal(viaView.toArray(), dense.toArray());
});

test('ndarray interop shares memory both ways', () => {
  const nd = ndarray(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]).transpose(1, 0);
  const t = T.fromNdarray(nd);
  assert.equal(t.shape, [3, 2]);
  assert.equal(t.toArray(), [1, 4, 2, 5, 3, 6]);
  const back = T.toNdarray(T.mul(t, 2));
  assert.is(back.get(2, 1), 12);
  const view = T.toNdarray(t);
  view.set(0, 0, 9);
  assert.is(nd.get(0, 0), 9);
});

test('clear errors for bad shapes and arguments', () => {
  assert.throws(() => T.add(T.zeros([2, 3]), T.zeros([4])), /do not broadcast/);
  assert.throws(() => T.matmul(T.zeros([2, 3]), T.zeros([2, 3])), /inner dims differ/);
  assert.throws(() => T.reshape(T.zeros([2, 3]), [4]), /cannot reshape/);
  assert.throws(() => T.slice(T.zeros([2, 3]), [0], [3]), /out of range/);
  assert.throws(() => T.gather(T.zeros([2, 3]), 0, [2]), /out of range/);
  assert.throws(() => T.add(T.zeros([2], 'float32'), T.zeros([2], 'float64')), /dtype mismatch/);
});

test.run();
