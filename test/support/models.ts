// Copies of the small fixture models to break on purpose (config and tensor edits).
import { mkdtempSync, cpSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSafetensors, bufferSource, writeSafetensors, type F32TensorRecord } from '../../src/io/safetensors.js';
import { repoPath } from './fixtures.js';

const made: string[] = [];

export function copyModel(name = 'timm_plain'): string {
  const d = mkdtempSync(join(tmpdir(), 'cdam-vit-'));
  cpSync(repoPath(`test/fixtures/vit/${name}`), d, { recursive: true });
  made.push(d);
  return d;
}

export function editConfig(dir: string, edit: (c: Record<string, any>) => void): void {
  const p = join(dir, 'config.json');
  const c = JSON.parse(readFileSync(p, 'utf8'));
  edit(c);
  writeFileSync(p, JSON.stringify(c));
}

export function editTensors(dir: string, edit: (t: Record<string, F32TensorRecord>) => void): void {
  const p = join(dir, 'model.safetensors');
  const f = openSafetensors(bufferSource(readFileSync(p), p));
  const t: Record<string, F32TensorRecord> = {};
  for (const n of f.names()) t[n] = { dtype: 'F32', shape: f.info(n).shape, data: f.readF32(n) };
  edit(t);
  writeFileSync(p, writeSafetensors(t));
}

export function removeModels(): void {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
}
