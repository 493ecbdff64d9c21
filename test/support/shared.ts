// Tests that need the team's material in ../shared (F32 weights, more photos).
// Where it is missing they are registered as skipped, so uvu counts them, and
// say why; with CDAM_REQUIRE_SHARED=1 (.ci/run sets it when ../shared is
// there) a missing file fails the test instead.
import { test } from 'uvu';
import { sharedPath } from './fixtures.js';

export function sharedTest(name: string, needs: string[], fn: (...paths: string[]) => void | Promise<void>): void {
  const paths = needs.map((n) => sharedPath(n));
  const missing = needs.filter((_, i) => !paths[i]);
  if (!missing.length) {
    test(name, () => fn(...(paths as string[])));
    return;
  }
  const why = `needs ${missing.map((m) => `../shared/${m}`).join(', ')}, which is not beside the repository`;
  if (process.env['CDAM_REQUIRE_SHARED'] === '1') {
    test(name, () => {
      throw new Error(`${why} (CDAM_REQUIRE_SHARED=1 says it must be)`);
    });
    return;
  }
  console.log(`  skip "${name}": ${why}`);
  test.skip(name, () => {});
}
