// Before/after for docs/PERFORMANCE.md: the same items timed on several
// builds (e.g. `git worktree add /tmp/ab/<commit> <commit>` then `tsc -p .`
// there), each measurement in a fresh process, builds interleaved round by
// round so that a slow phase of a shared machine hits them all alike; the
// table gives the median over rounds.
//   node bench/steps.mjs --build label=dir [--build label=dir ...] [--env label=VAR=value[,VAR=value]]
//        [--rounds 3] [--items forward,input_x_grad,forward_batch8] [--model dir]
import { spawnSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const builds = [];
args.forEach((a, i) => {
  if (a === '--build') {
    const [label, dir] = args[i + 1].split('=');
    builds.push({ label, dir, env: {} });
  }
  if (a === '--env') {
    // --env label=VAR=value[,VAR2=value2]: the build named `label` again, with environment variables
    const spec = args[i + 1];
    const label = spec.slice(0, spec.indexOf('='));
    const env = Object.fromEntries(
      spec
        .slice(label.length + 1)
        .split(',')
        .map((kv) => kv.split('=')),
    );
    const base = builds.find((b) => b.label === label);
    if (!base) throw new Error(`--env: no build labelled ${label} before it`);
    builds.push({ label: `${label} ${spec.slice(label.length + 1)}`, dir: base.dir, env });
  }
});
if (!builds.length) throw new Error('give at least one --build label=dir');
const rounds = Number(opt('--rounds', 3));
const items = opt('--items', 'forward,input_x_grad,forward_batch8').split(',');
const model = opt('--model', join(here, '..', '..', 'shared', 'weights', 'vit_tiny_patch16_224.augreg_in21k_ft_in1k'));

const results = new Map(); // `${label}|${item}` -> ms[]
for (let r = 0; r < rounds; r++) {
  for (const item of items) {
    for (const b of builds) {
      const p = spawnSync(process.execPath, [join(here, 'step-runner.mjs'), b.dir, item, model], {
        encoding: 'utf8',
        env: { ...process.env, ...b.env },
      });
      if (p.status !== 0) throw new Error(`${b.label} ${item}: ${p.stderr.trim().split('\n').pop()}`);
      const { ms } = JSON.parse(p.stdout.trim().split('\n').pop());
      const key = `${b.label}|${item}`;
      results.set(key, [...(results.get(key) ?? []), ms]);
      process.stderr.write(`round ${r + 1} ${item} ${b.label}: ${ms.toFixed(1)} ms\n`);
    }
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`| build | ${items.join(' ms | ')} ms |`);
console.log(`|---|${items.map(() => '---:').join('|')}|`);
for (const b of builds) {
  console.log(`| ${b.label} | ${items.map((it) => median(results.get(`${b.label}|${it}`)).toFixed(1)).join(' | ')} |`);
}
