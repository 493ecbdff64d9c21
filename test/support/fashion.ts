// Tests that need Fashion-MNIST from Debian (apt-get install dataset-fashion-mnist,
// /usr/share/datasets/fashion-mnist). Where it is missing they are registered
// as skipped, so uvu counts them, and say why; with CDAM_REQUIRE_FASHION=1
// (.ci/run sets it after installing the package) a missing file fails them.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';

export const FASHION_DIR = '/usr/share/datasets/fashion-mnist';
const FILES = ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'];

export function fashionTest(name: string, fn: () => void | Promise<void>): void {
  const missing = FILES.filter((f) => !existsSync(join(FASHION_DIR, f)));
  if (!missing.length) return void test(name, fn);
  const why = `needs ${missing.map((f) => join(FASHION_DIR, f)).join(', ')} (apt-get install dataset-fashion-mnist)`;
  if (process.env['CDAM_REQUIRE_FASHION'] === '1') {
    return void test(name, () => {
      throw new Error(`${why} (CDAM_REQUIRE_FASHION=1 says it must be there)`);
    });
  }
  console.log(`  skip "${name}": ${why}`);
  test.skip(name, () => {});
}
