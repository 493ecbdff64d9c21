// cdam explain IMAGE --model DIR [--method M[,M...]] [--target T[,T...]] ...
import { readImageFile } from '../io/image.js';
import { writeFileAtomic } from '../io/atomic.js';
import { Explainer, type Explanation } from '../cdam/explain.js';
import { METHODS, isMethod, runMethod, type Method } from '../cdam/methods.js';
import { describeTarget, type Target } from '../cdam/target.js';
import type { ViT } from '../vit/model.js';
import { renderOverlay, renderGrid, renderImagePanel, toPng } from '../render/index.js';
import { loadViT } from '../vit/load.js';
import { prepareImage, type ResizeMode } from '../vit/preprocess.js';
import { parse, intOpt, numOpt, choiceOpt, UsageError } from './args.js';
import { parseTarget } from './targets.js';
import { resolveConcept } from './concept.js';

export const explainUsage = `usage: cdam explain IMAGE --model DIR [options]
  --method M        ${METHODS.join(' | ')} (default cdam); a comma list with --compare
  --target T        class index, label, or A-B (difference of two logits); default: the top-1 class;
                    a comma list with --compare
  --concept X       explain a concept: a folder of example images or a file from 'cdam concept'
  --samples N       Smooth CDAM samples (default 50)     --noise F   Smooth CDAM nu (default 0.05)
  --steps N         Integrated CDAM steps m (default 50) --seed N    noise seed (default 0)
  --per-head        attention: one map per head
  --resize MODE     squash (default, as the CDAM reference) or crop (timm eval)
  --out FILE.png    the image with the map overlaid (a grid with --compare)
  --json FILE       {"method","target","logit","map":{"rows","cols","values"}} (raw scores, row-major)
  --compare         several methods and/or targets side by side
  --engine E        closed-form (default) or autograd: how dF/dT is obtained
  --head FILE       linear head for a backbone without one`;

interface Job {
  method: Method;
  target: Target;
}

export function runExplain(argv: string[], out: (s: string) => void, err: (s: string) => void): void {
  const { values, flags, positionals } = parse(argv, {
    model: { type: 'string' }, method: { type: 'string' }, target: { type: 'string' }, concept: { type: 'string' },
    samples: { type: 'string' }, noise: { type: 'string' }, steps: { type: 'string' }, seed: { type: 'string' },
    resize: { type: 'string' }, out: { type: 'string' }, json: { type: 'string' }, compare: { type: 'boolean' },
    'per-head': { type: 'boolean' }, engine: { type: 'string' }, head: { type: 'string' },
  });
  if (positionals.length !== 1) throw new UsageError(`explain takes one IMAGE, got ${positionals.length}\n${explainUsage}`);
  if (!values['model']) throw new UsageError(`--model DIR is required\n${explainUsage}`);
  const methods = (values['method'] ?? 'cdam').split(',').map((m) => m.trim());
  for (const m of methods) if (!isMethod(m)) throw new UsageError(`--method must be one of ${METHODS.join(', ')}, got "${m}"`);
  const targetSpecs = values['target'] ? values['target'].split(',') : [];
  if (!flags['compare'] && (methods.length > 1 || targetSpecs.length > 1)) {
    throw new UsageError('several methods or targets need --compare (they are drawn side by side)');
  }
  if (values['concept'] && targetSpecs.length) throw new UsageError('give either --target or --concept, not both');
  const samples = intOpt(values['samples'], 'samples', 50, 1, 100000);
  const nu = numOpt(values['noise'], 'noise', 0.05, 0);
  const steps = intOpt(values['steps'], 'steps', 50, 2, 100000);
  const seed = intOpt(values['seed'], 'seed', 0, 0, 2 ** 32 - 1);
  const resize = choiceOpt<ResizeMode>(values['resize'], 'resize', ['squash', 'crop'], 'squash');
  const engine = choiceOpt(values['engine'], 'engine', ['closed-form', 'autograd'] as const, 'closed-form');
  if (values['out'] && !/\.png$/i.test(values['out'])) throw new UsageError(`--out must name a .png file, got "${values['out']}"`);

  const vit = loadViT(values['model'], values['head'] ? { headFile: values['head'] } : {});
  const image = readImageFile(positionals[0]!);
  const prepared = prepareImage(image, vit.config.preprocess, resize);
  const ex = new Explainer(vit, prepared.input, engine);

  let targets: Target[];
  if (values['concept']) {
    const c = resolveConcept(values['concept'], vit, resize, (i, n) => err(`  concept example ${i}/${n}`));
    targets = [{ kind: 'concept', vector: c.vector, name: c.name }];
  } else if (targetSpecs.length) {
    targets = targetSpecs.map((t) => parseTarget(t, vit));
  } else {
    const logits = ex.logits();
    if (!logits) throw new Error('the model has no classifier head: give --concept (or --head FILE)');
    targets = [{ kind: 'class', index: logits.indexOf(Math.max(...logits)) }];
  }
  const logits = ex.logits();
  if (logits) {
    const top = [...logits.keys()].sort((a, b) => logits[b]! - logits[a]!).slice(0, 3);
    out(`top: ${top.map((i) => `${i} ${vit.label(i)} (${logits[i]!.toFixed(2)})`).join(', ')}`);
  }

  const jobs: Job[] = [];
  for (const method of methods as Method[]) for (const target of targets) jobs.push({ method, target });
  const progress = (label: string) => (done: number, total: number) => {
    if (process.stderr.isTTY) process.stderr.write(`\r  ${label} ${done}/${total}${done === total ? '\n' : ''}`);
  };
  // results[t][m]: one row per target, one column per method (per-head attention adds columns)
  const grid: Explanation[][] = targets.map(() => []);
  let attention: Explanation[] | null = null;
  for (const j of jobs) {
    const t0 = performance.now();
    const r: Explanation[] = j.method === 'attention' && attention ? attention : runMethod(ex, j.method, j.target, {
      perHead: flags['per-head'],
      smooth: { samples, nu, seed, onProgress: progress('smooth-cdam') },
      integrated: { steps, onProgress: progress('integrated-cdam') },
    });
    if (j.method === 'attention') attention = r;
    const ms = performance.now() - t0;
    grid[targets.indexOf(j.target)]!.push(...r);
    for (const e of r) {
      let lo = Infinity;
      let hi = -Infinity;
      for (const v of e.map.values) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
      out(`${e.method}${e.target ? ` | target ${e.target}` : ''}${e.score !== null ? ` | score ${e.score.toFixed(3)}` : ''} | map ${e.map.rows}x${e.map.cols} in [${lo.toPrecision(3)}, ${hi.toPrecision(3)}] | ${ms.toFixed(0)} ms`);
    }
  }
  const results = grid.flat();

  const asJson = (e: Explanation) => ({
    method: e.method, target: e.target, logit: e.score, map: { rows: e.map.rows, cols: e.map.cols, values: Array.from(e.map.values) },
  });
  const caption = (e: Explanation) => `${e.method}${e.target ? ` | ${e.target}` : ''}`;
  let png: Uint8Array | null = null;
  if (values['out']) {
    if (results.length === 1) {
      const e = results[0]!;
      png = toPng(renderOverlay(prepared.rgb, e.map, { title: `${caption(e)}${e.score !== null ? ` | score ${e.score.toFixed(2)}` : ''}` }));
    } else {
      // a row per target: the input (named by the target), then each method
      const panels = grid.flatMap((row, t) => [
        { image: renderImagePanel(prepared.rgb), label: `input | ${targetName(targets[t]!, vit)}` },
        ...row.map((e) => ({ image: renderOverlay(prepared.rgb, e.map), label: e.method })),
      ]);
      png = toPng(renderGrid(panels, { columns: 1 + grid[0]!.length }));
    }
  }
  // everything is computed before anything is written: no partial outputs
  if (values['json']) {
    const body = results.length === 1 ? asJson(results[0]!) : { explanations: results.map(asJson) };
    writeFileAtomic(values['json'], JSON.stringify(body) + '\n');
  }
  if (png && values['out']) writeFileAtomic(values['out'], png);
}

function targetName(t: Target, vit: ViT): string {
  return describeTarget(t, (i) => vit.label(i));
}
