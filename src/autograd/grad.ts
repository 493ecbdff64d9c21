// Reverse-mode sweep. Nodes are visited in decreasing creation order, which
// is a topological order of the tape; only nodes that lie on a path from a
// requested tensor to the output are visited, and a rule is asked only for
// the input gradients that lead somewhere.

import { Tensor, full, withGradMode, shapesEqual, type GradNode, type Prim } from '../tensor/index.js';
import { rules, accumulate, type Rule } from './rules.js';

/**
 * A table of backward rules over every primitive: the gradient table
 * (rules.ts) is one, the relevance tables (relevance.ts) are others. A row
 * 'constant' treats the primitive's output as a constant: nothing flows
 * back through it, and the products it enters see one operand without a
 * gradient.
 */
export type RuleTable = { [P in Prim]: Rule<P> | 'constant' };

/** Run `fn` without recording: no tape memory, no gradients through it. */
export function noGrad<T>(fn: () => T): T {
  return withGradMode(false, fn);
}

/** Run `fn` with recording on (inside a noGrad scope, for example). */
export function enableGrad<T>(fn: () => T): T {
  return withGradMode(true, fn);
}

/**
 * Vector-Jacobian product: the gradients of sum(seed * y) with respect to each
 * tensor in `wrt` (leaves or intermediates). Without a seed, y must hold one
 * element. A tensor y does not depend on gets a zero gradient. Another rule
 * table gives another backward sweep over the same tape (relevance, say).
 */
export function grad(y: Tensor, wrt: readonly Tensor[], seed?: Tensor, table: RuleTable = rules): Tensor[] {
  if (!seed) {
    if (y.size !== 1) throw new Error(`grad of a non-scalar output [${y.shape}] needs a seed`);
    seed = full(y.shape, 1, y.dtype);
  } else if (!shapesEqual(seed.shape, y.shape)) {
    throw new Error(`seed shape [${seed.shape}] does not match output shape [${y.shape}]`);
  }
  const targets = new Set(wrt);

  // Which tensors reach a requested tensor (memoised DFS over the tape).
  const reaches = new Map<Tensor, boolean>();
  const nodes: GradNode[] = [];
  const visit = (t: Tensor): boolean => {
    const known = reaches.get(t);
    if (known !== undefined) return known;
    reaches.set(t, false); // the tape is acyclic; this only guards re-entry
    let r = targets.has(t);
    if (t.node && table[t.node.prim] !== 'constant') {
      let any = false;
      for (const inp of t.node.inputs) if (inp.requiresGrad && visit(inp)) any = true;
      if (any) {
        nodes.push(t.node);
        r = true;
      }
    }
    reaches.set(t, r);
    return r;
  };
  visit(y);
  nodes.sort((a, b) => b.id - a.id);

  const grads = new Map<Tensor, Tensor>([[y, seed]]);
  noGrad(() => {
    for (const node of nodes) {
      const g = grads.get(node.output);
      if (!g) continue;
      // intermediates that were not asked for can be dropped once consumed
      if (!targets.has(node.output)) grads.delete(node.output);
      const needs = node.inputs.map((t) => t.requiresGrad && reaches.get(t) === true);
      const rule = table[node.prim] as (g: Tensor, n: GradNode, needs: readonly boolean[]) => (Tensor | null)[];
      const gin = rule(g, node, needs);
      node.inputs.forEach((t, i) => {
        const gi = gin[i];
        if (!needs[i] || !gi) return;
        grads.set(t, accumulate(grads.get(t), gi));
      });
    }
  });
  return wrt.map((t) => grads.get(t) ?? full(t.shape, 0, t.dtype));
}
