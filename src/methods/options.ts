// The options a method can take, each defined once (name, type, range, help).
// A method's registry entry (registry.ts) declares which of them it reads and
// its default for each; the library's option types, the command line's flags
// and their --help text, and the web page's controls are derived from that.

import { CDAM_DEFAULTS } from '../cdam/defaults.js';
import { ATTNLRP_DEFAULTS, BASELINE_DEFAULTS } from '../baselines/defaults.js';

export interface NumberSpec {
  kind: 'int' | 'number';
  min: number;
  max: number;
  /** the value in words, for --help */
  metavar: 'N' | 'F';
  help: string;
}
export interface ChoiceSpec<V extends string = string> {
  kind: 'choice';
  values: readonly V[];
  metavar: 'V';
  help: string;
}
export type OptionSpec = NumberSpec | ChoiceSpec;

export const OPTION_SPECS = {
  samples: { kind: 'int', min: 1, max: 100000, metavar: 'N', help: 'samples averaged over (noisy copies or reference draws)' },
  noise: {
    kind: 'number',
    min: 0,
    max: 10,
    metavar: 'F',
    help: 'noise sigma relative to the range of what is perturbed (Smooth CDAM: the last block input, nu; SmoothGrad: the input pixels)',
  },
  steps: { kind: 'int', min: 1, max: 100000, metavar: 'N', help: 'points on the path from zero' },
  seed: { kind: 'int', min: 0, max: 2 ** 32 - 1, metavar: 'N', help: 'seed of the random stream' },
  batch: { kind: 'int', min: 1, max: 4096, metavar: 'N', help: 'points per batched pass (bounds memory)' },
  lrp: {
    kind: 'choice',
    values: ['cp', 'full'] as const,
    metavar: 'V',
    help: 'attention rules: cp (CP-LRP, as the authors ship for ViTs) or full (AttnLRP through the softmax)',
  },
  gamma: { kind: 'number', min: 0, max: 1000, metavar: 'F', help: 'LRP-gamma of the MLP and head layers' },
  patchGamma: { kind: 'number', min: 0, max: 1000, metavar: 'F', help: 'LRP-gamma of the patch embedding' },
} as const satisfies Record<string, OptionSpec>;

export type OptionName = keyof typeof OPTION_SPECS;
export const OPTION_NAMES = Object.keys(OPTION_SPECS) as OptionName[];

type ValueOf<S> = S extends { kind: 'choice'; values: readonly (infer V)[] } ? V : number;
/** The value type of every option: `{ samples?: number, ..., lrp?: 'cp' | 'full' }`. */
export type MethodParams = { [K in OptionName]?: ValueOf<(typeof OPTION_SPECS)[K]> };
/** A method's declaration: the options it reads and its default for each. */
export type OptionDefaults = { [K in OptionName]?: ValueOf<(typeof OPTION_SPECS)[K]> };

/** The defaults the method families share (one fact each, from defaults.ts). */
export const FAMILY_OPTIONS = {
  smooth: { samples: CDAM_DEFAULTS.samples, noise: CDAM_DEFAULTS.noise, seed: CDAM_DEFAULTS.seed, batch: CDAM_DEFAULTS.batch },
  integrated: { steps: CDAM_DEFAULTS.steps, batch: CDAM_DEFAULTS.batch },
  smoothgrad: {
    samples: BASELINE_DEFAULTS.smoothgradSamples,
    noise: BASELINE_DEFAULTS.smoothgradNoise,
    seed: BASELINE_DEFAULTS.seed,
    batch: BASELINE_DEFAULTS.batch,
  },
  intgrad: { steps: BASELINE_DEFAULTS.intgradSteps, batch: BASELINE_DEFAULTS.batch },
  expectedGrad: { samples: BASELINE_DEFAULTS.expectedGradSamples, seed: BASELINE_DEFAULTS.seed, batch: BASELINE_DEFAULTS.batch },
  attnlrp: { lrp: ATTNLRP_DEFAULTS.variant, gamma: ATTNLRP_DEFAULTS.gamma, patchGamma: ATTNLRP_DEFAULTS.patchGamma },
} as const satisfies Record<string, OptionDefaults>;

/** A value checked against its option's type and range; the message names the method and the option. */
export function checkOption(method: string, name: OptionName, value: unknown): void {
  const spec: OptionSpec = OPTION_SPECS[name];
  if (spec.kind === 'choice') {
    if (!spec.values.includes(value as string)) throw new Error(`${method}: ${name} must be one of ${spec.values.join(', ')}, got ${JSON.stringify(value)}`);
    return;
  }
  const ok =
    typeof value === 'number' && Number.isFinite(value) && value >= spec.min && value <= spec.max && (spec.kind === 'number' || Number.isInteger(value));
  if (!ok)
    throw new Error(
      `${method}: ${name} must be ${spec.kind === 'int' ? 'an integer' : 'a number'} in [${spec.min}, ${spec.max}], got ${JSON.stringify(value)}`,
    );
}
