// Command-line parsing helpers: typed option access and usage errors that
// exit with code 2.
import { parseArgs, type ParseArgsConfig } from 'node:util';

export class UsageError extends Error {}

export interface Parsed {
  /** string options (undefined when absent) */
  values: Record<string, string | undefined>;
  /** boolean flags (false when absent) */
  flags: Record<string, boolean>;
  /** repeatable string options */
  lists: Record<string, string[]>;
  positionals: string[];
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** `cmd --help` / `cmd -h` anywhere among a command's arguments. */
export function wantsHelp(argv: string[]): boolean {
  return argv.includes('--help') || argv.includes('-h');
}

/**
 * "--target -3" reads as "--target=-3", so that a value that starts with a
 * dash (a negative number) gets a range message instead of the parser's
 * "ambiguous" one.
 */
function joinDashValues(argv: string[], options: Options): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const o = a.startsWith('--') && !a.includes('=') ? options[a.slice(2)] : undefined;
    const next = argv[i + 1];
    if (o?.type === 'string' && next !== undefined && /^-[\d.]/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/** Edit distance with adjacent swaps counted once ("tagret" -> "target" is 1). */
export function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** Farthest a misspelt option may be from a known one to be suggested. */
const SUGGEST_DISTANCE = 2;

/** The known option closest to `name` (within SUGGEST_DISTANCE, or the only one it begins), if any. */
export function closestOption(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = SUGGEST_DISTANCE + 1;
  for (const k of known) {
    const d = editDistance(name, k);
    if (d < bestD) [best, bestD] = [k, d];
  }
  if (best) return best;
  const prefixed = known.filter((k) => name.length >= 2 && k.startsWith(name));
  return prefixed.length === 1 ? prefixed[0] : undefined;
}

/**
 * Node's parseArgs error in words a user can act on; `command` names the
 * subcommand ("explain"), `known` its option names without dashes.
 */
function usageErrorFrom(e: Error, command: string, known: readonly string[]): UsageError {
  const help = `see cdam ${command} --help`;
  const opt = /'(-[^' ]*)/.exec(e.message)?.[1] ?? '';
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const near = opt.startsWith('--') ? closestOption(opt.slice(2), known) : undefined;
    return new UsageError(`cdam ${command}: unknown option ${opt}${near ? `; did you mean --${near}?` : ''} (${help})`);
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    if (/argument missing/.test(e.message)) return new UsageError(`cdam ${command}: ${opt} needs a value (${help})`);
    if (/does not take an argument/.test(e.message)) return new UsageError(`cdam ${command}: ${opt} is a flag and takes no value (${help})`);
  }
  return new UsageError(`cdam ${command}: ${e.message} (${help})`);
}

/**
 * Parses a subcommand's arguments; `command` names it in error messages and
 * `alsoKnown` lists options taken out before (e.g. test-time-register), so
 * they are suggested for typos too.
 */
export function parse(argv: string[], options: Options, command: string, alsoKnown: readonly string[] = []): Parsed {
  let r;
  try {
    r = parseArgs({ args: joinDashValues(argv, options), options, allowPositionals: true, strict: true });
  } catch (e) {
    throw usageErrorFrom(e as Error, command, [...Object.keys(options), ...alsoKnown, 'help']);
  }
  const out: Parsed = { values: {}, flags: {}, lists: {}, positionals: r.positionals };
  for (const [k, o] of Object.entries(options)) {
    const v = (r.values as Record<string, unknown>)[k];
    if (o.type === 'boolean') out.flags[k] = v === true;
    else if (o.multiple) out.lists[k] = (v as string[] | undefined) ?? [];
    else out.values[k] = v as string | undefined;
  }
  return out;
}

export function intOpt(v: string | undefined, name: string, def: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be an integer in [${min}, ${max}], got "${v}"`);
  return n;
}

export function numOpt(v: string | undefined, name: string, def: number, min = -Infinity, max = Infinity): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < min || n > max) throw new UsageError(`--${name} must be a number in [${min}, ${max}], got "${v}"`);
  return n;
}

export function choiceOpt<T extends string>(v: string | undefined, name: string, choices: readonly T[], def: T): T {
  if (v === undefined) return def;
  if (!(choices as readonly string[]).includes(v)) throw new UsageError(`--${name} must be one of ${choices.join(', ')}, got "${v}"`);
  return v as T;
}
