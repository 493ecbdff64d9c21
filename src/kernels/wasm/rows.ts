import type { ModuleBuilder } from './emit.js';
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface RowExports {}
export function emitRowKernels(_mb: ModuleBuilder): void {}
