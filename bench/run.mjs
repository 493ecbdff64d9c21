// npm run bench: our side and, where /usr/bin/python3 can import torch, the
// PyTorch side of the same computations on the same weights and input, in one
// run; prints one table: operation | ours ms | PyTorch ms | ratio.
//   node bench/run.mjs [--quick] [--no-torch] [--threads N]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { join, dirname, basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import { loadViTFolder } from '../build/src/vit/load.js';
import { readImageFile } from '../build/src/io/image.js';
import { prepareImage } from '../build/src/vit/preprocess.js';
import { useFastestBackend } from '../build/src/kernels/default.js';
import { disposeBackends } from '../build/src/kernels/index.js';
import { randn, matmul } from '../build/src/tensor/index.js';
import { noGrad } from '../build/src/autograd/index.js';
import { randomVit } from './random-vit.mjs';
import { makeItems, topClass } from './items.mjs';
import { timeIt as measure } from './timing.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const noTorch = args.includes('--no-torch');
const threads = Number(args[args.indexOf('--threads') + 1] ?? 0) || Math.min(2, os.availableParallelism());
const out = join(here, 'out');
mkdirSync(out, { recursive: true });
const log = (s) => process.stderr.write(s + '\n');

const timeIt = (fn, opts = {}) => measure(fn, { minRuns: quick ? 2 : 5, minMs: quick ? 300 : 1000, maxMs: quick ? 5000 : 30000, ...opts });

// ---- models and input -----------------------------------------------------------
const shared = join(here, '..', '..', 'shared');
const models = [];
const tiny = join(shared, 'weights', 'vit_tiny_patch16_224.augreg_in21k_ft_in1k');
if (existsSync(tiny)) models.push({ name: 'ViT-Ti/16', dir: tiny });
models.push({ name: 'ViT-S/16', dir: randomVit(join(out, 'models', 'vit_small_patch16_224.random'), 'vit_small_patch16_224') });
const s8 = randomVit(join(out, 'models', 'vit_small_patch8_224.random'), 'vit_small_patch8_224');

const backend = useFastestBackend(process.env.CDAM_BACKEND);
log(`backend: ${backend.name}`);
const imgPath = join(shared, 'images', 'catcoffee_224.png');
const first = loadViTFolder(models[0].dir);
const input = existsSync(imgPath) ? prepareImage(readImageFile(imgPath), first.config.preprocess, 'squash').input : randn([1, 3, 224, 224], 1);
const inputFile = join(out, 'input.f32');
writeFileSync(inputFile, Buffer.from(Float32Array.from(input.contiguousData()).buffer));

// ---- our side ---------------------------------------------------------------------
const ours = {};
for (const m of models) {
  const vit = loadViTFolder(m.dir);
  const cls = topClass(vit, input);
  const items = makeItems(vit, input, cls, m === models[0]);
  ours[m.name] = {};
  for (const [k, fn] of Object.entries(items)) {
    ours[m.name][k] = timeIt(fn);
    log(`  ours ${m.name} ${k}: ${ours[m.name][k].toFixed(1)} ms`);
  }
}
const shapes = [
  [197, 192, 576],
  [197, 192, 768],
  [197, 768, 192],
  [197, 384, 1536],
  [785, 384, 1152],
];
const gflops = {};
for (const [m, k, n] of shapes) {
  const a = randn([m, k], 1);
  const b = randn([k, n], 2);
  gflops[`${m}x${k}x${n}`] = (2 * m * n * k) / (timeIt(() => noGrad(() => matmul(a, b)), { minMs: 300 }) * 1e6);
}
disposeBackends();

// ---- memory (fresh processes) -------------------------------------------------------
function mem(dir, item, steps) {
  const r = spawnSync(process.execPath, [join(here, 'memory.mjs'), dir, item, String(steps ?? '')], { encoding: 'utf8' });
  if (r.status !== 0) return { error: r.stderr.trim().split('\n').pop() };
  return JSON.parse(r.stdout.trim().split('\n').pop());
}
const memory = {
  s8_cdam: mem(s8, 'cdam'),
  ti_integrated_10: mem(models[0].dir, 'integrated', 10),
  ti_integrated_200: mem(models[0].dir, 'integrated', 200),
  // the gradient baselines batch their samples with a running sum: 10 and 200 steps should peak alike
  ti_intgrad_10: mem(models[0].dir, 'intgrad', 10),
  ti_intgrad_200: mem(models[0].dir, 'intgrad', 200),
};

// ---- PyTorch side -------------------------------------------------------------------
let torch = null;
if (!noTorch && spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' }).status === 0) {
  const res = join(out, 'torch.json');
  const argv = [
    join(here, 'torch_bench.py'),
    ...models.flatMap((m) => ['--model-dir', m.dir]),
    '--image-tensor',
    inputFile,
    '--threads',
    String(threads),
    '--out',
    res,
    '--max-item-seconds',
    quick ? '5' : '15',
    ...(quick ? ['--quick'] : []),
  ];
  log(`running PyTorch: /usr/bin/python3 ${argv.join(' ')}`);
  const r = spawnSync('/usr/bin/python3', argv, { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status === 0) torch = JSON.parse(readFileSync(res, 'utf8'));
  else log('PyTorch side failed; table shows ours only');
} else if (!noTorch) log('PyTorch not importable by /usr/bin/python3 (apt-get install -y python3-torch): table shows ours only');

// fastest variant PyTorch has for an item (as installed, or through oneDNN)
function torchMs(model, item) {
  if (!torch) return null;
  const dir = models.find((m) => m.name === model).dir;
  const key = basename(dir);
  const cands = [];
  for (const [variant, field] of [
    ['as installed', 'results'],
    ['oneDNN', 'results_onednn'],
  ]) {
    const v = torch[field]?.[key]?.[`${item}_ms`];
    if (typeof v === 'number') cands.push([v, variant]);
  }
  cands.sort((a, b) => a[0] - b[0]);
  return cands[0] ?? null;
}

const rows = [];
const fmt = (v) => (v === null || v === undefined ? '-' : v < 10 ? v.toFixed(2) : v.toFixed(1));
for (const m of models) {
  for (const item of Object.keys(ours[m.name])) {
    const t = torchMs(m.name, item);
    const o = ours[m.name][item];
    rows.push(`| ${m.name} ${item.replace(/_/g, ' ')} | ${fmt(o)} | ${t ? `${fmt(t[0])} (${t[1]})` : '-'} | ${t ? (o / t[0]).toFixed(2) : '-'} |`);
  }
}
for (const [shape, g] of Object.entries(gflops)) {
  const tg = torch ? Math.max(torch.matmul_gflops?.[shape] ?? 0, torch.matmul_gflops_onednn?.[shape] ?? 0) : null;
  rows.push(`| matmul ${shape} GFLOP/s (higher is better) | ${g.toFixed(1)} | ${tg ? tg.toFixed(1) : '-'} | ${tg ? (tg / g).toFixed(2) : '-'} |`);
}
console.log(
  `\nmachine: ${os.cpus()[0]?.model ?? '?'} x${os.availableParallelism()}, node ${process.version}, backend ${backend.name}${torch ? `, torch ${torch.torch} (${torch.threads} threads; BLAS: ${torch.blas ?? '?'})` : ''}`,
);
console.log('ratio = ours / PyTorch for times, PyTorch / ours for GFLOP/s: below 1 means we are faster\n');
console.log('| operation | ours ms | PyTorch ms | ratio |');
console.log('|---|---:|---:|---:|');
for (const r of rows) console.log(r);
console.log('\nmemory (peak RSS of a fresh process, MB):');
for (const [k, v] of Object.entries(memory))
  console.log(
    `  ${k}: ${v.error ? `failed: ${v.error}` : `${v.peakRssMb.toFixed(0)} MB peak (${v.loadedRssMb.toFixed(0)} MB after loading), ${v.tokens} tokens, ${v.ms.toFixed(0)} ms`}`,
  );
writeFileSync(join(out, 'last.json'), JSON.stringify({ ours, gflops, memory, torch }, null, 2));
