import { Reader, WasmFormatError, SECTION, readSections, section, uleb, sleb32, encodeName, walkBody, type Section } from './wasm-binary.js';

/**
 * Makes a stock WASI module runnable on flexvm's syscall threads.
 *
 * A `wasm32-wasip1` program defines its own memory, unshared: the syscall threads (other workers)
 * could not see it. The rewrite turns that memory into an imported *shared* memory with a declared
 * maximum, and gives the host a region of its own in the same memory for the program's control
 * block, syscall pages and the buffers the WASI functions build (stat records, paths, iovecs).
 *
 * Where that region lives matters. Allocators take for their heap whatever `memory.size` reports at
 * their start (AssemblyScript's TLSF and stub runtimes, Go) or assume memory grows contiguously, so
 * pages the host grows beneath the program's feet would be handed out as heap. So the program gets a
 * *virtual* memory size: every `memory.size` and `memory.grow` in its code becomes a call to two small
 * functions added to the module, which keep the program's page count in a global and hand out pages
 * only up to the program's maximum. The physical memory is created at its full size (program maximum
 * plus the host region), and the host region sits above the program's maximum, where no allocator
 * ever reaches. Pages the program grows into were never written, so they read as zeros as
 * `memory.grow` promises. (The price: an access between the program's size and its maximum does not
 * trap. V8 reserves a shared memory's whole maximum anyway, and untouched pages cost no RAM.)
 *
 * A module that already imports a memory (shared or not) gets the same treatment: its import becomes
 * shared with the full size.
 */

/** Host region above the program's maximum, in 64 KiB pages. */
export const HOST_REGION_PAGES = 4;
/** Program maximum when the module declares none (1 GiB), and the cap for larger ones. */
export const DEFAULT_PROGRAM_MAX_PAGES = 16384;
/** Bumped whenever the rewrite's output changes (it is part of the cache key). */
export const REWRITE_VERSION = 1;

export interface RewrittenModule {
  readonly bytes: Uint8Array;
  /** The memory import the rewritten module expects (shared, initial = maximum = totalPages). */
  readonly memoryImport: { readonly module: string; readonly name: string };
  /** Pages the program starts with, and the most it may grow to. */
  readonly programInitialPages: number;
  readonly programMaxPages: number;
  /** Physical size of the shared memory: program maximum plus the host region. */
  readonly totalPages: number;
  /** Byte address of the host region. */
  readonly hostRegion: number;
  readonly hostRegionBytes: number;
}

interface MemoryLimits {
  initial: number;
  maximum: number | null;
  shared: boolean;
}

function readLimits(r: Reader): MemoryLimits {
  const flags = r.u8();
  if (flags & 4) throw new WasmFormatError('64-bit memories are not supported');
  if (flags & ~7) throw new WasmFormatError(`unknown memory limits flags ${flags}`);
  const initial = r.uleb();
  const maximum = flags & 1 ? r.uleb() : null;
  return { initial, maximum, shared: (flags & 2) !== 0 };
}

function limitsBytes(initial: number, maximum: number): number[] {
  return [0x03, ...uleb(initial), ...uleb(maximum)]; // has maximum, shared
}

/** Function type `params -> results` (i32 only). */
function funcType(params: number, results: number): number[] {
  return [0x60, params, ...Array(params).fill(0x7f), results, ...Array(results).fill(0x7f)];
}

/** Reads an import section's entries, keeping each one's bytes. */
function readImports(bytes: Uint8Array, s: Section) {
  const r = new Reader(bytes, s.start, s.end);
  const count = r.uleb();
  const entries: { bytes: Uint8Array; kind: number; module: string; name: string; limits?: MemoryLimits }[] = [];
  for (let i = 0; i < count; i++) {
    const start = r.pos;
    const module = r.name();
    const name = r.name();
    const kind = r.u8();
    let limits: MemoryLimits | undefined;
    if (kind === 0) r.uleb();
    else if (kind === 1) {
      r.u8();
      const f = r.u8();
      r.uleb();
      if (f & 1) r.uleb();
    } else if (kind === 2) limits = readLimits(r);
    else if (kind === 3) r.skip(2);
    else if (kind === 4) { r.u8(); r.uleb(); }
    else throw new WasmFormatError(`unknown import kind ${kind}`);
    entries.push({ bytes: bytes.subarray(start, r.pos), kind, module, name, ...(limits ? { limits } : {}) });
  }
  return entries;
}

function vec(count: number, items: ArrayLike<number>[]): number[] {
  const out = uleb(count);
  for (const it of items) for (let i = 0; i < it.length; i++) out.push(it[i]!);
  return out;
}

/** Copies a vector section's entries and appends more (type, function, global sections). */
function extendVector(bytes: Uint8Array, s: Section | undefined, extra: number[][]): number[] {
  if (!s) return vec(extra.length, extra);
  const r = new Reader(bytes, s.start, s.end);
  const count = r.uleb();
  return vec(count + extra.length, [bytes.subarray(r.pos, s.end), ...extra]);
}

function countOf(bytes: Uint8Array, s: Section | undefined): number {
  return s ? new Reader(bytes, s.start, s.end).uleb() : 0;
}

/**
 * Rewrites a WASI module (see above). Throws WasmFormatError for a module it cannot handle (several
 * memories, 64-bit memory, instructions it does not know); WebAssembly validation is left to the
 * engine when the result is compiled.
 */
export function rewriteWasiModule(input: Uint8Array): RewrittenModule {
  const sections = readSections(input);
  const find = (id: number): Section | undefined => sections.find((s) => s.id === id);
  const importSec = find(SECTION.import);
  const imports = importSec ? readImports(input, importSec) : [];
  const memImports = imports.filter((i) => i.kind === 2);
  const memSec = find(SECTION.memory);
  const definedMems = countOf(input, memSec);
  if (memImports.length + definedMems > 1) throw new WasmFormatError('modules with several memories are not supported');

  let limits: MemoryLimits;
  let memoryImport: { module: string; name: string };
  if (memImports.length === 1) {
    limits = memImports[0]!.limits!;
    memoryImport = { module: memImports[0]!.module, name: memImports[0]!.name };
  } else if (definedMems === 1) {
    const r = new Reader(input, memSec!.start, memSec!.end);
    r.uleb();
    limits = readLimits(r);
    memoryImport = { module: 'env', name: 'memory' };
  } else {
    limits = { initial: 0, maximum: 0, shared: false }; // no memory: give it an empty one
    memoryImport = { module: 'env', name: 'memory' };
  }
  const programMax = Math.min(limits.maximum ?? DEFAULT_PROGRAM_MAX_PAGES, DEFAULT_PROGRAM_MAX_PAGES);
  if (limits.initial > programMax) {
    throw new WasmFormatError(`the module's memory starts at ${limits.initial} pages, more than flexvm gives a WASI program (${programMax})`);
  }
  const totalPages = programMax + HOST_REGION_PAGES;

  // Index spaces: the two helpers come after every function, their types after every type, the
  // page-count global after every global. Nothing existing moves.
  const typeCount = countOf(input, find(SECTION.type));
  const importedFuncs = imports.filter((i) => i.kind === 0).length;
  const importedGlobals = imports.filter((i) => i.kind === 3).length;
  const definedFuncs = countOf(input, find(SECTION.function));
  const sizeFn = importedFuncs + definedFuncs;
  const growFn = sizeFn + 1;
  const pagesGlobal = importedGlobals + countOf(input, find(SECTION.global));

  const out: Uint8Array[] = [new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00])];
  const emitted = new Set<number>();
  const emit = (id: number): void => {
    emitted.add(id);
    const s = find(id);
    switch (id) {
      case SECTION.type:
        out.push(section(id, extendVector(input, s, [funcType(0, 1), funcType(1, 1)])));
        return;
      case SECTION.import: {
        const entries = imports.map((i) =>
          i.kind === 2 ? [...encodeName(i.module), ...encodeName(i.name), 0x02, ...limitsBytes(limits.initial, totalPages)] : Array.from(i.bytes),
        );
        if (memImports.length === 0) entries.push([...encodeName(memoryImport.module), ...encodeName(memoryImport.name), 0x02, ...limitsBytes(limits.initial, totalPages)]);
        out.push(section(id, vec(entries.length, entries)));
        return;
      }
      case SECTION.function:
        out.push(section(id, extendVector(input, s, [uleb(typeCount), uleb(typeCount + 1)])));
        return;
      case SECTION.memory:
        return; // the memory is imported now
      case SECTION.global:
        // (global (mut i32) (i32.const programInitialPages))
        out.push(section(id, extendVector(input, s, [[0x7f, 0x01, 0x41, ...sleb32(limits.initial), 0x0b]])));
        return;
      case SECTION.code:
        out.push(section(id, rewriteCode(input, s, sizeFn, growFn, pagesGlobal, programMax)));
        return;
      default:
        if (s) out.push(section(id, input.subarray(s.start, s.end)));
    }
  };
  // Known sections in their required order; custom sections stay where they were.
  const order: number[] = [SECTION.type, SECTION.import, SECTION.function, SECTION.table, SECTION.memory, SECTION.tag, SECTION.global, SECTION.export, SECTION.start, SECTION.element, SECTION.dataCount, SECTION.code, SECTION.data];
  const must: number[] = [SECTION.type, SECTION.import, SECTION.function, SECTION.global, SECTION.code];
  let next = 0;
  const flushUpTo = (id: number | null): void => {
    while (next < order.length && order[next] !== id) {
      const o = order[next++]!;
      if (!emitted.has(o) && !find(o) && must.includes(o)) emit(o);
    }
    if (id !== null) next++;
  };
  for (const s of sections) {
    if (s.id === SECTION.custom) {
      out.push(section(0, input.subarray(s.start, s.end)));
      continue;
    }
    if (!order.includes(s.id)) throw new WasmFormatError(`unknown section ${s.id}`);
    flushUpTo(s.id);
    emit(s.id);
  }
  flushUpTo(null);

  const total = out.reduce((n, b) => n + b.length, 0);
  const bytes = new Uint8Array(total);
  let p = 0;
  for (const b of out) {
    bytes.set(b, p);
    p += b.length;
  }
  return {
    bytes,
    memoryImport,
    programInitialPages: limits.initial,
    programMaxPages: programMax,
    totalPages,
    hostRegion: programMax * 65536,
    hostRegionBytes: HOST_REGION_PAGES * 65536,
  };
}

/** The code section with memory.size/grow replaced by calls, plus the two helper bodies. */
function rewriteCode(input: Uint8Array, s: Section | undefined, sizeFn: number, growFn: number, pagesGlobal: number, programMax: number): number[] {
  const bodies: number[][] = [];
  let count = 0;
  if (s) {
    const r = new Reader(input, s.start, s.end);
    count = r.uleb();
    for (let i = 0; i < count; i++) {
      const size = r.uleb();
      const start = r.pos;
      const end = start + size;
      const body = new Reader(input, start, end);
      const locals = body.uleb();
      for (let l = 0; l < locals; l++) {
        body.uleb();
        const t = body.u8();
        if (t === 0x63 || t === 0x64) body.skipLeb();
      }
      const out: number[] = [];
      let copied = start;
      walkBody(body, (op, at, after) => {
        for (let k = copied; k < at; k++) out.push(input[k]!);
        out.push(0x10, ...uleb(op === 0x3f ? sizeFn : growFn));
        copied = after;
      });
      for (let k = copied; k < end; k++) out.push(input[k]!);
      bodies.push([...uleb(out.length), ...out]);
      r.pos = end;
    }
  }
  const g = uleb(pagesGlobal);
  // size: (result i32) global.get $pages
  const size = [0x00, 0x23, ...g, 0x0b];
  // grow: (param $n i32) (result i32)
  //   if n > max - pages: -1  else: old = pages; pages += n; old
  const grow = [
    0x00,
    0x20, 0x00, 0x41, ...sleb32(programMax), 0x23, ...g, 0x6b, 0x4b, // n >u (max - pages)
    0x04, 0x7f, 0x41, 0x7f, // if (result i32) -1
    0x05, 0x23, ...g, 0x23, ...g, 0x20, 0x00, 0x6a, 0x24, ...g, // else pages; pages = pages + n
    0x0b, 0x0b,
  ];
  bodies.push([...uleb(size.length), ...size], [...uleb(grow.length), ...grow]);
  return vec(count + 2, bodies);
}
