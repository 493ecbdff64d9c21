#!/usr/bin/env node
// cdam command-line entry: dispatch to a subcommand; usage errors exit 2,
// failures exit 1 with a one-line message naming the file and the problem.
import { UsageError } from './args.js';
import { runClassify, classifyUsage } from './classify.js';
import { runExplain, explainUsage } from './explain.js';
import { runConcept, conceptUsage } from './concept.js';
import { useFastestBackend } from '../kernels/default.js';

const usage = `cdam: class-discriminative attention maps for Vision Transformers
usage: cdam <command> [options]
commands:
  classify   top classes of an image
  explain    class-discriminative attention maps (and the other methods) as JSON and pictures
  concept    save a concept vector from example images

${classifyUsage}

${explainUsage}

${conceptUsage}

Environment: CDAM_BACKEND=js|wasm|gpujs picks the kernel backend (default: the fastest here).`;

export function main(argv: string[]): number {
  const [cmd, ...rest] = argv;
  const out = (s: string) => process.stdout.write(s + '\n');
  const err = (s: string) => process.stderr.write(s + '\n');
  try {
    useFastestBackend(process.env['CDAM_BACKEND']);
    switch (cmd) {
      case 'classify':
        runClassify(rest, out);
        return 0;
      case 'explain':
        runExplain(rest, out, err);
        return 0;
      case 'concept':
        runConcept(rest, out, err);
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
    process.stderr.write(`cdam: ${(e as Error).message}\n`);
    return e instanceof UsageError ? 2 : 1;
  }
}

process.exitCode = main(process.argv.slice(2));
