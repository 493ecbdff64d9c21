// One entry point for every method, so the command line, the evaluation and
// the browser page run methods by name. The registry is a record over the
// method names: a method without a runner (or a runner without its facts) is
// a compile error.

import { Explainer, type Explanation } from '../cdam/explainer.js';
import type { Target } from '../cdam/target.js';
import { inputXGrad } from '../baselines/inputXGrad.js';
import { smoothGrad } from '../baselines/smoothGrad.js';
import { smoothGradSquared } from '../baselines/smoothGradSquared.js';
import { intGrad } from '../baselines/intGrad.js';
import { expectedGrad } from '../baselines/expectedGrad.js';
import { gradCam } from '../baselines/gradCam.js';
import { rollout } from '../baselines/rollout.js';
import { relevance } from '../baselines/relevance.js';
import { partialLrp } from '../baselines/partialLrp.js';
import { attnLrp } from '../baselines/attnLrp.js';
import { FAMILY_OPTIONS, OPTION_NAMES, checkOption, type MethodParams, type OptionDefaults, type OptionName } from './options.js';
import type { Tensor } from '../tensor/index.js';

/** What runMethod takes: the declared options of any method (each method reads its own), and the run's settings. */
export interface MethodOptions extends MethodParams {
  /** one map per head instead of the mean (attention, rollout) or the sum over heads (the CDAM family) */
  perHead?: boolean;
  /** called as points are done, by the methods that average over many */
  onProgress?: (done: number, total: number) => void;
  /** expected-grad: reference images [1, 3, H, W], normalised like the input (default: a blurred and three shuffled copies) */
  references?: Tensor[];
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
  /** the options it reads, with its defaults (methods of one family share one declaration) */
  options: OptionDefaults;
  /** run with the options resolved (every declared one present) */
  run: (ex: Explainer, target: Target, opts: MethodOptions) => Explanation[];
}

const perHeads = (ex: Explainer, one: (h?: number) => Explanation, perHead: boolean | undefined): Explanation[] =>
  perHead ? Array.from({ length: ex.vit.config.heads }, (_, h) => one(h)) : [one()];

const NONE = {};
const REGISTRY = {
  attention: {
    signed: false,
    usesTarget: false,
    level: 'patch',
    perHead: true,
    options: NONE,
    run: (ex, _t, o) => perHeads(ex, (h) => ex.attention(h), o.perHead),
  },
  cdam: {
    signed: true,
    usesTarget: true,
    level: 'patch',
    perHead: true,
    options: NONE,
    run: (ex, t, o) => splitHeads(ex.cdam(t, { perHead: o.perHead ?? false })),
  },
  'smooth-cdam': {
    signed: true,
    usesTarget: true,
    level: 'patch',
    perHead: true,
    options: FAMILY_OPTIONS.smooth,
    run: (ex, t, o) => splitHeads(ex.smooth(t, { ...o, perHead: o.perHead ?? false })),
  },
  'smooth-cdam-robust': {
    signed: true,
    usesTarget: true,
    level: 'patch',
    perHead: true,
    options: FAMILY_OPTIONS.smooth,
    run: (ex, t, o) => splitHeads(ex.smooth(t, { ...o, scale: 'robust', perHead: o.perHead ?? false })),
  },
  'integrated-cdam': {
    signed: true,
    usesTarget: true,
    level: 'patch',
    perHead: true,
    options: FAMILY_OPTIONS.integrated,
    run: (ex, t, o) => splitHeads(ex.integrated(t, { ...o, perHead: o.perHead ?? false })),
  },
  'input-x-grad': { signed: true, usesTarget: true, level: 'pixel', perHead: false, options: NONE, run: (ex, t) => [inputXGrad(ex, t)] },
  smoothgrad: { signed: true, usesTarget: true, level: 'pixel', perHead: false, options: FAMILY_OPTIONS.smoothgrad, run: (ex, t, o) => [smoothGrad(ex, t, o)] },
  'smoothgrad-squared': {
    signed: false,
    usesTarget: true,
    level: 'pixel',
    perHead: false,
    options: FAMILY_OPTIONS.smoothgrad,
    run: (ex, t, o) => [smoothGradSquared(ex, t, o)],
  },
  intgrad: { signed: true, usesTarget: true, level: 'pixel', perHead: false, options: FAMILY_OPTIONS.intgrad, run: (ex, t, o) => [intGrad(ex, t, o)] },
  'expected-grad': {
    signed: true,
    usesTarget: true,
    level: 'pixel',
    perHead: false,
    options: FAMILY_OPTIONS.expectedGrad,
    run: (ex, t, o) => [expectedGrad(ex, t, o)],
  },
  gradcam: { signed: false, usesTarget: true, level: 'pixel', perHead: false, options: NONE, run: (ex, t) => [gradCam(ex, t)] },
  relevance: { signed: false, usesTarget: true, level: 'patch', perHead: false, options: NONE, run: (ex, t) => [relevance(ex, t)] },
  'partial-lrp': { signed: false, usesTarget: true, level: 'patch', perHead: false, options: NONE, run: (ex, t) => [partialLrp(ex, t)] },
  attnlrp: {
    signed: true,
    usesTarget: true,
    level: 'pixel',
    perHead: false,
    options: FAMILY_OPTIONS.attnlrp,
    run: (ex, t, o) => [attnLrp(ex, t, { variant: o.lrp, gamma: o.gamma, patchGamma: o.patchGamma })],
  },
  rollout: {
    signed: false,
    usesTarget: false,
    level: 'patch',
    perHead: true,
    options: NONE,
    run: (ex, _t, o) => perHeads(ex, (h) => rollout(ex, h), o.perHead),
  },
} satisfies Record<string, MethodEntry>;

export type Method = keyof typeof REGISTRY;
export const METHODS = Object.keys(REGISTRY) as Method[];

/** The facts of a method (signed, uses the target, patch or pixel level, per-head maps, its options and their defaults). */
export function methodInfo(m: Method): Omit<MethodEntry, 'run'> {
  const { signed, usesTarget, level, perHead, options } = REGISTRY[m];
  return { signed, usesTarget, level, perHead, options };
}

/** The methods that read an option, with each one's default. */
export function methodsTaking(name: OptionName): { method: Method; default: unknown }[] {
  return METHODS.flatMap((m) => {
    const d = (REGISTRY[m].options as OptionDefaults)[name];
    return d === undefined ? [] : [{ method: m, default: d }];
  });
}

/** The method's declared options: the caller's value where given (checked against its range), else the method's default. */
function resolveOptions(method: Method, opts: MethodOptions): MethodOptions {
  const out: MethodOptions = { perHead: opts.perHead, onProgress: opts.onProgress, references: opts.references };
  const declared = REGISTRY[method].options as OptionDefaults;
  for (const name of OPTION_NAMES) {
    if (declared[name] === undefined) continue;
    const v = opts[name] ?? declared[name];
    checkOption(method, name, v);
    (out as Record<string, unknown>)[name] = v;
  }
  return out;
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
  const out = entry.run(ex, target, resolveOptions(method, opts));
  for (const e of out) checkFinite(e);
  return out;
}

/** A map with NaN or Inf is refused where it is made, naming the method and the token, never drawn or saved. */
function checkFinite(e: Explanation): void {
  const v = e.map.values;
  for (let i = 0; i < v.length; i++) {
    if (!Number.isFinite(v[i]!))
      throw new Error(`${e.method}: the map has a non-finite value (${v[i]} at cell ${i}); check the input, the weights and the options`);
  }
}

/** One explanation per head ("cdam-head0", ...) when the heads were computed; the total otherwise. */
function splitHeads(e: Explanation): Explanation[] {
  if (!e.heads) return [e];
  return e.heads.map((map, h) => ({ method: `${e.method}-head${h}`, target: e.target, score: e.score, map }));
}
