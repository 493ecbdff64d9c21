// The whole evaluation protocol for one image and all methods, ours against
// the PyTorch protocol (tools/torch_eval.py) in the same run, on the same
// machine, model, image, boxes and methods; both use both cores. Prints one
// table: part | ours s | PyTorch s | ratio.
//   npm run build && node bench/eval.mjs [--image PATH] [--targets 285] [--model DIR]
//     [--workers 1,2] [--torch-configs "default;--backend onednn;OMP_WAIT_POLICY=ACTIVE --backend onednn"]
// --torch-configs: PyTorch configurations separated by ';', each arguments of
// tools/torch_eval.py and NAME=VALUE environment settings ("default": none);
// each runs in turn and the ratio is against the fastest. --workers: our
// configurations, each on the one image (1: one process, both cores in the
// kernels; 2: two workers of one kernel thread sharing the image's parts);
// the first row compares our fastest with PyTorch's fastest.
// Default: the shared ViT-Ti on ../shared/images/chelsea.png, its top-1 class.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runEval } from '../build/src/eval/run.js';
import { METHODS } from '../build/src/methods/registry.js';
import { useFastestBackend } from '../build/src/kernels/default.js';
import { describeBackend } from '../build/src/kernels/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    image: { type: 'string', default: join(here, '..', '..', 'shared', 'images', 'chelsea.png') },
    targets: { type: 'string', default: '285' },
    model: { type: 'string', default: join(here, '..', '..', 'shared', 'weights', 'vit_tiny_patch16_224.augreg_in21k_ft_in1k') },
    methods: { type: 'string', default: METHODS.join(',') },
    workers: { type: 'string', default: '1,2' },
    'torch-configs': { type: 'string', default: 'default;--backend onednn;OMP_WAIT_POLICY=ACTIVE --backend onednn;--blas-threads 2' },
    'no-torch': { type: 'boolean', default: false },
  },
});
const log = (s) => process.stderr.write(s + '\n');
const work = mkdtempSync(join(tmpdir(), 'cdam-bench-eval-'));
const image = resolve(values.image);
copyFileSync(image, join(work, basename(image)));
const manifest = join(work, 'manifest.jsonl');
const targets = values.targets.split(',').map(Number);
writeFileSync(manifest, JSON.stringify({ image: basename(image), targets }) + '\n');
const methods = values.methods.split(',');

useFastestBackend();
const sumTiming = (dir) => {
  const t = readFileSync(join(dir, 'timing.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  const maps = t.reduce((s, x) => s + x.mapsMs, 0) / 1000;
  const forwards = t.reduce((s, x) => s + x.forwardsMs, 0) / 1000;
  return { maps, forwards, protocol: maps + forwards, n: t.reduce((s, x) => s + x.forwards, 0) };
};

async function ours(name, workers, images = 1) {
  const dir = join(work, name);
  let m = manifest;
  if (images > 1) {
    m = join(work, `manifest-${images}.jsonl`);
    writeFileSync(
      m,
      Array(images)
        .fill(JSON.stringify({ image: basename(image), targets }))
        .join('\n') + '\n',
    );
  }
  const t0 = performance.now();
  await runEval({ manifest: m, out: dir, modelDir: values.model, methods, workers });
  const wall = (performance.now() - t0) / 1000;
  log(`ours (${name}): ${wall.toFixed(1)} s`);
  return { wall: wall / images, ...sumTiming(dir), dir };
}

const rows = [];
const oursRuns = [];
for (const n of values.workers.split(',').map(Number)) oursRuns.push({ workers: n, ...(await ours(`ours-workers${n}`, n)) });
const a = oursRuns.reduce((x, y) => (y.wall < x.wall ? y : x));

const torchRuns = [];
if (!values['no-torch']) {
  for (const [ci, config] of values['torch-configs']
    .split(';')
    .map((c) => c.trim())
    .filter(Boolean)
    .entries()) {
    const words = config === 'default' ? [] : config.split(/\s+/);
    const env = Object.fromEntries(words.filter((w) => /^[A-Z_][A-Z0-9_]*=/.test(w)).map((w) => [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)]));
    const extra = words.filter((w) => !/^[A-Z_][A-Z0-9_]*=/.test(w));
    const dir = join(work, `torch-${ci}`);
    const args = [
      join(here, '..', 'tools', 'torch_eval.py'),
      '--model',
      values.model,
      '--manifest',
      manifest,
      '--methods',
      methods.join(','),
      '--out',
      dir,
      '--boxes',
      join(a.dir, 'boxes.json'),
      '--threads',
      '2',
      ...extra,
    ];
    const t0 = performance.now();
    const r = spawnSync('/usr/bin/python3', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
    const wall = (performance.now() - t0) / 1000;
    if (r.status !== 0) {
      log(`PyTorch side (${config}) failed (exit ${r.status})`);
      continue;
    }
    let t = {};
    try {
      t = JSON.parse(readFileSync(join(dir, 'timing.json'), 'utf8'));
    } catch {
      /* the script's own split is optional */
    }
    log(`PyTorch (${config}): ${wall.toFixed(1)} s`);
    torchRuns.push({ config, wall, t });
  }
}
const torch = torchRuns.length ? torchRuns.reduce((x, y) => (y.wall < x.wall ? y : x)) : null;

const fmt = (x) => (x === undefined || x === null || Number.isNaN(x) ? '-' : x.toFixed(1));
const ratio = (x, y) => (x && y ? (x / y).toFixed(2) : '-');
rows.push([
  `whole protocol, wall (start to results); fastest of each: ours ${a.workers === 1 ? 'one process' : `--workers ${a.workers}`}, PyTorch ${torch?.config ?? '-'}`,
  a.wall,
  torch?.wall,
]);
const ti = torch?.t?.images?.[0];
// the split is of the one-process run: with workers, our maps and forwards are worker-seconds, not wall
const one = oursRuns.find((r) => r.workers === 1);
if (one) {
  rows.push(['  one process: in the protocol (image loaded to results)', one.protocol, ti?.wall_s]);
  rows.push(['    maps (all methods)', one.maps, ti?.maps_s]);
  rows.push([`    perturbation forwards (${one.n} images)`, one.forwards, ti?.perturbation_forwards_s]);
}
for (const r of oursRuns)
  rows.push([`ours: ${r.workers === 1 ? 'one process, 2 kernel threads' : `--workers ${r.workers}, 1 kernel thread each`}`, r.wall, torch?.wall]);
for (const r of torchRuns) rows.push([`PyTorch configuration: ${r.config}`, a.wall, r.wall]);
console.log(
  `\nbench/eval.mjs: ${basename(image)} targets ${targets.join(',')}, ${methods.length} methods, ${basename(values.model)}; ours: ${describeBackend()}; PyTorch: tools/torch_eval.py --threads 2, fastest configuration "${torch?.config ?? '-'}" (${JSON.stringify(torch?.t?.config ?? {})})\n`,
);
console.log('| part | ours (s) | PyTorch (s) | ratio |\n|---|---:|---:|---:|');
for (const [name, o, t] of rows) console.log(`| ${name} | ${fmt(o)} | ${fmt(t)} | ${ratio(o, t)} |`);
