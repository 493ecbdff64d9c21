// Combine the output folders of a sharded evaluation into one: the runs must
// be the same run (same settings, manifest and boxes), their shards must be
// one complete set (0..n-1, none twice), and every shard must be finished.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFilesAtomic } from '../io/atomic.js';
import type { BadLine } from './manifest.js';
import type { EvalRecord } from './protocol.js';
import { BOXES_FILE, RESULTS_FILE, RUN_FILE, SKIPPED_FILE, TIMING_FILE, differences, fileError, type RunFile } from './run.js';

export interface MergeResult {
  out: string;
  shards: number;
  images: number;
  lines: number;
}

function readRun(dir: string): RunFile {
  const p = join(dir, RUN_FILE);
  if (!existsSync(p)) throw fileError(`no ${RUN_FILE}: not the output folder of cdam eval`, p);
  try {
    return JSON.parse(readFileSync(p, 'utf8')) as RunFile;
  } catch (e) {
    throw fileError(`not JSON (${(e as Error).message})`, p);
  }
}

function readLines(p: string): string[] {
  if (!existsSync(p)) return [];
  const text = readFileSync(p, 'utf8');
  if (text !== '' && !text.endsWith('\n')) throw fileError('the last line is cut off: the run was killed; resume it with the same command first', p);
  return text.split('\n').filter((l) => l !== '');
}

/** Merge the shard folders `dirs` into `out`. */
export function mergeRuns(dirs: readonly string[], out: string): MergeResult {
  if (dirs.length === 0) throw new Error('merge: give the shard folders to combine');
  const runs = dirs.map((d) => ({ dir: d, run: readRun(d) }));
  const first = runs[0]!;
  for (const r of runs.slice(1)) {
    const diff = differences(first.run, r.run, false);
    if (diff.length > 0) throw fileError(`is not the same run as ${first.dir} (${diff.join('; ')})`, join(r.dir, RUN_FILE));
  }
  const count = first.run.shard?.count ?? 1;
  const owner = new Map<number, string>();
  for (const { dir, run } of runs) {
    const c = run.shard?.count ?? 1;
    if (c !== count) throw fileError(`is shard ${describe(run)} but ${first.dir} is shard ${describe(first.run)}: the shards come from different splits`, join(dir, RUN_FILE));
    const i = run.shard?.index ?? 0;
    const had = owner.get(i);
    if (had !== undefined) throw fileError(`shards overlap: ${had} and ${dir} both hold shard ${describe(run)}`, join(dir, RUN_FILE));
    owner.set(i, dir);
  }
  const missing = [...Array(count).keys()].filter((i) => !owner.has(i));
  if (missing.length > 0) throw new Error(`merge: incomplete set: shard${missing.length > 1 ? 's' : ''} ${missing.map((i) => `${i}/${count}`).join(', ')} missing (have ${[...owner.keys()].sort((a, b) => a - b).map((i) => `${i}/${count}`).join(', ')})`);

  const records: { line: number; order: number; text: string }[] = [];
  const skipped: string[] = [];
  const timing: string[] = [];
  const seen = new Map<number, string>();
  for (const { dir, run } of runs) {
    const lines = readLines(join(dir, RESULTS_FILE));
    const skip = readLines(join(dir, SKIPPED_FILE));
    const count = new Map<number, number>();
    for (const l of lines) {
      const r = JSON.parse(l) as EvalRecord;
      count.set(r.line, (count.get(r.line) ?? 0) + 1);
      records.push({ line: r.line, order: records.length, text: l });
    }
    const skippedLines = new Set(skip.map((l) => (JSON.parse(l) as BadLine).line));
    const unfinished = run.images.filter((i) => !skippedLines.has(i.line) && count.get(i.line) !== i.expect);
    if (unfinished.length > 0) {
      throw fileError(`shard ${describe(run)} is unfinished: ${unfinished.length} of ${run.images.length} images lack results (manifest lines ${unfinished.slice(0, 8).map((i) => i.line).join(', ')}${unfinished.length > 8 ? ', ...' : ''}); resume it with the same command`, dir);
    }
    for (const i of run.images) {
      const had = seen.get(i.line);
      if (had !== undefined) throw fileError(`shards overlap: manifest line ${i.line} is in ${had} and in ${dir}`, dir);
      seen.set(i.line, dir);
    }
    skipped.push(...skip);
    timing.push(...readLines(join(dir, TIMING_FILE)));
  }
  records.sort((a, b) => a.line - b.line || a.order - b.order);
  const merged: RunFile = { ...first.run, shard: null, images: runs.flatMap((r) => r.run.images).sort((a, b) => a.line - b.line) };
  mkdirSync(out, { recursive: true });
  writeFilesAtomic([
    { path: join(out, RESULTS_FILE), data: records.map((r) => r.text + '\n').join('') },
    { path: join(out, SKIPPED_FILE), data: skipped.map((l) => l + '\n').join('') },
    { path: join(out, TIMING_FILE), data: timing.map((l) => l + '\n').join('') },
    { path: join(out, BOXES_FILE), data: readFileSync(join(first.dir, BOXES_FILE)) },
    { path: join(out, RUN_FILE), data: JSON.stringify(merged, null, 1) + '\n' },
  ]);
  return { out, shards: count, images: merged.images.length, lines: records.length };
}

function describe(run: RunFile): string {
  return run.shard ? `${run.shard.index}/${run.shard.count}` : 'all (unsharded)';
}
