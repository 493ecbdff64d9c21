// Shared test helpers: fixture loading and normwise comparison. Reading
// files is in files.ts, which the in-browser suites swap for fetches.
import { Tensor, tensor, type DType } from '../../src/tensor/index.js';
export { repoPath, sharedPath, loadJson } from './files.js';

export interface Encoded {
  shape: number[];
  data: number[];
}

export function decode(e: Encoded, dtype: DType = 'float32'): Tensor {
  return tensor(e.data, e.shape, dtype);
}

/** max |a - b| / max(|b|, tiny): the normwise relative error of a against reference b. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let d = 0;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    m = Math.max(m, Math.abs(b[i]!));
  }
  return d / Math.max(m, 1e-30);
}

export function assertClose(actual: Tensor | ArrayLike<number>, expected: Encoded | ArrayLike<number>, tol: number, what: string): void {
  const a = actual instanceof Tensor ? actual.toArray() : actual;
  const exp = 'data' in (expected as Encoded) ? (expected as Encoded) : null;
  if (exp && actual instanceof Tensor && actual.shape.join(',') !== exp.shape.join(',')) {
    throw new Error(`${what}: shape [${actual.shape}] != expected [${exp.shape}]`);
  }
  const b = exp ? exp.data : (expected as ArrayLike<number>);
  const e = relErr(a, b);
  if (!(e <= tol)) throw new Error(`${what}: relative error ${e.toExponential(3)} > ${tol}`);
}
