// The methods' options as command-line flags, derived from their declarations
// (methods/options.ts, and each method's entry in methods/registry.ts): the flag
// names, their parsing and range checks, and their --help lines. A method
// that declares a new option gets its flag and its help here without an edit.
import { OPTION_NAMES, OPTION_SPECS, type MethodParams, type OptionName } from '../methods/options.js';
import { methodsTaking } from '../methods/registry.js';
import { choiceOpt, intOpt, numOpt } from './args.js';

/** patchGamma -> patch-gamma */
export const flagOf = (name: OptionName): string => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** The parseArgs entries of every method option. */
export function methodFlagSpecs(): Record<string, { type: 'string' }> {
  return Object.fromEntries(OPTION_NAMES.map((n) => [flagOf(n), { type: 'string' as const }]));
}

/** The options given on the command line, checked against their ranges; those not given are left out (each method's own default). */
export function parseMethodFlags(values: Record<string, string | undefined>): MethodParams {
  const out: Record<string, number | string> = {};
  for (const name of OPTION_NAMES) {
    const v = values[flagOf(name)];
    if (v === undefined) continue;
    const spec = OPTION_SPECS[name];
    const flag = flagOf(name);
    if (spec.kind === 'choice') out[name] = choiceOpt(v, flag, spec.values, spec.values[0]);
    else if (spec.kind === 'int') out[name] = intOpt(v, flag, 0, spec.min, spec.max);
    else out[name] = numOpt(v, flag, 0, spec.min, spec.max);
  }
  return out;
}

/** "--samples N       help; default 50 (smooth-cdam, smoothgrad, ...)", one per option, wrapped at `width`. */
export function methodFlagUsage(width = 104): string {
  return OPTION_NAMES.map((name) => {
    const spec = OPTION_SPECS[name];
    const byDefault = new Map<string, string[]>();
    for (const { method, default: d } of methodsTaking(name)) byDefault.set(String(d), [...(byDefault.get(String(d)) ?? []), method]);
    const defaults = [...byDefault].map(([d, ms]) => `${d} (${ms.join(', ')})`).join(', ');
    const head = `  --${flagOf(name)} ${spec.metavar}`.padEnd(20);
    return head + wrap(`${spec.help}; default ${defaults}`, 20, width);
  }).join('\n');
}

/** Text that starts at column `indent`, wrapped at `width`; the lines after the first indented to it. */
function wrap(text: string, indent: number, width: number): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && indent + line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  lines.push(line);
  return lines.join(`\n${' '.repeat(indent)}`);
}
