// Combine the output folders of a sharded evaluation into one: the runs must
// be the same run (same settings, manifest and boxes), their shards must be
// one complete set (0..n-1, none twice), and every shard must be finished.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFilesAtomic } from '../io/atomic.js';
import { RUN_FILES, fileError, readResults, readRunFile, readSkipped, readTimingLines, type RunFile } from './folder.js';
import { differences } from './run.js';

export interface MergeResult {
  out: string;
  shards: number;
  images: number;
  lines: number;
}

/** Merge the shard folders `dirs` into `out`. */
export function mergeRuns(dirs: readonly string[], out: string): MergeResult {
  if (dirs.length === 0) throw new Error('merge: give the shard folders to combine');
  const runs = dirs.map((d) => ({ dir: d, run: readRunFile(d) }));
  const first = runs[0]!;
  for (const r of runs.slice(1)) {
    const diff = differences(first.run, r.run, false);
    if (diff.length > 0) throw fileError(`is not the same run as ${first.dir} (${diff.join('; ')})`, join(r.dir, RUN_FILES.run));
  }
  const count = first.run.shard?.count ?? 1;
  const owner = new Map<number, string>();
  for (const { dir, run } of runs) {
    const c = run.shard?.count ?? 1;
    if (c !== count)
      throw fileError(
        `is shard ${describe(run)} but ${first.dir} is shard ${describe(first.run)}: the shards come from different splits`,
        join(dir, RUN_FILES.run),
      );
    const i = run.shard?.index ?? 0;
    const had = owner.get(i);
    if (had !== undefined) throw fileError(`shards overlap: ${had} and ${dir} both hold shard ${describe(run)}`, join(dir, RUN_FILES.run));
    owner.set(i, dir);
  }
  const missing = [...Array(count).keys()].filter((i) => !owner.has(i));
  if (missing.length > 0)
    throw new Error(
      `merge: incomplete set: shard${missing.length > 1 ? 's' : ''} ${missing.map((i) => `${i}/${count}`).join(', ')} missing (have ${[...owner.keys()]
        .sort((a, b) => a - b)
        .map((i) => `${i}/${count}`)
        .join(', ')})`,
    );

  const records: { line: number; order: number; text: string }[] = [];
  const skipped: string[] = [];
  const timing: string[] = [];
  const seen = new Map<number, string>();
  for (const { dir, run } of runs) {
    const { lines } = readResults(dir, 'refuse');
    const skip = readSkipped(dir);
    const count = new Map<number, number>();
    for (const { record: r, text } of lines) {
      count.set(r.line, (count.get(r.line) ?? 0) + 1);
      records.push({ line: r.line, order: records.length, text });
    }
    const skippedLines = new Set(skip.skipped.map((b) => b.line));
    const unfinished = run.images.filter((i) => !skippedLines.has(i.line) && count.get(i.line) !== i.expect);
    if (unfinished.length > 0) {
      throw fileError(
        `shard ${describe(run)} is unfinished: ${unfinished.length} of ${run.images.length} images lack results (manifest lines ${unfinished
          .slice(0, 8)
          .map((i) => i.line)
          .join(', ')}${unfinished.length > 8 ? ', ...' : ''}); resume it with the same command`,
        dir,
      );
    }
    for (const i of run.images) {
      const had = seen.get(i.line);
      if (had !== undefined) throw fileError(`shards overlap: manifest line ${i.line} is in ${had} and in ${dir}`, dir);
      seen.set(i.line, dir);
    }
    skipped.push(...skip.lines);
    timing.push(...readTimingLines(dir));
  }
  records.sort((a, b) => a.line - b.line || a.order - b.order);
  const merged: RunFile = { ...first.run, shard: null, images: runs.flatMap((r) => r.run.images).sort((a, b) => a.line - b.line) };
  mkdirSync(out, { recursive: true });
  writeFilesAtomic([
    { path: join(out, RUN_FILES.results), data: records.map((r) => r.text + '\n').join('') },
    { path: join(out, RUN_FILES.skipped), data: skipped.map((l) => l + '\n').join('') },
    { path: join(out, RUN_FILES.timing), data: timing.map((l) => l + '\n').join('') },
    { path: join(out, RUN_FILES.boxes), data: readFileSync(join(first.dir, RUN_FILES.boxes)) },
    { path: join(out, RUN_FILES.run), data: JSON.stringify(merged, null, 1) + '\n' },
  ]);
  return { out, shards: count, images: merged.images.length, lines: records.length };
}

function describe(run: RunFile): string {
  return run.shard ? `${run.shard.index}/${run.shard.count}` : 'all (unsharded)';
}
