#!/usr/bin/env node
// cdam command-line entry: dispatch to a subcommand; usage errors exit 2,
// failures exit 1 with a one-line message naming the file and the problem.
import { readFileSync } from 'node:fs';
import { UsageError } from './args.js';
import { runClassify, classifyUsage } from './classify.js';
import { runExplain, explainUsage } from './explain.js';
import { runConcept, conceptUsage } from './concept.js';
import { runRegisters, registersUsage } from './registers.js';
import { runReport, reportUsage } from './report.js';
import { runEvalCommand, runMerge, evalUsage, mergeUsage } from './eval.js';
import { runTrain, runFinetune, runTrainHead, trainUsage, finetuneUsage, trainHeadUsage } from './train.js';
import { useFastestBackend } from '../kernels/default.js';

const usage = `cdam: class-discriminative attention maps for Vision Transformers
usage: cdam <command> [options]      (cdam <command> --help for one command)
commands:
  classify   top classes of an image
  explain    class-discriminative attention maps (and the other methods) as JSON and pictures
  concept    save a concept vector from example images
  registers  find a model's register neurons for --test-time-register (test-time registers)
  eval       the paper's evaluation (fidelity, box sensitivity, class discrimination, compactness)
  merge      combine the shards of an evaluation
  report     tables and plots of an evaluation's results.jsonl
  train      a ViT trained from scratch on your images (classes or numeric targets)
  finetune   a model's last blocks and a new head trained on your images
  train-head a linear head on a model's frozen backbone (features computed once)
Without --model, the embedded ViT-Ti/16 ImageNet classifier is used.

${classifyUsage}

${explainUsage}

${conceptUsage}

${registersUsage}

${evalUsage}

${mergeUsage}

${reportUsage}

${trainUsage}

${finetuneUsage}

${trainHeadUsage}

Environment: CDAM_BACKEND=js|wasm|gpujs picks the kernel backend (default: the fastest here).`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  const out = (s: string) => process.stdout.write(s + '\n');
  const err = (s: string) => process.stderr.write(s + '\n');
  try {
    switch (cmd) {
      case 'classify':
        useFastestBackend(process.env['CDAM_BACKEND']);
        runClassify(rest, out, err);
        return 0;
      case 'explain':
        useFastestBackend(process.env['CDAM_BACKEND']);
        runExplain(rest, out, err);
        return 0;
      case 'concept':
        useFastestBackend(process.env['CDAM_BACKEND']);
        runConcept(rest, out);
        return 0;
      case 'registers':
        useFastestBackend(process.env['CDAM_BACKEND']);
        runRegisters(rest, out);
        return 0;
      case 'eval':
        useFastestBackend(process.env['CDAM_BACKEND']);
        await runEvalCommand(rest, out, err);
        return 0;
      case 'train':
        useFastestBackend(process.env['CDAM_BACKEND']);
        await runTrain(rest, out, err);
        return 0;
      case 'finetune':
        useFastestBackend(process.env['CDAM_BACKEND']);
        await runFinetune(rest, out, err);
        return 0;
      case 'train-head':
        useFastestBackend(process.env['CDAM_BACKEND']);
        await runTrainHead(rest, out, err);
        return 0;
      case 'merge':
        await runMerge(rest, out);
        return 0;
      case 'report':
        await runReport(rest, out);
        return 0;
      case '--version':
      case '-v':
      case 'version':
        out(`cdam ${version()}`);
        return 0;
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        out(usage);
        return cmd === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command "${cmd}"\n${usage}`);
    }
  } catch (e) {
    // a message that names its command ("cdam explain: ...") needs no second "cdam: "
    const msg = (e as Error).message;
    process.stderr.write(`${msg.startsWith('cdam ') ? '' : 'cdam: '}${msg}\n`);
    return e instanceof UsageError ? 2 : 1;
  }
}

// a closed pipe (cdam ... | head -1) ends the program quietly
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
