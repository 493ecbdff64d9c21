// The embedded model (weights/) and the sample photos (examples/), through the
// package API: they ship with the repository, so these run on every clone.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { loadViT, explainImage, classifyImage, readImageFile, activeBackend } from '../src/index.js';
import { loadViTFromBytes, EMBEDDED_MODEL_URL } from '../src/model.js';
import { float32ToF16Bits, writeSafetensors, openSafetensors, bufferSource } from '../src/io/safetensors.js';
import { Explainer } from '../src/cdam/explainer.js';
import { runMethod } from '../src/methods/registry.js';
import { repoPath, relErr } from './support/fixtures.js';
import { catcoffee } from './support/real.js';

const weights = (f: string) => repoPath(`weights/${f}`);

test('the model card names the sha256 of the shipped file, its licence and the F16 figures', () => {
  const card = readFileSync(weights('README.md'), 'utf8');
  const sha = createHash('sha256')
    .update(readFileSync(weights('model.safetensors')))
    .digest('hex');
  assert.ok(card.includes(sha), `weights/README.md should give sha256 ${sha}`);
  assert.match(card, /Apache-2\.0/);
  assert.match(readFileSync(weights('LICENSE'), 'utf8'), /Apache License\s+Version 2\.0/);
  assert.match(card, /top-1 identical in every case/);
  const cfg = JSON.parse(readFileSync(weights('config.json'), 'utf8'));
  assert.is(cfg.label_names.length, 1000);
  assert.is(cfg.label_names[285], 'Egyptian cat');
});

test('every embedded tensor is F16', () => {
  const f = openSafetensors(bufferSource(readFileSync(weights('model.safetensors')), 'weights'));
  assert.is(f.names().length, 152);
  for (const n of f.names()) assert.is(f.info(n).dtype, 'F16', n);
  f.close();
});

test('F16 writer: every half value round-trips; ties go to even; overflow and underflow', () => {
  const all = new Float32Array(65536);
  const bits = new Uint16Array(65536).map((_, i) => i);
  const raw = new Uint8Array(bits.buffer);
  // decode every pattern with the reader, then encode again
  const hdr = JSON.stringify({ h: { dtype: 'F16', shape: [65536], data_offsets: [0, raw.length] } });
  const hb = new TextEncoder().encode(hdr);
  const file = new Uint8Array(8 + hb.length + raw.length);
  new DataView(file.buffer).setUint32(0, hb.length, true);
  file.set(hb, 8);
  file.set(raw, 8 + hb.length);
  all.set(openSafetensors(bufferSource(file, 'all')).readF32('h'));
  for (let h = 0; h < 65536; h++) {
    const v = all[h]!;
    if (Number.isNaN(v)) assert.ok((float32ToF16Bits(v) & 0x7c00) === 0x7c00 && (float32ToF16Bits(v) & 0x3ff) !== 0);
    else assert.is(float32ToF16Bits(v), h, `pattern ${h.toString(16)}`);
  }
  const cases: [number, number][] = [
    [1 + 2 ** -11, 0x3c00], // halfway between 1 and the next half: to even (1)
    [1 + 3 * 2 ** -11, 0x3c02], // halfway, odd below: up
    [65504, 0x7bff], // largest half
    [65520, 0x7c00], // halfway to 2^16: rounds to even, which overflows to Infinity
    [2 ** -25, 0x0000], // half the smallest subnormal: to even (0)
    [3 * 2 ** -26, 0x0001], // above half: the smallest subnormal
    [-(2 ** -24), 0x8001],
    [1e-10, 0x0000],
  ];
  for (const [v, h] of cases) assert.is(float32ToF16Bits(v), h, `${v}`);
  const bytes = writeSafetensors({ x: { dtype: 'F16', shape: [3], data: new Float32Array([0.1, -2, 3.14159]) } });
  const back = openSafetensors(bufferSource(bytes, 'x')).readF32('x');
  assert.equal(Array.from(back), [0.0999755859375, -2, 3.140625]);
});

test('the package API classifies the sample photos with the embedded model', async () => {
  const vit = await loadViT();
  for (const [file, want] of [
    ['chelsea.png', 285],
    ['coffee.png', 967],
  ] as const) {
    const r = await classifyImage(vit, readImageFile(repoPath(`examples/${file}`)), { top: 3 });
    assert.is(r.top[0]!.index, want, `${file}: ${JSON.stringify(r.top)}`);
    assert.ok(r.top[0]!.prob > 0.5 && r.top[0]!.prob <= 1);
    assert.match(r.preprocessing, /^squash/);
  }
});

test('explainImage: map shape, target by index or by name, and the backend it chose', async () => {
  const vit = await loadViT();
  const img = readImageFile(repoPath('examples/catcoffee_224.png'));
  const r = await explainImage(vit, img, { method: 'cdam', target: 285 });
  assert.is(r.map.rows, 14);
  assert.is(r.map.cols, 14);
  assert.is(r.map.values.length, 196);
  assert.is(r.target, '285 Egyptian cat');
  assert.is(r.top[0]!.index, 967);
  assert.is(r.backend, activeBackend());
  const byName = await explainImage(vit, readFileSync(repoPath('examples/catcoffee_224.png')), { target: 'egyptian' });
  assert.equal(Array.from(byName.map.values), Array.from(r.map.values), 'a unique prefix names the same class; PNG bytes work as input');
  const top1 = await explainImage(vit, img);
  assert.is(top1.target, '967 espresso', 'default: the top-1 class');
  const heads = await explainImage(vit, img, { target: 285, perHead: true });
  assert.is(heads.maps.length, 3);
});

test('a library user gets the fastest backend without asking (child process, nothing set)', () => {
  const code = `import('${repoPath('build/src/index.js')}').then(async (c) => {
    const vit = await c.loadViT();
    const r = await c.explainImage(vit, c.readImageFile('${repoPath('examples/chelsea.png')}'), { target: 285 });
    console.log(JSON.stringify({ backend: r.backend, active: c.activeBackend(), rows: r.map.rows }));
  })`;
  const env = { ...process.env };
  delete env['CDAM_BACKEND'];
  const p = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', env });
  assert.is(p.status, 0, p.stderr);
  const r = JSON.parse(p.stdout.trim().split('\n').pop()!);
  assert.is(r.backend, 'wasm');
  assert.is(r.active, 'wasm');
  assert.is(r.rows, 14);
});

test('a model loads from bytes as from its folder', async () => {
  const a = await loadViT(EMBEDDED_MODEL_URL);
  const b = loadViTFromBytes({ safetensors: readFileSync(weights('model.safetensors')), config: readFileSync(weights('config.json'), 'utf8') });
  const c = await loadViT({
    safetensors: readFileSync(weights('model.safetensors')).buffer.slice(0),
    config: JSON.parse(readFileSync(weights('config.json'), 'utf8')),
  });
  const img = readImageFile(repoPath('examples/chelsea.png'));
  const la = (await classifyImage(a, img)).logits;
  assert.equal(Array.from((await classifyImage(b, img)).logits), Array.from(la));
  assert.equal(Array.from((await classifyImage(c, img)).logits), Array.from(la));
});

test('per-head CDAM: one closed-form term per head, summing to the CDAM map', () => {
  const { vit, prepared } = catcoffee();
  const ex = new Explainer(vit, prepared.input);
  const t = { kind: 'class', index: 285 } as const;
  const total = ex.cdam(t).map.values;
  const heads = runMethod(ex, 'cdam', t, { perHead: true });
  assert.equal(
    heads.map((h) => h.method),
    ['cdam-head0', 'cdam-head1', 'cdam-head2'],
  );
  const sum = new Float32Array(196);
  for (const h of heads) h.map.values.forEach((v, i) => (sum[i]! += v));
  assert.ok(relErr(sum, total) < 1e-6, `sum over heads vs the map: ${relErr(sum, total)}`);
  assert.ok(relErr(heads[0]!.map.values, total) > 1e-2, 'a head alone is not the whole map');
  for (const m of ['smooth-cdam', 'integrated-cdam'] as const) {
    const opts = { perHead: true, smooth: { samples: 4 }, integrated: { steps: 4 } };
    const hs = runMethod(ex, m, t, opts);
    const whole = runMethod(ex, m, t, { ...opts, perHead: false })[0]!.map.values;
    const s = new Float32Array(196);
    for (const h of hs) h.map.values.forEach((v, i) => (s[i]! += v));
    assert.ok(relErr(s, whole) < 1e-6, m);
  }
  const auto = new Explainer(vit, prepared.input, 'autograd');
  assert.throws(() => auto.cdam(t, { perHead: true }), /closed form/);
});

test('the four corner patches are the high-norm tokens of the embedded ViT-Ti', () => {
  const { vit, prepared } = catcoffee();
  const hn = new Explainer(vit, prepared.input).highNormTokens();
  assert.equal(
    hn.map((t) => `${t.row},${t.col}`),
    ['0,0', '0,13', '13,0', '13,13'],
  );
  for (const t of hn) assert.ok(t.norm > 300, `norm ${t.norm}`);
});

test.run();
