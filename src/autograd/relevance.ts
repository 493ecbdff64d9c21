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
  Tensor, add, sub, mul, div, where, compare, clamp, sum, matmul, reshape, linear, scalar, attentionBackward,
  type Prim, type TypedArray,
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
function stabilise(v: Tensor, eps: number): Tensor {
  return add(v, mul(sub(mul(compare(v, 0, 'ge'), 2), 1), eps));
}

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

interface GammaWeights {
  /** W + gamma W+, W + gamma W- */
  wp: Tensor;
  wn: Tensor;
  /** b + gamma b+, b + gamma b- */
  bp: Tensor | null;
  bn: Tensor | null;
}

/**
 * LRP-gamma on y = x W^T + b (zennit's Gamma, generalised to signed inputs),
 * turned into a gradient: with R = g z and x+ / x- the positive / negative
 * parts of x,
 *   z > 0: s = R / (x+ Wp^T + bp + x- Wn^T),  z < 0: t = R / (x+ Wn^T + bn + x- Wp^T)
 *   R_x = x+ (s Wp + t Wn) + x- (s Wn + t Wp),  dx = R_x / x.
 * A fused residual (linear's `residual` input) is an addition: it gets g.
 */
function gammaLinear(gammaOf: RelevanceOptions['gammaOf']): Rule<'linear'> {
  const cache = new WeakMap<TypedArray, Map<string, GammaWeights>>();
  const weightsFor = (w: Tensor, b: Tensor | null, gamma: number): GammaWeights => {
    const key = `${w.offset}:${w.shape}:${gamma}:${b ? `${b.offset}` : '-'}`;
    let byKey = cache.get(w.data);
    if (!byKey) cache.set(w.data, (byKey = new Map()));
    let e = byKey.get(key);
    if (!e) {
      const pos = (t: Tensor) => clamp(t, 0, Infinity);
      const neg = (t: Tensor) => clamp(t, -Infinity, 0);
      e = {
        wp: add(w, mul(pos(w), gamma)), wn: add(w, mul(neg(w), gamma)),
        bp: b ? add(b, mul(pos(b), gamma)) : null, bn: b ? add(b, mul(neg(b), gamma)) : null,
      };
      byKey.set(key, e);
    }
    return e;
  };
  return (g, n, needs) => {
    const gamma = gammaOf(n.inputs[1]!);
    if (gamma === null) return rules.linear(g, n, needs);
    const [x, w] = n.inputs as [Tensor, Tensor];
    const bias = n.params.bias ? n.inputs[2]! : null;
    const { wp, wn, bp, bn } = weightsFor(w, bias, gamma);
    const xp = clamp(x, 0, Infinity);
    const xn = clamp(x, -Infinity, 0);
    const z = linear(x, w, bias);
    const R = mul(g, z);
    const zero = scalar(0, g.dtype);
    const s = where(compare(z, 0, 'gt'), div(R, stabilise(add(linear(xp, wp, bp), linear(xn, wn)), GAMMA_STABILISER)), zero);
    const t = where(compare(z, 0, 'lt'), div(R, stabilise(add(linear(xp, wn, bn), linear(xn, wp)), GAMMA_STABILISER)), zero);
    const out = w.shape[0]!;
    const s2 = reshape(s, [-1, out]);
    const t2 = reshape(t, [-1, out]);
    const back = (a: Tensor, b: Tensor) => reshape(add(matmul(s2, a), matmul(t2, b)), x.shape);
    const rx = add(mul(xp, back(wp, wn)), mul(xn, back(wn, wp)));
    const grads: (Tensor | null)[] = [needs[0] ? div(rx, stabilise(x, TINY)) : null, null];
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
