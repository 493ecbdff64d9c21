// One measurement for bench/steps.mjs, in a fresh process: load the engine
// from a given build directory (any commit's `tsc` output), time one item,
// print {"ms": median} on the last line.
//   node bench/step-runner.mjs <buildDir> <item> <modelDir>
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { timeIt } from './timing.mjs';

const [buildDir, item, modelDir] = process.argv.slice(2);
const load = (p) => import(pathToFileURL(join(buildDir, 'src', p)).href);
const loadMod = await load('vit/load.js');
const loadViT = loadMod.loadViTFolder ?? loadMod.loadViT; // older builds named it loadViT
const { useFastestBackend } = await load('kernels/default.js');
const { Tensor, randn, concat, select, full, mean, mul } = await load('tensor/index.js');
const { noGrad, grad, enableGrad } = await load('autograd/index.js');
const { Explainer } = await load('cdam/explainer.js');

useFastestBackend();
const vit = loadViT(modelDir);
const x = randn([1, 3, 224, 224], 1);
const x8 = concat(Array(8).fill(x), 0);
const items = {
  forward: () => noGrad(() => vit.forward(x)),
  forward_batch8: () => noGrad(() => vit.forward(x8)),
  cdam: () => new Explainer(vit, x).cdam({ kind: 'class', index: 285 }),
  smooth_cdam: () => new Explainer(vit, x).smooth({ kind: 'class', index: 285 }, { samples: 50 }),
  input_x_grad: () => {
    const xi = new Tensor(x.data, x.shape).requireGrad();
    const logit = enableGrad(() => select(vit.forward(xi).logits, 1, 0));
    const [g] = grad(logit, [xi], full([1], 1));
    return noGrad(() => mean(mul(xi, g), 1));
  },
};
if (!items[item]) throw new Error(`unknown item ${item} (known: ${Object.keys(items).join(', ')})`);
console.log(JSON.stringify({ ms: timeIt(items[item], { minRuns: 7, minMs: 1500 }) }));
process.exit(0);
