// Every CDAM-family method against PyTorch (tools/make_cdam_small_fixtures.py)
// on the small generated models: registers + LayerScale, Hugging Face layout,
// a distillation token. They ship with the repository, so this runs on every
// clone, on every backend (wasm with every call in wasm), with both score
// engines; maps agree within 1e-4 of max|s|.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { withBackend } from '../src/kernels/index.js';
import { Explainer } from '../src/cdam/explainer.js';
import { loadViTFolder } from '../src/vit/load.js';
import { loadJson, decode, relErr, repoPath, type Encoded } from './support/fixtures.js';
import { parityBackends, ownCalls } from './support/backends.js';

interface ModelFx {
  num_prefix: number;
  attention: number[];
  attention_heads: number[][];
  cdam: Record<string, number[]>;
  cdam_diff: number[];
  integrated: { m: number; target: number; map: number[] };
  smooth: { n: number; nu: number; seed: number; target: number; map: number[] };
}
const fx = loadJson<{ targets: [number, number]; models: Record<string, ModelFx> }>('test/fixtures/cdam/small_models.json');
const TOL = 1e-4;
const [A, B] = fx.targets;

function close(a: Float32Array, b: number[], what: string) {
  const e = relErr(a, b);
  assert.ok(e < TOL, `${what}: error ${e.toExponential(2)} of max|s|`);
}

for (const [name, m] of Object.entries(fx.models)) {
  const vit = loadViTFolder(repoPath(`test/fixtures/vit/${name}`));
  const input = decode(loadJson<{ input: Encoded }>(`test/fixtures/vit/${name}/expected.json`).input);
  for (const be of parityBackends()) {
    for (const engine of ['closed-form', 'autograd'] as const) {
      test(`${name}: every CDAM-family method vs torch on ${be} (${engine})`, () => {
        assert.is(vit.numPrefix, m.num_prefix);
        const before = ownCalls(be);
        withBackend(be, () => {
          const ex = new Explainer(vit, input, engine);
          close(ex.attention().map.values, m.attention, 'attention');
          m.attention_heads.forEach((h, i) => close(ex.attention(i).map.values, h, `attention head ${i}`));
          for (const c of [A, B]) close(ex.cdam({ kind: 'class', index: c }).map.values, m.cdam[String(c)]!, `cdam ${c}`);
          close(ex.cdam({ kind: 'difference', a: B, b: A }).map.values, m.cdam_diff, `cdam ${B}-${A}`);
          const it = m.integrated;
          close(ex.integrated({ kind: 'class', index: it.target }, { steps: it.m, batch: 3 }).map.values, it.map, 'integrated');
          const s = m.smooth;
          close(ex.smooth({ kind: 'class', index: s.target }, { samples: s.n, noise: s.nu, seed: s.seed, batch: 3 }).map.values, s.map, 'smooth');
        });
        if (be !== 'js') assert.ok(ownCalls(be) > before, `${be} ran its own kernels`);
      });
    }
  }
}

test.run();
