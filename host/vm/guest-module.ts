import { readFile } from 'node:fs/promises';
import { DEFAULT_MAX_MEMORY } from '../kernel/kernel.js';
import { inspectModule, InvalidModuleError, type ModuleInfo } from '../wasm/module-info.js';

/** A guest module, checked, with a fresh instance of the shared memory it imports. */
export interface LoadedGuest {
  readonly info: ModuleInfo;
  readonly memory: WebAssembly.Memory;
  readonly memoryImport: { readonly module: string; readonly name: string };
}

/** Reads and checks a guest module: it must import a shared memory. Rejects with InvalidModuleError. */
export async function loadGuest(wasm: string | Uint8Array | ModuleInfo, label: string, maxMemory = DEFAULT_MAX_MEMORY): Promise<LoadedGuest> {
  const info = await loadModule(wasm, label);
  const mem = info.memory;
  if (!mem) {
    throw new InvalidModuleError(`${label} does not import a memory; flexvm guests import a shared memory (asc --importMemory --sharedMemory)`);
  }
  if (!mem.shared) throw new InvalidModuleError(`${label} imports a memory that is not shared (build with --sharedMemory --maximumMemory N)`);
  // The host, not the module, says how large a guest may grow (Limits.maxMemory).
  const capPages = Math.floor(maxMemory / 65536);
  if (info.wasi) {
    // A WASI program's memory is created at its full size and never moves: the program's maximum,
    // then the host's region above it (its offsets are compiled into the rewritten module). The cap
    // is on the program's part; one that may grow past it is refused rather than given less.
    const { totalPages, programMaxPages } = info.wasi;
    if (programMaxPages > capPages) {
      throw new InvalidModuleError(`${label} is a WASI program that may grow to ${programMaxPages * 64} KiB of memory, more than the limit of ${capPages * 64} KiB (--max-memory); its memory is allocated at full size, so it cannot be given less`);
    }
    const memory = new WebAssembly.Memory({ initial: totalPages, maximum: totalPages, shared: true });
    return { info, memory, memoryImport: { module: mem.module, name: mem.name } };
  }
  if (mem.initial > capPages) {
    throw new InvalidModuleError(`${label} needs ${mem.initial * 64} KiB of memory at start, more than the limit of ${capPages * 64} KiB (--max-memory)`);
  }
  const memory = new WebAssembly.Memory({ initial: mem.initial, maximum: Math.min(mem.maximum ?? mem.initial, capPages), shared: true });
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
