// One entry point for every method, so the command line, the evaluation and
// the browser page run methods by name.

import { Explainer, type Explanation, type SmoothOptions, type IntegratedOptions } from './explain.js';
import type { Target } from './target.js';

export const METHODS = ['attention', 'cdam', 'smooth-cdam', 'integrated-cdam'] as const;
export type Method = (typeof METHODS)[number];

export interface MethodOptions {
  smooth?: SmoothOptions;
  integrated?: IntegratedOptions;
  /** attention: one map per head instead of the mean */
  perHead?: boolean;
}

export function isMethod(m: string): m is Method {
  return (METHODS as readonly string[]).includes(m);
}

/** Run a method; the attention map ignores the target (it has none). */
export function runMethod(ex: Explainer, method: Method, target: Target, opts: MethodOptions = {}): Explanation[] {
  switch (method) {
    case 'attention': {
      if (!opts.perHead) return [ex.attention()];
      const heads = ex.vit.config.heads;
      return Array.from({ length: heads }, (_, h) => ex.attention(h));
    }
    case 'cdam':
      return [ex.cdam(target)];
    case 'smooth-cdam':
      return [ex.smooth(target, opts.smooth)];
    case 'integrated-cdam':
      return [ex.integrated(target, opts.integrated)];
  }
}
