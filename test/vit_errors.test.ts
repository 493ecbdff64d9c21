// Bad model folders fail with a clear message naming the file and the problem.
import { test } from 'uvu';
import { writeFileSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadViTFolder } from '../src/vit/load.js';
import { writeSafetensors } from '../src/io/safetensors.js';
import { copyModel, editConfig, editTensors, removeModels } from './support/models.js';
import { expectError } from './support/expect.js';

test('config.json that is not JSON', () => {
  const d = copyModel();
  writeFileSync(join(d, 'config.json'), '{"architecture": ');
  expectError(() => loadViTFolder(d), 'config.json', 'not valid JSON');
});

test('missing files', () => {
  const d = copyModel();
  rmSync(join(d, 'model.safetensors'));
  expectError(() => loadViTFolder(d), 'no model.safetensors');
  const e = copyModel();
  rmSync(join(e, 'config.json'));
  expectError(() => loadViTFolder(e), 'no config.json');
  expectError(() => loadViTFolder(join(e, 'nope')), 'not a model folder');
});

test('timm config without an architecture or with an unknown head count', () => {
  const d = copyModel();
  editConfig(d, (c) => delete c['architecture']);
  expectError(() => loadViTFolder(d), 'config.json', 'architecture');
  const e = copyModel();
  editConfig(e, (c) => {
    c['architecture'] = 'mystery_net';
    delete c['model_args'];
  });
  expectError(() => loadViTFolder(e), 'head count', 'mystery_net');
});

test('config that does not match the tensors', () => {
  const d = copyModel();
  editConfig(d, (c) => (c['model_args']['depth'] = 3));
  expectError(() => loadViTFolder(d), 'model.safetensors', 'depth = 3', 'tensors have 2');
  const e = copyModel();
  editConfig(e, (c) => (c['model_args']['num_heads'] = 3));
  expectError(() => loadViTFolder(e), 'not divisible by 3 heads');
  const f = copyModel();
  editConfig(f, (c) => (c['model_args']['embed_dim'] = 32));
  expectError(() => loadViTFolder(f), 'width', '32', '16');
  const g = copyModel('hf_vit');
  editConfig(g, (c) => (c['id2label'] = { 0: 'a', 1: 'b' }));
  expectError(() => loadViTFolder(g), '2 labels', '5 classes');
  const h = copyModel();
  editConfig(h, (c) => (c['pretrained_cfg']['mean'] = [0.5, 0.5]));
  expectError(() => loadViTFolder(h), 'config.json', 'mean must be three numbers');
});

test('a tensor with the wrong shape, a missing tensor, a bad position embedding', () => {
  const d = copyModel();
  editTensors(d, (t) => {
    t['blocks.0.attn.qkv.weight'] = { dtype: 'F32', shape: [48, 15], data: new Float32Array(48 * 15) };
  });
  expectError(() => loadViTFolder(d), 'model.safetensors', '"blocks.0.attn.qkv.weight"', '[48,15]');
  const e = copyModel();
  editTensors(e, (t) => delete t['blocks.1.norm2.weight']);
  expectError(() => loadViTFolder(e), 'missing tensor "blocks.1.norm2.weight"');
  const f = copyModel();
  editTensors(f, (t) => {
    t['pos_embed'] = { dtype: 'F32', shape: [1, 20, 16], data: new Float32Array(20 * 16) };
  });
  expectError(() => loadViTFolder(f), '"pos_embed"', '20 positions');
  const g = copyModel();
  editTensors(g, (t) => {
    for (const k of Object.keys(t)) if (k.startsWith('patch_embed')) delete t[k];
  });
  expectError(() => loadViTFolder(g), 'no patch embedding found');
});

test('a truncated safetensors file', () => {
  const d = copyModel();
  const p = join(d, 'model.safetensors');
  const bytes = readFileSync(p);
  writeFileSync(p, bytes.subarray(0, bytes.length - 100));
  expectError(() => loadViTFolder(d), 'model.safetensors');
});

test('a head file of the wrong width', () => {
  const d = copyModel('timm_headless');
  const hp = join(d, 'head.safetensors');
  writeFileSync(hp, writeSafetensors({ weight: { dtype: 'F32', shape: [5, 8], data: new Float32Array(40) } }));
  expectError(() => loadViTFolder(d, { headFile: hp }), 'head.safetensors', '"weight"', 'expected [classes, 16]');
});

test.after(() => {
  removeModels();
});

test.run();
