// The rough edges a new user hit: help and version, ranges instead of the
// parser's wording, labels by name, outputs checked before any work, all or
// none written, hints, per-head CDAM, one preprocessing for both commands,
// pictures at the photo's aspect ratio, shared colour scales, the progress bar.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, existsSync, rmSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pngjs from 'pngjs';
import { encodePng } from '../src/io/png.js';
import { parseTarget } from '../src/cdam/target.js';
import { IMAGENET_LABELS } from '../src/vit/imagenet-labels.js';
import { progressBar, progressLine } from '../src/cli/progress.js';
import { expectError } from './support/expect.js';
import { repoPath } from './support/fixtures.js';
import { runCli } from './support/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'cdam-args-'));
const model = repoPath('test/fixtures/vit/timm_plain');
const px = (w: number, h: number) => new Uint8Array(w * h * 3).map((_, i) => (i * 37) % 256);
const img = join(tmp, 'img.png');
writeFileSync(img, encodePng({ width: 16, height: 16, data: px(16, 16), channels: 3 }));
const wide = join(tmp, 'wide.png');
writeFileSync(wide, encodePng({ width: 48, height: 24, data: px(48, 24), channels: 3 }));
const pkg = JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { version: string };

test('--help for every command, --version', () => {
  for (const cmd of ['classify', 'explain', 'concept']) {
    const r = runCli(cmd, '--help');
    assert.is(r.code, 0, r.err);
    assert.match(r.out, new RegExp(`^usage: cdam ${cmd}`));
    assert.is(runCli(cmd, 'x.png', '-h').code, 0);
  }
  assert.match(
    runCli('explain', '--help').out,
    /--noise F\s+noise sigma relative to[\s\S]*?; default 0\.05 \(smooth-cdam,\s+smooth-cdam-robust\), 0\.15 \(smoothgrad[,)]/,
    "defaults in the usage come from the methods' declarations (CDAM_DEFAULTS, BASELINE_DEFAULTS; the list after smoothgrad grows with its family)",
  );
  const v = runCli('--version');
  assert.is(v.code, 0);
  assert.is(v.out.trim(), `cdam ${pkg.version}`);
});

test('values that start with a dash get a range message, not "ambiguous"', () => {
  const t = runCli('explain', img, '--model', model, '--target', '-3');
  assert.is(t.code, 1);
  assert.match(t.err, /class index -3 is out of range: the model has 5 classes \(0\.\.4\)/);
  assert.not.match(t.err, /ambiguous/);
  const n = runCli('explain', img, '--model', model, '--method', 'smooth-cdam', '--noise', '-1');
  assert.is(n.code, 2);
  assert.match(n.err, /--noise must be a number in \[0, 10\], got "-1"/);
  assert.match(runCli('classify', img, '--model', model, '--top', '-2').err, /--top must be an integer in \[1, /);
  const empty = runCli('explain', img, '--model', model, '--target', '');
  assert.is(empty.code, 2);
  assert.match(empty.err, /--target is empty/);
});

test('attnlrp: --lrp, --gamma and --patch-gamma reach the method; bad values are refused by name', () => {
  const json = (...extra: string[]) => {
    const out = join(tmp, `lrp-${extra.join('_') || 'default'}.json`);
    const r = runCli('explain', img, '--model', model, '--method', 'attnlrp', '--target', '1', '--json', out, '--quiet', ...extra);
    assert.is(r.code, 0, r.err);
    return (JSON.parse(readFileSync(out, 'utf8')) as { map: { rows: number; values: number[] } }).map;
  };
  const base = json();
  assert.is(base.rows, 16, 'a pixel-level map');
  const same = (a: number[], b: number[]) => a.every((v, i) => v === b[i]);
  assert.ok(same(base.values, json('--lrp', 'cp', '--gamma', '0.05', '--patch-gamma', '0.25').values), 'the defaults are cp, 0.05, 0.25');
  for (const extra of [
    ['--lrp', 'full'],
    ['--gamma', '1'],
    ['--patch-gamma', '0'],
  ]) {
    assert.not.ok(same(base.values, json(...extra).values), `${extra.join(' ')} changes the map`);
  }
  const bad = runCli('explain', img, '--model', model, '--method', 'attnlrp', '--lrp', 'both');
  assert.is(bad.code, 2);
  assert.match(bad.err, /--lrp must be one of cp, full/);
  assert.match(runCli('explain', img, '--model', model, '--method', 'attnlrp', '--gamma', '-1').err, /--gamma must be a number in \[0, 1000\]/);
  assert.match(runCli('explain', '--help').out, /--lrp V\s+attention rules: cp[^;]*; default cp \(attnlrp\)/);
});

test('targets by label: exact, case-insensitive, unique prefix or part; ambiguous ones listed', () => {
  const m = { numClasses: 1000, labels: IMAGENET_LABELS };
  assert.equal(parseTarget('Egyptian cat', m), { kind: 'class', index: 285 });
  assert.equal(parseTarget('egyptian CAT', m), { kind: 'class', index: 285 });
  assert.equal(parseTarget('egypt', m), { kind: 'class', index: 285 });
  assert.equal(parseTarget('espresso', m), { kind: 'class', index: 967 }, 'exact beats "espresso maker"');
  assert.equal(parseTarget('285-967', m), { kind: 'difference', a: 285, b: 967 });
  assert.equal(parseTarget('Egyptian cat - espresso', m), { kind: 'difference', a: 285, b: 967 });
  const amb = expectError(() => parseTarget('tig', m), 'ambiguous', '3 tiger shark', '282 tiger cat');
  assert.match(amb, /\d+ labels match/);
  expectError(() => parseTarget('zzzz', m), 'matches no label');
  expectError(() => parseTarget('1000', m), 'class index 1000 is out of range');
  expectError(() => parseTarget('cat', { numClasses: 0, labels: null }), 'need a classifier head');
});

test('targets by label: a whole word of several labels is refused, not read as a prefix; A-B without spaces', () => {
  const m = { numClasses: 1000, labels: IMAGENET_LABELS };
  // "cat" was 484 catamaran (prefix), "dog" 537 dogsled: both are whole words of several labels
  expectError(() => parseTarget('cat', m), 'ambiguous', '282 tiger cat', '283 Persian cat', '285 Egyptian cat');
  expectError(() => parseTarget('dog', m), 'ambiguous', '248 Eskimo dog');
  assert.equal(parseTarget('persian', m), { kind: 'class', index: 283 }, 'a word of exactly one label');
  assert.equal(parseTarget('catamaran', m), { kind: 'class', index: 484 }, 'an exact label still wins');
  assert.equal(parseTarget('Egyptian cat-espresso', m), { kind: 'difference', a: 285, b: 967 });
  assert.equal(parseTarget('285-espresso', m), { kind: 'difference', a: 285, b: 967 });
  // labels hold dashes: the whole label first, else the split whose two sides resolve
  assert.equal(parseTarget('three-toed sloth', m), { kind: 'class', index: 364 });
  assert.equal(parseTarget('three-toed sloth-espresso', m), { kind: 'difference', a: 364, b: 967 });
  assert.equal(parseTarget('black-and-tan coonhound-tabby', m), { kind: 'difference', a: 165, b: 281 });
  expectError(() => parseTarget('cat-espresso', m), 'target "cat-espresso"', '"cat" is ambiguous');
});

test('output paths are checked before any work and named as given; the same path twice is refused', () => {
  const missing = runCli('explain', img, '--model', model, '--out', join(tmp, 'nope', 'x.png'));
  assert.is(missing.code, 1);
  assert.match(missing.err, /--out .*nope\/x\.png: the folder .*nope does not exist/);
  assert.not.match(missing.err, /\.tmp/);
  assert.is(missing.out, '', 'nothing computed or printed before the check');
  const twice = runCli('explain', img, '--model', model, '--json', join(tmp, 'a.png'), '--out', join(tmp, 'a.png'));
  assert.is(twice.code, 1);
  assert.match(twice.err, /the same file as --json/);
  const json = join(tmp, 'a.json');
  const half = runCli('explain', img, '--model', model, '--json', json, '--out', join(tmp, 'missing', 'x.png'));
  assert.is(half.code, 1);
  assert.not.ok(existsSync(json), 'no JSON left behind when the PNG cannot be written');
  assert.equal(
    readdirSync(tmp).filter((f) => f.endsWith('.tmp')),
    [],
    'no temporary files left',
  );
});

test('explain with no output says so (unless --quiet)', () => {
  const r = runCli('explain', img, '--model', model);
  assert.is(r.code, 0, r.err);
  assert.match(r.err, /nothing was written; add --out FILE\.png/);
  assert.is(runCli('explain', img, '--model', model, '--quiet').err, '');
});

test('--per-head with the CDAM family: one map per head, summing to the map', () => {
  const json = join(tmp, 'heads.json');
  const r = runCli('explain', img, '--model', model, '--target', '2', '--per-head', '--json', json);
  assert.is(r.code, 0, r.err);
  const heads = JSON.parse(readFileSync(json, 'utf8')).explanations as { method: string; map: { values: number[] } }[];
  assert.equal(
    heads.map((h) => h.method),
    ['cdam-head0', 'cdam-head1'],
  );
  const whole = join(tmp, 'whole.json');
  assert.is(runCli('explain', img, '--model', model, '--target', '2', '--json', whole).code, 0);
  const total = JSON.parse(readFileSync(whole, 'utf8')).map.values as number[];
  total.forEach((v, i) => assert.ok(Math.abs(heads[0]!.map.values[i]! + heads[1]!.map.values[i]! - v) < 1e-6 * Math.max(1, Math.abs(v))));
  assert.is(runCli('explain', img, '--model', model, '--per-head', '--engine', 'autograd').code, 2);
});

test('classify and explain preprocess alike by default and print how', () => {
  const c = runCli('classify', wide, '--model', model);
  const e = runCli('explain', wide, '--model', model);
  const line = (s: string) => s.split('\n').find((l) => l.startsWith('preprocessing:'));
  assert.is(line(c.out), 'preprocessing: squash 48x24 -> 16x16, bicubic');
  assert.is(line(e.out), line(c.out));
  const top1 = (s: string) => /^\s*(\d+)\s/m.exec(s.split('\n').slice(3).join('\n'))![1];
  assert.match(e.out, new RegExp(`^top: ${top1(c.out)} `, 'm'), 'the same top-1 class');
});

test('the picture shows the photo at its own aspect ratio', () => {
  const out = join(tmp, 'wide_map.png');
  assert.is(runCli('explain', wide, '--model', model, '--out', out).code, 0);
  const p = pngjs.PNG.sync.read(readFileSync(out));
  // a 2:1 photo: the panel is about twice as wide as tall (margins, title and colour bar aside)
  assert.ok(p.width > 1.6 * p.height, `${p.width}x${p.height}`);
});

test('--compare: one colour scale per method column by default, per picture with --scale cell', () => {
  const col = join(tmp, 'col.png');
  const cell = join(tmp, 'cell.png');
  const args = ['explain', img, '--model', model, '--target', '0,3', '--compare'];
  assert.is(runCli(...args, '--out', col).code, 0);
  assert.is(runCli(...args, '--scale', 'cell', '--out', cell).code, 0);
  assert.not.equal(readFileSync(col), readFileSync(cell), 'the two targets have different ranges, so the pictures differ');
  assert.is(runCli(...args, '--scale', 'row').code, 2);
  const dflt = runCli('explain', img, '--model', model, '--compare', '--json', join(tmp, 'two.json'));
  assert.is(dflt.code, 0, dflt.err);
  assert.is(JSON.parse(readFileSync(join(tmp, 'two.json'), 'utf8')).explanations.length, 2, 'the top two classes by default');
});

test('the embedded model: high-norm corner tokens are named; stdout closed early exits quietly', () => {
  const cc = repoPath('examples/catcoffee_224.png');
  const r = runCli('explain', cc, '--target', 'Egyptian cat', '--clip-outliers', '--out', join(tmp, 'cc.png'));
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /^model: ViT-Ti\/16 AugReg \(ImageNet-1k, F16, embedded\)$/m);
  assert.match(r.err, /4 patch tokens with an artefact-high norm \(r0c0, r0c13, r13c0, r13c13;/);
  const cli = repoPath('build/src/cli/main.js');
  const p = spawnSync('bash', ['-c', `node ${cli} classify ${cc} --top 1000 | head -1`], { encoding: 'utf8' });
  assert.is(p.stdout, 'model: ViT-Ti/16 AugReg (ImageNet-1k, F16, embedded)\n');
  assert.is(p.stderr, '', 'no EPIPE stack trace');
});

test('progress bar: count, rate and time left on a terminal; nothing otherwise', () => {
  assert.is(progressLine('smooth-cdam', 20, 50, 2000), `  smooth-cdam [=========>              ] 20/50  10.0/s  0:03 left`);
  assert.match(progressLine('x', 50, 50, 1000), /\[={24}\] 50\/50  50\.0\/s  done$/);
  // slow work (an image of cdam eval takes minutes) shows seconds per item, and hours past 60 minutes
  assert.match(progressLine('eval', 2, 40, 300_000), / 2\/40  150 s each  1:35:00 left$/);
  assert.match(progressLine('eval', 1, 100, 4000), / 1\/100  4\.0 s each  6:36 left$/);
  assert.match(progressLine('eval', 1, 40, 200_000), / 1\/40  200 s each  2:10:00 left$/);
  const writes: string[] = [];
  let t = 0;
  const tty = { isTTY: true, columns: 80, write: (s: string) => writes.push(s) };
  const bar = progressBar('smooth-cdam', tty, false, () => (t += 100));
  for (let i = 1; i <= 5; i++) bar(i, 5);
  assert.ok(writes.length >= 2 && writes.every((w) => w.startsWith('\r')));
  assert.ok(writes.at(-1)!.endsWith('\n') && writes.at(-1)!.includes('5/5'));
  const none: string[] = [];
  progressBar('x', { isTTY: false, write: (s: string) => none.push(s) }, false)(1, 2);
  progressBar('x', { ...tty, write: (s: string) => none.push(s) }, true)(1, 2);
  assert.equal(none, []);
});

test("merge --help is merge's usage, not eval's", () => {
  const r = runCli('merge', '--help');
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /^usage: cdam merge DIR\.\.\. --out DIR/);
  assert.not.match(r.out, /--manifest/);
  assert.match(runCli('--help').out, /usage: cdam merge DIR\.\.\. --out DIR \[--no-report\]/);
});

test('unknown options and missing values in words, with the closest option, exit 2', () => {
  const typo = runCli('explain', img, '--model', model, '--tagret', '1');
  assert.is(typo.code, 2);
  assert.is(typo.err, 'cdam explain: unknown option --tagret; did you mean --target? (see cdam explain --help)\n');
  const far = runCli('classify', img, '--frobnicate');
  assert.is(far.code, 2);
  assert.is(far.err, 'cdam classify: unknown option --frobnicate (see cdam classify --help)\n');
  assert.match(runCli('explain', img, '--test-time-registr').err, /did you mean --test-time-register\?/, 'options taken out before parsing are suggested too');
  assert.match(runCli('explain', img, '--comp').err, /did you mean --compare\?/, 'a unique beginning');
  const missing = runCli('classify', img, '--model');
  assert.is(missing.code, 2);
  assert.is(missing.err, 'cdam classify: --model needs a value (see cdam classify --help)\n');
  assert.match(runCli('report', tmp, '--quiet=yes').err, /^cdam report: --quiet is a flag and takes no value/);
  for (const r of [typo, far, missing]) assert.not.match(r.err, /To specify a positional argument|cdam: cdam/);
});

test('classify --quiet; notes on stderr for a dropped alpha channel and an upscaled small image', () => {
  const small = join(tmp, 'small-alpha.png');
  const rgba = new Uint8Array(20 * 13 * 4).map((_, i) => (i % 4 === 3 ? (i % 8 === 3 ? 0 : 255) : (i * 53) % 256));
  writeFileSync(small, encodePng({ width: 20, height: 13, data: rgba, channels: 4 }));
  for (const cmd of ['classify', 'explain']) {
    const r = runCli(cmd, small, '--model', model);
    assert.is(r.code, 0, r.err);
    assert.match(
      r.err,
      /note: small-alpha\.png has an alpha channel; it is dropped as Pillow's convert\('RGB'\) does \(the stored colour under transparent pixels is used\)/,
    );
    assert.match(r.err, /note: small-alpha\.png is smaller than the model input \(16x16\): it was upscaled from 20x13/);
    const q = runCli(cmd, small, '--model', model, '--quiet');
    assert.is(q.code, 0, q.err);
    assert.is(q.err, '', `${cmd} --quiet: nothing on stderr`);
    assert.match(q.out, /^model: /, 'the results are still printed');
  }
  const plain = runCli('classify', img, '--model', model);
  assert.is(plain.err, '', 'an opaque image at the model size: no note');
  assert.match(runCli('classify', '--help').out, /--quiet\s+no notes on stderr/);
});

test('explain --compare wraps the grid: --columns N per row, each target starting a row', () => {
  const size = (f: string) => {
    const p = pngjs.PNG.sync.read(readFileSync(f));
    return [p.width, p.height];
  };
  const run = (name: string, ...extra: string[]) => {
    const out = join(tmp, `${name}.png`);
    const r = runCli('explain', img, '--model', model, '--method', 'attention,cdam,rollout', '--target', '0,1', '--compare', '--quiet', '--out', out, ...extra);
    assert.is(r.code, 0, r.err);
    return size(out);
  };
  const [w4, h4] = run('cols-default'); // 4 panels a target: one row each
  const [w2, h2] = run('cols-2', '--columns', '2'); // two rows a target
  const [w3, h3] = run('cols-3', '--columns', '3'); // 3 + 1: the second target starts a new row
  assert.ok(w2! < w4! && h2! > h4!, `${w2}x${h2} vs ${w4}x${h4}`);
  assert.is(h3, h2, 'three per row still takes two rows a target');
  assert.ok(w3! > w2! && w3! < w4!);
  assert.is(runCli('explain', img, '--model', model, '--columns', '2').code, 2, '--columns needs --compare');
  assert.is(runCli('explain', img, '--model', model, '--compare', '--columns', '0').code, 2);
  assert.match(runCli('explain', '--help').out, /--columns N\s+pictures per row of a --compare grid/);
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));

test.run();
