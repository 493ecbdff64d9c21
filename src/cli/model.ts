// The model a command runs: --model DIR, or the embedded ViT-Ti/16; with
// --test-time-register [FILE], that model with a test-time register.
import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EMBEDDED_MODEL_NAME, EMBEDDED_MODEL_URL, loadViTFolder } from '../vit/load.js';
import { TTR_FILE_NAME, applyTestTimeRegisters, readTestTimeRegisters } from '../vit/registers.js';
import type { ViT } from '../vit/model.js';
import { InputError } from '../io/errors.js';

export const modelUsage = `  --model DIR       model folder: model.safetensors + config.json, timm or Hugging Face layout
                    (default: the embedded ViT-Ti/16 AugReg ImageNet classifier, weights/)
  --head FILE       linear head (safetensors: weight [C, D], bias [C]) for a backbone without one
  --test-time-register [FILE]
                    add a test-time register (Jiang et al. 2025) with the register neurons of FILE
                    (from 'cdam registers'; default: ${TTR_FILE_NAME} beside the model, else the
                    file the package ships for that model: weights/test-time-registers/NAME.json)`;

const EMBEDDED_DIR = fileURLToPath(EMBEDDED_MODEL_URL);
/** Register files the package ships for models it cannot write beside (the shared ViT-Ti and DeiT-Ti), by model folder name. */
export const SHIPPED_TTR_DIR = join(EMBEDDED_DIR, 'test-time-registers');

/** The model folder a command uses. */
export const modelDir = (dir: string | undefined): string => dir ?? EMBEDDED_DIR;

/** The default register file of a model folder: beside it when there, else the shipped one for its name. */
export function defaultRegisterFile(dir: string | undefined): string {
  const folder = modelDir(dir);
  const beside = join(folder, TTR_FILE_NAME);
  if (existsSync(beside)) return beside;
  const shipped = join(SHIPPED_TTR_DIR, `${basename(resolve(folder))}.json`);
  if (existsSync(shipped)) return shipped;
  throw new InputError(
    folder,
    `${folder}: no test-time register file (${beside}, or ${shipped}): make one with 'cdam registers --images ...' or give --test-time-register FILE`,
  );
}

/** The option takeRegisterOption takes out before parsing (named for the parser's typo hints). */
export const REGISTER_OPTION = 'test-time-register';
const FLAG = `--${REGISTER_OPTION}`;

/**
 * --test-time-register takes an optional FILE, which node's parseArgs cannot
 * express: "--test-time-register=FILE", or "--test-time-register FILE.json"
 * (a following .json argument), else the flag alone. Returns the other
 * arguments and what was asked (true: the default file).
 */
export function takeRegisterOption(argv: readonly string[]): { rest: string[]; register: string | true | undefined } {
  const rest: string[] = [];
  let register: string | true | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === FLAG) {
      const next = argv[i + 1];
      if (next !== undefined && !next.startsWith('-') && /\.json$/i.test(next)) {
        register = next;
        i++;
      } else register = true;
    } else if (a.startsWith(`${FLAG}=`)) {
      register = a.slice(FLAG.length + 1);
      if (!register) register = true;
    } else rest.push(a);
  }
  return { rest, register };
}

export function loadModel(dir: string | undefined, headFile: string | undefined, register?: string | true): { vit: ViT; name: string } {
  const vit = loadViTFolder(dir ?? EMBEDDED_MODEL_URL, headFile ? { headFile } : {});
  const name = dir ? `${vit.config.name} (${dir})` : EMBEDDED_MODEL_NAME;
  if (register === undefined) return { vit, name };
  const file = register === true ? defaultRegisterFile(dir) : register;
  const r = readTestTimeRegisters(file, vit);
  const layers = [...new Set(r.neurons.map((n) => n.layer))].sort((a, b) => a - b);
  return {
    vit: applyTestTimeRegisters(vit, r),
    name: `${name} + test-time register (${r.neurons.length} neuron${r.neurons.length > 1 ? 's' : ''} in block${layers.length > 1 ? 's' : ''} ${layers.join(', ')}; ${file})`,
  };
}
