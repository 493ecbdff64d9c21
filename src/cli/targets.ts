// Parse --target: a class index, a label, or "A-B" (difference of two logits).
import type { Target } from '../cdam/target.js';
import type { ViT } from '../vit/model.js';

export function parseTarget(spec: string, vit: ViT): Target {
  const s = spec.trim();
  const diff = /^(\d+)\s*-\s*(\d+)$/.exec(s);
  if (diff) return checkClass({ kind: 'difference', a: Number(diff[1]), b: Number(diff[2]) }, vit);
  if (/^\d+$/.test(s)) return checkClass({ kind: 'class', index: Number(s) }, vit);
  const labels = vit.config.labels;
  if (!labels) throw new Error(`target "${spec}" is not a class index and the model has no labels`);
  const want = s.toLowerCase();
  const exact = labels.findIndex((l) => l.toLowerCase() === want);
  if (exact >= 0) return { kind: 'class', index: exact };
  const near = labels.map((l, i) => [l, i] as const).filter(([l]) => l.toLowerCase().includes(want));
  if (near.length === 1) return { kind: 'class', index: near[0]![1] };
  const hint = near.slice(0, 8).map(([l, i]) => `${i} ${l}`).join(', ');
  throw new Error(`target "${spec}" matches ${near.length ? `several labels: ${hint}` : 'no label'}`);
}

function checkClass(t: Target, vit: ViT): Target {
  const c = vit.config.numClasses;
  const idx = t.kind === 'class' ? [t.index] : t.kind === 'difference' ? [t.a, t.b] : [];
  if (c === 0) throw new Error('class targets need a classifier head; this model has none (use --concept, or --head FILE)');
  for (const i of idx) if (i >= c) throw new Error(`class index ${i} is out of range: the model has ${c} classes (0..${c - 1})`);
  return t;
}
