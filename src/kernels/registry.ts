// Which backend runs float32 kernels. Backends register a factory; the first
// use of a backend builds it (workers, GPU contexts) and fills the kernels it
// lacks from the reference backend.

import type { Backend, PartialBackend, Kernels, KernelName } from './backend.js';
import { jsBackend } from './js.js';

type Factory = () => PartialBackend;
const factories = new Map<string, Factory>([['js', () => jsBackend]]);
const built = new Map<string, Backend>([['js', jsBackend]]);
let current: Backend = jsBackend;

const kernelNames: KernelName[] = ['matmul', 'softmax', 'softmaxBackward', 'layerNorm', 'layerNormBackward'];

function complete(p: PartialBackend): Backend {
  const out: Record<string, unknown> = { name: p.name };
  for (const k of kernelNames) out[k] = (p[k] ?? jsBackend[k]) as Kernels[typeof k];
  if (p.dispose) out['dispose'] = p.dispose.bind(p);
  return out as unknown as Backend;
}

export function registerBackend(name: string, factory: Factory): void {
  factories.set(name, factory);
}

export function backendNames(): string[] {
  return [...factories.keys()];
}

export function getBackendByName(name: string): Backend {
  let b = built.get(name);
  if (!b) {
    const f = factories.get(name);
    if (!f) throw new Error(`unknown backend "${name}" (known: ${backendNames().join(', ')})`);
    b = complete(f());
    built.set(name, b);
  }
  return b;
}

export function setBackend(name: string): Backend {
  current = getBackendByName(name);
  return current;
}

/** Run fn with a backend, restoring the previous one afterwards. */
export function withBackend<T>(name: string, fn: () => T): T {
  const prev = current;
  current = getBackendByName(name);
  try {
    return fn();
  } finally {
    current = prev;
  }
}

export function getBackend(): Backend {
  return current;
}

/** The backend that runs float64 work: always the reference. */
export const referenceBackend: Backend = jsBackend;

export function disposeBackends(): void {
  for (const [name, b] of built) {
    if (name !== 'js') b.dispose?.();
  }
  built.clear();
  built.set('js', jsBackend);
  current = jsBackend;
}
