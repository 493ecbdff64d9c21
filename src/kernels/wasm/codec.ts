// The one job codec: every kind of job the threads run is a layout (field
// name -> word kind), from which both its TypeScript type and its encoding in
// the control block's job words are derived. Writing a job with a field
// missing, or of the wrong kind, does not compile.

type WordKind = 'i32' | 'f32' | 'bool';
type Layout = Readonly<Record<string, WordKind>>;

/** The job a layout describes: numbers, and booleans for 'bool' words. */
export type JobOf<L extends Layout> = { -readonly [K in keyof L]: L[K] extends 'bool' ? boolean : number };

export interface JobCodec<L extends Layout> {
  readonly kind: number;
  /** Words the job takes after its kind word. */
  readonly words: number;
  write(words: Int32Array, at: number, j: JobOf<L>): void;
  read(words: Int32Array, at: number): JobOf<L>;
}

const bits = new Int32Array(1);
const asFloat = new Float32Array(bits.buffer);

/** The job type a codec reads and writes. */
export type JobOfCodec<C> = C extends JobCodec<infer L> ? JobOf<L> : never;

export function jobCodec<const L extends Layout>(kind: number, layout: L): JobCodec<L> {
  const keys = Object.keys(layout) as (keyof L & string)[];
  return {
    kind,
    words: keys.length,
    write(w, at, j) {
      keys.forEach((k, i) => {
        const v = j[k];
        if (layout[k] === 'f32') {
          asFloat[0] = v as number;
          w[at + i] = bits[0]!;
        } else w[at + i] = +v;
      });
    },
    read(w, at) {
      const j: Record<string, number | boolean> = {};
      keys.forEach((k, i) => {
        const x = w[at + i]!;
        if (layout[k] === 'f32') {
          bits[0] = x;
          j[k] = asFloat[0]!;
        } else j[k] = layout[k] === 'bool' ? x === 1 : x;
      });
      return j as JobOf<L>;
    },
  };
}

/** A batched GEMM whose operands are in wasm memory (byte addresses and strides). */
export const gemmJob = jobCodec(1, {
  a: 'i32',
  b: 'i32',
  c: 'i32',
  /** the shared operand, packed by prepack() for every batch item */
  packed: 'i32',
  /** distance between batch items; 0 broadcasts; C items are m*n floats apart */
  strideA: 'i32',
  strideB: 'i32',
  stridePacked: 'i32',
  /** element distance between stored rows of A and of B */
  lda: 'i32',
  ldb: 'i32',
  /** byte address of the bias row, 0 for none */
  bias: 'i32',
  /** byte address of B packed whole ahead of time (a cached weight), 0 for none; shared by all items */
  packedB: 'i32',
  /** C holds an addend */
  accumulate: 'bool',
  /** GELU over the finished C, keeping C before it at `pre` (0: nowhere; items m*n floats apart) */
  gelu: 'bool',
  pre: 'i32',
  transA: 'bool',
  transB: 'bool',
  batch: 'i32',
  m: 'i32',
  n: 'i32',
  k: 'i32',
  /** chunks are rows of C (else columns) */
  byRows: 'bool',
  /** rows or columns per chunk */
  chunk: 'i32',
});
export type GemmJob = JobOfCodec<typeof gemmJob>;

/** A row-wise job (softmax, layer norm, GELU and their gradients): see runRows (rows.kernel.ts). */
export const rowsJob = jobCodec(2, {
  /** RowOp */
  op: 'i32',
  /** the kernel's array arguments (byte addresses), 0 where unused */
  p0: 'i32',
  p1: 'i32',
  p2: 'i32',
  p3: 'i32',
  p4: 'i32',
  cols: 'i32',
  eps: 'f32',
  rows: 'i32',
  /** rows per unit */
  per: 'i32',
});
export type RowsJob = JobOfCodec<typeof rowsJob>;

/** A fused attention job with its operands in wasm memory (byte addresses). */
export const attentionJob = jobCodec(3, {
  /** [batch, tokens, 3D] q|k|v rows */
  qkv: 'i32',
  /** [batch, heads, tokens, tokens] output */
  attn: 'i32',
  /** [batch, tokens, D] output */
  out: 'i32',
  batch: 'i32',
  tokens: 'i32',
  heads: 'i32',
  headDim: 'i32',
  scale: 'f32',
  /** query rows per unit; units run over (batch item, head, row block) */
  blockRows: 'i32',
  blocksPerItem: 'i32',
  /** pack a head's K and V once per thread and keep them in its scratch (else pack per block of k) */
  cachePanels: 'bool',
});
export type AttentionJob = JobOfCodec<typeof attentionJob>;

/** One phase of an attention-gradient job with its operands in wasm memory (byte addresses). */
export const attentionBackwardJob = jobCodec(4, {
  /** [batch, tokens, 3D] q|k|v rows */
  qkv: 'i32',
  /** [batch, heads, tokens, tokens] probabilities */
  attn: 'i32',
  /** [batch, tokens, D] gradient of the merged heads */
  g: 'i32',
  /** [batch, heads, tokens, tokens]: phase 1 writes dS, phase 2 reads it */
  dS: 'i32',
  /** [batch, tokens, 3D] output */
  dqkv: 'i32',
  batch: 'i32',
  tokens: 'i32',
  heads: 'i32',
  headDim: 'i32',
  scale: 'f32',
  /** 1: dS and dQ by query rows; 2: dK and dV by key rows */
  phase: 'i32',
  /** rows per unit; units run over (batch item, head, row block) */
  blockRows: 'i32',
  blocksPerItem: 'i32',
  /** pack a head's B operands once per thread and keep them in its scratch (else pack per block of k) */
  cachePanels: 'bool',
});
export type AttentionBackwardJob = JobOfCodec<typeof attentionBackwardJob>;
