// The suite's runner (npm test): every compiled test file in its own Node
// process, CDAM_TEST_JOBS at a time (default: one per core), so the single-
// threaded files use both cores. Each file's output is printed whole when it
// ends (never interleaved), then one uvu-style summary for the whole suite
// (the lines .ci/run reads) and the wall time of every file, slowest first.
//   npm run build && node test/run.mjs [--unit] [FILTER...]
// --unit leaves out the end-to-end files: those whose first line is
// `// tier: end-to-end` (the file says which tier it is in; test/README.md).
// CDAM_TEST_JOBS=1 runs the files one after another, for each file's time
// without contention.
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'build', 'test');
const args = process.argv.slice(2);
const unitOnly = args.includes('--unit');
const filters = args.filter((a) => a !== '--unit');
const endToEnd = (f) => readFileSync(join(dir, f), 'utf8').startsWith('// tier: end-to-end');
const jobs = Math.max(1, Number(process.env.CDAM_TEST_JOBS) || availableParallelism());

// The long files start first, so the lanes end together (times measured with
// this runner on 2 cores: 453, 204, 62, 56, 41 s; the rest are under 25 s).
const SLOW_FIRST = ['eval_parity', 'browser', 'package', 'slurm', 'eval_run'];
const rank = (f) => {
  const i = SLOW_FIRST.findIndex((s) => f === `${s}.test.js`);
  return i < 0 ? SLOW_FIRST.length : i;
};
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.test.js') && (filters.length === 0 || filters.some((s) => f.includes(s))))
  .filter((f) => !unitOnly || !endToEnd(f))
  .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
if (files.length === 0) {
  console.error(`test/run.mjs: no test file in ${dir} matches ${filters.join(' ') || '*.test.js'} (run npm run build first)`);
  process.exit(1);
}

const plain = (s) => s.replace(/\x1b\[[0-9;]*m/g, '');
const count = (text, key) => {
  const m = plain(text).match(new RegExp(`${key}:\\s+(\\d+)`));
  return m ? Number(m[1]) : undefined;
};

function runFile(f) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [join(dir, f)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code, signal) => {
      const s = (performance.now() - t0) / 1000;
      const total = count(out, 'Total');
      const passed = count(out, 'Passed');
      const skipped = count(out, 'Skipped') ?? 0;
      // a file that died before its summary counts as one failed test
      const ok = code === 0 && total !== undefined;
      process.stdout.write(`\n── ${f} (${s.toFixed(1)} s${ok ? '' : `, FAILED: exit ${code ?? signal}`})\n${out}`);
      resolve({ f, s, ok, total: total ?? 1, passed: passed ?? 0, skipped });
    });
  });
}

const t0 = performance.now();
const queue = [...files];
const rows = [];
await Promise.all(
  Array.from({ length: Math.min(jobs, files.length) }, async () => {
    for (let f = queue.shift(); f !== undefined; f = queue.shift()) rows.push(await runFile(f));
  }),
);
const wall = (performance.now() - t0) / 1000;
const sum = (k) => rows.reduce((x, r) => x + r[k], 0);
const failedFiles = rows.filter((r) => !r.ok);

rows.sort((a, b) => b.s - a.s);
console.log(`\n| test file | s | passed | skipped | status |\n|---|---:|---:|---:|---|`);
for (const r of rows) console.log(`| ${r.f} | ${r.s.toFixed(1)} | ${r.passed} | ${r.skipped} | ${r.ok ? 'ok' : 'FAILED'} |`);
console.log(`\n${files.length} files, ${jobs} at a time: ${wall.toFixed(0)} s wall, ${sum('s').toFixed(0)} s summed`);
if (failedFiles.length) console.log(`failed files: ${failedFiles.map((r) => r.f).join(', ')}`);
// uvu's own summary lines, for the whole suite
console.log(`\n  Total:     ${sum('total')}\n  Passed:    ${sum('passed')}\n  Skipped:   ${sum('skipped')}\n  Duration:  ${wall.toFixed(2)}s\n`);
process.exitCode = failedFiles.length ? 1 : 0;
