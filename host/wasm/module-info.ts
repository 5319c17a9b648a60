/**
 * What the runtime must know about a guest module before running it: that it is valid WebAssembly,
 * the limits of the memory it imports (a shared memory must be created to match them, and the JS
 * API does not expose them), and its imports and exports, so a missing piece is reported clearly
 * instead of as a LinkError.
 */

import { COMPONENT_PORT_LAYOUT, isComponent, programKind, prepareWasiProgram, type WasiLayout } from '../wasi/wasi-module.js';
import { ComponentError, prepareComponent } from '../wasi/preview2/component-code.js';
import type { RunnableComponent } from '../wasi/preview2/component-instance.js';
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
  /** A WASI preview 2 component, transpiled by jco (then `module` is its first core module). */
  readonly component?: RunnableComponent;
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
  if (isComponent(bytes)) return inspectComponent(bytes, label);
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

/**
 * A component (its header's layer field is 1): transpiled by jco (cached by content hash), its core
 * modules compiled here. Its "memory" is the port the host registers on its behalf.
 */
async function inspectComponent(bytes: Uint8Array, label: string): Promise<ModuleInfo> {
  let component: RunnableComponent;
  try {
    const code = await prepareComponent(bytes);
    const modules: Record<string, WebAssembly.Module> = {};
    for (const [name, data] of Object.entries(code.modules)) modules[name] = await WebAssembly.compile(data);
    component = { js: code.js, modules, imports: code.imports };
  } catch (err) {
    if (err instanceof ComponentError) throw new InvalidModuleError(`${label} is a component that cannot be run: ${err.message}`);
    if (err instanceof WebAssembly.CompileError) throw new InvalidModuleError(`${label}: a core module of the component is not valid (${err.message})`);
    throw err;
  }
  const first = Object.values(component.modules)[0];
  if (!first) throw new InvalidModuleError(`${label} is a component that cannot be run: it has no core modules`);
  const pages = COMPONENT_PORT_LAYOUT.totalPages;
  return {
    module: first,
    wasi: COMPONENT_PORT_LAYOUT,
    component,
    memory: { module: '', name: '', initial: pages, maximum: pages, shared: true },
    exportsMemory: false,
    imports: [],
    exports: [],
  };
}
