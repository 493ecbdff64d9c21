// tier: end-to-end
// cdam train and cdam finetune as a user runs them, on small generated data:
// a model folder that classify and explain take, a held-out accuracy that
// shows learning, kill -9 and --resume ending bit for bit where an unbroken
// run ends, a regression target explained by its column name, and bad data
// named with its file (and line), never skipped.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodePng } from '../src/io/png.js';
import { openSafetensors, bufferSource } from '../src/io/safetensors.js';
import { repoPath } from './support/fixtures.js';
import { runCli } from './support/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'cdam-train-'));
const SIDE = 32;

/** A dark noisy 32x32 picture with a 10x10 square of grey level v at (x0, y0). */
function square(x0: number, y0: number, v0: number, next: () => number): Uint8Array {
  const px = new Uint8Array(SIDE * SIDE * 3);
  for (let y = 0; y < SIDE; y++)
    for (let x = 0; x < SIDE; x++) {
      const on = x >= x0 && x < x0 + 10 && y >= y0 && y < y0 + 10;
      const v = on ? v0 : Math.floor(next() * 40);
      px.set([v, v, v], (y * SIDE + x) * 3);
    }
  return encodePng({ width: SIDE, height: SIDE, data: px, channels: 3 });
}

// two classes a crop or flip cannot confuse (a bright or a dim square, anywhere), and a table of the square's level and centre
let s = 7;
const next = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
const data = join(tmp, 'data');
const rows = ['path,label,level,x'];
for (const cls of ['bright', 'dim']) {
  mkdirSync(join(data, cls), { recursive: true });
  for (let i = 0; i < 48; i++) {
    const x0 = Math.floor(next() * 22);
    const y0 = Math.floor(next() * 22);
    const v = Math.round(cls === 'bright' ? 200 + next() * 55 : 90 + next() * 50);
    writeFileSync(join(data, cls, `${i}.png`), square(x0, y0, v, next));
    rows.push(`${cls}/${i}.png,${cls},${(v / 255).toFixed(4)},${((x0 + 5) / SIDE).toFixed(4)}`);
  }
}
const table = join(data, 'squares.csv');
writeFileSync(table, rows.join('\n') + '\n');
const arch = join(tmp, 'arch.json');
writeFileSync(arch, JSON.stringify({ image: SIDE, patch: 8, dim: 32, depth: 2, heads: 2 }));
const trainArgs = (out: string) => [
  'train',
  data,
  '--arch',
  arch,
  '--out',
  out,
  '--epochs',
  '6',
  '--batch',
  '16',
  '--lr',
  '3e-3',
  '--warmup',
  '0.5',
  '--dropout',
  '0.1',
  '--seed',
  '3',
  '--quiet',
];

const metrics = (dir: string) =>
  readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { epoch: number; accuracy?: number; r2?: number[]; trainLoss: number });

test('cdam train: a model folder that classify and explain take, metrics per epoch, a curve, and learning', () => {
  const out = join(tmp, 'run');
  const r = runCli(...trainArgs(out));
  assert.is(r.code, 0, r.err);
  for (const f of [
    'model.safetensors',
    'config.json',
    'metrics.jsonl',
    'run.json',
    'split.json',
    'checkpoint.safetensors',
    'README.md',
    'curve.png',
    'curve.svg',
  ])
    assert.ok(existsSync(join(out, f)), f);
  const m = metrics(out);
  assert.equal(
    m.map((e) => e.epoch),
    [1, 2, 3, 4, 5, 6],
  );
  assert.ok(m[5]!.accuracy! >= 0.9, `held-out accuracy after 6 epochs ${m[5]!.accuracy}`);
  assert.ok(m[5]!.trainLoss < m[0]!.trainLoss, 'the training loss falls');
  const split = JSON.parse(readFileSync(join(out, 'split.json'), 'utf8')) as { train: string[]; val_files: string[] };
  assert.is(split.train.length + split.val_files.length, 96);
  assert.ok(split.val_files.some((f) => f.includes('bright')) && split.val_files.some((f) => f.includes('dim')), 'the held-out split has both classes');
  const c = runCli('classify', join(data, 'dim', '0.png'), '--model', out, '--top', '2');
  assert.is(c.code, 0, c.err);
  assert.match(c.out, /\b1\s+dim\b/);
  const e = runCli('explain', join(data, 'dim', '0.png'), '--model', out, '--target', 'dim', '--out', join(tmp, 'dim.png'));
  assert.is(e.code, 0, e.err);
  assert.match(e.out, /target 1 dim/);
});

test('kill -9 in the middle of cdam train, then --resume: the same weights, bit for bit, as a run never stopped', async () => {
  const whole = join(tmp, 'whole');
  assert.is(runCli(...trainArgs(whole)).code, 0);
  const cut = join(tmp, 'cut');
  const child = spawn(process.execPath, [repoPath('build/src/cli/main.js'), ...trainArgs(cut)], {
    env: { ...process.env, CDAM_BACKEND: 'js' },
    stdio: 'ignore',
  });
  // kill as soon as the third epoch is checkpointed, so the run dies inside the fourth
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      if (existsSync(join(cut, 'metrics.jsonl')) && metrics(cut).length >= 3) {
        clearInterval(timer);
        child.kill('SIGKILL');
      }
    }, 5);
    child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`the run ended (${code}) before it could be killed`))));
  });
  assert.ok(metrics(cut).length < 6, 'killed before the end');
  const again = runCli(...trainArgs(cut), '--resume');
  assert.is(again.code, 0, again.err);
  assert.ok(readFileSync(join(cut, 'model.safetensors')).equals(readFileSync(join(whole, 'model.safetensors'))), 'model.safetensors is identical');
  assert.equal(
    metrics(cut).map((e) => e.trainLoss),
    metrics(whole).map((e) => e.trainLoss),
  );
  // a resume with other settings is refused, naming what differs
  const other = runCli(...trainArgs(cut).map((a) => (a === '3e-3' ? '1e-3' : a)), '--resume');
  assert.is(other.code, 1);
  assert.match(other.err, /other settings/);
});

test('cdam finetune --targets: a regression model, its outputs named by column, explained by name', () => {
  const base = join(tmp, 'run');
  const out = join(tmp, 'reg');
  const r = runCli(
    'finetune',
    table,
    '--targets',
    'level,x',
    '--model',
    base,
    '--train-blocks',
    '1',
    '--out',
    out,
    '--epochs',
    '8',
    '--batch',
    '16',
    '--lr',
    '3e-3',
    '--quiet',
  );
  assert.is(r.code, 0, r.err);
  const m = metrics(out);
  assert.is(m[m.length - 1]!.r2!.length, 2);
  assert.ok(m[m.length - 1]!.r2![0]! > 0.5, `R^2 of level ${m[m.length - 1]!.r2![0]}`);
  const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as { label_names: string[]; cdam_task: string };
  assert.equal(cfg.label_names, ['level', 'x']);
  assert.is(cfg.cdam_task, 'regression');
  const c = runCli('classify', join(data, 'dim', '1.png'), '--model', out);
  assert.is(c.code, 0, c.err);
  assert.match(c.out, /index\s+output\s+value/);
  assert.not.match(c.out, /prob/);
  const e = runCli('explain', join(data, 'dim', '1.png'), '--model', out, '--target', 'x', '--out', join(tmp, 'x.png'));
  assert.is(e.code, 0, e.err);
  assert.match(e.out, /target 1 x/);
});

test('cdam train-head: features computed once and cached, a head on the frozen backbone, the backbone unchanged', () => {
  const base = join(tmp, 'run');
  const out = join(tmp, 'head');
  const args = ['train-head', data, '--model', base, '--out', out, '--epochs', '10', '--batch', '16', '--lr', '1e-2', '--warmup', '0', '--quiet'];
  const r = runCli(...args);
  assert.is(r.code, 0, r.err);
  assert.ok(existsSync(join(out, 'features.safetensors')));
  const m = metrics(out);
  assert.ok(m[m.length - 1]!.accuracy! >= 0.9, `held-out accuracy ${m[m.length - 1]!.accuracy}`);
  const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { trained: string[] };
  assert.equal(run.trained, ['head.weight', 'head.bias']);
  // every backbone tensor is the base model's, byte for byte
  const a = openSafetensors(bufferSource(readFileSync(join(base, 'model.safetensors')), 'base'));
  const b = openSafetensors(bufferSource(readFileSync(join(out, 'model.safetensors')), 'head'));
  for (const n of a.names().filter((n) => !n.startsWith('head.'))) assert.ok(Buffer.from(a.readBytes(n)).equals(Buffer.from(b.readBytes(n))), n);
  const c = runCli('classify', join(data, 'bright', '3.png'), '--model', out, '--top', '1');
  assert.is(c.code, 0, c.err);
});

test('bad data is named with its file (and line), exits 1 and leaves no model', () => {
  const bad = join(tmp, 'bad.csv');
  writeFileSync(bad, 'path,label,level,x\nbright/0.png,bright,0.5,0.5\nbright/1.png,bright,abc,0.5\n');
  const r1 = runCli('train', bad, '--targets', 'level,x', '--arch', arch, '--out', join(tmp, 'bad1'), '--quiet');
  assert.is(r1.code, 1);
  assert.match(r1.err, /bad\.csv:3/);
  assert.match(r1.err, /abc/);
  assert.not.ok(existsSync(join(tmp, 'bad1', 'model.safetensors')));
  const empty = join(tmp, 'empty');
  mkdirSync(join(empty, 'a'), { recursive: true });
  mkdirSync(join(empty, 'b'), { recursive: true });
  writeFileSync(join(empty, 'a', '0.png'), readFileSync(join(data, 'bright', '0.png')));
  const r2 = runCli('train', empty, '--arch', arch, '--out', join(tmp, 'bad2'), '--quiet');
  assert.is(r2.code, 1);
  assert.match(r2.err, /b/);
  assert.match(r2.err, /no images/);
  const broken = join(tmp, 'broken');
  for (const c of ['a', 'b']) {
    mkdirSync(join(broken, c), { recursive: true });
    writeFileSync(join(broken, c, '0.png'), readFileSync(join(data, 'bright', '0.png')));
    writeFileSync(join(broken, c, '1.png'), readFileSync(join(data, 'bright', '1.png')));
  }
  writeFileSync(join(broken, 'b', '2.png'), readFileSync(join(data, 'bright', '2.png')).subarray(0, 50));
  const r3 = runCli('train', broken, '--arch', arch, '--out', join(tmp, 'bad3'), '--epochs', '1', '--val', '0', '--quiet');
  assert.is(r3.code, 1);
  assert.match(r3.err, /2\.png/);
  assert.not.ok(existsSync(join(tmp, 'bad3', 'model.safetensors')));
  const taken = runCli(...trainArgs(join(tmp, 'run')));
  assert.is(taken.code, 1);
  assert.match(taken.err, /not empty/);
  const usage = runCli('train', data, '--out', join(tmp, 'x'));
  assert.is(usage.code, 2);
  assert.match(usage.err, /--arch/);
  assert.is(readdirSync(tmp).includes('x'), false);
});

test.run();
