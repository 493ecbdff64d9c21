// A tiny WebAssembly binary assembler: just enough of the format (types,
// one imported memory, functions, exports, code) and of the instruction set
// (i32, f32, v128 SIMD, bulk memory) to emit our kernels at run time, so the
// library ships no .wasm files and needs no external tools.
//
// Instructions are emitted through methods on Func that push bytes in call
// order. Because JS evaluates arguments left to right, nesting calls reads
// like an expression tree and still produces correct stack-machine code:
//   f.set(x, f.i32Add(f.get(x), f.i32(4)))  ->  local.get x; i32.const 4; i32.add; local.set x

export type ValType = 'i32' | 'f32' | 'v128';

const valTypeCode: Record<ValType, number> = { i32: 0x7f, f32: 0x7d, v128: 0x7b };

/**
 * What every emitting method returns: nothing at run time; the name marks
 * parameters that stand for operands already pushed on the wasm stack.
 */
export type Ex = void;

/** A local variable (or parameter) index together with its type. */
export interface Local {
  readonly index: number;
  readonly type: ValType;
}

/**
 * A function's signature, declared once: the emitted wasm type comes from it
 * (ModuleBuilder.declare) and so does the TypeScript type of its export
 * (ExportsOf), so the two cannot drift apart.
 */
export interface Signature {
  readonly params: readonly ValType[];
  readonly results: readonly ValType[];
}

type Repeat<T, N extends number, A extends T[] = []> = A['length'] extends N ? A : Repeat<T, N, [...A, T]>;

/** n i32 parameters, as a tuple type of that length. */
export function i32s<N extends number>(n: N): Repeat<'i32', N> {
  return new Array(n).fill('i32') as Repeat<'i32', N>;
}

export function signature<const P extends readonly ValType[], const R extends readonly ValType[] = readonly []>(
  params: P,
  results?: R,
): { readonly params: P; readonly results: R } {
  return { params, results: (results ?? []) as R };
}

type JsArgs<P extends readonly ValType[]> = { -readonly [I in keyof P]: number };
/** The JavaScript view of exported functions with these signatures (every parameter and result is an i32 or f32 number). */
export type ExportsOf<T extends Record<string, Signature>> = {
  [K in keyof T]: (...args: JsArgs<T[K]['params']>) => T[K]['results'] extends readonly [] ? void : number;
};
/** A function's parameters as a tuple of locals, one per declared parameter. */
type LocalsOf<P extends readonly ValType[]> = { -readonly [I in keyof P]: Local };
export type ParamsOf<S extends Signature> = LocalsOf<S['params']>;

/** A structured control label: branch targets are resolved to depths. */
export interface Label {
  readonly depth: number;
}

class Bytes {
  readonly out: number[] = [];
  byte(b: number): void {
    this.out.push(b & 0xff);
  }
  u32(v: number): void {
    // unsigned LEB128
    v >>>= 0;
    do {
      let b = v & 0x7f;
      v >>>= 7;
      if (v !== 0) b |= 0x80;
      this.out.push(b);
    } while (v !== 0);
  }
  s32(v: number): void {
    // signed LEB128
    v |= 0;
    for (;;) {
      const b = v & 0x7f;
      v >>= 7;
      const done = (v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0);
      this.out.push(done ? b : b | 0x80);
      if (done) return;
    }
  }
  f32(v: number): void {
    const buf = new Uint8Array(new Float32Array([v]).buffer);
    for (const b of buf) this.out.push(b);
  }
  name(s: string): void {
    const enc = new TextEncoder().encode(s);
    this.u32(enc.length);
    for (const b of enc) this.out.push(b);
  }
  append(other: number[]): void {
    for (const b of other) this.out.push(b);
  }
  /** A length-prefixed section or code entry. */
  sized(fill: (w: Bytes) => void): void {
    const w = new Bytes();
    fill(w);
    this.u32(w.out.length);
    this.append(w.out);
  }
}

// Opcodes used below; SIMD ones are prefixed by 0xfd, bulk memory by 0xfc.
const SIMD = {
  load: 0x00,
  load32Splat: 0x09,
  store: 0x0b,
  const: 0x0c,
  shuffle: 0x0d,
  f32x4Splat: 0x13,
  f32x4ExtractLane: 0x1f,
  f32x4Add: 0xe4,
  f32x4Sub: 0xe5,
  f32x4Mul: 0xe6,
  f32x4Div: 0xe7,
  f32x4Abs: 0xe0,
  f32x4Pmin: 0xea,
  f32x4Pmax: 0xeb,
  f32x4Lt: 0x43,
  v128AndNot: 0x4f,
  v128Bitselect: 0x52,
  i32x4Shl: 0xab,
  i32x4Add: 0xae,
} as const;

export class Func {
  /** Where instructions go (swapped while hoistConstants collects a body). */
  body = new Bytes();
  readonly locals: Local[] = [];
  private depth = 0;
  /** Vector constants of the innermost hoistConstants, by their bytes. */
  private pool: Map<string, { local: Local; bytes: number[] }> | null = null;

  constructor(
    readonly index: number,
    readonly name: string,
    readonly params: ValType[],
    readonly results: ValType[],
    /** Byte address of a vector constant in the module's constant table (see ModuleBuilder). */
    private readonly constAddr: (bytes: readonly number[]) => number = () => {
      throw new Error('no constant table');
    },
    /** Whether madd may use relaxed SIMD's fused multiply-add. */
    readonly fma = false,
  ) {
    params.forEach((type, index) => this.locals.push({ index, type }));
  }

  /** The i-th parameter. */
  param(i: number): Local {
    return this.locals[i]!;
  }

  /** Declare a fresh local (zero-initialised by the wasm semantics). */
  local(type: ValType): Local {
    const l = { index: this.locals.length, type };
    this.locals.push(l);
    return l;
  }

  private op(...bytes: number[]): Ex {
    for (const b of bytes) this.body.byte(b);
  }
  private simd(code: number): void {
    this.body.byte(0xfd);
    this.body.u32(code);
  }
  private memarg(alignLog2: number, offset: number): void {
    this.body.u32(alignLog2);
    this.body.u32(offset);
  }

  // --- variables and constants
  get(l: Local): Ex {
    this.body.byte(0x20);
    this.body.u32(l.index);
  }
  set(l: Local, _value: Ex): Ex {
    this.body.byte(0x21);
    this.body.u32(l.index);
  }
  i32(v: number): Ex {
    this.body.byte(0x41);
    this.body.s32(v);
  }
  f32(v: number): Ex {
    this.body.byte(0x43);
    this.body.f32(v);
  }
  /** cond ? a : b (both evaluated). */
  select(_a: Ex, _b: Ex, _cond: Ex): Ex {
    return this.op(0x1b);
  }

  // --- i32 arithmetic and comparisons
  i32Add(_a: Ex, _b: Ex): Ex {
    return this.op(0x6a);
  }
  i32Sub(_a: Ex, _b: Ex): Ex {
    return this.op(0x6b);
  }
  i32Mul(_a: Ex, _b: Ex): Ex {
    return this.op(0x6c);
  }
  i32And(_a: Ex, _b: Ex): Ex {
    return this.op(0x71);
  }
  i32Shl(_a: Ex, _b: Ex): Ex {
    return this.op(0x74);
  }
  i32Eq(_a: Ex, _b: Ex): Ex {
    return this.op(0x46);
  }
  i32LtS(_a: Ex, _b: Ex): Ex {
    return this.op(0x48);
  }
  i32GeS(_a: Ex, _b: Ex): Ex {
    return this.op(0x4e);
  }
  i32GeU(_a: Ex, _b: Ex): Ex {
    return this.op(0x4f);
  }

  // --- f32 scalar
  f32Load(_addr: Ex, offset = 0): Ex {
    this.body.byte(0x2a);
    this.memarg(2, offset);
  }
  f32Store(_addr: Ex, _v: Ex, offset = 0): Ex {
    this.body.byte(0x38);
    this.memarg(2, offset);
  }
  f32Add(_a: Ex, _b: Ex): Ex {
    return this.op(0x92);
  }
  f32Sub(_a: Ex, _b: Ex): Ex {
    return this.op(0x93);
  }
  f32Mul(_a: Ex, _b: Ex): Ex {
    return this.op(0x94);
  }
  f32Div(_a: Ex, _b: Ex): Ex {
    return this.op(0x95);
  }
  f32Max(_a: Ex, _b: Ex): Ex {
    return this.op(0x97);
  }
  f32Sqrt(_a: Ex): Ex {
    return this.op(0x91);
  }
  f32ConvertI32S(_a: Ex): Ex {
    return this.op(0xb2);
  }

  // --- v128 SIMD (f32x4 lanes)
  v128Load(_addr: Ex, offset = 0): Ex {
    this.simd(SIMD.load);
    this.memarg(4, offset);
  }
  v128Store(_addr: Ex, _v: Ex, offset = 0): Ex {
    this.simd(SIMD.store);
    this.memarg(4, offset);
  }
  /** Load one f32 and broadcast it to all four lanes. */
  load32Splat(_addr: Ex, offset = 0): Ex {
    this.simd(SIMD.load32Splat);
    this.memarg(2, offset);
  }
  f32x4Splat(_a: Ex): Ex {
    this.simd(SIMD.f32x4Splat);
  }
  f32x4ExtractLane(_a: Ex, lane: number): Ex {
    this.simd(SIMD.f32x4ExtractLane);
    this.body.byte(lane);
  }
  /** Pick four f32 lanes from (a, b): lanes 0-3 are a's, 4-7 are b's. */
  shuffle32(_a: Ex, _b: Ex, lanes: readonly [number, number, number, number]): Ex {
    this.simd(SIMD.shuffle);
    for (const l of lanes) for (let j = 0; j < 4; j++) this.body.byte(l * 4 + j);
  }
  f32x4Add(_a: Ex, _b: Ex): Ex {
    this.simd(SIMD.f32x4Add);
  }
  f32x4Sub(_a: Ex, _b: Ex): Ex {
    this.simd(SIMD.f32x4Sub);
  }
  f32x4Mul(_a: Ex, _b: Ex): Ex {
    this.simd(SIMD.f32x4Mul);
  }
  /** a * b + c, fused or not as the hardware likes (relaxed SIMD). */
  f32x4RelaxedMadd(_a: Ex, _b: Ex, _c: Ex): Ex {
    this.simd(0x105);
  }
  /** a * b + c: one relaxed multiply-add when the module may use them, else f32x4.mul then f32x4.add. */
  madd(a: () => void, b: () => void, c: () => void): Ex {
    if (this.fma) {
      a();
      b();
      c();
      this.simd(0x105);
    } else {
      a();
      b();
      this.simd(SIMD.f32x4Mul);
      c();
      this.simd(SIMD.f32x4Add);
    }
  }
  f32x4Div(_a: Ex, _b: Ex): Ex {
    this.simd(SIMD.f32x4Div);
  }
  f32x4Abs(_a: Ex): Ex {
    this.simd(SIMD.f32x4Abs);
  }
  /** b < a ? b : a per lane (one minps on x64; see f32x4Pmax). */
  f32x4Pmin(_a: Ex, _b: Ex): Ex {
    this.simd(SIMD.f32x4Pmin);
  }
  /**
   * a < b ? b : a per lane: one maxps on x64, unlike f32x4.max whose NaN and
   * signed-zero rules cost eight instructions.
   */
  f32x4Pmax(_a: Ex, _b: Ex): Ex {
    this.simd(SIMD.f32x4Pmax);
  }
  /** All-ones lanes where a < b. */
  f32x4Lt(_a: Ex, _b: Ex): Ex {
    this.simd(SIMD.f32x4Lt);
  }
  /** a & ~b, bitwise. */
  v128AndNot(_a: Ex, _b: Ex): Ex {
    this.simd(SIMD.v128AndNot);
  }
  /** Bits of a where mask is set, of b elsewhere. */
  v128Bitselect(_a: Ex, _b: Ex, _mask: Ex): Ex {
    this.simd(SIMD.v128Bitselect);
  }
  i32x4Add(_a: Ex, _b: Ex): Ex {
    this.simd(SIMD.i32x4Add);
  }
  i32x4Shl(_a: Ex, _shift: Ex): Ex {
    this.simd(SIMD.i32x4Shl);
  }
  /** A constant vector of four equal f32 lanes. */
  f32x4Const(v: number): Ex {
    this.simd(SIMD.const);
    for (let i = 0; i < 4; i++) this.body.f32(v);
  }
  /** A constant vector of four equal i32 lanes. */
  i32x4Const(v: number): Ex {
    this.simd(SIMD.const);
    const b = new Uint8Array(new Int32Array([v, v, v, v]).buffer);
    for (const x of b) this.body.byte(x);
  }

  /**
   * Four equal f32 lanes, from a local set before the enclosing
   * hoistConstants block (a plain v128.const outside one).
   */
  f32x4K(v: number): Ex {
    return this.pooled(new Uint8Array(new Float32Array([v, v, v, v]).buffer));
  }
  /** Four equal i32 lanes, hoisted like f32x4K. */
  i32x4K(v: number): Ex {
    return this.pooled(new Uint8Array(new Int32Array([v, v, v, v]).buffer));
  }
  private pooled(bytes: Uint8Array): Ex {
    if (!this.pool) {
      this.simd(SIMD.const);
      for (const x of bytes) this.body.byte(x);
      return;
    }
    const key = bytes.join(',');
    let entry = this.pool.get(key);
    if (!entry) {
      entry = { local: this.local('v128'), bytes: Array.from(bytes) };
      this.pool.set(key, entry);
    }
    this.get(entry.local);
  }

  /**
   * Emit `body` with the f32x4K / i32x4K constants it uses loaded into locals
   * just before it, from the module's constant table in memory. V8 rebuilds
   * a v128.const from immediates at every use (three instructions each), and
   * does so inside loops even when the constant went through a local (its
   * SSA form sees through locals); a loaded value stays in a register or, with
   * many, is one reload from the stack.
   */
  hoistConstants(body: () => void): Ex {
    const outerBody = this.body;
    const outerPool = this.pool;
    const inner = new Bytes();
    this.body = inner;
    this.pool = new Map();
    let pool: Map<string, { local: Local; bytes: number[] }>;
    try {
      body();
    } finally {
      pool = this.pool;
      this.body = outerBody;
      this.pool = outerPool;
    }
    for (const { local, bytes } of pool.values()) {
      this.set(local, this.v128Load(this.i32(this.constAddr(bytes))));
    }
    this.body.append(inner.out);
  }

  // --- bulk memory
  memoryFill(_dst: Ex, _byte: Ex, _len: Ex): Ex {
    this.op(0xfc);
    this.body.u32(11);
    this.body.byte(0);
  }

  memoryCopy(_dst: Ex, _src: Ex, _len: Ex): Ex {
    this.op(0xfc);
    this.body.u32(10);
    this.body.byte(0);
    this.body.byte(0);
  }

  // --- calls and structured control flow
  call(f: Func, ..._args: Ex[]): Ex {
    this.body.byte(0x10);
    this.body.u32(f.index);
  }
  private structured(opcode: number, body: (l: Label) => void): Ex {
    this.op(opcode, 0x40); // 0x40: empty block type
    this.depth++;
    body({ depth: this.depth });
    this.depth--;
    this.op(0x0b);
  }
  /** Branching to a block label jumps past its end. */
  block(body: (exit: Label) => void): Ex {
    return this.structured(0x02, body);
  }
  /** Branching to a loop label jumps back to its start. */
  loop(body: (top: Label) => void): Ex {
    return this.structured(0x03, body);
  }
  if(_cond: Ex, then: () => void, otherwise?: () => void): Ex {
    this.op(0x04, 0x40);
    this.depth++;
    then();
    if (otherwise) {
      this.op(0x05);
      otherwise();
    }
    this.depth--;
    this.op(0x0b);
  }
  br(l: Label): Ex {
    this.body.byte(0x0c);
    this.body.u32(this.depth - l.depth);
  }
  brIf(l: Label, _cond: Ex): Ex {
    this.body.byte(0x0d);
    this.body.u32(this.depth - l.depth);
  }

  /**
   * for (i = from; i < to; i += step) body() over signed i32. `to` is
   * re-evaluated each iteration, so pass a local or a constant.
   */
  for(i: Local, from: () => Ex, to: () => Ex, step: number, body: () => void): Ex {
    this.set(i, from());
    this.block((exit) => {
      this.loop((top) => {
        this.brIf(exit, this.i32GeS(this.get(i), to()));
        body();
        this.set(i, this.i32Add(this.get(i), this.i32(step)));
        this.br(top);
      });
    });
  }

  /** Encoded code-section entry: local declarations (run-length by type) and body. */
  encode(w: Bytes): void {
    w.sized((e) => {
      const extra = this.locals.slice(this.params.length);
      const runs: Array<[number, ValType]> = [];
      for (const l of extra) {
        const last = runs[runs.length - 1];
        if (last && last[1] === l.type) last[0]++;
        else runs.push([1, l.type]);
      }
      e.u32(runs.length);
      for (const [count, type] of runs) {
        e.u32(count);
        e.byte(valTypeCode[type]);
      }
      e.append(this.body.out);
      e.byte(0x0b);
    });
  }
}

export interface MemoryImport {
  module: string;
  name: string;
  initialPages: number;
  maximumPages: number;
  shared: boolean;
  /**
   * Where the vector constants of hoistConstants blocks live: [byte address,
   * bytes available]. A data segment writes them at every instantiation
   * (identical bytes, so threads instantiating over one shared memory agree).
   */
  constants?: readonly [number, number];
}

/** Collects functions and writes a module that imports one linear memory. */
export class ModuleBuilder {
  private readonly funcs: Func[] = [];

  /** The constant table: 16 bytes per distinct vector. */
  private readonly constants: number[][] = [];
  private readonly constIndex = new Map<string, number>();

  constructor(
    private readonly memory: MemoryImport,
    /** fma: functions may use relaxed SIMD's multiply-add (Func.madd). */
    private readonly features: { fma?: boolean } = {},
  ) {}

  /** Emit the function `name` of a signature record: the export gets the record's name and signature. */
  declare<T extends Record<string, Signature>, K extends keyof T & string>(sigs: T, name: K): { f: Func; params: ParamsOf<T[K]> } {
    const s = sigs[name]!;
    const f = this.func(name, [...s.params], [...s.results]);
    return { f, params: s.params.map((_, i) => f.param(i)) as ParamsOf<T[K]> };
  }

  func(name: string, params: ValType[], results: ValType[] = []): Func {
    const f = new Func(this.funcs.length, name, params, results, (bytes) => this.constAddr(bytes), this.features.fma ?? false);
    this.funcs.push(f);
    return f;
  }

  private constAddr(bytes: readonly number[]): number {
    const where = this.memory.constants;
    if (!where) throw new Error('this module has no constant table');
    const key = bytes.join(',');
    let i = this.constIndex.get(key);
    if (i === undefined) {
      i = this.constants.length;
      if (16 * (i + 1) > where[1]) throw new Error('constant table full');
      this.constants.push([...bytes]);
      this.constIndex.set(key, i);
    }
    return where[0] + 16 * i;
  }

  bytes(): Uint8Array<ArrayBuffer> {
    const w = new Bytes();
    w.append([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]); // "\0asm", version 1

    // type section: one signature per function (duplicates are legal)
    const section = (id: number, fill: (s: Bytes) => void): void => {
      w.byte(id);
      w.sized(fill);
    };
    section(1, (s) => {
      s.u32(this.funcs.length);
      for (const f of this.funcs) {
        s.byte(0x60);
        s.u32(f.params.length);
        for (const p of f.params) s.byte(valTypeCode[p]);
        s.u32(f.results.length);
        for (const r of f.results) s.byte(valTypeCode[r]);
      }
    });
    // import section: the memory (limits flag 1 = has maximum, 2 = shared)
    section(2, (s) => {
      const m = this.memory;
      s.u32(1);
      s.name(m.module);
      s.name(m.name);
      s.byte(0x02);
      s.byte(m.shared ? 0x03 : 0x01);
      s.u32(m.initialPages);
      s.u32(m.maximumPages);
    });
    section(3, (s) => {
      s.u32(this.funcs.length);
      this.funcs.forEach((_, i) => s.u32(i));
    });
    section(7, (s) => {
      s.u32(this.funcs.length);
      for (const f of this.funcs) {
        s.name(f.name);
        s.byte(0x00);
        s.u32(f.index);
      }
    });
    section(10, (s) => {
      s.u32(this.funcs.length);
      for (const f of this.funcs) f.encode(s);
    });
    // data section: one active segment (memory 0) holding the constant table
    if (this.constants.length) {
      section(11, (s) => {
        s.u32(1);
        s.byte(0x00);
        s.byte(0x41); // i32.const address; end
        s.s32(this.memory.constants![0]);
        s.byte(0x0b);
        s.u32(this.constants.length * 16);
        for (const c of this.constants) s.append(c);
      });
    }
    return new Uint8Array(w.out);
  }
}
