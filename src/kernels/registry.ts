// Which backend runs float32 kernels. Backends register a factory; the first
// use of a backend builds it (workers, GPU contexts) and fills the kernels it
// lacks from the reference backend.

import { leadingDims, type Backend, type PartialBackend, type Kernels, type KernelName, type MatmulArgs, type MlpArgs } from './backend.js';
import type { TypedArray } from './dtype.js';
import { jsBackend } from './js.js';
import { composedMlp } from './mlp.js';

type Factory = () => PartialBackend;
const factories = new Map<string, Factory>([['js', () => jsBackend]]);
const built = new Map<string, Backend>([['js', jsBackend]]);
/** The kernels each built backend implements itself (the rest are the reference's). */
const own = new Map<string, ReadonlySet<KernelName>>([['js', new Set(Object.keys(jsBackend) as KernelName[])]]);
/** null until a backend is set or first used; then the auto chooser (if any) picks one */
let current: Backend | null = null;
let autoChoose: (() => Backend) | null = null;

/**
 * Every kernel of the interface, as a record over its names: a kernel added
 * to Kernels (backend.ts) and not here is a compile error, not a kernel the
 * registry silently drops.
 */
const KERNELS: { readonly [K in KernelName]: true } = {
  matmul: true,
  softmax: true,
  softmaxBackward: true,
  layerNorm: true,
  layerNormBackward: true,
  gelu: true,
  geluBackward: true,
  attention: true,
  attentionBackward: true,
  mlp: true,
};
export const kernelNames = Object.keys(KERNELS) as readonly KernelName[];

/**
 * Give a plain matmul (dense rows, no bias) the extended arguments: copy
 * row-strided operands densely first and add the bias afterwards.
 */
export function extendMatmul(plain: (p: MatmulArgs) => void): (p: MatmulArgs) => void {
  return (p) => {
    if (!(p.a instanceof Float32Array)) return jsBackend.matmul(p);
    const { lda, ldb } = leadingDims(p);
    const rowsA = p.transA ? p.k : p.m;
    const colsA = p.transA ? p.m : p.k;
    const rowsB = p.transB ? p.n : p.k;
    const colsB = p.transB ? p.k : p.n;
    let q: MatmulArgs = { ...p, lda: undefined, ldb: undefined, bias: undefined, accumulate: undefined, epilogue: undefined, preActivation: undefined };
    if (lda !== colsA) q = { ...q, ...densify(p.a, p.aOffset, p.strideA, lda, rowsA, colsA, p.batch, 'a') };
    if (ldb !== colsB) q = { ...q, ...densify(p.b, p.bOffset, p.strideB, ldb, rowsB, colsB, p.batch, 'b') };
    const size = p.batch * p.m * p.n;
    const addend = p.accumulate ? p.c.slice(p.cOffset, p.cOffset + size) : null;
    plain(q);
    if (addend) for (let i = 0; i < size; i++) p.c[p.cOffset + i]! += addend[i]!;
    if (p.bias) {
      const bo = p.biasOffset ?? 0;
      for (let r = 0; r < p.batch * p.m; r++) {
        const o = p.cOffset + r * p.n;
        for (let j = 0; j < p.n; j++) p.c[o + j]! += p.bias[bo + j]!;
      }
    }
    if (p.epilogue === 'gelu') {
      const all = p.c.subarray(p.cOffset, p.cOffset + size);
      p.preActivation?.set(all);
      jsBackend.gelu(all, all, size);
    }
  };
}

function densify(src: TypedArray, offset: number, stride: number, ld: number, rows: number, cols: number, batch: number, which: 'a' | 'b') {
  const items = stride === 0 ? 1 : batch;
  const out = new Float32Array(items * rows * cols);
  for (let b = 0; b < items; b++) {
    for (let r = 0; r < rows; r++) {
      const from = offset + b * stride + r * ld;
      out.set(src.subarray(from, from + cols), (b * rows + r) * cols);
    }
  }
  const s = stride === 0 ? 0 : rows * cols;
  return which === 'a' ? { a: out, aOffset: 0, strideA: s } : { b: out, bOffset: 0, strideB: s };
}

function complete(p: PartialBackend): Backend {
  const out: Record<string, unknown> = { name: p.name, matmulExtended: true };
  for (const k of kernelNames) out[k] = p[k] ?? jsBackend[k];
  if (p.matmul && !p.matmulExtended) out['matmul'] = extendMatmul(p.matmul.bind(p));
  // without a fused MLP, compose it from this backend's own matmul (not the reference's)
  if (!p.mlp) {
    const mm = out['matmul'] as Kernels['matmul'];
    out['mlp'] = (q: MlpArgs) => composedMlp(mm, q);
  }
  if (p.dispose) out['dispose'] = p.dispose.bind(p);
  if (p.ownCalls) out['ownCalls'] = p.ownCalls.bind(p);
  if (p.describe) out['describe'] = p.describe.bind(p);
  return out as unknown as Backend;
}

export function registerBackend(name: string, factory: Factory): void {
  factories.set(name, factory);
}

export function backendNames(): string[] {
  return [...factories.keys()];
}

/** A backend in words: what describe() says, else its name. */
export function describeBackend(name: string = activeBackend()): string {
  const b = getBackendByName(name);
  return b.describe ? `${name}: ${b.describe()}` : name;
}

/** Kernel calls a backend ran itself so far (0 for one that hands everything to the reference). */
export function backendCalls(name: string): number {
  return getBackendByName(name).ownCalls?.() ?? 0;
}

export function getBackendByName(name: string): Backend {
  let b = built.get(name);
  if (!b) {
    const f = factories.get(name);
    if (!f) throw new Error(`unknown backend "${name}" (known: ${backendNames().join(', ')})`);
    const partial = f();
    b = complete(partial);
    built.set(name, b);
    const mine = new Set(kernelNames.filter((k) => partial[k]));
    // a composed MLP runs on the backend's own matmul
    if (mine.has('matmul')) mine.add('mlp');
    own.set(name, mine);
  }
  return b;
}

/** The kernels a backend implements itself (it is built if it was not yet). */
export function ownKernels(name: string): ReadonlySet<KernelName> {
  getBackendByName(name);
  return own.get(name)!;
}

export function setBackend(name: string): Backend {
  current = getBackendByName(name);
  return current;
}

/** Run fn with a backend, restoring the previous one afterwards. */
export function withBackend<T>(name: string, fn: () => T): T {
  const prev = getBackend();
  current = getBackendByName(name);
  try {
    return fn();
  } finally {
    current = prev;
  }
}

/**
 * How the backend is chosen on first use when nobody set one (the package
 * entry installs "the fastest measured here"; without a chooser: the reference).
 */
export function setAutoChooser(choose: (() => Backend) | null): void {
  autoChoose = choose;
}

export function getBackend(): Backend {
  if (!current) current = autoChoose ? autoChoose() : jsBackend;
  return current;
}

/** The name of the backend that runs float32 kernels (choosing it now if none was chosen yet). */
export function activeBackend(): string {
  return getBackend().name;
}

/** The backend that runs float64 work: always the reference. */
export const referenceBackend: Backend = jsBackend;

export function disposeBackends(): void {
  for (const [name, b] of built) {
    if (name !== 'js') b.dispose?.();
  }
  built.clear();
  built.set('js', jsBackend);
  current = null;
}
