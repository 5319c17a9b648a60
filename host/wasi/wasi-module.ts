import { cacheGet, cachePut, contentKey } from './content-cache.js';
import { HOST_REGION_PAGES, REWRITE_VERSION, rewriteWasiModule } from './memory-rewrite.js';
import { Reader, SECTION, WasmFormatError, readSections } from './wasm-binary.js';

/** What kind of program a .wasm file holds, told from its bytes alone (no flag needed). */
export type ProgramKind = 'flexvm' | 'wasi' | 'component';

/** Where a rewritten WASI program's memory and host region are. */
export interface WasiLayout {
  /** Physical pages of the shared memory (program maximum plus the host region). */
  readonly totalPages: number;
  readonly programMaxPages: number;
  /** Byte address and size of the host's region (control block, syscall pages, scratch). */
  readonly hostRegion: number;
  readonly hostRegionBytes: number;
}

/**
 * A component's port: the shared memory the host registers for it (its core modules keep their own
 * memories). Page 0 is left unused (no control block at address 0), then 16 pages (1 MiB) of control
 * block, syscall pages and scratch through which the kernel's data is copied.
 */
export const COMPONENT_PORT_LAYOUT: WasiLayout = { totalPages: 17, programMaxPages: 1, hostRegion: 65536, hostRegionBytes: 16 * 65536 };

const COMPONENT_LAYER = [0x0d, 0x00, 0x01, 0x00];

/** A component: the header's version and layer fields (bytes 4-7) say so; nothing else is read. */
export function isComponent(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && COMPONENT_LAYER.every((b, i) => bytes[4 + i] === b);
}

/**
 * A flexvm guest imports from module `flexvm` (it registers its own control block); a component
 * has the component-model layer in its header; anything else is a WASI program (preview 1, or
 * no imports at all) that the loader rewrites.
 */
export function programKind(bytes: Uint8Array): ProgramKind {
  if (isComponent(bytes)) return 'component';
  for (const s of readSections(bytes)) {
    if (s.id !== SECTION.import) continue;
    const r = new Reader(bytes, s.start, s.end);
    const count = r.uleb();
    for (let i = 0; i < count; i++) {
      const module = r.name();
      r.name();
      const kind = r.u8();
      if (module === 'flexvm') return 'flexvm';
      if (kind === 0) r.uleb();
      else if (kind === 1) {
        r.u8();
        const f = r.u8();
        r.uleb();
        if (f & 1) r.uleb();
      } else if (kind === 2) {
        const f = r.u8();
        r.uleb();
        if (f & 1) r.uleb();
      } else if (kind === 3) r.skip(2);
      else if (kind === 4) {
        r.u8();
        r.uleb();
      } else throw new WasmFormatError(`unknown import kind ${kind}`);
    }
  }
  return 'wasi';
}

/** Reads the (shared, full-size) memory import of a rewritten module. */
function layoutOf(bytes: Uint8Array): WasiLayout {
  for (const s of readSections(bytes)) {
    if (s.id !== SECTION.import) continue;
    const r = new Reader(bytes, s.start, s.end);
    const count = r.uleb();
    for (let i = 0; i < count; i++) {
      r.name();
      r.name();
      const kind = r.u8();
      if (kind === 2) {
        r.u8();
        r.uleb();
        const total = r.uleb();
        const programMaxPages = total - HOST_REGION_PAGES;
        return { totalPages: total, programMaxPages, hostRegion: programMaxPages * 65536, hostRegionBytes: HOST_REGION_PAGES * 65536 };
      }
      if (kind === 0) r.uleb();
      else if (kind === 1) {
        r.u8();
        const f = r.u8();
        r.uleb();
        if (f & 1) r.uleb();
      } else if (kind === 3) r.skip(2);
      else {
        r.u8();
        r.uleb();
      }
    }
  }
  throw new WasmFormatError('rewritten module has no memory import');
}

const memo = new Map<string, Promise<{ bytes: Uint8Array; layout: WasiLayout }>>();

/**
 * The rewritten form of a WASI program, from memory, the on-disk cache (keyed by the content hash
 * and the rewriter's version) or a fresh rewrite.
 */
export function prepareWasiProgram(bytes: Uint8Array): Promise<{ bytes: Uint8Array; layout: WasiLayout }> {
  const key = contentKey(`wasi-rewrite-${REWRITE_VERSION}`, bytes);
  let p = memo.get(key);
  if (!p) {
    p = (async () => {
      const cached = await cacheGet('wasi-rewrite', `${key}.wasm`);
      if (cached) {
        try {
          return { bytes: cached, layout: layoutOf(cached) };
        } catch {
          // a damaged entry: rewrite again
        }
      }
      const r = rewriteWasiModule(bytes);
      await cachePut('wasi-rewrite', `${key}.wasm`, r.bytes);
      return { bytes: r.bytes, layout: layoutOf(r.bytes) };
    })();
    memo.set(key, p);
    p.catch(() => memo.delete(key));
  }
  return p;
}
