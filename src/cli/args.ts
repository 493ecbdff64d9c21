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

export function parse(argv: string[], options: Options): Parsed {
  let r;
  try {
    r = parseArgs({ args: joinDashValues(argv, options), options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
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
