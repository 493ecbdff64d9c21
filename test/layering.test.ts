// The layering docs/ARCHITECTURE.md states, checked on the sources: each folder imports
// only itself and the folders below it; kernels import nothing above them,
// cdam, baselines and methods know nothing of files or the command line, nothing imports cli.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, dirname, resolve } from 'node:path';
import { repoPath } from './support/fixtures.js';

const src = repoPath('src');
// platform (is this Node, and its built-in modules) sits below every layer
const MAY_IMPORT: Record<string, readonly string[]> = {
  platform: [],
  kernels: ['platform'],
  tensor: ['kernels', 'platform'],
  autograd: ['tensor', 'kernels', 'platform'],
  io: ['platform'],
  vit: ['io', 'autograd', 'tensor', 'kernels', 'platform'],
  cdam: ['vit', 'io', 'autograd', 'tensor', 'kernels', 'platform'], // io for byte formats (the concept file), never for files
  baselines: ['cdam', 'vit', 'autograd', 'tensor', 'kernels', 'platform'],
  methods: ['baselines', 'cdam', 'tensor', 'kernels', 'platform'],
  train: ['vit', 'io', 'autograd', 'tensor', 'kernels', 'platform'],
  render: ['io', 'platform'],
  api: ['train', 'methods', 'baselines', 'cdam', 'vit', 'render', 'io', 'autograd', 'tensor', 'kernels', 'platform'],
  eval: ['api', 'methods', 'cdam', 'vit', 'io', 'autograd', 'tensor', 'kernels', 'platform'],
  cli: ['api', 'eval', 'train', 'methods', 'baselines', 'cdam', 'vit', 'render', 'io', 'autograd', 'tensor', 'kernels', 'platform'],
  '.': ['api', 'eval', 'train', 'methods', 'baselines', 'cdam', 'vit', 'render', 'io', 'autograd', 'tensor', 'kernels', 'platform'],
};

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const layerOf = (file: string): string => {
  const rel = relative(src, file).split('/');
  return rel.length === 1 ? '.' : rel[0]!;
};

test('every folder of src/ has a place in the layering', () => {
  const folders = readdirSync(src).filter((f) => statSync(join(src, f)).isDirectory());
  for (const f of folders) assert.ok(f in MAY_IMPORT, `src/${f} is not in the layer table`);
  const doc = readFileSync(repoPath('docs/ARCHITECTURE.md'), 'utf8');
  for (const f of folders) assert.ok(doc.includes(`\`src/${f}\``), `the layer table of docs/ARCHITECTURE.md lists src/${f}`);
});

test('imports go only downwards', () => {
  const bad: string[] = [];
  let checked = 0;
  for (const file of files(src)) {
    const from = layerOf(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+'(\.[^']+)'/gm)) {
      checked++;
      const to = layerOf(resolve(dirname(file), m[1]!));
      if (to !== from && !MAY_IMPORT[from]!.includes(to)) bad.push(`${relative(src, file)} imports ${m[1]} (${from} -> ${to})`);
      if ((from === 'cdam' || from === 'baselines' || from === 'methods') && /io\/(atomic|node|image)\.js$/.test(m[1]!))
        bad.push(`${relative(src, file)} reaches files through ${m[1]}`);
    }
  }
  assert.ok(checked > 200, `read ${checked} relative imports`);
  assert.equal(bad, []);
});

test.run();
