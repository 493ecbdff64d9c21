#!/usr/bin/env node
// Make the embedded default model and the sample photos the package ships,
// from the material beside the repository (../shared):
//   weights/model.safetensors  the ViT-Ti/16 AugReg ImageNet classifier, every tensor rounded to F16
//   weights/config.json        its timm config, plus label_names (the 1000 ImageNet classes)
//   weights/LICENSE            Apache-2.0 (the checkpoint's licence)
//   examples/*.png             CC0 photos (licence lines in examples/README.md)
//   src/vit/imagenet-labels.ts the same 1000 labels, for 1000-class models whose config has none
// Run after `npm run build`:  node tools/embed-model.mjs [SHARED_DIR]
// Then measure the effect of F16 for the model card: node tools/measure-f16.mjs
import { readFileSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fileSource, openSafetensors, writeSafetensors } from '../build/src/io/safetensors.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const shared = process.argv[2] ?? join(root, '..', 'shared');
const MODEL = 'vit_tiny_patch16_224.augreg_in21k_ft_in1k';
const src = join(shared, 'weights', MODEL);
const EXAMPLES = ['chelsea.png', 'coffee.png', 'catcoffee_224.png'];
const APACHE = '/usr/share/common-licenses/Apache-2.0';

if (!existsSync(join(src, 'model.safetensors'))) {
  console.error(`embed-model: ${src}/model.safetensors not found (give the shared folder as the first argument)`);
  process.exit(1);
}

const f = openSafetensors(fileSource(join(src, 'model.safetensors')));
const tensors = {};
let params = 0;
for (const name of f.names()) {
  const data = f.readF32(name);
  tensors[name] = { dtype: 'F16', shape: f.info(name).shape, data };
  params += data.length;
}
f.close();
const bytes = writeSafetensors(tensors, { format: 'pt', source: `${MODEL} (timm), rounded to F16 by tools/embed-model.mjs` });

// label_names: the first synonym of each synset, in index order
const labels = readFileSync(join(shared, 'weights', 'imagenet_synsets.txt'), 'utf8')
  .split('\n')
  .filter((l) => l.trim())
  .map((l) =>
    l
      .replace(/^n\d+\s+/, '')
      .split(',')[0]
      .trim(),
  );
if (labels.length !== 1000) throw new Error(`imagenet_synsets.txt: expected 1000 classes, got ${labels.length}`);
const config = JSON.parse(readFileSync(join(src, 'config.json'), 'utf8'));
config.label_names = labels;

const out = join(root, 'weights');
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'model.safetensors'), bytes);
writeFileSync(join(out, 'config.json'), JSON.stringify(config, null, 2) + '\n');
if (existsSync(APACHE)) writeFileSync(join(out, 'LICENSE'), readFileSync(APACHE));
else console.error(`embed-model: ${APACHE} missing; weights/LICENSE left as it is`);

writeFileSync(
  join(root, 'src', 'vit', 'imagenet-labels.ts'),
  '// The 1000 ImageNet-1k class names in index order (first synonym of each synset).\n' +
    '// Written by tools/embed-model.mjs from the ImageNet synset list, with weights/config.json; do not edit.\n' +
    `export const IMAGENET_LABELS: readonly string[] = [\n${labels.map((l) => `  ${JSON.stringify(l)},`).join('\n')}\n];\n`,
);

mkdirSync(join(root, 'examples'), { recursive: true });
for (const e of EXAMPLES) writeFileSync(join(root, 'examples', e), readFileSync(join(shared, 'images', e)));

const sha = createHash('sha256').update(bytes).digest('hex');
console.log(`weights/model.safetensors: ${params} parameters, ${bytes.length} bytes, sha256 ${sha}`);
console.log(`examples/: ${EXAMPLES.join(', ')}`);
