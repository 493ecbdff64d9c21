// The engine call for each fixture op name (tools/make_op_fixtures.py writes the cases).
import * as T from '../../src/tensor/index.js';
import type { Tensor } from '../../src/tensor/index.js';

export type Params = Record<string, unknown>;
type Inputs = Record<string, Tensor>;

const unary = ['neg', 'exp', 'log', 'sqrt', 'tanh', 'erf', 'relu', 'gelu'] as const;
const binary = ['add', 'sub', 'mul', 'div'] as const;

export function runOp(op: string, p: Params, i: Inputs): Tensor {
  if ((unary as readonly string[]).includes(op)) return T[op as (typeof unary)[number]](i.x!);
  if ((binary as readonly string[]).includes(op)) return T[op as (typeof binary)[number]](i.x!, i.y!);
  const axes = p.axes as number[] | null;
  switch (op) {
    case 'clamp':
      return T.clamp(i.x!, p.min as number, p.max as number);
    case 'where':
      return T.where(i.cond!, i.x!, i.y!);
    case 'sum':
      return T.sum(i.x!, axes, p.keepdim as boolean);
    case 'mean':
      return T.mean(i.x!, axes, p.keepdim as boolean);
    case 'max':
      return T.max(i.x!, axes, p.keepdim as boolean);
    case 'matmul':
      return T.matmul(p.transA ? T.transpose(i.x!) : i.x!, p.transB ? T.transpose(i.y!) : i.y!);
    case 'linear':
      return T.linear(i.x!, i.weight!, i.bias, i.residual);
    case 'attention':
      return T.attentionForward(i.qkv!, p.heads as number).out;
    case 'linear_gelu':
      return T.linearGelu(i.x!, i.weight!, i.bias);
    case 'softmax':
      return T.softmax(i.x!);
    case 'layer_norm':
      return T.layerNormAffine(i.x!, i.weight!, i.bias!, p.eps as number);
    case 'concat':
      return T.concat([i.x!, i.y!], p.axis as number);
    case 'slice':
      return T.slice(i.x!, p.starts as number[], p.ends as number[]);
    case 'gather':
      return p.indices ? T.gather(i.x!, p.axis as number, p.indices as number[]) : T.select(i.x!, p.axis as number, p.index as number);
    case 'reshape':
      return T.reshape(i.x!, p.shape as number[]);
    case 'permute':
      return T.permute(i.x!, p.perm as number[]);
    case 'copy':
      return T.copy(p.transpose ? T.transpose(i.x!) : i.x!);
    case 'expand':
      return T.expand(i.x!, p.shape as number[]);
    case 'patch_embed':
      return T.patchEmbed(i.x!, i.weight!, i.bias!, p.patch as number);
    case 'resize':
      return T.resize(i.x!, p.size as [number, number], p.mode as T.ResizeMode, (p.antialias as boolean) ?? false);
    default:
      throw new Error(`no engine op for fixture op "${op}"`);
  }
}
