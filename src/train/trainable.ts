// Which of a model's parameters a run trains, chosen by timm name pattern, and
// the model that trains them. A step writes parameters in place, and the wasm
// backend keeps packed copies of frozen arrays (tensor/freeze), so every
// trained parameter gets a fresh, unfrozen copy; the rest are frozen, so the
// backend may cache them.

import { Tensor, allocate, freeze, isFrozen } from '../tensor/index.js';
import { namedParams, withParams } from '../vit/params.js';
import type { ViT } from '../vit/model.js';

/**
 * A glob over timm names: `*` any run of characters (dots too), `?` one
 * character, `[...]` a character class; the whole name must match.
 * `blocks.[0-9].*` is blocks 0 to 9; `head.*` the head.
 */
export function nameMatcher(pattern: string): (name: string) => boolean {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) throw new Error(`parameter pattern "${pattern}": "[" without "]"`);
      const body = pattern.slice(i + 1, end).replace(/\\/g, '\\\\');
      re += `[${body.startsWith('!') ? '^' + body.slice(1) : body}]`;
      i = end;
    } else re += c.replace(/[.+^${}()|\\/]/g, '\\$&');
  }
  const rx = new RegExp(`^${re}$`);
  return (n) => rx.test(n);
}

export interface TrainableOptions {
  /** patterns of the parameters to train (default: all) */
  train?: readonly string[];
  /** patterns of parameters not to train, applied after `train` */
  freeze?: readonly string[];
}

export interface TrainableModel {
  /** the model whose trained parameters are `params` (the others shared with the model given) */
  model: ViT;
  /** the trained parameters by timm name: fresh, unfrozen, requiring gradients */
  params: Map<string, Tensor>;
  /** the names left as they were */
  frozen: string[];
}

/** The patterns that train the last k blocks, the final norm and the head (`cdam finetune --train-blocks k`). */
export function lastBlocks(depth: number, k: number): string[] {
  if (!Number.isInteger(k) || k < 0 || k > depth) throw new Error(`--train-blocks: ${k} is not a block count from 0 to ${depth}`);
  const out = ['norm.*', 'head.*'];
  for (let i = depth - k; i < depth; i++) out.push(`blocks.${i}.*`);
  return out;
}

/** Split the model's parameters into trained (fresh copies) and frozen; a pattern that matches nothing is an error (a typo would train nothing). */
export function trainable(vit: ViT, opts: TrainableOptions = {}): TrainableModel {
  const named = namedParams(vit);
  const names = [...named.keys()];
  const pick = (patterns: readonly string[], what: string) =>
    patterns.map((p) => {
      const m = nameMatcher(p);
      if (!names.some(m))
        throw new Error(`${what} pattern "${p}" matches no parameter (names look like ${names.slice(0, 3).join(', ')}, blocks.0.attn.qkv.weight, head.weight)`);
      return m;
    });
  const trainM = opts.train ? pick(opts.train, 'train') : [() => true];
  const freezeM = pick(opts.freeze ?? [], 'freeze');
  const params = new Map<string, Tensor>();
  const frozen: string[] = [];
  for (const [n, t] of named) {
    if (trainM.some((m) => m(n)) && !freezeM.some((m) => m(n))) {
      const d = allocate(t.dtype, t.size);
      d.set(t.contiguousData());
      params.set(n, new Tensor(d, t.shape).requireGrad());
    } else {
      if (!isFrozen(t)) freeze(t);
      frozen.push(n);
    }
  }
  if (params.size === 0) throw new Error('no parameter is left to train');
  return { model: withParams(vit, params), params, frozen };
}
