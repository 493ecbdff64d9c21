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
  Tensor,
  add,
  sub,
  mul,
  div,
  sum,
  matmul,
  reshape,
  linear,
  allocate,
  attentionBackward,
  freeze,
  isFrozen,
  type Prim,
  type TypedArray,
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
const identity: Rule<'exp' | 'log' | 'sqrt' | 'tanh' | 'erf' | 'gelu' | 'relu' | 'clamp'> = (g, n) => [mul(g, div(n.output, add(n.inputs[0]!, TINY)))];

/** Uniform rule: when both factors carry relevance, each gets half. */
const uniform =
  <P extends 'mul' | 'matmul'>(gradient: Rule<P>): Rule<P> =>
  (g, n, needs) => {
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
const fusedAttention =
  (variant: RelevanceOptions['attention']): Rule<'attention'> =>
  (g, n) => {
    const qkv = n.inputs[0]!;
    const d = qkv.shape[2]! / 3;
    const dqkv = attentionBackward(qkv, n.saved[0]!, g, n.params.heads);
    const data = dqkv.data;
    const [qk, v] = variant === 'cp' ? [0, 1] : [0.25, 0.5];
    for (let i = 0; i < data.length; i += 3 * d) {
      for (let j = 0; j < 2 * d; j++) data[i + j]! *= qk;
      for (let j = 2 * d; j < 3 * d; j++) data[i + j]! *= v;
    }
    return [dqkv];
  };

/**
 * Wp = W + gamma W+ and Wn = W + gamma W- of a constant weight, made once per
 * weight and gamma and kept while the weight lives (2x the weights of the
 * LRP-gamma layers: making them on every call cost more than the products);
 * frozen, so the matmul kernels may keep them packed too.
 */
const gammaCache = new WeakMap<TypedArray, Map<string, { wp: Tensor; wn: Tensor }>>();
function gammaWeights(w: Tensor, gamma: number): { wp: Tensor; wn: Tensor } {
  const key = `${w.offset}:${w.shape}:${gamma}`;
  let byKey = gammaCache.get(w.data);
  if (!byKey) gammaCache.set(w.data, (byKey = new Map<string, { wp: Tensor; wn: Tensor }>()));
  let e = byKey.get(key);
  if (!e) {
    const W = w.contiguousData();
    const wp = allocate(w.dtype, W.length);
    const wn = allocate(w.dtype, W.length);
    for (let i = 0; i < W.length; i++) {
      const v = W[i]!;
      wp[i] = v > 0 ? v + gamma * v : v;
      wn[i] = v < 0 ? v + gamma * v : v;
    }
    const made = { wp: new Tensor(wp, w.shape), wn: new Tensor(wn, w.shape) };
    e = isFrozen(w) ? { wp: freeze(made.wp), wn: freeze(made.wn) } : made;
    // an unfrozen weight may change: its modified copies are not kept
    if (isFrozen(w)) byKey.set(key, e);
  }
  return e;
}

/**
 * LRP-gamma on y = x W^T + b (zennit's Gamma, generalised to signed inputs),
 * turned into a gradient: with R = g z, x+ / x- the positive / negative
 * parts of x, Wp = W + gamma W+, Wn = W + gamma W-, bp = b + gamma b+, bn = b + gamma b-,
 *   z > 0: s = R / (x+ Wp^T + x- Wn^T + bp),  z < 0: t = R / (x+ Wn^T + x- Wp^T + bn)
 *   R_x = x+ (s Wp + t Wn) + x- (s Wn + t Wp),  dx = R_x / x
 * (denominators stabilised as zennit does, dx as lxt does). z is the node's
 * output (less a fused residual, which is an addition: it gets g). Eight
 * weight-sized products.
 */
function gammaLinear(gammaOf: RelevanceOptions['gammaOf']): Rule<'linear'> {
  return (g, n, needs) => {
    const gamma = gammaOf(n.inputs[1]!);
    if (gamma === null) return rules.linear(g, n, needs);
    const [x, w] = n.inputs as [Tensor, Tensor];
    const [out, inp] = w.shape as [number, number];
    const rows = x.size / inp;
    const dt = x.dtype;
    const { wp: Wp, wn: Wn } = gammaWeights(w, gamma);
    let bp: Tensor | null = null;
    let bn: Tensor | null = null;
    if (n.params.bias) {
      const bias = n.inputs[2]!.contiguousData();
      bp = new Tensor(
        bias.map((v) => (v > 0 ? v + gamma * v : v)),
        [out],
      );
      bn = new Tensor(
        bias.map((v) => (v < 0 ? v + gamma * v : v)),
        [out],
      );
    }
    const X = x.contiguousData();
    const xpd = allocate(dt, X.length);
    const xnd = allocate(dt, X.length);
    for (let k = 0; k < X.length; k++) {
      const v = X[k]!;
      if (v > 0) xpd[k] = v;
      else xnd[k] = v;
    }
    const xp = new Tensor(xpd, [rows, inp]);
    const xn = new Tensor(xnd, [rows, inp]);
    const y = n.output.contiguousData();
    const r = n.params.residual ? n.inputs[n.inputs.length - 1]!.contiguousData() : null;
    // x+ Wp^T + bp + x- Wn^T and x+ Wn^T + bn + x- Wp^T: the second product of each accumulates onto the first
    const zp = linear(xn, Wn, null, linear(xp, Wp, bp)).data;
    const zn = linear(xn, Wp, null, linear(xp, Wn, bn)).data;
    const G = g.contiguousData();
    const s = allocate(dt, rows * out);
    const t = allocate(dt, rows * out);
    for (let k = 0; k < rows * out; k++) {
      const z = r ? y[k]! - r[k]! : y[k]!;
      if (z > 0) s[k] = (G[k]! * z) / stabilised(zp[k]!, GAMMA_STABILISER);
      else if (z < 0) t[k] = (G[k]! * z) / stabilised(zn[k]!, GAMMA_STABILISER);
    }
    const S = new Tensor(s, [rows, out]);
    const T = new Tensor(t, [rows, out]);
    const u = matmul(S, Wp).data; // s Wp + t Wn
    const un = matmul(T, Wn).data;
    const v = matmul(S, Wn).data; // s Wn + t Wp
    const vn = matmul(T, Wp).data;
    const dx = allocate(dt, X.length);
    for (let k = 0; k < X.length; k++) {
      const xk = X[k]!;
      dx[k] = ((xk > 0 ? u[k]! + un[k]! : v[k]! + vn[k]!) * xk) / stabilised(xk, TINY);
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
    add: rules.add,
    sub: rules.sub,
    neg: rules.neg,
    where: rules.where,
    sum: rules.sum,
    max: rules.max,
    reshape: rules.reshape,
    permute: rules.permute,
    expand: rules.expand,
    slice: rules.slice,
    concat: rules.concat,
    gather: rules.gather,
    copy: rules.copy,
    div: divByConstant,
    mul: uniform(rules.mul),
    matmul: uniform(rules.matmul),
    exp: identity,
    log: identity,
    sqrt: identity,
    tanh: identity,
    erf: identity,
    gelu: identity,
    relu: identity,
    clamp: identity,
    softmax: opts.attention === 'cp' ? 'constant' : rules.softmax,
    attention: fusedAttention(opts.attention),
    layerNorm: layerNormIdentity,
    linear: gammaLinear(opts.gammaOf),
  };
  return table;
}
