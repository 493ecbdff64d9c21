// Peak resident memory of one item in a fresh process:
//   node bench/memory.mjs MODEL_DIR ITEM [STEPS]
// ITEM: cdam | integrated | intgrad (with STEPS) | smooth | smoothgrad (with STEPS samples). Prints JSON.
import { loadViTFolder } from '../build/src/vit/load.js';
import { useFastestBackend } from '../build/src/kernels/default.js';
import { randn } from '../build/src/tensor/index.js';
import { Explainer } from '../build/src/cdam/explainer.js';
import { intGrad } from '../build/src/baselines/intGrad.js';
import { smoothGrad } from '../build/src/baselines/smoothGrad.js';
import { peakMeter } from '../build/test/support/memory.js';

const [dir, item, stepsArg] = process.argv.slice(2);
useFastestBackend(process.env.CDAM_BACKEND);
const vit = loadViTFolder(dir);
const [h, w] = vit.config.preprocess.size;
const x = randn([1, 3, h, w], 1);
const peak = peakMeter(); // from here: a child of bench/run.mjs would otherwise start with its parent's peak
const before = peak.bytes() / 1024;
const t0 = performance.now();
const ex = new Explainer(vit, x);
const target = { kind: 'class', index: 0 };
const steps = Number(stepsArg ?? 50);
if (item === 'cdam') ex.cdam(target);
else if (item === 'integrated') ex.integrated(target, { steps });
else if (item === 'smooth') ex.smooth(target, { samples: steps });
else if (item === 'intgrad') intGrad(ex, target, { steps });
else if (item === 'smoothgrad') smoothGrad(ex, target, { samples: steps });
else throw new Error(`unknown item ${item}`);
const ms = performance.now() - t0;
console.log(JSON.stringify({ item, steps, tokens: ex.x.shape[1], loadedRssMb: before / 1024, peakRssMb: peak.bytes() / 2 ** 20, how: peak.how, ms }));
process.exit(0);
