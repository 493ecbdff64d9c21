// cdam train DATA --arch FILE --out DIR      (a ViT from scratch)
// cdam finetune DATA --out DIR [--model DIR] --train-blocks K|all
// cdam train-head DATA --out DIR [--model DIR]  (a linear head on the frozen backbone)
// DATA: an image folder (one sub-folder per class) or a table (.csv / .jsonl)
// with --label COL or --targets COL,COL.
import { join } from 'node:path';
import { statSync } from 'node:fs';
import { FIT_DEFAULTS, readImageFolder, readTable, type Dataset, type EpochRecord, type FitSettings, type StepProgress } from '../train/index.js';
import { train, finetune, trainHead, TRAIN_RUN_DEFAULTS, type TrainRunOptions, type TrainRunResult } from '../api/train.js';
import { writeFilesAtomic } from '../io/atomic.js';
import { parse, intOpt, numOpt, choiceOpt, wantsHelp, UsageError } from './args.js';
import { loadModel } from './model.js';
import { progressBar } from './progress.js';

const F = FIT_DEFAULTS;

const common = `  DATA              a folder with one sub-folder of images per class (torchvision's ImageFolder),
                    or a table (.csv with a header, or .jsonl) with an image path column
  --label COL       the table's class column (classification)
  --targets LIST    the table's numeric columns, comma-separated (regression: one output each)
  --path-column COL the table's image column (default: path, or image)
  --out DIR         the run folder: model.safetensors + config.json (a model folder for classify,
                    explain, eval and loadViT), metrics.jsonl, curve.svg/.png, run.json,
                    split.json, checkpoint.safetensors, README.md; replaced after every epoch
  --resume          go on from DIR's checkpoint (same data and options): ends with the same
                    weights, bit for bit, as a run never stopped
  --epochs N        (default ${F.epochs})      --batch N (default ${F.batch})
  --optimizer O     adamw (default) or sgd (Nesterov momentum --momentum, default ${F.momentum})
  --lr X            peak learning rate (default ${F.lr}), after --warmup epochs (default ${F.warmupEpochs})
                    of linear warm-up, then a cosine down to --min-lr (default ${F.minLr})
  --weight-decay X  (default ${F.weightDecay}; never on biases, norms, position embedding, prefix tokens)
  --clip X          global gradient-norm bound, 0 for none (default ${F.clip})
  --dropout X       in the MLPs and after attention (default ${F.dropout})
  --label-smoothing X  (default ${F.labelSmoothing})    --loss mse|huber  regression loss (default ${F.regressionLoss})
  --val X           held-out share, split per class (default ${TRAIN_RUN_DEFAULTS.val})
  --no-augment      no crops or flips (regression never augments: position and scale are targets)
  --seed N          data order, split, init, augmentation and dropout (default ${F.seed})
  --quiet           no progress on stderr`;

export const trainUsage = `usage: cdam train DATA --arch FILE --out DIR [options]
  A Vision Transformer trained from scratch. FILE: JSON {"image": 64, "patch": 8, "dim": 96,
  "depth": 6, "heads": 3, "mlpRatio": 4, "registers": 0}.
${common}`;

export const finetuneUsage = `usage: cdam finetune DATA --out DIR --train-blocks K|all [--model DIR] [options]
  A model's last K blocks, its final norm and a new head trained on DATA (all: every parameter).
  --model DIR       the model to start from (default: the embedded ViT-Ti/16)
${common}`;

export const trainHeadUsage = `usage: cdam train-head DATA --out DIR [--model DIR] [options]
  A new linear head on a model's frozen backbone, as the paper did on DINO: every image's
  features are computed once (cached in DIR/features.safetensors), then only the head trains.
  --model DIR       the backbone (default: the embedded ViT-Ti/16)
${common}`;

const USAGE = { train: trainUsage, finetune: finetuneUsage, 'train-head': trainHeadUsage } as const;
type Kind = keyof typeof USAGE;

const OPTIONS = {
  out: { type: 'string' },
  arch: { type: 'string' },
  model: { type: 'string' },
  'train-blocks': { type: 'string' },
  label: { type: 'string' },
  targets: { type: 'string' },
  'path-column': { type: 'string' },
  epochs: { type: 'string' },
  batch: { type: 'string' },
  optimizer: { type: 'string' },
  lr: { type: 'string' },
  'min-lr': { type: 'string' },
  warmup: { type: 'string' },
  'weight-decay': { type: 'string' },
  momentum: { type: 'string' },
  clip: { type: 'string' },
  dropout: { type: 'string' },
  'label-smoothing': { type: 'string' },
  loss: { type: 'string' },
  val: { type: 'string' },
  seed: { type: 'string' },
  resume: { type: 'boolean' },
  'no-augment': { type: 'boolean' },
  quiet: { type: 'boolean' },
} as const;

function readData(path: string, values: Record<string, string | undefined>): Dataset {
  let isDir = false;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    throw new Error(`${path}: no such file or folder`);
  }
  if (isDir) {
    if (values['label'] || values['targets'])
      throw new UsageError('--label and --targets name columns of a table; DATA is a folder (its sub-folders are the classes)');
    return readImageFolder(path);
  }
  if (!values['label'] === !values['targets']) throw new UsageError('a table needs --label COL (classes) or --targets COL,COL (regression), not both');
  const targets = values['targets']
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return readTable(path, {
    ...(values['label'] ? { label: values['label'] } : {}),
    ...(targets ? { targets } : {}),
    ...(values['path-column'] ? { pathColumn: values['path-column'] } : {}),
  });
}

function settingsFrom(v: Record<string, string | undefined>): Partial<FitSettings> {
  return {
    epochs: intOpt(v['epochs'], 'epochs', F.epochs, 1, 100000),
    batch: intOpt(v['batch'], 'batch', F.batch, 1, 65536),
    optimizer: choiceOpt(v['optimizer'], 'optimizer', ['adamw', 'sgd'] as const, F.optimizer),
    lr: numOpt(v['lr'], 'lr', F.lr, 0, 10),
    minLr: numOpt(v['min-lr'], 'min-lr', F.minLr, 0, 10),
    warmupEpochs: numOpt(v['warmup'], 'warmup', F.warmupEpochs, 0, 100000),
    weightDecay: numOpt(v['weight-decay'], 'weight-decay', F.weightDecay, 0, 10),
    momentum: numOpt(v['momentum'], 'momentum', F.momentum, 0, 0.9999),
    clip: numOpt(v['clip'], 'clip', F.clip, 0, 1e9),
    dropout: numOpt(v['dropout'], 'dropout', F.dropout, 0, 0.95),
    labelSmoothing: numOpt(v['label-smoothing'], 'label-smoothing', F.labelSmoothing, 0, 1),
    regressionLoss: choiceOpt(v['loss'], 'loss', ['mse', 'huber'] as const, F.regressionLoss),
    seed: intOpt(v['seed'], 'seed', F.seed, 0, 2 ** 32 - 1),
  };
}

const clock = (s: number): string => {
  const t = Math.max(0, Math.round(s));
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  return `${h > 0 ? `${h}:${String(m).padStart(2, '0')}` : m}:${String(t % 60).padStart(2, '0')}`;
};

/** One line per epoch always; on a terminal also a line redrawn each step, otherwise (a log) that line once a minute. */
function progress(quiet: boolean, err: (s: string) => void): Pick<TrainRunOptions, 'onStep' | 'onEpoch'> {
  if (quiet) return {};
  const start = performance.now();
  let stepsDone = 0;
  let last = 0;
  return {
    onStep: (p: StepProgress) => {
      stepsDone++;
      const tty = process.stderr.isTTY;
      const now = performance.now();
      if (now - last < (tty ? 100 : 60000) || p.step === p.steps) return;
      last = now;
      const left = ((now - start) / 1000 / stepsDone) * ((p.epochs - p.epoch) * p.steps + (p.steps - p.step));
      const line = `  epoch ${p.epoch}/${p.epochs}  step ${p.step}/${p.steps}  loss ${p.loss.toFixed(4)}  ${p.imagesPerSecond.toFixed(0)} images/s  ${clock(left)} left`;
      if (tty) process.stderr.write(`\r${line.padEnd(Math.max(0, (process.stderr.columns ?? 80) - 1))}`);
      else err(line.trim());
    },
    onEpoch: (r: EpochRecord) => {
      if (process.stderr.isTTY) process.stderr.write('\r'.padEnd((process.stderr.columns ?? 80) - 1) + '\r');
      const val =
        r.accuracy !== undefined
          ? `val loss ${r.loss.toFixed(4)}  val accuracy ${(r.accuracy * 100).toFixed(2)}%`
          : `val loss ${r.loss.toFixed(4)}  R^2 ${(r.r2 ?? []).map((v) => v.toFixed(3)).join(' ')}`;
      err(`epoch ${r.epoch}: train loss ${r.trainLoss.toFixed(4)}  ${val}  ${r.imagesPerSecond.toFixed(0)} images/s  ${r.seconds.toFixed(0)} s`);
    },
  };
}

/** The training curve (loss per epoch, and accuracy or R^2), drawn the way cdam report draws. */
async function writeCurve(dir: string, history: EpochRecord[]): Promise<void> {
  const { renderPlots } = await import('../eval/plots.js');
  const rows = history.flatMap((h) => [
    { epoch: h.epoch, value: h.trainLoss, series: 'train loss', panel: 'loss' },
    ...(Number.isFinite(h.loss) ? [{ epoch: h.epoch, value: h.loss, series: 'held-out loss', panel: 'loss' }] : []),
    ...(h.accuracy !== undefined ? [{ epoch: h.epoch, value: h.accuracy, series: 'held-out accuracy', panel: 'accuracy' }] : []),
    ...(h.r2 ?? []).map((v, i) => ({ epoch: h.epoch, value: v, series: `R^2 output ${i}`, panel: 'R^2' })),
  ]);
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: 'Training curve', subtitle: `${history.length} epochs; held-out split` },
    data: { values: rows },
    facet: { column: { field: 'panel', type: 'nominal', title: null, sort: ['loss', 'accuracy', 'R^2'] } },
    resolve: { scale: { y: 'independent' } },
    spec: {
      width: 300,
      height: 220,
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1 } },
        y: { field: 'value', type: 'quantitative', title: null, scale: { zero: false } },
        color: { field: 'series', type: 'nominal', title: null },
      },
    },
  };
  const [plot] = await renderPlots([{ name: 'curve', spec }]);
  writeFilesAtomic([
    { path: join(dir, 'curve.svg'), data: plot!.svg },
    { path: join(dir, 'curve.png'), data: plot!.png },
  ]);
}

function summary(r: TrainRunResult, out: (s: string) => void): void {
  const last = r.history[r.history.length - 1];
  const score = !last
    ? ''
    : last.accuracy !== undefined
      ? `, held-out accuracy ${(last.accuracy * 100).toFixed(2)}%`
      : `, held-out R^2 ${(last.r2 ?? []).map((v) => v.toFixed(3)).join(', ')}`;
  out(`model: ${r.out} (${r.history.length} epochs${score}; curve.png, metrics.jsonl beside it)`);
}

async function runCommand(kind: Kind, argv: string[], out: (s: string) => void, err: (s: string) => void): Promise<void> {
  if (wantsHelp(argv)) return out(USAGE[kind]);
  const { values, flags, positionals } = parse(argv, OPTIONS, kind);
  if (positionals.length !== 1) throw new UsageError(`cdam ${kind}: give one DATA (a folder or a table), got ${positionals.length}\n${USAGE[kind]}`);
  if (!values['out']) throw new UsageError(`cdam ${kind}: --out DIR is required`);
  const data = readData(positionals[0]!, values);
  const opts: TrainRunOptions = {
    ...settingsFrom(values),
    out: values['out'],
    val: numOpt(values['val'], 'val', TRAIN_RUN_DEFAULTS.val, 0, 0.9),
    resume: flags['resume']!,
    ...(flags['no-augment'] ? { augment: {} } : {}),
    ...progress(flags['quiet']!, err),
    command: `cdam ${kind} ${argv.join(' ')}`,
  };
  let r: TrainRunResult;
  if (kind === 'train') {
    if (values['model'] || values['train-blocks']) throw new UsageError('cdam train starts from scratch: --model and --train-blocks are cdam finetune options');
    if (!values['arch']) throw new UsageError('cdam train: --arch FILE is required (an architecture JSON)');
    r = train(data, { ...opts, arch: values['arch'] });
  } else if (kind === 'train-head') {
    if (values['arch'] || values['train-blocks'])
      throw new UsageError('cdam train-head trains only a head on --model: --arch and --train-blocks belong to cdam train and cdam finetune');
    const { vit, name } = loadModel(values['model'], undefined);
    const bar = flags['quiet'] ? undefined : progressBar('features', process.stderr, false);
    r = trainHead(data, vit, { ...opts, base: values['model'] ?? name, ...(bar ? { onFeatures: bar } : {}) });
  } else {
    if (values['arch']) throw new UsageError('cdam finetune starts from --model: --arch is a cdam train option');
    const tb = values['train-blocks'];
    if (tb === undefined) throw new UsageError('cdam finetune: --train-blocks K (or all) is required');
    const { vit, name } = loadModel(values['model'], undefined);
    const trainBlocks = tb === 'all' ? 'all' : intOpt(tb, 'train-blocks', 0, 0, vit.config.depth);
    r = finetune(data, vit, { ...opts, trainBlocks, base: values['model'] ?? name });
  }
  await writeCurve(r.out, r.history);
  summary(r, out);
}

export const runTrain = (argv: string[], out: (s: string) => void, err: (s: string) => void) => runCommand('train', argv, out, err);
export const runFinetune = (argv: string[], out: (s: string) => void, err: (s: string) => void) => runCommand('finetune', argv, out, err);
export const runTrainHead = (argv: string[], out: (s: string) => void, err: (s: string) => void) => runCommand('train-head', argv, out, err);
