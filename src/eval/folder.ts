// The run folder's format, owned here and nowhere else: the names of its
// files, and reading each one with validation (a damaged or foreign file is
// refused by name and line) and writing it durably. `cdam eval` (resume),
// `cdam merge` and `cdam report` all read the folder through this module.
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../io/errors.js';
import type { Method } from '../methods/registry.js';
import type { EvalSettings } from './defaults.js';
import type { BadLine } from './manifest.js';
import type { EvalRecord } from './protocol.js';
import { checkRecordFields } from './record.js';

/** Every file of a run folder. */
export const RUN_FILES = {
  /** the run's settings, manifest, shard and images (RunFile) */
  run: 'run.json',
  /** one line per (image, method, map target, logit target) (EvalRecord) */
  results: 'results.jsonl',
  /** the boxes the image boxes are drawn from (BoxSet) */
  boxes: 'boxes.json',
  /** manifest lines that could not be evaluated (BadLine) */
  skipped: 'skipped.jsonl',
  /** per-image timings */
  timing: 'timing.jsonl',
} as const;

/** Everything that decides the numbers: the evaluation's settings and what they apply to; a run resumes, and shards merge, only when these are equal. */
export interface RunSettings extends EvalSettings {
  model: string;
  manifestSha256: string;
  methods: Method[];
  /** the test-time register file's contents (sha256), or null */
  testTimeRegister: string | null;
  boxesSha256: string;
}

export interface Shard {
  index: number;
  count: number;
}

export interface RunFile {
  settings: RunSettings;
  manifest: string;
  /** null: every image */
  shard: Shard | null;
  /** manifest lines this run covers (bad lines skipped at parsing excluded), and each one's expected result lines */
  images: { line: number; expect: number }[];
}

/** An InputError whose message starts with the file. */
export function fileError(message: string, file: string): InputError {
  return new InputError(file, `${file}: ${message}`);
}

const isInt = (v: unknown): v is number => Number.isInteger(v);

/** DIR/run.json, checked: a folder without one is not a run folder; a damaged one is refused naming the field. */
export function readRunFile(dir: string): RunFile {
  const p = join(dir, RUN_FILES.run);
  if (!existsSync(p)) throw fileError(`no ${RUN_FILES.run}: not the output folder of cdam eval`, p);
  let o: unknown;
  try {
    o = JSON.parse(readFileSync(p, 'utf8'));
  } catch (e) {
    throw fileError(`not JSON (${(e as Error).message})`, p);
  }
  const bad = (what: string) => fileError(`${what}: the file was edited or damaged`, p);
  if (typeof o !== 'object' || o === null) throw bad('not an object');
  const r = o as Record<string, unknown>;
  const s = r['settings'] as Record<string, unknown> | undefined;
  if (typeof s !== 'object' || s === null) throw bad('no "settings"');
  for (const k of ['model', 'manifestSha256', 'resize', 'boxesSha256'] as const) if (typeof s[k] !== 'string') throw bad(`"settings.${k}" is not a string`);
  if (!Array.isArray(s['methods']) || !s['methods'].every((m) => typeof m === 'string')) throw bad('"settings.methods" is not a list of names');
  if (!isInt(s['steps']) || !isInt(s['batch'])) throw bad('"settings.steps" and "settings.batch" must be integers');
  if (typeof r['manifest'] !== 'string') throw bad('"manifest" is not a string');
  const shard = r['shard'] as Record<string, unknown> | null;
  if (shard !== null && (typeof shard !== 'object' || !isInt(shard['index']) || !isInt(shard['count'])))
    throw bad('"shard" is neither null nor {index, count}');
  const images = r['images'];
  if (
    !Array.isArray(images) ||
    !images.every((i: unknown) => typeof i === 'object' && i !== null && 'line' in i && 'expect' in i && isInt(i.line) && isInt(i.expect))
  )
    throw bad('"images" is not a list of {line, expect}');
  return o as RunFile;
}

/** The lines of a .jsonl file ([] when it is absent); `torn`: what to do with a last line without its newline. */
function jsonLines(p: string, torn: 'refuse' | 'cut', log?: (s: string) => void): { lines: string[]; cut: boolean } {
  if (!existsSync(p)) return { lines: [], cut: false };
  let text = readFileSync(p, 'utf8');
  const end = text.lastIndexOf('\n') + 1;
  const cut = end < text.length;
  if (cut) {
    if (torn === 'refuse') throw fileError('the last line is cut off: the run was killed; resume it with the same command first', p);
    log?.(`${p}: the last line was cut off (the run was killed while writing it); removing it`);
    text = text.slice(0, end);
  }
  return { lines: text.split('\n').filter((l) => l !== ''), cut };
}

/** One results.jsonl line, parsed once and checked against the record schema. */
export interface ResultLine {
  text: string;
  record: EvalRecord;
}

/**
 * DIR/results.jsonl as written by cdam eval: every line parsed and checked
 * (with its manifest line). `torn: 'cut'` drops a last line the run was killed
 * while writing (resume); 'refuse' fails on it (merge, which needs finished runs).
 */
export function readResults(dir: string, torn: 'refuse' | 'cut', log?: (s: string) => void): { lines: ResultLine[]; cut: boolean } {
  const p = join(dir, RUN_FILES.results);
  const { lines, cut } = jsonLines(p, torn, log);
  return {
    cut,
    lines: lines.map((text, i) => {
      let record: EvalRecord;
      try {
        record = checkEvalRecord(JSON.parse(text));
      } catch (e) {
        throw fileError(
          `line ${i + 1}: ${e instanceof SyntaxError ? 'not JSON' : (e as Error).message}: the file was edited or damaged; move it away to start again`,
          p,
        );
      }
      return { text, record };
    }),
  };
}

/** DIR/skipped.jsonl: the manifest lines that were skipped, with the reason (`torn` as for readResults). */
export function readSkipped(dir: string, torn: 'refuse' | 'cut' = 'refuse', log?: (s: string) => void): { lines: string[]; skipped: BadLine[]; cut: boolean } {
  const p = join(dir, RUN_FILES.skipped);
  const { lines, cut } = jsonLines(p, torn, log);
  const skipped = lines.map((l, i) => {
    let b: BadLine;
    try {
      b = JSON.parse(l) as BadLine;
    } catch {
      throw fileError(`line ${i + 1} is not JSON`, p);
    }
    if (!isInt(b.line)) throw fileError(`line ${i + 1} has no manifest line number`, p);
    return b;
  });
  return { lines, skipped, cut };
}

/** DIR/timing.jsonl's lines, as they are. */
export function readTimingLines(dir: string): string[] {
  return jsonLines(join(dir, RUN_FILES.timing), 'refuse').lines;
}

/** Append text to a file and fsync it before returning: a record on disk survives a kill. */
export function appendDurable(file: string, text: string): void {
  const fd = openSync(file, 'a');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** A record as cdam eval writes it: the schema, with its manifest line. */
function checkEvalRecord(o: unknown): EvalRecord {
  const r = checkRecordFields(o);
  if (!Number.isInteger(r['line'])) throw new Error('"line" (the manifest line) must be an integer');
  return r as unknown as EvalRecord;
}
