// One entry point for every method, so the command line, the evaluation and
// the browser page run methods by name. The registry is a record over the
// method names: a method without a runner (or a runner without its facts) is
// a compile error.

import { Explainer, type Explanation, type SmoothOptions, type IntegratedOptions } from './explain.js';
import { inputXGrad, smoothGrad, intGrad, gradCam, rollout, relevance, expectedGrad, type SmoothGradOptions, type IntGradOptions, type ExpectedGradOptions } from './baselines.js';
import { partialLrp } from './lrp.js';
import { attnLrp, type AttnLrpOptions } from './attnlrp.js';
import type { Target } from './target.js';

export interface MethodOptions {
  smooth?: SmoothOptions;
  integrated?: IntegratedOptions;
  smoothgrad?: SmoothGradOptions;
  intgrad?: IntGradOptions;
  expectedGrad?: ExpectedGradOptions;
  attnlrp?: AttnLrpOptions;
  /** one map per head instead of the mean (attention, rollout) or the sum over heads (the CDAM family) */
  perHead?: boolean;
}

interface MethodEntry {
  /** signed maps (a diverging colour scale) or non-negative ones */
  signed: boolean;
  /** whether the map depends on the target at all */
  usesTarget: boolean;
  /** 'patch': one value per patch token; 'pixel': one per input pixel */
  level: 'patch' | 'pixel';
  /** whether perHead gives one map per head */
  perHead: boolean;
  run: (ex: Explainer, target: Target, opts: MethodOptions) => Explanation[];
}

const perHeads = (ex: Explainer, one: (h?: number) => Explanation, perHead: boolean | undefined): Explanation[] =>
  perHead ? Array.from({ length: ex.vit.config.heads }, (_, h) => one(h)) : [one()];

const REGISTRY = {
  attention: { signed: false, usesTarget: false, level: 'patch', perHead: true, run: (ex, _t, o) => perHeads(ex, (h) => ex.attention(h), o.perHead) },
  cdam: { signed: true, usesTarget: true, level: 'patch', perHead: true, run: (ex, t, o) => splitHeads(ex.cdam(t, { perHead: o.perHead ?? false })) },
  'smooth-cdam': { signed: true, usesTarget: true, level: 'patch', perHead: true, run: (ex, t, o) => splitHeads(ex.smooth(t, { ...o.smooth, perHead: o.perHead ?? false })) },
  'smooth-cdam-robust': { signed: true, usesTarget: true, level: 'patch', perHead: true, run: (ex, t, o) => splitHeads(ex.smooth(t, { ...o.smooth, scale: 'robust', perHead: o.perHead ?? false })) },
  'integrated-cdam': { signed: true, usesTarget: true, level: 'patch', perHead: true, run: (ex, t, o) => splitHeads(ex.integrated(t, { ...o.integrated, perHead: o.perHead ?? false })) },
  'input-x-grad': { signed: true, usesTarget: true, level: 'pixel', perHead: false, run: (ex, t) => [inputXGrad(ex, t)] },
  smoothgrad: { signed: true, usesTarget: true, level: 'pixel', perHead: false, run: (ex, t, o) => [smoothGrad(ex, t, o.smoothgrad)] },
  intgrad: { signed: true, usesTarget: true, level: 'pixel', perHead: false, run: (ex, t, o) => [intGrad(ex, t, o.intgrad)] },
  'expected-grad': { signed: true, usesTarget: true, level: 'pixel', perHead: false, run: (ex, t, o) => [expectedGrad(ex, t, o.expectedGrad)] },
  gradcam: { signed: false, usesTarget: true, level: 'pixel', perHead: false, run: (ex, t) => [gradCam(ex, t)] },
  relevance: { signed: false, usesTarget: true, level: 'patch', perHead: false, run: (ex, t) => [relevance(ex, t)] },
  'partial-lrp': { signed: false, usesTarget: true, level: 'patch', perHead: false, run: (ex, t) => [partialLrp(ex, t)] },
  attnlrp: { signed: true, usesTarget: true, level: 'pixel', perHead: false, run: (ex, t, o) => [attnLrp(ex, t, o.attnlrp)] },
  rollout: { signed: false, usesTarget: false, level: 'patch', perHead: true, run: (ex, _t, o) => perHeads(ex, (h) => rollout(ex, h), o.perHead) },
} satisfies Record<string, MethodEntry>;

export type Method = keyof typeof REGISTRY;
export const METHODS = Object.keys(REGISTRY) as Method[];

/** The facts of a method (signed, uses the target, patch or pixel level). */
export function methodInfo(m: Method): Omit<MethodEntry, 'run'> {
  const { signed, usesTarget, level, perHead } = REGISTRY[m];
  return { signed, usesTarget, level, perHead };
}

export function isMethod(m: string): m is Method {
  return Object.hasOwn(REGISTRY, m);
}

/**
 * Run a method: one explanation, or one per head with perHead. Target-free
 * methods (attention, rollout) ignore the target.
 */
export function runMethod(ex: Explainer, method: Method, target: Target, opts: MethodOptions = {}): Explanation[] {
  const entry: MethodEntry = REGISTRY[method];
  if (opts.perHead && !entry.perHead) {
    throw new Error(`${method} has no per-head maps (${METHODS.filter((m) => REGISTRY[m].perHead).join(', ')} do)`);
  }
  const out = entry.run(ex, target, opts);
  for (const e of out) checkFinite(e);
  return out;
}

/** A map with NaN or Inf is refused where it is made, naming the method and the token, never drawn or saved. */
function checkFinite(e: Explanation): void {
  const v = e.map.values;
  for (let i = 0; i < v.length; i++) {
    if (!Number.isFinite(v[i]!)) throw new Error(`${e.method}: the map has a non-finite value (${v[i]} at cell ${i}); check the input, the weights and the options`);
  }
}

/** One explanation per head ("cdam-head0", ...) when the heads were computed; the total otherwise. */
function splitHeads(e: Explanation): Explanation[] {
  if (!e.heads) return [e];
  return e.heads.map((map, h) => ({ method: `${e.method}-head${h}`, target: e.target, score: e.score, map }));
}
