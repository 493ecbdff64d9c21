// Relevance rules for AttnLRP (Achtibat et al., ICML 2024) in the
// gradient x input form of the authors' package lxt ("efficient"): the
// backward sweep of grad() with a few rules replaced, so that input x
// (modified gradient) is the LRP relevance. One row per primitive, beside
// the gradient table: a primitive without a relevance rule fails to compile.
//
//   gradient    the rule of rules.ts: linear maps, additions (the z-rule),
//               movement, sums and maxima conserve relevance as they are
//   uniform     a product of two relevance-carrying factors (q k^T, A v, a b)
//               gives each factor half (lxt divide_gradient)
//   identity    elementwise non-linearities pass relevance through:
//               g f(x) / x (lxt identity_rule_implicit)
//   LayerNorm   1/std is a constant (lxt layer_norm_forward)
//   softmax     keeps its gradient (AttnLRP) or is a constant (CP-LRP, Ali
//               et al. 2022: no relevance through queries and keys)
//   linear      LRP-gamma (zennit's generalised rule, as lxt uses it for
//               ViTs) on the weights `gammaOf` names; the gradient elsewhere

import {
  Tensor, add, sub, mul, div, sum, matmul, reshape, linear, allocate, attentionBackward, type Prim, type TypedArray,
} from '../tensor/index.js';
import { rules, type Rule } from './rules.js';
import type { RuleTable } from './grad.js';

export interface RelevanceOptions {
  /** 'full': relevance through the softmax too (AttnLRP); 'cp': attention probabilities held constant (CP-LRP) */
  attention: 'full' | 'cp';
  /** the gamma of the LRP-gamma rule for a linear layer's weight, or null for the plain gradient (LRP-0) */
  gammaOf: (weight: Tensor) => number | null;
}

/** lxt's epsilon for the identity rule and for turning relevance back into a gradient (divide by the input). */
const TINY = 1e-10;
/** zennit's stabiliser of the LRP-gamma denominators */
const GAMMA_STABILISER = 1e-6;

/** v + eps sign(v), with sign(0) = +1 (zennit's stabilize). */
const stabilised = (v: number, eps: number): number => (v >= 0 ? v + eps : v - eps);

/** Identity rule: the relevance of an elementwise f passes unchanged, so the gradient becomes g f(x) / (x + eps). */
const identity: Rule<'exp' | 'log' | 'sqrt' | 'tanh' | 'erf' | 'gelu' | 'relu' | 'clamp'> = (g, n) => [
  mul(g, div(n.output, add(n.inputs[0]!, TINY))),
];

/** Uniform rule: when both factors carry relevance, each gets half. */
const uniform = <P extends 'mul' | 'matmul'>(gradient: Rule<P>): Rule<P> => (g, n, needs) => {
  const gin = gradient(g, n, needs);
  return needs[0] && needs[1] ? gin.map((t) => (t ? mul(t, 0.5) : null)) : gin;
};

/** LayerNorm with 1/std held constant: dx = r (gh - mean gh), gh = g w. */
const layerNormIdentity: Rule<'layerNorm'> = (g, n) => {
  const x = n.inputs[0]!;
  const cols = x.shape[x.rank - 1] ?? 1;
  const gh = n.inputs.length > 1 ? mul(g, n.inputs[1]!) : g;
  const centred = sub(gh, div(sum(gh, [x.rank - 1], true), cols));
  const r = reshape(n.saved[0]!, [...x.shape.slice(0, -1), 1]);
  return [mul(centred, r), ...n.inputs.slice(1).map(() => null)];
};

/** The fused attention: q and k keep a quarter of their gradient and v half (AttnLRP), or q and k none (CP-LRP). */
const fusedAttention = (variant: RelevanceOptions['attention']): Rule<'attention'> => (g, n) => {
  const qkv = n.inputs[0]!;
  const d = qkv.shape[2]! / 3;
  const dqkv = attentionBackward(qkv, n.saved[0]!, g, n.params.heads);
  const data = dqkv.data;
  const [qk, v] = variant === 'cp' ? [0, 1] : [0.25, 0.5];
  for (let i = 0; i < data.length; i += 3 * d) {
    for (let j = 0; j < 2 * d; j++) data[i + j] *= qk;
    for (let j = 2 * d; j < 3 * d; j++) data[i + j] *= v;
  }
  return [dqkv];
};

/** [a | b] per row: rows x (ca + cb) from rows x ca and rows x cb. */
function sideBySide(a: TypedArray, b: TypedArray, rows: number, ca: number, cb: number, out: TypedArray): TypedArray {
  for (let r = 0; r < rows; r++) {
    out.set(a.subarray(r * ca, (r + 1) * ca), r * (ca + cb));
    out.set(b.subarray(r * cb, (r + 1) * cb), r * (ca + cb) + ca);
  }
  return out;
}

/**
 * LRP-gamma on y = x W^T + b (zennit's Gamma, generalised to signed inputs),
 * turned into a gradient: with R = g z, x+ / x- the positive / negative
 * parts of x, Wp = W + gamma W+, Wn = W + gamma W-, bp = b + gamma b+, bn = b + gamma b-,
 *   z > 0: s = R / (x+ Wp^T + x- Wn^T + bp),  z < 0: t = R / (x+ Wn^T + x- Wp^T + bn)
 *   R_x = x+ (s Wp + t Wn) + x- (s Wn + t Wp),  dx = R_x / x
 * (denominators stabilised as zennit does, dx as lxt does). The four products
 * of each side run as two matmuls over [x+ | x-] and [s | t]. A fused residual
 * (linear's `residual` input) is an addition: it gets g.
 */
function gammaLinear(gammaOf: RelevanceOptions['gammaOf']): Rule<'linear'> {
  return (g, n, needs) => {
    const gamma = gammaOf(n.inputs[1]!);
    if (gamma === null) return rules.linear(g, n, needs);
    const [x, w] = n.inputs as [Tensor, Tensor];
    const [out, inp] = w.shape as [number, number];
    const rows = x.size / inp;
    const dt = x.dtype;
    const W = w.contiguousData();
    const bias = n.params.bias ? n.inputs[2]!.contiguousData() : null;
    // the modified weights, side by side ([Wp | Wn], [Wn | Wp]) and stacked ([Wp; Wn], [Wn; Wp])
    const wp = allocate(dt, W.length);
    const wn = allocate(dt, W.length);
    for (let i = 0; i < W.length; i++) {
      const v = W[i]!;
      wp[i] = v > 0 ? v + gamma * v : v;
      wn[i] = v < 0 ? v + gamma * v : v;
    }
    const fwdP = new Tensor(sideBySide(wp, wn, out, inp, inp, allocate(dt, 2 * W.length)), [out, 2 * inp]);
    const fwdN = new Tensor(sideBySide(wn, wp, out, inp, inp, allocate(dt, 2 * W.length)), [out, 2 * inp]);
    const backP = allocate(dt, 2 * W.length);
    backP.set(wp);
    backP.set(wn, W.length);
    const backN = allocate(dt, 2 * W.length);
    backN.set(wn);
    backN.set(wp, W.length);
    let bp: Tensor | null = null;
    let bn: Tensor | null = null;
    if (bias) {
      bp = new Tensor(bias.map((v) => (v > 0 ? v + gamma * v : v)), [out]);
      bn = new Tensor(bias.map((v) => (v < 0 ? v + gamma * v : v)), [out]);
    }
    // [x+ | x-]
    const X = x.contiguousData();
    const xpn = allocate(dt, 2 * X.length);
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < inp; j++) {
        const v = X[r * inp + j]!;
        xpn[r * 2 * inp + (v > 0 ? j : inp + j)] = v;
      }
    }
    const xs = new Tensor(xpn, [rows, 2 * inp]);
    const z = linear(new Tensor(X, [rows, inp]), new Tensor(W, [out, inp]), bias ? new Tensor(bias, [out]) : null).data;
    const zp = linear(xs, fwdP, bp).data;
    const zn = linear(xs, fwdN, bn).data;
    const G = g.contiguousData();
    // [s | t]
    const st = allocate(dt, 2 * rows * out);
    for (let r = 0; r < rows; r++) {
      for (let i = 0; i < out; i++) {
        const k = r * out + i;
        const zk = z[k]!;
        if (zk > 0) st[r * 2 * out + i] = (G[k]! * zk) / stabilised(zp[k]!, GAMMA_STABILISER);
        else if (zk < 0) st[r * 2 * out + out + i] = (G[k]! * zk) / stabilised(zn[k]!, GAMMA_STABILISER);
      }
    }
    const sts = new Tensor(st, [rows, 2 * out]);
    const u = matmul(sts, new Tensor(backP, [2 * out, inp])).data; // s Wp + t Wn
    const v = matmul(sts, new Tensor(backN, [2 * out, inp])).data; // s Wn + t Wp
    const dx = allocate(dt, X.length);
    for (let k = 0; k < X.length; k++) {
      const xk = X[k]!;
      dx[k] = ((xk > 0 ? u[k]! : v[k]!) * xk) / stabilised(xk, TINY);
    }
    const grads: (Tensor | null)[] = [needs[0] ? new Tensor(dx, x.shape) : null, null];
    if (n.params.bias) grads.push(null);
    if (n.params.residual) grads.push(needs[grads.length] ? g : null);
    return grads;
  };
}

/** Division by a constant scales relevance like a linear map; by a relevance-carrying tensor there is no rule here. */
const divByConstant: Rule<'div'> = (g, n, needs) => {
  if (needs[1]) throw new Error('relevance: no LRP rule for dividing by a tensor that carries relevance');
  return rules.div(g, n, needs);
};

/** The relevance table of AttnLRP (attention 'full') or CP-LRP (attention 'cp'). */
export function relevanceRules(opts: RelevanceOptions): RuleTable {
  const table: { [P in Prim]: Rule<P> | 'constant' } = {
    add: rules.add, sub: rules.sub, neg: rules.neg, where: rules.where, sum: rules.sum, max: rules.max,
    reshape: rules.reshape, permute: rules.permute, expand: rules.expand, slice: rules.slice, concat: rules.concat,
    gather: rules.gather, copy: rules.copy,
    div: divByConstant,
    mul: uniform(rules.mul),
    matmul: uniform(rules.matmul),
    exp: identity, log: identity, sqrt: identity, tanh: identity, erf: identity, gelu: identity, relu: identity, clamp: identity,
    softmax: opts.attention === 'cp' ? 'constant' : rules.softmax,
    attention: fusedAttention(opts.attention),
    layerNorm: layerNormIdentity,
    linear: gammaLinear(opts.gammaOf),
  };
  return table;
}
