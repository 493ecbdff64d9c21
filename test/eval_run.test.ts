// `cdam eval` as a user runs it, on the small generated model (16x16 input,
// so a whole image takes milliseconds): a run killed with SIGKILL resumes with
// no lost and no duplicate lines; shards (by flag, by Slurm and Kubernetes
// variables) merged equal the unsharded run line for line; merge refuses
// overlapping, missing, unfinished and different shards; bad manifest lines
// are reported by number and fatal or skipped as asked.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoPath } from './support/fixtures.js';
import { shardFrom } from '../src/eval/run.js';

const cli = repoPath('build/src/cli/main.js');
const model = repoPath('test/fixtures/vit/timm_plain');
const work = mkdtempSync(join(tmpdir(), 'cdam-eval-'));
const PHOTOS = ['chelsea.png', 'coffee.png', 'catcoffee_224.png'];
for (const p of PHOTOS) copyFileSync(repoPath(`examples/${p}`), join(work, p));
const METHODS = 'attention,cdam,smooth-cdam,input-x-grad,rollout';
// 12 images, every third a two-class one: 5 methods x (1 or 4 pairings) lines each
const manifestLines = Array.from({ length: 12 }, (_, i) =>
  JSON.stringify(i % 3 === 2 ? { image: PHOTOS[i % 3], targets: [1, 3] } : { image: PHOTOS[i % 3], targets: [i % 5] }),
);
const EXPECTED_LINES = 12 * 5 + 4 * 5 * 3;
const manifest = join(work, 'manifest.jsonl');
writeFileSync(manifest, manifestLines.join('\n') + '\n');
const common = ['--manifest', manifest, '--model', model, '--methods', METHODS, '--box-sizes', '4,8,12', '--boxes-per-size', '10', '--no-report', '--quiet'];

function run(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [cli, 'eval', ...args], { encoding: 'utf8', env: { ...process.env, CDAM_BACKEND: 'js', ...env } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function lines(dir: string): string[] {
  return readFileSync(join(dir, 'results.jsonl'), 'utf8').split('\n').filter(Boolean);
}

const full = join(work, 'full');
let reference: string[] = [];

test('an uninterrupted run writes one line per image, method and pairing', () => {
  const r = run([...common, '--out', full]);
  assert.is(r.code, 0, r.err);
  reference = lines(full);
  assert.is(reference.length, EXPECTED_LINES);
  assert.is(new Set(reference).size, reference.length);
  const rec = JSON.parse(reference.find((l) => JSON.parse(l).mapTarget === 3 && JSON.parse(l).logitTarget === 1)!);
  for (const k of ['image', 'line', 'method', 'mapTarget', 'logitTarget', 'aMif', 'aLif', 'aLifMif', 'boxSizes', 'boxR', 'aBox', 'compactness', 'curves'])
    assert.ok(k in rec, k);
  assert.is(rec.curves.mif.length, 41);
  assert.equal(rec.boxSizes, [4, 8, 12]);
});

test('two worker threads (one kernel thread each) give the same lines as one process', () => {
  const dir = join(work, 'workers');
  const r = run([...common, '--out', dir, '--workers', '2'], { CDAM_BACKEND: 'wasm' });
  assert.is(r.code, 0, r.err);
  const single = join(work, 'single-wasm');
  assert.is(run([...common, '--out', single, '--workers', '1'], { CDAM_BACKEND: 'wasm' }).code, 0);
  assert.equal([...lines(dir)].sort(), [...lines(single)].sort());
});

test('killed with SIGKILL mid-run, the same command resumes: no lost, no duplicate lines', async () => {
  const dir = join(work, 'killed');
  // slow the run down (many boxes) so that the kill lands between images
  const slow = [...common.map((a) => (a === '10' ? '400' : a)), '--out', dir];
  const child = spawn(process.execPath, [cli, 'eval', ...slow], { env: { ...process.env, CDAM_BACKEND: 'js' }, stdio: 'ignore' });
  const results = join(dir, 'results.jsonl');
  const t0 = Date.now();
  await new Promise<void>((resolve, reject) => {
    const poll = setInterval(() => {
      const n = existsSync(results) ? readFileSync(results, 'utf8').split('\n').filter(Boolean).length : 0;
      if (n >= 10) {
        clearInterval(poll);
        child.kill('SIGKILL');
        resolve();
      } else if (Date.now() - t0 > 120_000) {
        clearInterval(poll);
        child.kill('SIGKILL');
        reject(new Error('the run wrote nothing in 120 s'));
      }
    }, 20);
  });
  await new Promise((r) => child.once('exit', r));
  const before = lines(dir).length;
  assert.ok(before > 0 && before < 12 * 5 + 4 * 15, `killed after ${before} lines: not mid-run`);
  // a half-written line, as a kill inside write() could leave
  appendFileSync(results, '{"image":"chelsea.png","line":4,"method":"att');
  const r = run([...slow]);
  assert.is(r.code, 0, r.err);
  const after = lines(dir);
  assert.is(after.length, EXPECTED_LINES);
  assert.is(new Set(after).size, after.length, 'no duplicate lines');
  // the same numbers as an uninterrupted run with the same settings
  const clean = join(work, 'killed-clean');
  assert.is(run([...slow.slice(0, -1), clean]).code, 0);
  assert.equal([...after].sort(), [...lines(clean)].sort());
});

test('a resumed run with other settings is refused, naming what differs', () => {
  const r = run([...common.map((a) => (a === METHODS ? 'cdam' : a)), '--out', full]);
  assert.is(r.code, 1);
  assert.match(r.err, /run\.json/);
  assert.match(r.err, /methods/);
});

test('shards by flag, Slurm and Kubernetes, merged, equal the unsharded run line for line', () => {
  const a = join(work, 'shard0');
  const b = join(work, 'shard1');
  const c = join(work, 'shard2');
  assert.is(run([...common, '--out', a, '--shard', '0/3']).code, 0);
  const slurm = run([...common, '--out', b], { SLURM_ARRAY_TASK_ID: '2', SLURM_ARRAY_TASK_COUNT: '3', SLURM_ARRAY_TASK_MIN: '1' });
  assert.is(slurm.code, 0, slurm.err);
  const k8s = run([...common, '--out', c, '--shard-count', '3'], { JOB_COMPLETION_INDEX: '2' });
  assert.is(k8s.code, 0, k8s.err);
  assert.equal(JSON.parse(readFileSync(join(b, 'run.json'), 'utf8')).shard, { index: 1, count: 3 });
  assert.equal(JSON.parse(readFileSync(join(c, 'run.json'), 'utf8')).shard, { index: 2, count: 3 });
  const merged = join(work, 'merged');
  const m = spawnSync(process.execPath, [cli, 'merge', a, b, c, '--out', merged, '--no-report'], { encoding: 'utf8' });
  assert.is(m.status, 0, m.stderr);
  assert.match(m.stdout, /merged 3 shards: 12 images/);
  assert.equal([...lines(merged)].sort(), [...reference].sort());
  // each shard took every third image
  const imgs = (d: string) => [...new Set(lines(d).map((l) => JSON.parse(l).line as number))].sort((x, y) => x - y);
  assert.equal(imgs(a), [1, 4, 7, 10]);
  assert.equal(imgs(b), [2, 5, 8, 11]);
});

test('merge refuses overlapping, missing, unfinished and different shards', () => {
  const merge = (...dirs: string[]) => spawnSync(process.execPath, [cli, 'merge', ...dirs, '--out', join(work, 'm2'), '--no-report'], { encoding: 'utf8' });
  const s = (i: number) => join(work, `shard${i}`);
  let r = merge(s(0), s(1), s(0));
  assert.is(r.status, 1);
  assert.match(r.stderr, /shards overlap/);
  r = merge(s(0), s(2));
  assert.is(r.status, 1);
  assert.match(r.stderr, /shard 1\/3 missing/);
  r = merge(s(0), s(1), s(2), full);
  assert.is(r.status, 1);
  assert.match(r.stderr, /different splits/);
  // an unfinished shard: drop its last image's lines
  const cut = join(work, 'shard2-cut');
  assert.is(run([...common, '--out', cut, '--shard', '2/3']).code, 0);
  const kept = lines(cut).filter((l) => JSON.parse(l).line !== 12);
  writeFileSync(join(cut, 'results.jsonl'), kept.map((l) => l + '\n').join(''));
  r = merge(s(0), s(1), cut);
  assert.is(r.status, 1);
  assert.match(r.stderr, /unfinished: 1 of 4 images lack results \(manifest lines 12\)/);
  const other = join(work, 'other-seed');
  assert.is(run([...common, '--out', other, '--shard', '2/3', '--seed', '5']).code, 0);
  r = merge(s(0), s(1), other);
  assert.is(r.status, 1);
  assert.match(r.stderr, /not the same run.*boxesSha256/);
});

test('--test-time-register: every method runs on the model with the register, and the run records the file', () => {
  const file = join(work, 'ttr.json');
  writeFileSync(
    file,
    JSON.stringify({
      format: 'cdam-test-time-registers',
      version: 1,
      model: { name: 'vit_custom_patch4_16', depth: 2, mlpDim: 32, dim: 16 },
      settings: {
        threshold: 1,
        detectLayer: -1,
        topK: 2,
        highestLayer: 0,
        lowestLayer: 0,
        sparsityFilter: false,
        sparsityFraction: 0.5,
        sparsityActivation: 0.5,
        images: [],
        imagesWithOutliers: 0,
      },
      scale: 1,
      neurons: [
        { layer: 0, neuron: 3, score: 1 },
        { layer: 0, neuron: 7, score: 1 },
      ],
    }),
  );
  const dir = join(work, 'ttr');
  const r = run([...common, '--out', dir, `--test-time-register=${file}`]);
  assert.is(r.code, 0, r.err);
  const got = lines(dir);
  assert.is(got.length, EXPECTED_LINES);
  assert.not.equal([...got].sort(), [...reference].sort(), 'the register changes the numbers');
  assert.match(JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')).settings.testTimeRegister, /^[0-9a-f]{64}$/);
  assert.is(JSON.parse(readFileSync(join(full, 'run.json'), 'utf8')).settings.testTimeRegister, null);
});

test('bad manifest lines: reported by line number; fatal by default, skipped on request', () => {
  const bad = join(work, 'bad.jsonl');
  writeFileSync(
    bad,
    [
      manifestLines[0],
      '{"image": "chelsea.png"',
      manifestLines[1],
      '{"image": "nope.png", "targets": [1]}',
      '{"image": "coffee.png", "targets": [99]}',
      '',
    ].join('\n'),
  );
  const args = (out: string) => ['--manifest', bad, ...common.slice(2), '--out', join(work, out)];
  let r = run(args('bad-fail'));
  assert.is(r.code, 1);
  assert.match(r.err, /bad\.jsonl: 2 bad lines/);
  assert.match(r.err, /line 2: not JSON/);
  assert.match(r.err, /line 5: .*99/);
  assert.not.ok(existsSync(join(work, 'bad-fail', 'results.jsonl')), 'nothing was evaluated');
  r = run([...args('bad-skip').map((a) => (a === '--quiet' ? '--on-bad-line=skip' : a)), '--workers', '1']);
  assert.is(r.code, 0, r.err);
  assert.match(r.err, /line 2 skipped/);
  assert.match(r.err, /line 4 skipped: nope\.png/);
  assert.match(r.out, /skipped 3/);
  assert.equal([...new Set(lines(join(work, 'bad-skip')).map((l) => JSON.parse(l).line))], [1, 3]);
});

test('workers share the parts of one image: a lone two-class image on 2 workers, and an unreadable one on 3, equal one process', () => {
  const one = join(work, 'one.jsonl');
  writeFileSync(one, manifestLines[2] + '\n');
  const args = (out: string, ...more: string[]) => ['--manifest', one, ...common.slice(2), '--out', join(work, out), ...more];
  assert.is(run(args('one-w2', '--workers', '2'), { CDAM_BACKEND: 'wasm' }).code, 0);
  assert.is(run(args('one-w1', '--workers', '1'), { CDAM_BACKEND: 'wasm' }).code, 0);
  assert.is(lines(join(work, 'one-w1')).length, 4 * 5);
  assert.equal([...lines(join(work, 'one-w2'))].sort(), [...lines(join(work, 'one-w1'))].sort());
  const timing = readFileSync(join(work, 'one-w2', 'timing.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.is(timing.length, 1);
  assert.is(
    timing[0].forwards,
    2 + 30 + 5 * 2 * 39 + 3 * 2 * 39,
    "the parts' forwards add up: ends, boxes, 39 inner points per curve (rollout and attention: one map)",
  );
  // an image that cannot be read, among others, on more workers than images: reported once, the rest as one process gives
  const bad = join(work, 'bad.jsonl');
  const skip = (out: string, ...more: string[]) => [
    '--manifest',
    bad,
    ...common.slice(2).filter((a) => a !== '--quiet'),
    '--on-bad-line=skip',
    '--out',
    join(work, out),
    ...more,
  ];
  const r = run(skip('bad-skip-w3', '--workers', '3'));
  assert.is(r.code, 0, r.err);
  assert.is(r.err.match(/line 4 skipped: nope\.png/g)?.length, 1, r.err);
  assert.equal([...lines(join(work, 'bad-skip-w3'))].sort(), [...lines(join(work, 'bad-skip'))].sort());
  assert.is(readFileSync(join(work, 'bad-skip-w3', 'skipped.jsonl'), 'utf8'), readFileSync(join(work, 'bad-skip', 'skipped.jsonl'), 'utf8'));
});

test('shards from the environment: Slurm arrays from any start, Kubernetes with a count', () => {
  assert.equal(shardFrom('1/4', {}), { index: 1, count: 4 });
  assert.equal(shardFrom(undefined, { SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_COUNT: '4' }), { index: 3, count: 4 });
  assert.equal(shardFrom(undefined, { SLURM_ARRAY_TASK_ID: '4', SLURM_ARRAY_TASK_COUNT: '4', SLURM_ARRAY_TASK_MIN: '1' }), { index: 3, count: 4 });
  assert.equal(shardFrom(undefined, { JOB_COMPLETION_INDEX: '0' }, 2), { index: 0, count: 2 });
  assert.is(shardFrom(undefined, {}), null);
  assert.throws(() => shardFrom('4/4', {}), /0 <= i < n/);
  assert.throws(() => shardFrom('x', {}), /i\/n/);
  assert.throws(() => shardFrom(undefined, { JOB_COMPLETION_INDEX: '0' }), /--shard-count/);
  assert.throws(() => shardFrom(undefined, { SLURM_ARRAY_TASK_ID: '0' }), /SLURM_ARRAY_TASK_COUNT/);
});

test.after(() => rmSync(work, { recursive: true, force: true }));

test.run();
