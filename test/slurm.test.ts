// tier: end-to-end (test/README.md)
// End to end on a real Slurm: a single-node cluster on this machine
// (tools/slurm-local.sh: munge, slurmctld, slurmd), the committed job script
// docs/cluster/slurm-eval.sh submitted unchanged as a 2-task array, one task
// killed with SIGKILL mid-run and requeued, then `cdam merge`: the merged
// results equal a one-process run line for line. Without Slurm (sbatch,
// slurmctld, slurmd, munged, and root to start them) it is skipped and says
// why; with CDAM_REQUIRE_SLURM=1 (.ci/run sets it after installing Slurm)
// it fails instead.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoPath } from './support/fixtures.js';

const cli = repoPath('build/src/cli/main.js');
const script = repoPath('docs/cluster/slurm-eval.sh');
const NAME = 'the committed Slurm script: a 2-task array, one task SIGKILLed and requeued, merged equals one process';

function missing(): string | null {
  for (const p of ['/usr/bin/sbatch', '/usr/sbin/slurmctld', '/usr/sbin/slurmd', '/usr/sbin/munged']) {
    if (!existsSync(p)) return `needs Slurm and munge (${p} missing: apt-get install slurm-wlm munge)`;
  }
  if (process.getuid?.() !== 0) return 'needs root to start slurmctld and slurmd';
  return null;
}

function sh(cmd: string, cwd?: string, env: NodeJS.ProcessEnv = process.env): string {
  const r = spawnSync('bash', ['-c', cmd], { cwd, encoding: 'utf8', env, timeout: 120_000 });
  if (r.status !== 0) throw new Error(`${cmd} exited ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Poll until ok() holds, at most limit ms (a bound on wall time, not a speed
 * check: the suite runs two test files at once on 2 cores, so the tasks may
 * share the machine with the heaviest file). `tick` runs about every 5 s while
 * waiting; `why` says what the cluster was doing when the wait ran out.
 */
async function waitFor(what: string, ok: () => boolean, limit = 120_000, tick?: () => void, why?: () => string): Promise<void> {
  const t0 = Date.now();
  let ticked = t0;
  while (!ok()) {
    if (Date.now() - t0 > limit) throw new Error(`timed out after ${limit / 1000} s waiting for ${what}${why ? `\n${why()}` : ''}`);
    if (tick && Date.now() - ticked > 5000) {
      ticked = Date.now();
      tick();
    }
    await sleep(250);
  }
}

const lines = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);
/** The array task's state (squeue shows pending and running tasks; gone means ended). */
const taskState = (job: string, task: number) => sh(`squeue -h -r -j ${job}_${task} -o %T 2>/dev/null || true`).trim();

async function slurmRun(): Promise<void> {
  sh(`bash ${repoPath('tools/slurm-local.sh')} start`);
  const work = mkdtempSync(join(tmpdir(), 'cdam-slurm-'));
  try {
    await slurmRunIn(work);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function slurmRunIn(work: string): Promise<void> {
  // four images, two per task, so the killed task has finished an image to keep
  for (const f of ['chelsea.png', 'catcoffee_224.png', 'coffee.png']) copyFileSync(repoPath(`examples/${f}`), join(work, f));
  writeFileSync(
    join(work, 'manifest.jsonl'),
    [
      '{"image": "chelsea.png", "targets": [285]}',
      '{"image": "catcoffee_224.png", "targets": ["Egyptian cat", "espresso"]}',
      '{"image": "coffee.png", "targets": [967]}',
      '{"image": "catcoffee_224.png", "targets": [285]}',
    ].join('\n') + '\n',
  );
  const settings = ['--steps', '8', '--box-sizes', '32,64', '--boxes-per-size', '20', '--workers', '1', '--no-report', '--quiet'];
  const methods = 'attention,cdam,integrated-cdam';
  const env = {
    ...process.env,
    CDAM_CLI: `${process.execPath} ${cli}`,
    CDAM_MANIFEST: 'manifest.jsonl',
    CDAM_METHODS: methods,
    CDAM_EVAL_ARGS: settings.join(' '),
  };

  // the reference: one process, every image
  sh(`${process.execPath} ${cli} eval --manifest manifest.jsonl --methods ${methods} ${settings.join(' ')} --out ref`, work);

  const job = sh(`sbatch --parsable --array=0-1 --cpus-per-task=1 --mem=1G ${script}`, work, env).trim().split(';')[0]!;
  const shard1 = join(work, 'runs/shard-1/results.jsonl');
  // kill task 1 once it has written its first image and is on its second
  await waitFor('task 1 to finish its first image', () => lines(shard1).length > 0);
  const before = lines(shard1).length;
  sh(`scancel --full --signal=KILL ${job}_1`);
  await waitFor('the killed task to end', () => taskState(job, 1) === '');
  const kept = lines(shard1);
  assert.ok(kept.length >= before, 'the killed task keeps the lines it had written');
  sh(`scontrol requeue ${job}_1`);
  // a requeued job is held back by a begin time about two minutes ahead; let it start now
  sh(`scontrol update JobId=${job}_1 StartTime=now`);
  // the task logs say when each finished ("evaluated N images"); the requeued one resumed
  const log = (t: number) => (existsSync(join(work, `cdam-eval-${job}_${t}.log`)) ? readFileSync(join(work, `cdam-eval-${job}_${t}.log`), 'utf8') : '');
  // the update can land before the requeue has taken effect (then the task still waits for its begin time): repeat it while the task is pending
  await waitFor(
    'both tasks to finish',
    () => /evaluated/.test(log(0)) && /evaluated/.test(log(1)),
    360_000,
    () => {
      try {
        if (taskState(job, 1) === 'PENDING') sh(`scontrol update JobId=${job}_1 StartTime=now`);
      } catch {
        // it started meanwhile: nothing to update
      }
    },
    () => `task states: 0 ${taskState(job, 0) || 'ended'}, 1 ${taskState(job, 1) || 'ended'}\ntask 0 log:\n${log(0)}\ntask 1 log:\n${log(1)}`,
  );
  assert.match(log(1), /from an earlier run/, `the requeued task resumed:\n${log(1)}`);

  sh(`${process.execPath} ${cli} merge runs/shard-0 runs/shard-1 --out merged --no-report`, work);
  const merged = lines(join(work, 'merged/results.jsonl'));
  const reference = lines(join(work, 'ref/results.jsonl'));
  assert.ok(reference.length > 0);
  assert.equal([...merged].sort(), [...reference].sort());
  for (const line of kept) assert.ok(lines(shard1).includes(line), 'the lines written before the kill are kept on resume');
  console.log(`  job ${job}: ${merged.length} lines merged; task 1 killed after ${kept.length} lines and resumed`);
}

const why = missing();
if (!why) test(NAME, slurmRun);
else if (process.env['CDAM_REQUIRE_SLURM'] === '1') {
  test(NAME, () => {
    throw new Error(`${why} (CDAM_REQUIRE_SLURM=1 says it must be there)`);
  });
} else {
  console.log(`  skip "${NAME}": ${why}`);
  test.skip(NAME, () => {});
}

test.run();
