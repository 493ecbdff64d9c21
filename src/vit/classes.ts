// The top classes of a logit vector: index, label, raw logit and softmax probability.

export interface TopClass {
  index: number;
  label: string;
  logit: number;
  prob: number;
}

/** The k most probable classes, most probable first (ties by index). */
export function topClasses(logits: ArrayLike<number>, label: (i: number) => string, k: number): TopClass[] {
  const n = logits.length;
  for (let i = 0; i < n; i++) if (!Number.isFinite(logits[i]!)) throw new Error(`the model's logits are not finite (class ${i} ${label(i)}: ${logits[i]})`);
  let m = -Infinity;
  for (let i = 0; i < n; i++) m = Math.max(m, logits[i]!);
  let z = 0;
  for (let i = 0; i < n; i++) z += Math.exp(logits[i]! - m);
  const order = Array.from({ length: n }, (_, i) => i)
    .sort((a, b) => logits[b]! - logits[a]! || a - b)
    .slice(0, Math.max(0, Math.min(k, n)));
  return order.map((i) => ({ index: i, label: label(i), logit: logits[i]!, prob: Math.exp(logits[i]! - m) / z }));
}
