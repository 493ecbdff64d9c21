// The command line, run as a user runs it: a child process, exit codes,
// stdout, JSON files, and no partial output on failure.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodePng } from '../src/io/png.js';
import { repoPath } from './support/fixtures.js';
import { runCli } from './support/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'cdam-cli-'));
const model = repoPath('test/fixtures/vit/timm_plain');

// a 16x16 test image (the tiny fixture model's input size)
const img = join(tmp, 'img.png');
const px = new Uint8Array(16 * 16 * 3).map((_, i) => (i * 37) % 256);
writeFileSync(img, encodePng({ width: 16, height: 16, data: px, channels: 3 }));

test('classify prints the top classes and writes JSON', () => {
  const json = join(tmp, 'top.json');
  const r = runCli('classify', img, '--model', model, '--top', '3', '--json', json);
  assert.is(r.code, 0, r.err);
  const lines = r.out.trim().split('\n');
  assert.is(lines.length, 6);
  assert.match(lines[0]!, /^model: /);
  assert.match(lines[1]!, /^preprocessing: 16x16 used as is/);
  assert.match(lines[2]!, /index\s+label\s+logit\s+prob/);
  const j = JSON.parse(readFileSync(json, 'utf8'));
  assert.is(j.top.length, 3);
  for (const e of j.top) assert.ok(typeof e.index === 'number' && typeof e.label === 'string' && typeof e.logit === 'number' && e.prob > 0 && e.prob < 1);
  assert.ok(j.top[0].prob >= j.top[1].prob);
  assert.ok(['zero', 'one', 'two', 'three', 'four'].includes(j.top[0].label));
});

test('usage errors exit 2; bad inputs exit 1 with the file named and no output file', () => {
  assert.is(runCli().code, 2);
  assert.is(runCli('frobnicate').code, 2);
  assert.is(runCli('classify').code, 2, 'an image is required');
  assert.is(runCli('classify', img, '--model', model, '--top', 'x').code, 2);
  const json = join(tmp, 'never.json');
  const missing = runCli('classify', join(tmp, 'nope.png'), '--model', model, '--json', json);
  assert.is(missing.code, 1);
  assert.match(missing.err, /nope\.png/);
  const bad = join(tmp, 'bad.png');
  writeFileSync(bad, readFileSync(img).subarray(0, 40));
  const trunc = runCli('classify', bad, '--model', model, '--json', json);
  assert.is(trunc.code, 1);
  assert.match(trunc.err, /bad\.png/);
  assert.not.ok(existsSync(json), 'no partial output file');
});

test('explain writes the JSON the docs promise and a PNG', () => {
  const json = join(tmp, 'map.json');
  const png = join(tmp, 'map.png');
  const r = runCli('explain', img, '--model', model, '--target', '2', '--json', json, '--out', png);
  assert.is(r.code, 0, r.err);
  const j = JSON.parse(readFileSync(json, 'utf8'));
  assert.is(j.method, 'cdam');
  assert.is(j.target, '2 two');
  assert.type(j.logit, 'number');
  assert.is(j.map.rows, 4);
  assert.is(j.map.cols, 4);
  assert.is(j.map.values.length, 16);
  assert.ok(j.map.values.some((v: number) => v < 0) || j.map.values.some((v: number) => v > 0));
  assert.equal([...readFileSync(png).subarray(1, 4)], [0x50, 0x4e, 0x47]);
  // a label works as a target too, and the default target is the top-1 class
  assert.is(runCli('explain', img, '--model', model, '--target', 'three', '--json', json).code, 0);
  assert.is(JSON.parse(readFileSync(json, 'utf8')).target, '3 three');
  assert.is(runCli('explain', img, '--model', model, '--json', json).code, 0);
});

test('explain --compare: methods x targets in one grid and one JSON', () => {
  const json = join(tmp, 'cmp.json');
  const png = join(tmp, 'cmp.png');
  const r = runCli(
    'explain',
    img,
    '--model',
    model,
    '--method',
    'attention,cdam,smooth-cdam,integrated-cdam',
    '--target',
    '0,1-2',
    '--samples',
    '4',
    '--steps',
    '5',
    '--compare',
    '--json',
    json,
    '--out',
    png,
  );
  assert.is(r.code, 0, r.err);
  const j = JSON.parse(readFileSync(json, 'utf8'));
  assert.is(j.explanations.length, 8);
  const attn = j.explanations.filter((e: { method: string }) => e.method === 'attention');
  assert.equal(attn[0].map.values, attn[1].map.values, 'the attention map does not depend on the target');
  assert.ok(existsSync(png));
  assert.is(runCli('explain', img, '--model', model, '--method', 'cdam,attention').code, 2, 'several methods need --compare');
});

test('concept: save from a folder, explain with the folder or the file', () => {
  const dir = join(tmp, 'concept');
  mkdirSync(dir);
  writeFileSync(join(dir, 'a.png'), readFileSync(img));
  writeFileSync(join(dir, 'b.png'), encodePng({ width: 16, height: 16, data: px.map((v) => 255 - v), channels: 3 }));
  const file = join(tmp, 'c.safetensors');
  assert.is(runCli('concept', dir, '--model', model, '--out', file).code, 0);
  const viaFile = join(tmp, 'cf.json');
  const viaDir = join(tmp, 'cd.json');
  assert.is(runCli('explain', img, '--model', model, '--concept', file, '--json', viaFile).code, 0);
  assert.is(runCli('explain', img, '--model', model, '--concept', dir, '--json', viaDir).code, 0);
  const a = JSON.parse(readFileSync(viaFile, 'utf8'));
  const b = JSON.parse(readFileSync(viaDir, 'utf8'));
  assert.match(a.target, /^concept/);
  assert.equal(a.map.values, b.map.values);
  const wrong = runCli('explain', img, '--model', repoPath('test/fixtures/vit/hf_vit'), '--concept', join(tmp, 'img.png'));
  assert.is(wrong.code, 1);
});

test('explain: a class index out of range fails cleanly and writes nothing', () => {
  const json = join(tmp, 'oops.json');
  const png = join(tmp, 'oops.png');
  const r = runCli('explain', img, '--model', model, '--target', '7', '--json', json, '--out', png);
  assert.is(r.code, 1);
  assert.match(r.err, /class index 7 is out of range: the model has 5 classes/);
  assert.not.ok(existsSync(json) || existsSync(png));
  assert.is(runCli('explain', img, '--model', model, '--method', 'lime').code, 2);
  assert.is(runCli('explain', img, '--model', model, '--samples', '0', '--method', 'smooth-cdam').code, 2);
});

test('eval says where the report went', () => {
  const manifest = join(tmp, 'manifest.jsonl');
  writeFileSync(manifest, JSON.stringify({ image: img, targets: [1] }) + '\n');
  const dir = join(tmp, 'eval');
  const r = runCli(
    'eval',
    '--manifest',
    manifest,
    '--model',
    model,
    '--methods',
    'attention',
    '--steps',
    '2',
    '--box-sizes',
    '4,8',
    '--boxes-per-size',
    '2',
    '--workers',
    '1',
    '--quiet',
    '--out',
    dir,
  );
  assert.is(r.code, 0, r.err);
  assert.match(r.out, new RegExp(`-> ${dir}/results\\.jsonl\n`));
  assert.match(r.out, new RegExp(`\nreport: ${join(dir, 'report.md')} \\(with report\\.csv, summary\\.json and the plots beside it\\)\n$`));
  assert.ok(existsSync(join(dir, 'report.md')));
  assert.is(r.err, '', '--quiet: no progress');
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));

test.run();
