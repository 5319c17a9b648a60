/**
 * What the runtime must know about a guest module before running it: that it is valid WebAssembly,
 * the limits of the memory it imports (a shared memory must be created to match them, and the JS
 * API does not expose them), and its imports and exports, so a missing piece is reported clearly
 * instead of as a LinkError.
 */

import { programKind, prepareWasiProgram, type WasiLayout } from '../wasi/wasi-module.js';
import { WasmFormatError } from '../wasi/wasm-binary.js';

export interface MemoryImport {
  readonly module: string;
  readonly name: string;
  /** In 64 KiB pages. */
  readonly initial: number;
  readonly maximum: number | null;
  readonly shared: boolean;
}

export interface ModuleInfo {
  readonly module: WebAssembly.Module;
  /** A stock WASI program, rewritten at load: where its memory and the host's region are. */
  readonly wasi?: WasiLayout;
  readonly memory: MemoryImport | null;
  readonly exportsMemory: boolean;
  readonly imports: readonly WebAssembly.ModuleImportDescriptor[];
  readonly exports: readonly WebAssembly.ModuleExportDescriptor[];
}

/** Thrown for a file that cannot be a guest (bad magic, invalid module, unsupported memory). */
export class InvalidModuleError extends Error {}

const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];

/** Reads an unsigned LEB128 at `pos`; returns [value, next position]. */
function uleb(bytes: Uint8Array, pos: number): [number, number] {
  let result = 0;
  let shift = 0;
  for (;;) {
    if (pos >= bytes.length) throw new InvalidModuleError('truncated module');
    const b = bytes[pos++]!;
    result += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return [result, pos];
    shift += 7;
    if (shift > 63) throw new InvalidModuleError('malformed LEB128');
  }
}

function name(bytes: Uint8Array, pos: number): [string, number] {
  const [len, p] = uleb(bytes, pos);
  return [new TextDecoder().decode(bytes.subarray(p, p + len)), p + len];
}

function skipLimits(bytes: Uint8Array, pos: number): number {
  const flags = bytes[pos++]!;
  let p = uleb(bytes, pos)[1];
  if (flags & 1) p = uleb(bytes, p)[1];
  return p;
}

/** Finds the memory import in the import section (section id 2). */
function findMemoryImport(bytes: Uint8Array): MemoryImport | null {
  let pos = 8;
  while (pos < bytes.length) {
    const id = bytes[pos++]!;
    const [size, start] = uleb(bytes, pos);
    const end = start + size;
    if (end > bytes.length) throw new InvalidModuleError('truncated section');
    if (id === 2) {
      let p = start;
      const [count, c] = uleb(bytes, p);
      p = c;
      for (let i = 0; i < count; i++) {
        const [mod, p1] = name(bytes, p);
        const [field, p2] = name(bytes, p1);
        const kind = bytes[p2]!;
        p = p2 + 1;
        if (kind === 0) p = uleb(bytes, p)[1]; // function: type index
        else if (kind === 1) p = skipLimits(bytes, p + 1); // table: reftype, limits
        else if (kind === 2) {
          const flags = bytes[p++]!;
          if (flags & 4) throw new InvalidModuleError('64-bit memories are not supported');
          const [initial, p3] = uleb(bytes, p);
          let maximum: number | null = null;
          p = p3;
          if (flags & 1) [maximum, p] = uleb(bytes, p);
          return { module: mod, name: field, initial, maximum, shared: (flags & 2) !== 0 };
        } else if (kind === 3) p += 2; // global: valtype, mutability
        else if (kind === 4) p = uleb(bytes, p + 1)[1]; // tag: attribute, type index
        else throw new InvalidModuleError(`unknown import kind ${kind}`);
      }
      return null;
    }
    pos = end;
  }
  return null;
}

/**
 * Validates and compiles a guest module, and reads what the runtime needs to run it. A stock WASI
 * program (one that does not import from `flexvm`) is rewritten first (host/wasi/memory-rewrite.ts).
 */
export async function inspectModule(bytes: Uint8Array, label = 'module'): Promise<ModuleInfo> {
  if (bytes.length < 8 || WASM_MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new InvalidModuleError(`${label} is not a WebAssembly module (bad magic number)`);
  }
  if (bytes.length >= 8 && bytes[4] === 0x0d && bytes[6] === 0x01) {
    throw new InvalidModuleError(`${label} is a WebAssembly component (WASI preview 2), which flexvm does not run yet; preview 1 modules run as they are`);
  }
  let module: WebAssembly.Module;
  try {
    module = await WebAssembly.compile(bytes);
  } catch (err) {
    throw new InvalidModuleError(`${label} is not valid WebAssembly: ${(err as Error).message}`);
  }
  let wasi: WasiLayout | undefined;
  try {
    if (programKind(bytes) === 'wasi') {
      const prepared = await prepareWasiProgram(bytes);
      bytes = prepared.bytes;
      wasi = prepared.layout;
      module = await WebAssembly.compile(bytes);
    }
  } catch (err) {
    if (err instanceof WasmFormatError) throw new InvalidModuleError(`${label}: ${err.message}`);
    if (err instanceof WebAssembly.CompileError) throw new InvalidModuleError(`${label}: the WASI rewrite of it is not valid (${err.message}); please report this`);
    throw err;
  }
  const memory = findMemoryImport(bytes);
  const exports = WebAssembly.Module.exports(module);
  return {
    module,
    ...(wasi ? { wasi } : {}),
    memory,
    exportsMemory: exports.some((e) => e.kind === 'memory'),
    imports: WebAssembly.Module.imports(module),
    exports,
  };
}
