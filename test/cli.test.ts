// The command line, run as a user runs it: a child process, exit codes,
// stdout, JSON files, and no partial output on failure.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodePng } from '../src/io/png.js';
import { repoPath } from './support/fixtures.js';

const cli = repoPath('build/src/cli/main.js');
const tmp = mkdtempSync(join(tmpdir(), 'cdam-cli-'));
const model = repoPath('test/fixtures/vit/timm_plain');

export function runCli(...args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, CDAM_BACKEND: 'js' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

// a 16x16 test image (the tiny fixture model's input size)
const img = join(tmp, 'img.png');
const px = new Uint8Array(16 * 16 * 3).map((_, i) => (i * 37) % 256);
writeFileSync(img, encodePng({ width: 16, height: 16, data: px, channels: 3 }));

test('classify prints the top classes and writes JSON', () => {
  const json = join(tmp, 'top.json');
  const r = runCli('classify', img, '--model', model, '--top', '3', '--json', json);
  assert.is(r.code, 0, r.err);
  const lines = r.out.trim().split('\n');
  assert.is(lines.length, 4);
  assert.match(lines[0]!, /index\s+label\s+logit\s+prob/);
  const j = JSON.parse(readFileSync(json, 'utf8'));
  assert.is(j.top.length, 3);
  for (const e of j.top) assert.ok(typeof e.index === 'number' && typeof e.label === 'string' && typeof e.logit === 'number' && e.prob > 0 && e.prob < 1);
  assert.ok(j.top[0].prob >= j.top[1].prob);
  assert.ok(['zero', 'one', 'two', 'three', 'four'].includes(j.top[0].label));
});

test('usage errors exit 2; bad inputs exit 1 with the file named and no output file', () => {
  assert.is(runCli().code, 2);
  assert.is(runCli('frobnicate').code, 2);
  assert.is(runCli('classify', img).code, 2, '--model is required');
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

test('clean up', () => {
  rmSync(tmp, { recursive: true, force: true });
});

test.run();
