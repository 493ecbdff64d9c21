// Load a model as people download it: model.safetensors + config.json
// (+ preprocessor_config.json for Hugging Face models), from a folder (Node)
// or from bytes and parsed JSON (anywhere, e.g. a browser that fetched them).

import { bufferSource, fileSource, openSafetensors, type SafetensorsFile } from '../io/safetensors.js';
import { READ_LIMITS, nodeFs, nodePath, pathToString, readRegularFile, type PathLike } from '../io/node.js';
import { isHfConfig, parseHfConfig, parseTimmConfig } from './config.js';
import { buildViT } from './weights.js';
import type { ViT } from './model.js';
import { InputError } from '../io/errors.js';

/** The embedded default model (weights/ at the package root): ViT-Ti/16 AugReg, ImageNet-1k, F16. */
// a name, not a literal: app bundlers (Vite) would try to resolve a literal folder at build time and warn
const WEIGHTS_FOLDER = '../../../weights/';
export const EMBEDDED_MODEL_URL = new URL(WEIGHTS_FOLDER, import.meta.url);
export const EMBEDDED_MODEL_NAME = 'ViT-Ti/16 AugReg (ImageNet-1k, F16, embedded)';

type Json = Record<string, unknown>;

function parseJsonObject(text: string, name: string): Json {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    // the parser's message quotes the text; say only where it broke
    const at = /position (\d+)/.exec((e as Error).message);
    throw new InputError(name, `${name}: not valid JSON${at ? ` (at byte ${at[1]})` : ''}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new InputError(name, `${name}: expected a JSON object`);
  return v as Json;
}

function readJson(path: string): Json {
  const bytes = readRegularFile(path, 'a config file', READ_LIMITS.config);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new InputError(path, `${path}: not UTF-8 text (a config must be JSON)`);
  }
  return parseJsonObject(text, path);
}

export interface LoadOptions {
  /** safetensors file with a linear head (weight [C, D], bias [C]) for a headless backbone */
  headFile?: string;
}

/** The model from its parsed config files and opened tensor files. */
function fromParts(cfg: Json, cfgName: string, pre: Json | null, preName: string, file: SafetensorsFile, head?: SafetensorsFile): ViT {
  const declared = isHfConfig(cfg) ? parseHfConfig(cfg, cfgName, pre, preName) : parseTimmConfig(cfg, cfgName);
  try {
    return buildViT(file, declared, head ? { head } : {});
  } finally {
    file.close();
    head?.close();
  }
}

/** Load a ViT from a model folder (timm or Hugging Face layout). Node only. */
export function loadViTFolder(folder: PathLike, opts: LoadOptions = {}): ViT {
  const fs = nodeFs('loadViTFolder');
  const path = nodePath('loadViTFolder');
  const dir = pathToString(folder);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new InputError(dir, `${dir}: not a model folder`);
  const cfgPath = path.join(dir, 'config.json');
  if (!fs.existsSync(cfgPath)) throw new InputError(dir, `${dir}: no config.json`);
  const cfg = readJson(cfgPath);
  const prePath = path.join(dir, 'preprocessor_config.json');
  const pre = isHfConfig(cfg) && fs.existsSync(prePath) ? readJson(prePath) : null;
  const weightsPath = path.join(dir, 'model.safetensors');
  if (!fs.existsSync(weightsPath)) throw new InputError(dir, `${dir}: no model.safetensors`);
  const file = openSafetensors(fileSource(weightsPath));
  let head: SafetensorsFile | undefined;
  try {
    head = opts.headFile ? openSafetensors(fileSource(opts.headFile)) : undefined;
  } catch (e) {
    file.close();
    throw e;
  }
  return fromParts(cfg, cfgPath, pre, prePath, file, head);
}

/** A model as bytes: what a browser has after fetching or reading the files. */
export interface ModelBytes {
  /** model.safetensors */
  safetensors: ArrayBuffer | Uint8Array;
  /** config.json, parsed or as text */
  config: Json | string;
  /** preprocessor_config.json (Hugging Face), parsed or as text */
  preprocessorConfig?: Json | string;
  /** a linear head (safetensors: weight [C, D], bias [C]) for a headless backbone */
  head?: ArrayBuffer | Uint8Array;
  /** a name for error messages (default "model") */
  name?: string;
}

const bytesOf = (b: ArrayBuffer | Uint8Array): Uint8Array => (b instanceof Uint8Array ? b : new Uint8Array(b));
const jsonOf = (v: Json | string, name: string): Json => (typeof v === 'string' ? parseJsonObject(v, name) : v);

/** Load a ViT from bytes and config objects (works anywhere). */
export function loadViTFromBytes(m: ModelBytes): ViT {
  const name = m.name ?? 'model';
  const cfgName = `${name}/config.json`;
  const preName = `${name}/preprocessor_config.json`;
  const cfg = jsonOf(m.config, cfgName);
  const pre = m.preprocessorConfig !== undefined ? jsonOf(m.preprocessorConfig, preName) : null;
  const file = openSafetensors(bufferSource(bytesOf(m.safetensors), `${name}/model.safetensors`));
  const head = m.head ? openSafetensors(bufferSource(bytesOf(m.head), `${name}/head.safetensors`)) : undefined;
  return fromParts(cfg, cfgName, pre, preName, file, head);
}
