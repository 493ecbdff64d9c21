// cdam classify IMAGE --model DIR [--top 5] [--json FILE] [--resize crop|squash]
import { writeFileAtomic } from '../io/atomic.js';
import { readImageFile } from '../io/image.js';
import { noGrad } from '../autograd/index.js';
import { softmax } from '../tensor/index.js';
import { loadViT } from '../vit/load.js';
import { prepareImage, type ResizeMode } from '../vit/preprocess.js';
import { parse, intOpt, choiceOpt, UsageError } from './args.js';

export const classifyUsage = `usage: cdam classify IMAGE --model DIR [--top N] [--json FILE] [--resize crop|squash] [--head FILE]
  Prints the top classes: index, label, raw logit and softmax probability.
  --model DIR     model folder: model.safetensors + config.json (timm or Hugging Face layout)
  --top N         how many classes to print (default 5)
  --json FILE     also write {"top":[{"index","label","logit","prob"}]} to FILE
  --resize MODE   crop (timm eval: short side to size/crop_pct, centre crop; default) or squash
  --head FILE     linear head (safetensors: weight [C, D], bias [C]) for a backbone without one`;

export interface TopEntry {
  index: number;
  label: string;
  logit: number;
  prob: number;
}

export function runClassify(argv: string[], out: (s: string) => void): void {
  const { values, positionals } = parse(argv, {
    model: { type: 'string' }, top: { type: 'string' }, json: { type: 'string' }, resize: { type: 'string' }, head: { type: 'string' },
  });
  if (positionals.length !== 1) throw new UsageError(`classify takes one IMAGE, got ${positionals.length}\n${classifyUsage}`);
  if (!values.model) throw new UsageError(`--model DIR is required\n${classifyUsage}`);
  const top = intOpt(values.top, 'top', 5, 1);
  const resize = choiceOpt<ResizeMode>(values.resize, 'resize', ['crop', 'squash'], 'crop');
  const vit = loadViT(values.model, values.head ? { headFile: values.head } : {});
  if (!vit.params.head) throw new Error(`${values.model}: the model has no classifier head (give one with --head FILE)`);
  const img = readImageFile(positionals[0]!);
  const { input } = prepareImage(img, vit.config.preprocess, resize);
  const logits = noGrad(() => vit.forward(input).logits!);
  const probs = softmax(logits).toArray();
  const lv = logits.toArray();
  const order = [...probs.keys()].sort((a, b) => probs[b]! - probs[a]! || a - b).slice(0, Math.min(top, probs.length));
  const entries: TopEntry[] = order.map((i) => ({ index: i, label: vit.label(i), logit: lv[i]!, prob: probs[i]! }));
  const w = Math.max(5, ...entries.map((e) => e.label.length));
  out(`${'index'.padStart(5)}  ${'label'.padEnd(w)}  ${'logit'.padStart(8)}  ${'prob'.padStart(6)}`);
  for (const e of entries) out(`${String(e.index).padStart(5)}  ${e.label.padEnd(w)}  ${e.logit.toFixed(3).padStart(8)}  ${e.prob.toFixed(4).padStart(6)}`);
  if (values.json) writeFileAtomic(values.json, JSON.stringify({ top: entries }, null, 2) + '\n');
}
