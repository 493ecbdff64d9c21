// Wall time of each test file, slowest first, to keep the suite (npm test)
// under its 20-minute budget on 2 cores. Each file runs in its own process,
// one after another, as uvu would run them in one: the sum is close to the
// suite's time (plus a worker start-up per file).
//   npm run build && node bench/test-times.mjs [FILTER]
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'build', 'test');
const filter = process.argv[2] ?? '';
const files = readdirSync(dir).filter((f) => f.endsWith('.test.js') && f.includes(filter)).sort();
const rows = [];
let failed = 0;
for (const f of files) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [join(dir, f)], { encoding: 'utf8' });
  const s = (performance.now() - t0) / 1000;
  const text = (r.stdout + r.stderr).replace(/\x1b\[[0-9;]*m/g, '');
  const num = (k) => Number(text.match(new RegExp(`${k}:\\s+(\\d+)`))?.[1] ?? NaN);
  if (r.status !== 0) failed++;
  rows.push({ f, s, passed: num('Passed'), skipped: num('Skipped'), total: num('Total'), ok: r.status === 0 });
  process.stderr.write(`${f}: ${s.toFixed(1)} s${r.status === 0 ? '' : ' FAILED'}\n`);
}
rows.sort((a, b) => b.s - a.s);
const sum = rows.reduce((x, r) => x + r.s, 0);
console.log(`\n| test file | s | share | passed | skipped | status |\n|---|---:|---:|---:|---:|---|`);
for (const r of rows) console.log(`| ${r.f} | ${r.s.toFixed(1)} | ${((100 * r.s) / sum).toFixed(0)}% | ${r.passed} | ${r.skipped} | ${r.ok ? 'ok' : 'FAILED'} |`);
console.log(`| all ${rows.length} files | ${sum.toFixed(0)} | | ${rows.reduce((x, r) => x + (r.passed || 0), 0)} | ${rows.reduce((x, r) => x + (r.skipped || 0), 0)} | ${failed ? `${failed} failed` : 'ok'} |`);
process.exitCode = failed ? 1 : 0;
