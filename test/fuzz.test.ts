// Property-based fuzzing (fast-check) of every loader of untrusted bytes:
// the safetensors reader (and the ViT loader over it), config.json, the PNG
// and JPEG decoders. Real files are mutated (see test/support/fuzz.ts); each
// case must load, with output within a stated multiple of the file size, or
// throw InputError naming the file. It runs in a child process so that its
// peak memory is its own, and so that a hang ends in a timeout, not a stuck
// suite. CDAM_FUZZ_RUNS and CDAM_FUZZ_SEED change the run.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { repoPath } from './support/fixtures.js';
import { LOADERS, type FuzzReport } from './support/fuzz.js';

const RUNS = Number(process.env['CDAM_FUZZ_RUNS'] ?? 5000);
const SEED = Number(process.env['CDAM_FUZZ_SEED'] ?? 20261201);
/** the peak memory the acceptance allows for tiny inputs (the seeds are all under 30 KB) */
const MAX_RSS = 300 * 2 ** 20;
/**
 * A small JS heap for the child, and a collection every 50 cases (--expose-gc):
 * the peak then measures what the cases hold, not how far the collector lagged
 * on a busy machine (without them the same run peaked anywhere from 92 to
 * 441 MB, mostly dead ArrayBuffers); a case that needs more heap ends the
 * child, and the test fails.
 */
const HEAP = ['--max-old-space-size=96', '--max-semi-space-size=4', '--expose-gc'];

test(`${RUNS} mutated files per loader: each loads within bounds or is refused with InputError naming the file`, () => {
  const r = spawnSync(process.execPath, [...HEAP, repoPath('build/test/support/fuzz.js'), String(RUNS), String(SEED)], { encoding: 'utf8', timeout: 600_000 });
  assert.is(r.signal, null, `the fuzz run hung or was killed (${r.signal}); stderr: ${r.stderr}`);
  assert.is(r.status, 0, r.stderr);
  const lines = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as FuzzReport & { ms: number; maxRssBytes?: number });
  const reports = lines.filter((l) => l.loader);
  assert.equal(reports.map((l) => l.loader).sort(), Object.keys(LOADERS).sort(), 'every loader ran');
  for (const l of reports) {
    assert.is(l.failure, undefined, `${l.loader} (seed ${SEED}): ${l.failure}`);
    assert.ok(l.cases >= RUNS, `${l.loader}: ${l.cases} cases`);
    assert.ok(l.loaded > 0 && l.refused > 0, `${l.loader}: mutations both load and break (${l.loaded} loaded, ${l.refused} refused)`);
  }
  const rss = lines.find((l) => l.maxRssBytes !== undefined)!.maxRssBytes!;
  assert.ok(rss < MAX_RSS, `peak memory ${(rss / 2 ** 20).toFixed(0)} MB`);
  console.log(
    `  fuzz: ${reports.map((l) => `${l.loader} ${l.cases} (${l.refused} refused, ${l.ms} ms, peak so far ${(l as { rssMB?: number }).rssMB} MB)`).join(', ')}; peak ${(rss / 2 ** 20).toFixed(0)} MB`,
  );
});

test.run();
