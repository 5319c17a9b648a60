import { readFile } from 'node:fs/promises';
import { inspectModule, InvalidModuleError, type ModuleInfo } from '../wasm/module-info.js';

/** A guest module, checked, with a fresh instance of the shared memory it imports. */
export interface LoadedGuest {
  readonly info: ModuleInfo;
  readonly memory: WebAssembly.Memory;
  readonly memoryImport: { readonly module: string; readonly name: string };
}

/** Reads and checks a guest module: it must import a shared memory. Rejects with InvalidModuleError. */
export async function loadGuest(wasm: string | Uint8Array | ModuleInfo, label: string): Promise<LoadedGuest> {
  const info = await loadModule(wasm, label);
  const mem = info.memory;
  if (!mem) {
    throw new InvalidModuleError(`${label} does not import a memory; flexvm guests import a shared memory (asc --importMemory --sharedMemory)`);
  }
  if (!mem.shared) throw new InvalidModuleError(`${label} imports a memory that is not shared (build with --sharedMemory --maximumMemory N)`);
  // A WASI program's memory is created at its full size: the program's maximum plus the host region.
  const pages = info.wasi ? info.wasi.totalPages : mem.initial;
  const memory = new WebAssembly.Memory({ initial: pages, maximum: info.wasi ? pages : mem.maximum ?? mem.initial, shared: true });
  return { info, memory, memoryImport: { module: mem.module, name: mem.name } };
}

async function loadModule(wasm: string | Uint8Array | ModuleInfo, label: string): Promise<ModuleInfo> {
  if (typeof wasm === 'object' && 'module' in wasm) return wasm;
  let bytes: Uint8Array;
  if (typeof wasm === 'string') {
    try {
      bytes = await readFile(wasm);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new InvalidModuleError(code === 'ENOENT' ? `${wasm}: no such file` : `${wasm}: cannot read (${code ?? (err as Error).message})`);
    }
  } else bytes = wasm;
  return inspectModule(bytes, label);
}
