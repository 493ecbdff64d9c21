// cdam classify IMAGE [--model DIR] [--top 5] [--json FILE] [--resize squash|crop] [--quiet]
import { checkOutputPaths, writeFileAtomic } from '../io/atomic.js';
import { MAX_IMAGE_PIXELS } from '../io/image.js';
import { noGrad } from '../autograd/index.js';
import { topClasses } from '../vit/classes.js';
import { DEFAULT_RESIZE, RESIZE_MODES, describePreprocessing, prepareImage, type ResizeMode } from '../vit/preprocess.js';
import { parse, intOpt, choiceOpt, wantsHelp, UsageError } from './args.js';
import { noteUpscale, readNotedImage } from './image.js';
import { loadModel, modelUsage, takeRegisterOption, REGISTER_OPTION } from './model.js';

export const resizeUsage = `  --resize MODE     squash (default: the whole photo, as the CDAM reference code) or crop
                    (timm's eval transform: short side to size/crop_pct, centre crop)
  --max-pixels N    largest image decoded or made while resizing (default ${MAX_IMAGE_PIXELS}, Pillow's)`;

/** --max-pixels, for the commands that read images. */
export function maxPixelsOpt(v: string | undefined): number {
  return intOpt(v, 'max-pixels', MAX_IMAGE_PIXELS, 1, 2 ** 31);
}

export const classifyUsage = `usage: cdam classify IMAGE [--model DIR] [--test-time-register [FILE]] [--top N] [--json FILE] [--resize squash|crop] [--quiet]
  Prints the top classes: index, label, raw logit and softmax probability
  (a regression model, from cdam train/finetune --targets: every output's value).
${modelUsage}
  --top N           how many classes to print (default 5)
  --json FILE       also write {"top":[{"index","label","logit","prob"}]} to FILE
${resizeUsage}
  --quiet           no notes on stderr (the classes are still printed)`;

export function runClassify(argv: string[], out: (s: string) => void, err: (s: string) => void): void {
  if (wantsHelp(argv)) return out(classifyUsage);
  const { rest, register } = takeRegisterOption(argv);
  const { values, flags, positionals } = parse(
    rest,
    {
      model: { type: 'string' },
      top: { type: 'string' },
      json: { type: 'string' },
      resize: { type: 'string' },
      head: { type: 'string' },
      'max-pixels': { type: 'string' },
      quiet: { type: 'boolean' },
    },
    'classify',
    [REGISTER_OPTION],
  );
  const maxPixels = maxPixelsOpt(values['max-pixels']);
  if (positionals.length !== 1) throw new UsageError(`classify takes one IMAGE, got ${positionals.length}\n${classifyUsage}`);
  const top = intOpt(values['top'], 'top', 5, 1);
  const resize = choiceOpt<ResizeMode>(values['resize'], 'resize', RESIZE_MODES, DEFAULT_RESIZE);
  if (values['json']) checkOutputPaths([{ option: '--json', path: values['json'] }]);
  const { vit, name } = loadModel(values['model'], values['head'], register);
  if (!vit.params.head) throw new Error(`${values['model']}: the model has no classifier head (give one with --head FILE)`);
  const note = flags['quiet'] ? () => {} : err;
  const img = readNotedImage(positionals[0]!, maxPixels, note);
  noteUpscale(positionals[0]!, img, vit.config.preprocess, resize, note);
  const { input } = prepareImage(img, vit.config.preprocess, resize, maxPixels);
  const logits = noGrad(() => vit.forward(input).logits!).contiguousData();
  out(`model: ${name}`);
  out(`preprocessing: ${describePreprocessing(img, vit.config.preprocess, resize)}`);
  if (vit.isRegression) {
    // regression outputs are values, not scores of classes: every one, in order, without a softmax
    const outputs = Array.from(logits, (value, index) => ({ index, label: vit.label(index), value }));
    const wr = Math.max(6, ...outputs.map((e) => e.label.length));
    out(`${'index'.padStart(5)}  ${'output'.padEnd(wr)}  ${'value'.padStart(10)}`);
    for (const e of outputs) out(`${String(e.index).padStart(5)}  ${e.label.padEnd(wr)}  ${e.value.toPrecision(5).padStart(10)}`);
    if (values['json']) writeFileAtomic(values['json'], JSON.stringify({ outputs }, null, 2) + '\n');
    return;
  }
  const entries = topClasses(logits, (i) => vit.label(i), top);
  const w = Math.max(5, ...entries.map((e) => e.label.length));
  out(`${'index'.padStart(5)}  ${'label'.padEnd(w)}  ${'logit'.padStart(8)}  ${'prob'.padStart(6)}`);
  for (const e of entries) out(`${String(e.index).padStart(5)}  ${e.label.padEnd(w)}  ${e.logit.toFixed(3).padStart(8)}  ${e.prob.toFixed(4).padStart(6)}`);
  if (values['json']) writeFileAtomic(values['json'], JSON.stringify({ top: entries }, null, 2) + '\n');
}
