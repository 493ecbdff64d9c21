// Write a timm-layout ViT with seeded random weights (realistic scales), for
// benchmarks of models whose real weights cannot be fetched here.
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { writeSafetensors } from '../build/src/io/safetensors.js';
import { normalSampler, rng } from '../build/src/tensor/index.js';

const FAMILIES = { tiny: [192, 3], small: [384, 6], base: [768, 12] };

export function randomVit(dir, arch, { seed = 0, classes = 1000 } = {}) {
  if (existsSync(join(dir, 'model.safetensors'))) return dir;
  const m = /^vit_(tiny|small|base)_patch(\d+)_(\d+)$/.exec(arch);
  if (!m) throw new Error(`unknown architecture ${arch}`);
  const [dim, heads] = FAMILIES[m[1]];
  const patch = Number(m[2]);
  const img = Number(m[3]);
  const depth = 12;
  const mlp = 4 * dim;
  const tokens = (img / patch) ** 2 + 1;
  const normal = normalSampler(rng(seed));
  const t = {};
  const put = (name, shape, fill) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = fill();
    t[name] = { dtype: 'F32', shape, data };
  };
  const w = () => 0.02 * normal();
  const zero = () => 0;
  const one = () => 1;
  put('cls_token', [1, 1, dim], w);
  put('pos_embed', [1, tokens, dim], w);
  put('patch_embed.proj.weight', [dim, 3, patch, patch], w);
  put('patch_embed.proj.bias', [dim], zero);
  for (let b = 0; b < depth; b++) {
    const p = `blocks.${b}.`;
    put(`${p}norm1.weight`, [dim], one);
    put(`${p}norm1.bias`, [dim], zero);
    put(`${p}attn.qkv.weight`, [3 * dim, dim], w);
    put(`${p}attn.qkv.bias`, [3 * dim], zero);
    put(`${p}attn.proj.weight`, [dim, dim], w);
    put(`${p}attn.proj.bias`, [dim], zero);
    put(`${p}norm2.weight`, [dim], one);
    put(`${p}norm2.bias`, [dim], zero);
    put(`${p}mlp.fc1.weight`, [mlp, dim], w);
    put(`${p}mlp.fc1.bias`, [mlp], zero);
    put(`${p}mlp.fc2.weight`, [dim, mlp], w);
    put(`${p}mlp.fc2.bias`, [dim], zero);
  }
  put('norm.weight', [dim], one);
  put('norm.bias', [dim], zero);
  put('head.weight', [classes, dim], w);
  put('head.bias', [classes], zero);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'model.safetensors'), writeSafetensors(t, { format: 'pt', note: 'random weights for benchmarks' }));
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify(
      {
        architecture: arch,
        num_classes: classes,
        global_pool: 'token',
        model_args: { embed_dim: dim, depth, num_heads: heads, patch_size: patch, img_size: img },
        pretrained_cfg: { input_size: [3, img, img], mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], interpolation: 'bicubic', crop_pct: 0.9 },
      },
      null,
      2,
    ),
  );
  return dir;
}
