// The schema of one results.jsonl line (docs/EVAL.md), checked field by
// field. Pure (no file access), so the report, which also runs in browsers,
// and the run folder's reader (folder.ts) share it.

const NUMBER_FIELDS = ['mapTarget', 'logitTarget', 'aMif', 'aLif', 'aLifMif', 'aBox', 'compactness'] as const;

function numberList(v: unknown, what: string): number[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) throw new Error(`${what} must be a list of numbers`);
  return v as number[];
}

/**
 * One parsed results line checked against the schema (docs/EVAL.md); throws a
 * plain Error with the problem. `line` (the manifest line) and `model` are
 * optional here: the report also reads records from elsewhere.
 */
export function checkRecordFields(o: unknown): Record<string, unknown> {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new Error('not a JSON object');
  const r = o as Record<string, unknown>;
  if (typeof r['image'] !== 'string' || r['image'] === '') throw new Error('"image" must be a non-empty string');
  if (typeof r['method'] !== 'string' || r['method'] === '') throw new Error('"method" must be a non-empty string');
  if (r['model'] !== undefined && typeof r['model'] !== 'string') throw new Error('"model" must be a string');
  if (r['line'] !== undefined && !Number.isInteger(r['line'])) throw new Error('"line" must be an integer');
  for (const k of NUMBER_FIELDS) {
    if (typeof r[k] !== 'number' || !Number.isFinite(r[k])) throw new Error(`"${k}" must be a finite number, got ${JSON.stringify(r[k])}`);
  }
  for (const k of ['mapTarget', 'logitTarget'] as const) if (!Number.isInteger(r[k])) throw new Error(`"${k}" must be a class index`);
  const sizes = numberList(r['boxSizes'], '"boxSizes"');
  const boxR = numberList(r['boxR'], '"boxR"');
  if (sizes.length !== boxR.length) throw new Error(`"boxR" has ${boxR.length} values for ${sizes.length} box sizes`);
  const c = r['curves'] as Record<string, unknown> | undefined;
  if (typeof c !== 'object' || c === null) throw new Error('"curves" must be {"mif": [...], "lif": [...]}');
  const mif = numberList(c['mif'], '"curves.mif"');
  const lif = numberList(c['lif'], '"curves.lif"');
  if (mif.length < 2 || mif.length !== lif.length)
    throw new Error(`"curves.mif" and "curves.lif" must have the same length (at least 2), got ${mif.length} and ${lif.length}`);
  return r;
}
