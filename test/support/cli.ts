// Run the built command as a user runs it: a child process with exit code, stdout and stderr.
import { spawnSync } from 'node:child_process';
import { repoPath } from './fixtures.js';

const cli = repoPath('build/src/cli/main.js');

export function runCli(...args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, CDAM_BACKEND: 'js' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
