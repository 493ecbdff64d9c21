// One entry point for every method, so the command line, the evaluation and
// the browser page run methods by name.

import { Explainer, type Explanation, type SmoothOptions, type IntegratedOptions } from './explain.js';
import type { Target } from './target.js';

export const METHODS = ['attention', 'cdam', 'smooth-cdam', 'integrated-cdam'] as const;
export type Method = (typeof METHODS)[number];

export interface MethodOptions {
  smooth?: SmoothOptions;
  integrated?: IntegratedOptions;
  /** one map per head instead of the mean (attention) or the sum over heads (the CDAM family) */
  perHead?: boolean;
}

export function isMethod(m: string): m is Method {
  return (METHODS as readonly string[]).includes(m);
}

/**
 * Run a method: one explanation, or one per head with perHead. The attention
 * map ignores the target (it has none).
 */
export function runMethod(ex: Explainer, method: Method, target: Target, opts: MethodOptions = {}): Explanation[] {
  const out = computeMethod(ex, method, target, opts);
  for (const e of out) checkFinite(e);
  return out;
}

/** A map with NaN or Inf is refused where it is made, naming the method and the token, never drawn or saved. */
function checkFinite(e: Explanation): void {
  const v = e.map.values;
  for (let i = 0; i < v.length; i++) {
    if (!Number.isFinite(v[i]!)) throw new Error(`${e.method}: the map has a non-finite value (${v[i]} at patch ${i}); check the input, the weights and the options`);
  }
}

function computeMethod(ex: Explainer, method: Method, target: Target, opts: MethodOptions): Explanation[] {
  const perHead = opts.perHead ?? false;
  switch (method) {
    case 'attention': {
      if (!perHead) return [ex.attention()];
      const heads = ex.vit.config.heads;
      return Array.from({ length: heads }, (_, h) => ex.attention(h));
    }
    case 'cdam':
      return splitHeads(ex.cdam(target, { perHead }));
    case 'smooth-cdam':
      return splitHeads(ex.smooth(target, { ...opts.smooth, perHead }));
    case 'integrated-cdam':
      return splitHeads(ex.integrated(target, { ...opts.integrated, perHead }));
  }
}

/** One explanation per head ("cdam-head0", ...) when the heads were computed; the total otherwise. */
function splitHeads(e: Explanation): Explanation[] {
  if (!e.heads) return [e];
  return e.heads.map((map, h) => ({ method: `${e.method}-head${h}`, target: e.target, score: e.score, map }));
}
