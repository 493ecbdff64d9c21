// Load a model folder as people download it: model.safetensors + config.json
// (+ preprocessor_config.json for Hugging Face models). Node only.

import { readFileSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileSource, openSafetensors } from '../io/safetensors.js';
import { isHfConfig, parseHfConfig, parseTimmConfig } from './config.js';
import { buildViT } from './weights.js';
import type { ViT } from './model.js';

function readJson(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`${path}: cannot read (${(e as Error).message})`);
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: not valid JSON (${(e as Error).message})`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${path}: expected a JSON object`);
  return v as Record<string, unknown>;
}

export interface LoadOptions {
  /** safetensors file with a linear head (weight [C, D], bias [C]) for a headless backbone */
  headFile?: string;
}

/** Load a ViT from a model folder (timm or Hugging Face layout). */
export function loadViT(dir: string, opts: LoadOptions = {}): ViT {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`${dir}: not a model folder`);
  const cfgPath = join(dir, 'config.json');
  if (!existsSync(cfgPath)) throw new Error(`${dir}: no config.json`);
  const cfg = readJson(cfgPath);
  const prePath = join(dir, 'preprocessor_config.json');
  const declared = isHfConfig(cfg)
    ? parseHfConfig(cfg, cfgPath, existsSync(prePath) ? readJson(prePath) : null, prePath)
    : parseTimmConfig(cfg, cfgPath);
  const weightsPath = join(dir, 'model.safetensors');
  if (!existsSync(weightsPath)) throw new Error(`${dir}: no model.safetensors`);
  const file = openSafetensors(fileSource(weightsPath));
  const head = opts.headFile ? openSafetensors(fileSource(opts.headFile)) : undefined;
  try {
    return buildViT(file, declared, head ? { head } : {});
  } finally {
    file.close();
    head?.close();
  }
}
