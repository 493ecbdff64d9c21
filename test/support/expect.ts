// Expect an error whose message contains every given part.
import * as assert from 'uvu/assert';

export function expectError(fn: () => unknown, ...parts: (string | RegExp)[]): string {
  let msg: string | undefined;
  try {
    fn();
  } catch (e) {
    msg = (e as Error).message;
  }
  if (msg === undefined) assert.unreachable(`expected an error mentioning ${parts.map(String).join(', ')}`);
  for (const p of parts) {
    const ok = typeof p === 'string' ? msg!.includes(p) : p.test(msg!);
    assert.ok(ok, `error message ${JSON.stringify(msg)} should contain ${String(p)}`);
  }
  return msg!;
}
