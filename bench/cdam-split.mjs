// CDAM's two parts timed in one process, for a build dir (default: ./build):
// the Explainer (embedding + blocks 1..L-1) and the map (pruned last block,
// closed form); medians of 15 runs. Used to settle the before/after in
// docs/PERFORMANCE.md when fresh-process runs disagree.
//   node bench/cdam-split.mjs [BUILD_DIR] [MODEL_DIR]
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dir = resolve(process.argv[2] ?? join(here, '..', 'build'));
const model = process.argv[3] ?? join(here, '..', '..', 'shared', 'weights', 'vit_tiny_patch16_224.augreg_in21k_ft_in1k');
const load = (p) => import(pathToFileURL(join(dir, 'src', p)).href);
const loadMod = await load('vit/load.js');
const { useFastestBackend } = await load('kernels/default.js');
const { randn } = await load('tensor/index.js');
const { Explainer } = await load('cdam/explainer.js');
useFastestBackend();
const vit = (loadMod.loadViTFolder ?? loadMod.loadViT)(model); // older builds named it loadViT
const x = randn([1, 3, 224, 224], 1);
const blocks = [];
const map = [];
for (let r = 0; r < 15; r++) {
  const t0 = performance.now();
  const ex = new Explainer(vit, x);
  const t1 = performance.now();
  ex.cdam({ kind: 'class', index: 285 });
  blocks.push(t1 - t0);
  map.push(performance.now() - t1);
}
const med = (a) => a.sort((p, q) => p - q)[a.length >> 1].toFixed(1);
console.log(`${dir}: blocks 1..L-1 ${med(blocks)} ms, CDAM map ${med(map)} ms`);
process.exit(0);
