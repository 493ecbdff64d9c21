// Packed copies of constant matrices (frozen weights) kept in wasm memory
// between calls, so a linear layer neither copies its weight in nor packs it
// again on every call. The region sits at the start of the operand area and
// grows by bump allocation; per-call operands go after it.
//
// Entries are keyed by the source array's identity (a WeakMap, so the keys
// do not keep models alive) plus where in it the matrix sits. When the region
// would pass its cap it is emptied and refilled on demand: in practice that
// happens when models are loaded one after another and the earlier ones are
// gone; a single model larger than the cap still runs, just repacking as it goes.

/** Default cap on the packed copies (a ViT-S/16 takes 88 MB, a ViT-B/16 345 MB). */
export const RESIDENT_CAP_BYTES = 384 * 1024 * 1024;

const align64 = (bytes: number): number => Math.ceil(bytes / 64) * 64;

export class ResidentMatrices {
  private entries = new WeakMap<object, Map<string, number>>();
  /** Bytes in use from `start`. */
  used = 0;
  /** How often the region was emptied (for tests and benchmarks). */
  resets = 0;

  constructor(
    /** Byte address of the region. */
    readonly start: number,
    readonly cap = RESIDENT_CAP_BYTES,
  ) {}

  /** Byte address of the packed copy of (array, key), if there is one. */
  find(array: object, key: string): number | undefined {
    return this.entries.get(array)?.get(key);
  }

  /**
   * Room for a new packed copy of `bytes`: its byte address, or null when it
   * cannot fit even in an empty region. May empty the region first.
   */
  reserve(array: object, key: string, bytes: number): number | null {
    const size = align64(bytes);
    if (size > this.cap) return null;
    if (this.used + size > this.cap) this.clear();
    const addr = this.start + this.used;
    this.used += size;
    let byKey = this.entries.get(array);
    if (!byKey) this.entries.set(array, (byKey = new Map<string, number>()));
    byKey.set(key, addr);
    return addr;
  }

  /** Forget a reservation whose packing failed (the last one made). */
  drop(array: object, key: string, bytes: number): void {
    this.entries.get(array)?.delete(key);
    this.used -= align64(bytes);
  }

  clear(): void {
    this.entries = new WeakMap();
    this.used = 0;
    this.resets++;
  }
}
