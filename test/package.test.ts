// tier: end-to-end (test/README.md)
// As a new user meets the project: (1) the packed tarball installed into an
// empty project that cannot see the repository or ../shared, running the
// README's library snippet, and type-checked by a strict TypeScript consumer;
// (2) a fresh clone with nothing beside it, running the README's quick start
// exactly as written there. Both use npm with the registry (or its cache).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, existsSync, rmSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoPath } from './support/fixtures.js';

const tmp = mkdtempSync(join(tmpdir(), 'cdam-pkg-'));
const repo = repoPath('.');

/** The environment of a person at a shell: none of npm's lifecycle variables, no backend override. */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_|^CDAM_/i.test(k) && k !== 'INIT_CWD') env[k] = v;
  return env;
}

function sh(cmd: string, cwd: string): SpawnSyncReturns<string> {
  const r = spawnSync('bash', ['-c', cmd], { cwd, encoding: 'utf8', env: userEnv(), timeout: 300_000 });
  if (r.status !== 0) throw new Error(`${cmd} (in ${cwd}) exited ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r;
}

/** Every file under dir (symlinks not followed), as paths relative to it. */
function filesUnder(dir: string, rel = ''): string[] {
  return readdirSync(join(dir, rel), { withFileTypes: true }).flatMap((e) => {
    const r = join(rel, e.name);
    return e.isDirectory() ? filesUnder(dir, r) : [r];
  });
}

/** The lines of the first sh block under a README heading. */
export function readmeBlock(heading: string): string[] {
  const text = readFileSync(join(repo, 'README.md'), 'utf8');
  const at = text.indexOf(`\n## ${heading}\n`);
  if (at < 0) throw new Error(`README.md has no "## ${heading}" section`);
  const block = /```sh\n([\s\S]*?)```/.exec(text.slice(at));
  if (!block) throw new Error(`README.md "## ${heading}" has no sh block`);
  return block[1]!
    .split('\n')
    .map((l) => l.replace(/#.*$/, '').trim())
    .filter(Boolean);
}

test('npm pack: the tarball installs into an empty project and the README snippet runs there', () => {
  const pack = sh(`npm pack --ignore-scripts --silent --pack-destination ${tmp}`, repo).stdout.trim().split('\n').pop()!;
  const tarball = join(tmp, pack);
  const listing = sh(`tar -tzf ${tarball}`, tmp).stdout.split('\n');
  for (const must of [
    'package/build/src/index.js',
    'package/build/src/index.d.ts',
    'package/build/src/cli/main.js',
    'package/weights/model.safetensors',
    'package/examples/chelsea.png',
    'package/dist/browser/cdam.js',
    'package/docs/img/quickstart.png',
    'package/LICENSE',
  ]) {
    assert.ok(listing.includes(must), `the tarball ships ${must}`);
  }
  for (const never of ['package/test/', 'package/bench/', 'package/tools/', 'package/build/test/', 'package/src/']) {
    assert.not.ok(
      listing.some((f) => f.startsWith(never)),
      `the tarball leaves out ${never}`,
    );
  }
  const proj = join(tmp, 'consumer');
  mkdirSync(proj);
  writeFileSync(join(proj, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  sh(`npm install --no-audit --no-fund --prefer-offline --loglevel=error ${tarball}`, proj);
  // no native code: no compiled addon, nothing to build, no package that runs an install script
  const installed = filesUnder(join(proj, 'node_modules'));
  assert.equal(
    installed.filter((f) => f.endsWith('.node') || f.endsWith('binding.gyp')),
    [],
    'no native addon is installed',
  );
  for (const f of installed.filter((f) => f.endsWith('package.json'))) {
    let scripts: Record<string, string> = {};
    try {
      scripts = (JSON.parse(readFileSync(join(proj, 'node_modules', f), 'utf8')) as { scripts?: Record<string, string> }).scripts ?? {};
    } catch {
      continue; // package.json files inside packages' test data are not manifests
    }
    for (const hook of ['preinstall', 'install', 'postinstall']) assert.not.ok(scripts[hook], `${f} runs an ${hook} script: ${scripts[hook]}`);
  }
  assert.not.ok(existsSync(join(proj, 'node_modules', 'gpu.js')), 'gpu.js (an optional peer) is not installed by default');
  const mb = Number(sh('du -sm node_modules', proj).stdout.split(/\s/)[0]);
  console.log(`  installed: ${installed.length} files, ${mb} MB`);
  assert.ok(mb < 80, `the install stays small (${mb} MB)`);
  // the gpujs backend without gpu.js: a clear message, not a stack trace
  const gpujs = spawnSync('npx', ['--no-install', 'cdam', 'classify', 'node_modules/cdam/examples/coffee.png'], {
    cwd: proj,
    encoding: 'utf8',
    env: { ...userEnv(), CDAM_BACKEND: 'gpujs' },
    timeout: 60_000,
  });
  assert.is(gpujs.status, 1);
  assert.match(gpujs.stderr, /the gpujs backend needs the optional package gpu\.js, which is not installed \(npm install gpu\.js/);
  assert.not.match(gpujs.stderr, /\n\s+at /, 'no stack trace');
  writeFileSync(
    join(proj, 'snippet.mjs'),
    `import { loadViT, readImageFile, explainImage, activeBackend } from 'cdam';
const vit = await loadViT();
const r = await explainImage(vit, readImageFile('node_modules/cdam/examples/chelsea.png'), { method: 'cdam', target: 285 });
console.log(JSON.stringify({ rows: r.map.rows, cols: r.map.cols, n: r.map.values.length, top1: r.top[0].index, backend: activeBackend() }));
`,
  );
  const r = JSON.parse(sh('node snippet.mjs', proj).stdout.trim());
  assert.equal(r, { rows: 14, cols: 14, n: 196, top1: 285, backend: 'wasm' });
  // every target package.json's exports names is in the installed package and resolves by its subpath
  const installedPkg = JSON.parse(readFileSync(join(proj, 'node_modules', 'cdam', 'package.json'), 'utf8')) as {
    exports: Record<string, string | Record<string, string>>;
  };
  for (const [sub, target] of Object.entries(installedPkg.exports)) {
    for (const file of typeof target === 'string' ? [target] : Object.values(target)) {
      assert.ok(existsSync(join(proj, 'node_modules', 'cdam', file)), `exports["${sub}"] -> ${file} is in the package`);
    }
    if (sub !== '.') sh(`node -e "require.resolve('cdam${sub.slice(1)}')"`, proj);
  }
  // the layers' own entries: one name of each, from the installed package
  const subpaths = sh(
    `node --input-type=module -e "const [m, md, e, ev] = await Promise.all(['cdam/methods', 'cdam/model', 'cdam/engine', 'cdam/eval'].map((s) => import(s))); console.log([m.Explainer, m.smoothGrad, m.runMethod, md.loadViTFolder, md.openSafetensors, e.grad, e.fromData, ev.runEval, ev.writeReport].map((f) => typeof f).join(' '))"`,
    proj,
  ).stdout.trim();
  assert.is(subpaths, Array(9).fill('function').join(' '));
  // CommonJS: require() of the ES module works (no top-level await anywhere on its path)
  const cjs = sh(`node -e "const c = require('cdam'); console.log(typeof c.loadViT, typeof c.explainImage)"`, proj).stdout.trim();
  assert.is(cjs, 'function function');
  // the installed command, on the shipped photo
  const cli = sh('npx --no-install cdam classify node_modules/cdam/examples/coffee.png --top 1', proj).stdout;
  assert.match(cli, /967\s+espresso/);
  // a strict TypeScript consumer (browser-like: DOM lib, no @types/node) type-checks against the shipped types
  writeFileSync(
    join(proj, 'main.ts'),
    `import { loadViT, readImageFile, explainImage, type ExplainResult } from 'cdam';
import { Explainer, runMethod } from 'cdam/methods';
import { fromData } from 'cdam/engine';
const vit = await loadViT();
const r: ExplainResult = await explainImage(vit, readImageFile('cat.png'), { method: 'cdam', target: 'Egyptian cat' });
export const cells: number = r.map.rows * r.map.cols + r.map.values.length;
export const rows: number = runMethod(new Explainer(vit, fromData(new Float32Array(3 * 224 * 224), [1, 3, 224, 224])), 'cdam', { kind: 'class', index: 285 })[0]!.map.rows;
`,
  );
  writeFileSync(
    join(proj, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { strict: true, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', noEmit: true, types: [], lib: ['ES2022', 'DOM'] },
      files: ['main.ts'],
    }),
  );
  sh(`node ${repoPath('node_modules/typescript/bin/tsc')} -p .`, proj);
});

test('a fresh clone with nothing beside it: the README quick start, pasted as it is, writes the picture', () => {
  const head = sh('git rev-parse HEAD', repo).stdout.trim();
  const clone = join(tmp, 'fresh', 'cdam');
  sh(`git clone -q ${repo} ${clone} && git -C ${clone} checkout -q ${head}`, tmp);
  assert.not.ok(existsSync(join(clone, '..', 'shared')));
  const lines = readmeBlock('Quick start');
  assert.ok(lines.length === 2 && lines[0] === 'npm ci', `two commands, npm ci first: ${JSON.stringify(lines)}`);
  sh(`${lines[0]} --no-audit --no-fund --prefer-offline --loglevel=error`, clone);
  const r = sh(lines[1]!, clone);
  assert.match(r.stdout, /^top: 967 espresso/m);
  const out = /--out (\S+)/.exec(lines[1]!)![1]!;
  const png = readFileSync(join(clone, out));
  assert.equal([...png.subarray(1, 4)], [0x50, 0x4e, 0x47]);
  assert.ok(png.length > 50_000, `a real picture (${png.length} bytes)`);
  assert.is(
    sh('git status --porcelain --untracked-files=all', clone).stdout,
    '',
    'nothing written into the clone but ignored files (build, node_modules, cdam.png)',
  );
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));

test.run();
