// One vector-Jacobian rule per primitive. The table's type maps every Prim to
// a rule, so a primitive added without a gradient fails to compile. A rule gets
// the upstream gradient g (shaped like the output), the tape node, and which
// inputs need a gradient; it returns one gradient (or null) per input.
// Rules run with recording off: they build no tape of their own.

import {
  Tensor,
  add,
  sub,
  mul,
  div,
  neg,
  exp,
  compare,
  where,
  sum,
  matmul,
  reshape,
  permute,
  transpose,
  expand,
  zeros,
  allocate,
  type GradNode,
  type Prim,
  kernelsFor,
  broadcastedAxes,
  shapesEqual,
  slice,
  scalar,
  attentionBackward,
} from '../tensor/index.js';
import { assignStrided } from '../kernels/strided.js';

export type Rule<P extends Prim> = (g: Tensor, node: GradNode<P>, needs: readonly boolean[]) => (Tensor | null)[];

/** Sum a broadcast gradient back down to `shape`. */
export function unbroadcast(g: Tensor, shape: readonly number[]): Tensor {
  if (shapesEqual(g.shape, shape)) return g;
  const axes = broadcastedAxes(shape, g.shape);
  return reshape(sum(g, axes, true), shape);
}

const TWO_OVER_SQRT_PI = 1.1283791670955126;

/** Upstream gradient of a reduction, broadcast back over the reduced axes. */
function spreadReduced(g: Tensor, node: GradNode<'sum' | 'max'>): Tensor {
  const x = node.inputs[0]!;
  const kept = x.shape.map((d, i) => (node.params.axes.includes(i) ? 1 : d));
  return expand(reshape(g, kept), x.shape);
}

export const rules: { [P in Prim]: Rule<P> } = {
  // d(a+b) = da + db
  add: (g, n) => [unbroadcast(g, n.inputs[0]!.shape), unbroadcast(g, n.inputs[1]!.shape)],
  // d(a-b) = da - db
  sub: (g, n, needs) => [unbroadcast(g, n.inputs[0]!.shape), needs[1] ? unbroadcast(neg(g), n.inputs[1]!.shape) : null],
  // d(ab) = b da + a db
  mul: (g, n, needs) => [
    needs[0] ? unbroadcast(mul(g, n.inputs[1]!), n.inputs[0]!.shape) : null,
    needs[1] ? unbroadcast(mul(g, n.inputs[0]!), n.inputs[1]!.shape) : null,
  ],
  // d(a/b) = da/b - (a/b) db/b
  div: (g, n, needs) => [
    needs[0] ? unbroadcast(div(g, n.inputs[1]!), n.inputs[0]!.shape) : null,
    needs[1] ? unbroadcast(neg(div(mul(g, n.output), n.inputs[1]!)), n.inputs[1]!.shape) : null,
  ],
  // d(-x) = -dx
  neg: (g) => [neg(g)],
  // d exp x = exp x dx
  exp: (g, n) => [mul(g, n.output)],
  // d log x = dx / x
  log: (g, n) => [div(g, n.inputs[0]!)],
  // d sqrt x = dx / (2 sqrt x)
  sqrt: (g, n) => [div(mul(g, 0.5), n.output)],
  // d tanh x = (1 - tanh^2 x) dx
  tanh: (g, n) => [mul(g, sub(1, mul(n.output, n.output)))],
  // d erf x = 2/sqrt(pi) exp(-x^2) dx
  erf: (g, n) => {
    const x = n.inputs[0]!;
    return [mul(g, mul(exp(neg(mul(x, x))), TWO_OVER_SQRT_PI))];
  },
  // d gelu x = (Phi(x) + x phi(x)) dx, Phi the normal CDF, phi its density
  gelu: (g, n) => {
    const x = n.inputs[0]!;
    const dx = allocate(x.dtype, x.size);
    kernelsFor(x.dtype).geluBackward(x.contiguousData(), g.contiguousData(), dx, x.size);
    return [new Tensor(dx, x.shape)];
  },
  // d relu x = [x > 0] dx
  relu: (g, n) => [mul(g, compare(n.inputs[0]!, 0, 'gt'))],
  // d clamp x = [min <= x <= max] dx (torch passes the gradient at the bounds)
  clamp: (g, n) => {
    const x = n.inputs[0]!;
    return [mul(g, mul(compare(x, n.params.min, 'ge'), compare(x, n.params.max, 'le')))];
  },
  // d where(c, a, b) = where(c, g, 0) da + where(c, 0, g) db
  where: (g, n, needs) => {
    const [c, a, b] = n.inputs as [Tensor, Tensor, Tensor];
    const z = scalar(0, g.dtype);
    return [null, needs[1] ? unbroadcast(where(c, g, z), a.shape) : null, needs[2] ? unbroadcast(where(c, z, g), b.shape) : null];
  },
  // d sum x = g broadcast back over the summed axes
  sum: (g, n) => [spreadReduced(g, n)],
  // d max x = g at the maxima, shared equally among ties
  max: (g, n) => {
    const x = n.inputs[0]!;
    const kept = x.shape.map((d, i) => (n.params.axes.includes(i) ? 1 : d));
    const mask = compare(x, reshape(n.output, kept), 'eq');
    const count = sum(mask, n.params.axes, true);
    return [div(mul(spreadReduced(g, n), mask), count)];
  },
  // C = A B: dA = g B^T, dB = A^T g (summed over broadcast batch dims)
  matmul: (g, n, needs) => {
    const [a, b] = n.inputs as [Tensor, Tensor];
    return [needs[0] ? unbroadcast(matmul(g, transpose(b)), a.shape) : null, needs[1] ? unbroadcast(matmul(transpose(a), g), b.shape) : null];
  },
  // y = x W^T + b: dx = g W, dW = g^T x (over all leading dims), db = sum of g over them
  // one fused kernel call (Kernels.attentionBackward) for all items and heads
  attention: (g, n) => [attentionBackward(n.inputs[0]!, n.saved[0]!, g, n.params.heads)],
  // y = x W^T [+ b] [+ r]: dx = g W, dW = g^T x, db = sum of g's rows, dr = g
  linear: (g, n, needs) => {
    const [x, w] = n.inputs as [Tensor, Tensor];
    const out = w.shape[0]!;
    const inp = w.shape[1]!;
    const g2 = reshape(g, [-1, out]);
    const rest = needs.slice(2);
    return [
      needs[0] ? reshape(matmul(g2, w), x.shape) : null,
      needs[1] ? matmul(transpose(g2), reshape(x, [-1, inp])) : null,
      ...(n.params.bias ? [rest.shift() ? sum(g2, 0) : null] : []),
      ...(n.params.residual ? [rest.shift() ? g : null] : []),
    ];
  },
  // y = softmax x: dx = y (g - sum(g y))  (fused)
  softmax: (g, n) => {
    const y = n.output;
    const cols = y.shape[y.rank - 1] ?? 1;
    const dx = allocate(y.dtype, y.size);
    kernelsFor(y.dtype).softmaxBackward(y.contiguousData(), g.contiguousData(), dx, y.size / cols, cols);
    return [new Tensor(dx, y.shape)];
  },
  // xhat = (x - mu) r, y = xhat w + b: with gh = g w, dx = r (gh - mean gh - xhat mean(gh xhat)),
  // dw = sum over rows of g xhat, db = sum over rows of g  (fused)
  layerNorm: (g, n, needs) => {
    const x = n.inputs[0]!;
    const affine = n.inputs.length > 1;
    const xhat = (affine ? n.saved[1]! : n.output).contiguousData();
    const cols = x.shape[x.rank - 1] ?? 1;
    const rows = x.size / cols;
    const G = g.contiguousData();
    const grads: (Tensor | null)[] = [];
    if (needs[0]) {
      // the kernel multiplies g by the weight itself (g flows into xhat through it)
      const dx = allocate(x.dtype, x.size);
      const w = affine ? n.inputs[1]!.contiguousData() : null;
      kernelsFor(x.dtype).layerNormBackward(xhat, n.saved[0]!.contiguousData(), G, dx, rows, cols, w);
      grads.push(new Tensor(dx, x.shape));
    } else grads.push(null);
    if (affine && !needs[1] && !needs[2]) {
      grads.push(null);
      if (n.inputs.length > 2) grads.push(null);
    } else if (affine) {
      const dw = allocate(x.dtype, cols);
      const db = allocate(x.dtype, cols);
      for (let r = 0; r < rows; r++) {
        for (let j = 0; j < cols; j++) {
          dw[j]! += G[r * cols + j]! * xhat[r * cols + j]!;
          db[j]! += G[r * cols + j]!;
        }
      }
      const wShape = n.inputs[1]!.shape;
      grads.push(needs[1] ? new Tensor(dw, wShape) : null);
      if (n.inputs.length > 2) grads.push(needs[2] ? new Tensor(db, n.inputs[2]!.shape) : null);
    }
    return grads;
  },
  // views: move the gradient back the way the data came
  reshape: (g, n) => [reshape(g, n.inputs[0]!.shape)],
  permute: (g, n) => {
    const inv = new Array<number>(n.params.perm.length);
    n.params.perm.forEach((p, i) => (inv[p] = i));
    return [permute(g, inv)];
  },
  expand: (g, n) => [unbroadcast(g, n.inputs[0]!.shape)],
  // d slice: the gradient lands in the sliced window, zeros elsewhere
  slice: (g, n) => {
    const x = n.inputs[0]!;
    const out = zeros(x.shape, g.dtype);
    const win = slice(out, n.params.starts, n.params.ends);
    assignStrided(win, g.contiguousData(), false);
    return [out];
  },
  // d concat: each input gets its slice of g
  concat: (g, n, needs) => {
    let at = 0;
    const ax = n.params.axis;
    return n.inputs.map((t, i) => {
      const starts = g.shape.map((_, j) => (j === ax ? at : 0));
      const ends = g.shape.map((d, j) => (j === ax ? at + t.shape[ax]! : d));
      at += t.shape[ax]!;
      return needs[i] ? slice(g, starts, ends) : null;
    });
  },
  // d gather: scatter-add rows back (repeated indices accumulate)
  gather: (g, n) => {
    const x = n.inputs[0]!;
    const ax = n.params.axis;
    const out = zeros(x.shape, g.dtype);
    n.params.indices.forEach((idx, k) => {
      const starts = x.shape.map((_, j) => (j === ax ? idx : 0));
      const ends = x.shape.map((d, j) => (j === ax ? idx + 1 : d));
      const gs = g.shape.map((_, j) => (j === ax ? k : 0));
      const ge = g.shape.map((d, j) => (j === ax ? k + 1 : d));
      assignStrided(slice(out, starts, ends), slice(g, gs, ge).contiguousData(), true);
    });
    return [out];
  },
  // a copy is the identity
  copy: (g) => [g],
};

/** Add two gradient contributions for the same tensor. */
export function accumulate(a: Tensor | undefined, b: Tensor): Tensor {
  return a ? add(a, b) : b;
}
