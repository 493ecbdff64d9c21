// Runs the CLI on every hostile input of issue 12 (tiny crafted files) and
// prints a table: exit code, the first line of stderr, wall time and peak
// memory (GNU time's maximum resident set). Needs `npm run build` and
// /usr/bin/time. Usage: node tools/probe-hostile.mjs
import { spawnSync, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, copyFileSync, rmSync, symlinkSync, unlinkSync, statSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as zlib from 'node:zlib';
import jpegjs from 'jpeg-js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const build = (p) => join(repo, 'build', p);
const { encodePng } = await import(build('src/io/png.js'));
const { writeSafetensors, openSafetensors, bufferSource } = await import(build('src/io/safetensors.js'));
const { copyModel, editConfig, editTensors, removeModels } = await import(build('test/support/models.js'));
const { raw } = await import(build('test/support/safetensors.js'));
const { withIdat } = await import(build('test/support/bytes.js'));

const tmp = mkdtempSync(join(tmpdir(), 'cdam-probe-'));
const file = (name, bytes) => {
  const p = join(tmp, name);
  writeFileSync(p, bytes);
  return p;
};
const model = join(repo, 'test/fixtures/vit/timm_plain');
const photo = join(repo, 'examples/catcoffee_224.png');
const fifo = join(tmp, 'fifo');
execFileSync('mkfifo', [fifo]);

/** The IHDR of a PNG rewritten to claim w x h (CRC recomputed). */
function claim(png, w, h) {
  const b = Buffer.from(png);
  b.writeUInt32BE(w, 16);
  b.writeUInt32BE(h, 20);
  b.writeUInt32BE(zlib.crc32(b.subarray(12, 29)), 29);
  return b;
}
const grey = (w, h) => encodePng({ width: w, height: h, data: new Uint8Array(w * h * 3).fill(128), channels: 3 });
const rgb20 = encodePng({ width: 20, height: 20, data: new Uint8Array(1200).map((_, i) => (i * 31) % 251), channels: 3 });
const jpeg64 = jpegjs.encode({ width: 64, height: 64, data: new Uint8Array(64 * 64 * 4).map((_, i) => (i * 7) % 256) }, 80).data;
const jpeg9000 = Uint8Array.from(jpeg64);
const sof = jpeg9000.findIndex((b, i) => b === 0xff && jpeg9000[i + 1] === 0xc0);
jpeg9000.set([9000 >> 8, 9000 & 255, 9000 >> 8, 9000 & 255], sof + 5);
const tiny9000 = claim(grey(1, 1), 9000, 9000);

const withWeights = (bytes) => {
  const d = copyModel();
  writeFileSync(join(d, 'model.safetensors'), bytes);
  return d;
};
const withConfig = (edit) => {
  const d = copyModel();
  editConfig(d, edit);
  return d;
};
const linked = (name, target) => {
  const d = copyModel();
  unlinkSync(join(d, name));
  symlinkSync(target, join(d, name));
  return d;
};
const t1 = (o) => `{"dtype":"F32","shape":[1],"data_offsets":[${o},${o + 4}]}`;
const nanWeights = copyModel();
editTensors(nanWeights, (t) => (t['blocks.1.mlp.fc1.weight'].data[5] = NaN));
const otherHeadNan = copyModel();
editTensors(otherHeadNan, (t) => (t['head.weight'].data[t['head.weight'].shape[1] * 3] = NaN));
const noRows = copyModel();
editTensors(noRows, (t) => {
  t['head.weight'] = { dtype: 'F32', shape: [0, 16], data: new Float32Array(0) };
  t['head.bias'] = { dtype: 'F32', shape: [0], data: new Float32Array(0) };
});
editConfig(noRows, (c) => {
  delete c.num_classes;
  delete c.id2label;
});
const dim = openSafetensors(bufferSource(readFileSync(join(model, 'model.safetensors')), 'm'))
  .info('cls_token')
  .shape.at(-1);
const nanConcept = file(
  'nan.concept',
  writeSafetensors({ concept: { dtype: 'F32', shape: [dim], data: new Float32Array(dim).fill(NaN) } }, { format: 'cdam-concept' }),
);
const m = ['--model', model];

/** [input, file size in bytes or '', args] */
const cases = [
  ['1 x 3000 PNG, crop', grey(1, 3000).length, ['classify', file('thin3000.png', grey(1, 3000)), '--resize', 'crop']],
  ['1 x 5000 PNG, crop', grey(1, 5000).length, ['classify', file('thin5000.png', grey(1, 5000)), '--resize', 'crop']],
  ['1 x 3000 PNG, squash', grey(1, 3000).length, ['classify', join(tmp, 'thin3000.png')]],
  ['PNG claiming 9000 x 9000', tiny9000.length, ['classify', file('claims9000.png', tiny9000)]],
  ['JPEG claiming 9000 x 9000', jpeg9000.length, ['classify', file('claims9000.jpg', jpeg9000)]],
  [
    'PNG, IDAT cut in half',
    0,
    [
      'classify',
      file(
        'cut.png',
        withIdat(rgb20, (d) => d.subarray(0, d.length >> 1)),
      ),
    ],
  ],
  [
    'PNG, complete stream of half the rows',
    0,
    [
      'classify',
      file(
        'half.png',
        withIdat(rgb20, (d) => zlib.deflateSync(zlib.inflateSync(d).subarray(0, 610))),
      ),
    ],
  ],
  ['image = /dev/zero', '', ['classify', '/dev/zero']],
  ['image = /dev/urandom', '', ['classify', '/dev/urandom']],
  ['image = FIFO', '', ['classify', fifo]],
  ['config.json -> /dev/zero', '', ['classify', photo, '--model', linked('config.json', '/dev/zero')]],
  ['model.safetensors = FIFO', '', ['classify', photo, '--model', linked('model.safetensors', fifo)]],
  ['--concept FIFO', '', ['explain', photo, ...m, '--concept', fifo]],
  ['--concept folder missing', '', ['explain', photo, ...m, '--concept', join(tmp, 'no-such-folder')]],
  ['NaN weight in a block', '', ['classify', photo, '--model', nanWeights]],
  ["NaN in another class's head row", '', ['explain', photo, '--model', otherHeadNan, '--target', '0']],
  ['zero std', '', ['classify', photo, '--model', withConfig((c) => (c.pretrained_cfg.std = [0.5, 0, 0.5]))]],
  ['--noise 1e30', '', ['explain', photo, ...m, '--method', 'smooth-cdam', '--noise', '1e30']],
  ['NaN concept file', '', ['explain', photo, ...m, '--concept', nanConcept]],
  ['safetensors: duplicate name', '', ['classify', photo, '--model', withWeights(raw(`{"w":${t1(0)},"w":${t1(4)}}`, new Uint8Array(8)))]],
  ['safetensors abuse 1 (length lies)', '', ['classify', photo, '--model', withWeights(raw('{}', new Uint8Array(0), 2 ** 40))]],
  ['safetensors abuse 2 (10 M entries)', '', ['classify', photo, '--model', withWeights(raw('{', new Uint8Array(0), 600_000_000))]],
  [
    'safetensors abuse 3 (100 k aliased)',
    '',
    [
      'classify',
      photo,
      '--model',
      withWeights(
        raw(
          `{${Array.from({ length: 100_000 }, (_, i) => `"w${i}":{"dtype":"F32","shape":[200,200],"data_offsets":[0,160000]}`).join(',')}}`,
          new Uint8Array(160000),
        ),
      ),
    ],
  ],
  ['--json a.json --out /missing/x.png', '', ['explain', photo, ...m, '--json', join(tmp, 'a.json'), '--out', '/missing/x.png']],
  ['--json P --out P', '', ['explain', photo, ...m, '--json', join(tmp, 'p.png'), '--out', join(tmp, 'p.png')]],
  ['crop_pct 0', '', ['classify', photo, '--model', withConfig((c) => (c.pretrained_cfg.crop_pct = 0))]],
  ['input_size as strings', '', ['classify', photo, '--model', withConfig((c) => (c.pretrained_cfg.input_size = [3, '16', '16']))]],
  ['1.5 heads', '', ['classify', photo, '--model', withConfig((c) => (c.model_args.num_heads = 1.5))]],
  ['-3 heads', '', ['classify', photo, '--model', withConfig((c) => (c.model_args.num_heads = -3))]],
  ['--target ""', '', ['explain', photo, ...m, '--target', '']],
  ['head with zero rows', '', ['classify', photo, '--model', noRows]],
  [
    'config.json not JSON (secret text)',
    '',
    [
      'classify',
      photo,
      '--model',
      (() => {
        const d = copyModel();
        writeFileSync(join(d, 'config.json'), 'SECRET-abc not json');
        return d;
      })(),
    ],
  ],
];

const cli = join(repo, 'build/src/cli/main.js');
const rows = [];
for (const [what, size, args] of cases) {
  const r = spawnSync('/usr/bin/time', ['-f', 'TIME %M %e', process.execPath, cli, ...args], {
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, CDAM_BACKEND: 'js' },
  });
  const t = /TIME (\d+) ([\d.]+)/.exec(r.stderr ?? '');
  const err =
    (r.stderr ?? '')
      .split('\n')
      .filter((l) => l && !l.startsWith('TIME') && !l.startsWith('Command exited'))
      .find((l) => /error|cdam:/i.test(l)) ?? '';
  const input = args[1];
  const bytes = size || (input?.startsWith(tmp) && statSync(input, { throwIfNoEntry: false })?.isFile() ? statSync(input).size : '');
  rows.push({
    what,
    size: bytes,
    code: r.signal ? r.signal : r.status,
    ms: t ? Math.round(Number(t[2]) * 1000) : NaN,
    mb: t ? Math.round(Number(t[1]) / 1024) : NaN,
    err: err.replace(tmp, '$TMP').replace(repo, '.').slice(0, 150),
  });
}
// the stdout-closed case needs a shell pipe
{
  const r = spawnSync('bash', ['-c', `/usr/bin/time -f 'TIME %M %e' node ${cli} classify ${photo} --top 1000 | head -1 >/dev/null`], { encoding: 'utf8' });
  const t = /TIME (\d+) ([\d.]+)/.exec(r.stderr);
  rows.push({
    what: 'classify | head -1',
    size: '',
    code: r.stderr.includes('EPIPE') ? 'EPIPE trace' : 'quiet',
    ms: t ? Math.round(Number(t[2]) * 1000) : NaN,
    mb: t ? Math.round(Number(t[1]) / 1024) : NaN,
    err: r.stderr
      .replace(/TIME.*\n?/, '')
      .trim()
      .slice(0, 100),
  });
}

console.log('| input | file bytes | exit | ms | peak MB | message |');
console.log('|---|---:|---:|---:|---:|---|');
for (const r of rows) console.log(`| ${r.what} | ${r.size || ''} | ${r.code} | ${r.ms} | ${r.mb} | ${r.err.replace(/\|/g, '\\|')} |`);
console.log(`\nlargest peak: ${Math.max(...rows.map((r) => r.mb))} MB`);
removeModels();
rmSync(tmp, { recursive: true, force: true });
