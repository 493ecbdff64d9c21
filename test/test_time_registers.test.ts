// Test-time registers (Jiang et al., NeurIPS 2025): the model with one extra
// zero token and the register-neuron intervention, held to the PyTorch
// reference that runs the authors' own hook (tools/make_ttr_fixtures.py): on
// the small generated models (plain, registers + LayerScale, distillation
// token) on every backend, and on the embedded ViT-Ti with the cat|espresso
// photo (logits, token norms, attention, CDAM, input x gradient, relevance,
// rollout), within 1e-4 of max|s|. The intervention's gradient: PyTorch's on a
// toy with a tie, and finite differences in float64. The neuron finder gives
// the committed neurons on the committed calibration images. The file format
// and the command line.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useFastestBackend } from '../src/kernels/default.js';
import { withBackend } from '../src/kernels/index.js';
import { Explainer } from '../src/cdam/explainer.js';
import { METHODS, runMethod, methodInfo } from '../src/methods/registry.js';
import { grad, noGrad, enableGrad } from '../src/autograd/index.js';
import { Tensor, tensor, randn } from '../src/tensor/index.js';
import { registerIntervention } from '../src/vit/block.js';
import { loadViTFolder } from '../src/vit/load.js';
import { prepareImage } from '../src/vit/preprocess.js';
import { readImageFile } from '../src/io/image.js';
import { InputError } from '../src/io/errors.js';
import { openSafetensors, bufferSource } from '../src/io/safetensors.js';
import {
  findRegisterNeurons,
  parseTestTimeRegisters,
  readTestTimeRegisters,
  formatTestTimeRegisters,
  probeForward,
  tokenNorms,
  applyTestTimeRegisters,
} from '../src/vit/registers.js';
import type { ViT } from '../src/vit/model.js';
import { loadJson, decode, relErr, repoPath, type Encoded } from './support/fixtures.js';
import { parityBackends, ownCalls } from './support/backends.js';
import { gradcheck } from './support/gradcheck.js';
import { sharedTest } from './support/shared.js';
import { spawnSync } from 'node:child_process';
import { catcoffee } from './support/real.js';

useFastestBackend();
const TOL = 1e-4;

/** The built command as a user runs it, on the default (fastest) backend: these runs push the real ViT-Ti through it. */
function runCli(...args: string[]) {
  const env = { ...process.env };
  delete env['CDAM_BACKEND'];
  const r = spawnSync(process.execPath, [repoPath('build/src/cli/main.js'), ...args], { encoding: 'utf8', env });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function close(a: ArrayLike<number>, b: ArrayLike<number>, what: string, tol = TOL) {
  const e = relErr(a, b);
  assert.ok(e < tol, `${what}: error ${e.toExponential(2)} of max|s|`);
}

interface SmallFx {
  neurons: Record<string, number[]>;
  target: number;
  toy: { neurons: number[]; token: number; h: number[]; w: number[]; out: number[]; grad: number[]; shape: number[] };
  models: Record<string, { logits: number[]; logits_ttr: number[]; input_x_grad_ttr: number[]; cdam_ttr: number[]; norms_ttr: number[] }>;
}
const small = loadJson<SmallFx>('test/fixtures/ttr/small_models.json');
const smallNeurons = Object.entries(small.neurons).flatMap(([l, ns]) => ns.map((n) => ({ layer: Number(l), neuron: n })));

/** Their token order ([CLS], prefix, patches, register) -> ours ([CLS], prefix, register, patches). */
function theirOrder(ours: ArrayLike<number>, token: number): number[] {
  const a = Array.from(ours);
  return [...a.slice(0, token), ...a.slice(token + 1), a[token]!];
}

test('the hook alone: output and gradient equal PyTorch autograd through their in-place hook (a tie at the max; a negative sign_max)', () => {
  const t = small.toy;
  const h = tensor(t.h, t.shape, 'float64').requireGrad();
  const spec = { neurons: t.neurons, token: t.token, scale: 1 };
  const out = enableGrad(() => registerIntervention(h, spec));
  close(out.toArray(), t.out, 'output', 1e-12);
  const [g] = grad(out, [h], tensor(t.w, t.shape, 'float64'));
  close(g!.toArray(), t.grad, 'gradient', 1e-12);
  // the tie: torch gives each of the two maxima half of the register entries' gradient
  const G = g!.toArray();
  const W = t.w;
  const regSum = t.neurons.reduce((s, j) => s + W[t.token * 6 + j]!, 0);
  assert.ok(Math.abs(G[0 * 6 + 1]! - (W[0 * 6 + 1]! + regSum / 2)) < 1e-12, "[CLS] keeps its own gradient plus half the register's");
  assert.ok(Math.abs(G[2 * 6 + 4]! - regSum / 2) < 1e-12, 'the zeroed patch entry gets only its half');
});

test('finite differences (float64): the intervention, and the input gradient of small models with a test-time register', () => {
  const h = randn([2, 7, 9], 11, 'float64');
  for (const token of [6, 2, 9]) {
    // the register the last row, a middle row, and (read-out mode) not among the rows
    const e = gradcheck(
      (xs) => registerIntervention(xs['h']!, { neurons: [0, 4, 5], token, scale: 1.5 }),
      { h: new Tensor(Float64Array.from(h.data), h.shape) },
      ['h'],
    );
    assert.ok(e < 1e-7, `intervention, register row ${token}: relative error ${e}`);
  }
  for (const name of Object.keys(small.models)) {
    const vit = loadViTFolder(repoPath(`test/fixtures/vit/${name}`))
      .to('float64')
      .withTestTimeRegister(smallNeurons);
    const input = decode(loadJson<{ input: Encoded }>(`test/fixtures/vit/${name}/expected.json`).input, 'float64');
    const e = gradcheck((xs) => vit.forward(xs['x']!).logits!, { x: input }, ['x']);
    assert.ok(e < 1e-6, `${name}: relative error ${e}`);
  }
});

for (const [name, m] of Object.entries(small.models)) {
  const base = loadViTFolder(repoPath(`test/fixtures/vit/${name}`));
  const vit = base.withTestTimeRegister(smallNeurons);
  const input = decode(loadJson<{ input: Encoded }>(`test/fixtures/vit/${name}/expected.json`).input);
  for (const be of parityBackends()) {
    test(`${name} with a test-time register vs torch on ${be}: logits, token norms, CDAM, input x gradient`, () => {
      const before = ownCalls(be);
      withBackend(be, () => {
        assert.is(vit.numPrefix, base.numPrefix + 1);
        close(noGrad(() => base.forward(input).logits!).toArray(), m.logits, 'logits without');
        close(noGrad(() => vit.forward(input).logits!).toArray(), m.logits_ttr, 'logits with');
        const ex = new Explainer(vit, input);
        close(theirOrder(tokenNorms(ex.x), base.numPrefix), m.norms_ttr, 'norms of the last block input');
        for (const engine of ['closed-form', 'autograd'] as const) {
          close(new Explainer(vit, input, engine).cdam({ kind: 'class', index: small.target }).map.values, m.cdam_ttr, `cdam (${engine})`);
        }
        close(runMethod(ex, 'input-x-grad', { kind: 'class', index: small.target })[0]!.map.values, m.input_x_grad_ttr, 'input x gradient');
      });
      if (be !== 'js') assert.ok(ownCalls(be) > before, `${be} ran its own kernels`);
    });
  }
}

// ---- the embedded ViT-Ti ---------------------------------------------------------
const embeddedFile = repoPath('weights/test_time_registers.json');
const real = catcoffee();
const ttr = applyTestTimeRegisters(real.vit, readTestTimeRegisters(embeddedFile, real.vit));
const fx = openSafetensors(bufferSource(readFileSync(repoPath('test/fixtures/ttr/catcoffee_vit_tiny.safetensors')), 'catcoffee_vit_tiny'));
const want = (k: string) => Array.from(fx.readF32(k));

test("ViT-Ti on cat|espresso: logits and the last block input's token norms with and without the register match torch; the corners go from 350-530 to about 20", () => {
  const input = real.prepared.input;
  close(new Explainer(real.vit, input).logits()!, want('logits'), 'logits without');
  const ex = new Explainer(ttr, input);
  close(ex.logits()!, want('logits.ttr'), 'logits with');
  const before = tokenNorms(new Explainer(real.vit, input).x);
  const after = tokenNorms(ex.x);
  close(before, want('norms'), 'norms without');
  close(theirOrder(after, 1), want('norms.ttr'), 'norms with');
  for (const c of [1, 14, 183, 196]) {
    assert.ok(before[c]! > 300, `corner ${c} before: ${before[c]}`);
    assert.ok(after[c + 1]! < 30, `corner ${c} after: ${after[c + 1]}`);
  }
  assert.ok(after[1]! > 300, `the register carries the high norm (${after[1]})`);
  assert.is(new Explainer(real.vit, input).highNormTokens().length, 4);
  assert.is(ex.highNormTokens().length, 0);
});

test('ViT-Ti with the register: attention (and to the register), CDAM (both engines), input x gradient, relevance and rollout match torch', () => {
  const input = real.prepared.input;
  const ex = new Explainer(ttr, input);
  close(ex.attention().map.values, want('attention.ttr'), 'attention');
  const A = ex['base']().parts.attn.toArray();
  const n = 198;
  close(
    [0, 1, 2].map((h) => A[h * n + 1]!),
    want('attention_register.ttr'),
    'attention of [CLS] to the register',
  );
  for (const engine of ['closed-form', 'autograd'] as const) {
    const e = new Explainer(ttr, input, engine);
    for (const c of [285, 967]) close(e.cdam({ kind: 'class', index: c }).map.values, want(`cdam.ttr.${c}`), `cdam ${c} (${engine})`);
  }
  const t = { kind: 'class' as const, index: 285 };
  close(runMethod(ex, 'input-x-grad', t)[0]!.map.values, want('input-x-grad.ttr.285'), 'input x gradient');
  close(runMethod(ex, 'relevance', t)[0]!.map.values, want('relevance.ttr.285'), 'relevance');
  close(runMethod(ex, 'rollout', t)[0]!.map.values, want('rollout.ttr'), 'rollout');
});

test('every path applies the intervention: forward with no tape (fused kernels), on the tape, traced, traced with fused attention', () => {
  const input = real.prepared.input;
  const ref = want('logits.ttr');
  close(noGrad(() => ttr.forward(input).logits!).toArray(), ref, 'no tape');
  const x = new Tensor(Float32Array.from(input.contiguousData()), input.shape).requireGrad();
  close(enableGrad(() => ttr.forward(x).logits!).toArray(), ref, 'on the tape');
  close(enableGrad(() => ttr.forward(x, { attentions: 'composite' }).head.logits!).toArray(), ref, 'traced');
  close(enableGrad(() => ttr.forward(x, { attentions: 'fused' }).head.logits!).toArray(), ref, 'traced, fused attention');
  close(noGrad(() => ttr.forward(input, { attentions: 'composite' }).head.logits!).toArray(), ref, 'traced with no tape');
  // the plain model is untouched by the copy
  close(noGrad(() => real.vit.forward(input).logits!).toArray(), want('logits'), 'the model without');
});

test('every method runs on the model with the register: finite maps of the patch or pixel grid', () => {
  const ex = new Explainer(ttr, real.prepared.input);
  for (const m of METHODS) {
    const r = runMethod(ex, m, { kind: 'class', index: 285 }, { samples: 2, steps: 3 })[0]!;
    const size = methodInfo(m).level === 'patch' ? 196 : 224 * 224;
    assert.is(r.map.values.length, size, `${m}: size`);
    assert.ok(r.map.values.every(Number.isFinite), `${m}: finite`);
  }
});

// ---- finding the neurons ---------------------------------------------------------------
function calibrationInputs(vit: ViT, images: string[]): Tensor[] {
  return images.map((p) => prepareImage(readImageFile(repoPath(p)), vit.config.preprocess, 'squash').input);
}

function sameNeurons(vit: ViT, file: string) {
  const saved = readTestTimeRegisters(file, vit);
  const s = saved.settings;
  const found = findRegisterNeurons(vit, calibrationInputs(vit, s.images), {
    threshold: s.threshold,
    detectLayer: s.detectLayer,
    topK: s.topK,
    lowestLayer: s.lowestLayer,
    sparsityFilter: s.sparsityFilter,
    sparsityFraction: s.sparsityFraction,
    sparsityActivation: s.sparsityActivation,
  });
  assert.is(found.settings.highestLayer, s.highestLayer, 'the layer where the outliers appear');
  assert.is(found.settings.imagesWithOutliers, s.imagesWithOutliers);
  assert.equal(
    found.neurons.map((n) => [n.layer, n.neuron]),
    saved.neurons.map((n) => [n.layer, n.neuron]),
    file,
  );
  close(
    found.neurons.map((n) => n.score),
    saved.neurons.map((n) => n.score),
    'scores',
  );
  return found;
}

test('the finder returns the committed neurons of the embedded model on its calibration images (examples/)', () => {
  const found = sameNeurons(real.vit, embeddedFile);
  assert.equal(found.neurons[0], { layer: 7, neuron: 417, score: found.neurons[0]!.score });
  assert.ok(found.neurons[0]!.score > 20 * found.neurons[1]!.score, 'one neuron dominates');
});

sharedTest(
  'the finder returns the committed neurons of the shared ViT-Ti and DeiT-Ti',
  ['weights/vit_tiny_patch16_224.augreg_in21k_ft_in1k/config.json', 'weights/deit_tiny_patch16_224.fb_in1k/config.json'],
  (a, b) => {
    for (const [cfg, name] of [
      [a, 'vit_tiny_patch16_224.augreg_in21k_ft_in1k'],
      [b, 'deit_tiny_patch16_224.fb_in1k'],
    ] as const) {
      const vit = loadViTFolder(cfg.replace(/config\.json$/, ''));
      sameNeurons(vit, repoPath(`weights/test-time-registers/${name}.json`));
    }
  },
);

test('the finder refuses when no image has an outlier, and checks its options', () => {
  const inputs = calibrationInputs(real.vit, ['examples/chelsea.png']);
  assert.throws(() => findRegisterNeurons(real.vit, inputs, { threshold: 1e4 }), /no calibration image has a token with a norm above 10000/);
  assert.throws(() => findRegisterNeurons(real.vit, inputs, { topK: 0 }), /topK/);
  assert.throws(() => findRegisterNeurons(real.vit, [], {}), /no calibration images/);
  assert.throws(() => findRegisterNeurons(ttr, inputs, {}), /without a test-time register/);
  assert.throws(() => real.vit.withTestTimeRegister([{ layer: 12, neuron: 0 }]), /layer 12 is out of range/);
  assert.throws(() => real.vit.withTestTimeRegister([{ layer: 1, neuron: 768 }]), /neuron 768 of layer 1 is out of range/);
  assert.throws(() => ttr.withTestTimeRegister([{ layer: 1, neuron: 1 }]), /already has/);
  // the probe of the plain model: block 7 makes the corners
  const { outputs } = probeForward(real.vit, inputs[0]!);
  assert.ok(tokenNorms(outputs[6]!)[1]! < 50 && tokenNorms(outputs[7]!)[1]! > 300);
});

// ---- the file ----------------------------------------------------------------------------
test('register files: round trip, and every bad file is an InputError naming it', () => {
  const text = readFileSync(embeddedFile, 'utf8');
  const r = parseTestTimeRegisters(text, 'f.json', real.vit);
  assert.is(formatTestTimeRegisters(r), text, 'format(parse(file)) is the file');
  const bad = (t: string, re: RegExp, vit: ViT | undefined = real.vit) => {
    try {
      parseTestTimeRegisters(t, 'bad.json', vit);
      assert.unreachable(`accepted: ${t.slice(0, 60)}`);
    } catch (e) {
      assert.instance(e, InputError);
      assert.is((e as InputError).file, 'bad.json');
      assert.match((e as Error).message, /^bad\.json: /);
      assert.match((e as Error).message, re);
    }
  };
  const edit = (f: (j: any) => void) => {
    const j = JSON.parse(text);
    f(j);
    return JSON.stringify(j);
  };
  bad('{"format": ', /not valid JSON/);
  bad('[1, 2]', /expected a JSON object/);
  bad('{"format": "something"}', /not a test-time register file/);
  bad(
    edit((j) => (j.version = 2)),
    /version 2 is not supported/,
  );
  bad(
    edit((j) => (j.neurons = [])),
    /non-empty list/,
  );
  bad(
    edit((j) => (j.neurons[0].layer = 12)),
    /neurons\[0\]\.layer must be an integer in \[0, 11\], got 12/,
  );
  bad(
    edit((j) => (j.neurons[1].neuron = -1)),
    /neurons\[1\]\.neuron/,
  );
  bad(
    edit((j) => (j.neurons[1] = j.neurons[0])),
    /listed twice/,
  );
  bad(
    edit((j) => (j.scale = 'big')),
    /"scale" must be a finite number/,
  );
  const tiny = loadViTFolder(repoPath('test/fixtures/vit/timm_plain'));
  bad(text, /made for a model with 12 blocks, width 192 and MLP 768 .* this model has 2, 16 and 32/, tiny);
  const dir = mkdtempSync(join(tmpdir(), 'cdam-ttr-'));
  try {
    const p = join(dir, 'x.json');
    writeFileSync(p, Uint8Array.from([0xff, 0xfe, 0x00]));
    assert.throws(
      () => readTestTimeRegisters(p),
      (e: unknown) => e instanceof InputError && e.file === p && /not UTF-8/.test((e as Error).message),
    );
    assert.throws(
      () => readTestTimeRegisters(join(dir, 'none.json')),
      (e: unknown) => e instanceof InputError && /no such file/.test((e as Error).message),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---- the command line -----------------------------------------------------------------
test('cdam registers writes the file; classify and explain take --test-time-register [FILE]; bad files exit 1 naming the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cdam-ttr-'));
  try {
    const file = join(dir, 'n.json');
    let r = runCli('registers', '--images', repoPath('examples/chelsea.png'), repoPath('examples/coffee.png'), '--top-k', '3', '--out', file, '--quiet');
    assert.is(r.code, 0, r.err);
    assert.match(r.out, /block +7 +neuron +417/);
    const saved = readTestTimeRegisters(file, real.vit);
    assert.equal(
      saved.neurons.map((n) => [n.layer, n.neuron]),
      [
        [7, 417],
        [6, 189],
        [6, 59],
      ],
    );
    assert.is(saved.settings.topK, 3);
    r = runCli('classify', repoPath('examples/chelsea.png'), '--test-time-register', file, '--top', '1');
    assert.is(r.code, 0, r.err);
    assert.match(r.out, /\+ test-time register \(3 neurons in blocks 6, 7;/);
    assert.match(r.out, /285\s+Egyptian cat/);
    // the default: weights/test_time_registers.json beside the embedded model
    r = runCli('classify', repoPath('examples/chelsea.png'), '--test-time-register', '--top', '1');
    assert.is(r.code, 0, r.err);
    assert.match(r.out, /10 neurons in blocks 1, 4, 5, 6, 7; .*weights\/test_time_registers\.json/);
    r = runCli('explain', repoPath('examples/catcoffee_224.png'), `--test-time-register=${file}`, '--json', join(dir, 'm.json'), '--quiet');
    assert.is(r.code, 0, r.err);
    assert.is(JSON.parse(readFileSync(join(dir, 'm.json'), 'utf8')).map.values.length, 196);
    // bad files
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{"format": "cdam-test-time-registers", "version": 1}');
    r = runCli('classify', repoPath('examples/chelsea.png'), '--test-time-register', broken);
    assert.is(r.code, 1);
    assert.match(r.err, new RegExp(`${broken.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: "model" must be an object`));
    r = runCli('classify', repoPath('examples/chelsea.png'), '--model', repoPath('test/fixtures/vit/timm_plain'), '--test-time-register');
    assert.is(r.code, 1);
    assert.match(r.err, /no test-time register file/);
    r = runCli('registers', '--out', join(dir, 'x.json'));
    assert.is(r.code, 2);
    r = runCli('registers', repoPath('examples/chelsea.png'), '--threshold', '100000', '--out', join(dir, 'x.json'));
    assert.is(r.code, 1);
    assert.match(r.err, /no calibration image/);
    assert.not.ok(existsSync(join(dir, 'x.json')), 'nothing written');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
