// cdam registers --images A B C ... [--model DIR] [--out FILE]: find the
// register neurons of a model (test-time registers, Jiang et al. 2025) from a
// few calibration images and save them as a small JSON file.
import { join } from 'node:path';
import { readImageFile } from '../io/image.js';
import { checkOutputPaths, writeFileAtomic } from '../io/atomic.js';
import { DEFAULT_RESIZE, RESIZE_MODES, prepareImage, type ResizeMode } from '../vit/preprocess.js';
import { FIND_REGISTER_DEFAULTS as F, TTR_FILE_NAME, findRegisterNeurons, formatTestTimeRegisters } from '../vit/registers.js';
import { parse, intOpt, numOpt, choiceOpt, wantsHelp, UsageError } from './args.js';
import { loadModel, modelDir } from './model.js';
import { maxPixelsOpt, resizeUsage } from './classify.js';
import { progressBar } from './progress.js';

export const registersUsage = `usage: cdam registers --images A B C ... [--model DIR] [--out FILE] [options]
  Finds the MLP "register neurons" that make a model's high-norm artefact tokens, as the code of
  Jiang et al. ("Vision Transformers Don't Need Trained Registers", NeurIPS 2025) does, from a few
  calibration images, and writes them (with the settings) for --test-time-register.
  --images A B ...  calibration images (also taken as plain arguments)
  --model DIR       model folder (default: the embedded ViT-Ti/16)
  --head FILE       linear head for a backbone without one
  --out FILE        where to write (default: DIR/${TTR_FILE_NAME}, beside the model)
  --threshold F     a token is an outlier when its norm is above F (default ${F.threshold})
  --detect-layer N  block whose output is searched for outliers; negative counts from the end (default ${F.detectLayer})
  --top-k N         how many neurons (default ${F.topK})
  --highest-layer N last block whose neurons may be chosen (default: the first block whose largest
                    patch-token norm, averaged over the images, is above the threshold)
  --lowest-layer N  first block whose neurons may be chosen (default ${F.lowestLayer})
  --no-sparsity     score every neuron (default: only those below ${F.sparsityActivation} on at least
                    ${F.sparsityFraction} of the tokens, their sparsity filter)
  --quiet           no progress bar
${resizeUsage}`;

export function runRegisters(argv: string[], out: (s: string) => void): void {
  if (wantsHelp(argv)) return out(registersUsage);
  const { values, flags, lists, positionals } = parse(
    argv,
    {
      images: { type: 'string', multiple: true },
      model: { type: 'string' },
      head: { type: 'string' },
      out: { type: 'string' },
      threshold: { type: 'string' },
      'detect-layer': { type: 'string' },
      'top-k': { type: 'string' },
      'highest-layer': { type: 'string' },
      'lowest-layer': { type: 'string' },
      'no-sparsity': { type: 'boolean' },
      resize: { type: 'string' },
      'max-pixels': { type: 'string' },
      quiet: { type: 'boolean' },
    },
    'registers',
  );
  const images = [...lists['images']!, ...positionals];
  if (!images.length) throw new UsageError(`registers needs calibration images (--images A B C ...)\n${registersUsage}`);
  const maxPixels = maxPixelsOpt(values['max-pixels']);
  const resize = choiceOpt<ResizeMode>(values['resize'], 'resize', RESIZE_MODES, DEFAULT_RESIZE);
  const threshold = numOpt(values['threshold'], 'threshold', F.threshold, 1e-6, 1e12);
  const topK = intOpt(values['top-k'], 'top-k', F.topK, 1, 1e7);
  const detectLayer = intOpt(values['detect-layer'], 'detect-layer', F.detectLayer, -1e4, 1e4);
  const lowestLayer = intOpt(values['lowest-layer'], 'lowest-layer', F.lowestLayer, 0, 1e4);
  const highestLayer = values['highest-layer'] === undefined ? ('auto' as const) : intOpt(values['highest-layer'], 'highest-layer', 0, 0, 1e4);
  const file = values['out'] ?? join(modelDir(values['model']), TTR_FILE_NAME);
  if (!/\.json$/i.test(file)) throw new UsageError(`--out must name a .json file, got "${file}"`);
  checkOutputPaths([{ option: '--out', path: file }]);

  const { vit, name } = loadModel(values['model'], values['head']);
  const c = vit.config;
  if (detectLayer < -c.depth || detectLayer >= c.depth)
    throw new UsageError(`--detect-layer must be in [${-c.depth}, ${c.depth - 1}] for this model, got ${detectLayer}`);
  if (lowestLayer >= c.depth) throw new UsageError(`--lowest-layer must be in [0, ${c.depth - 1}] for this model, got ${lowestLayer}`);
  if (highestLayer !== 'auto' && (highestLayer < lowestLayer || highestLayer >= c.depth)) {
    throw new UsageError(`--highest-layer must be in [${lowestLayer}, ${c.depth - 1}] for this model, got ${highestLayer}`);
  }
  out(`model: ${name}`);
  const inputs = images.map((p) => prepareImage(readImageFile(p, maxPixels), c.preprocess, resize, maxPixels).input);
  const r = findRegisterNeurons(vit, inputs, {
    threshold,
    topK,
    detectLayer,
    lowestLayer,
    highestLayer,
    sparsityFilter: !flags['no-sparsity'],
    images,
    notes: { resize },
    onProgress: progressBar('calibration images', process.stderr, flags['quiet']!),
  });
  const s = r.settings;
  out(
    `calibration: ${images.length} image${images.length > 1 ? 's' : ''}, ${s.imagesWithOutliers} with tokens above norm ${threshold} at the output of block ${detectLayer < 0 ? c.depth + detectLayer : detectLayer}`,
  );
  out(
    `neurons from blocks ${s.lowestLayer}..${s.highestLayer}${highestLayer === 'auto' ? ' (the outliers appear at block ' + s.highestLayer + ')' : ''}, top ${topK}:`,
  );
  for (const n of r.neurons) out(`  block ${String(n.layer).padStart(2)}  neuron ${String(n.neuron).padStart(5)}  score ${n.score.toFixed(3)}`);
  writeFileAtomic(file, formatTestTimeRegisters(r));
  out(`wrote ${file}`);
}
