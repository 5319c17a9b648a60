/**
 * The small part of the WebAssembly binary format the WASI loader needs: reading and writing
 * LEB128 numbers and names, splitting a module into sections, and walking one instruction at a time
 * through a function body (to find `memory.size` and `memory.grow`). Covers the MVP, bulk memory,
 * reference types, SIMD, threads (atomics), exception handling and tail calls: what stock WASI
 * toolchains emit. Anything else is refused with a clear message instead of being copied blindly.
 */

/** Thrown for bytes the loader cannot read or rewrite. */
export class WasmFormatError extends Error {}

export class Reader {
  pos: number;
  constructor(
    readonly bytes: Uint8Array,
    start = 0,
    readonly end = bytes.length,
  ) {
    this.pos = start;
  }
  get done(): boolean {
    return this.pos >= this.end;
  }
  u8(): number {
    if (this.pos >= this.end) throw new WasmFormatError('truncated module');
    return this.bytes[this.pos++]!;
  }
  /** Unsigned LEB128 up to 64 bits (as a number: exact up to 2^53). */
  uleb(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.u8();
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result;
      mul *= 128;
    }
    throw new WasmFormatError('malformed LEB128');
  }
  /** Skips a signed LEB128 of any width. */
  skipLeb(): void {
    for (let i = 0; i < 10; i++) if ((this.u8() & 0x80) === 0) return;
    throw new WasmFormatError('malformed LEB128');
  }
  skip(n: number): void {
    if (this.pos + n > this.end) throw new WasmFormatError('truncated module');
    this.pos += n;
  }
  name(): string {
    const len = this.uleb();
    const start = this.pos;
    this.skip(len);
    return new TextDecoder().decode(this.bytes.subarray(start, start + len));
  }
}

/** Encodes an unsigned LEB128. */
export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

/** Encodes a signed 32-bit LEB128. */
export function sleb32(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

export function encodeName(s: string): number[] {
  const b = new TextEncoder().encode(s);
  return [...uleb(b.length), ...b];
}

export interface Section {
  readonly id: number;
  /** Payload bounds in the module's bytes. */
  readonly start: number;
  readonly end: number;
}

export const SECTION = { custom: 0, type: 1, import: 2, function: 3, table: 4, memory: 5, global: 6, export: 7, start: 8, element: 9, code: 10, data: 11, dataCount: 12, tag: 13 } as const;

/** Splits a module into its sections (after checking magic and version). */
export function readSections(bytes: Uint8Array): Section[] {
  const magic = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  if (bytes.length < 8 || magic.some((b, i) => bytes[i] !== b)) throw new WasmFormatError('not a WebAssembly module (bad magic or version)');
  const r = new Reader(bytes, 8);
  const sections: Section[] = [];
  while (!r.done) {
    const id = r.u8();
    const size = r.uleb();
    const start = r.pos;
    r.skip(size);
    sections.push({ id, start, end: start + size });
  }
  return sections;
}

/** Encodes a section: id, size, payload. */
export function section(id: number, payload: ArrayLike<number>): Uint8Array {
  const head = [id, ...uleb(payload.length)];
  const out = new Uint8Array(head.length + payload.length);
  out.set(head, 0);
  out.set(payload as ArrayLike<number>, head.length);
  return out;
}

/** Skips a block type: empty (0x40), a value type, or a type index (signed LEB). */
function skipBlockType(r: Reader): void {
  const b = r.bytes[r.pos]!;
  if (b === 0x40 || (b >= 0x6f && b <= 0x7f) || b === 0x63 || b === 0x64) {
    r.pos++;
    if (b === 0x63 || b === 0x64) r.skipLeb(); // (ref null? heaptype)
  } else r.skipLeb();
}

function skipMemarg(r: Reader): void {
  const align = r.uleb();
  if (align & 0x40) r.uleb(); // multi-memory: memory index
  r.uleb(); // offset
}

/** 0xFC prefix: saturating truncations, bulk memory, table operations. */
function skipPrefixFC(r: Reader): void {
  const op = r.uleb();
  if (op <= 7) return;
  switch (op) {
    case 8: r.uleb(); r.uleb(); return; // memory.init data, mem
    case 9: r.uleb(); return; // data.drop
    case 10: r.uleb(); r.uleb(); return; // memory.copy
    case 11: r.uleb(); return; // memory.fill
    case 12: r.uleb(); r.uleb(); return; // table.init
    case 13: r.uleb(); return; // elem.drop
    case 14: r.uleb(); r.uleb(); return; // table.copy
    case 15: case 16: case 17: r.uleb(); return; // table.grow/size/fill
    default: throw new WasmFormatError(`unknown instruction 0xfc ${op}`);
  }
}

/** 0xFD prefix: SIMD. */
function skipPrefixFD(r: Reader): void {
  const op = r.uleb();
  if (op <= 11 || op === 92 || op === 93) return skipMemarg(r); // loads, stores, load_zero
  if (op === 12 || op === 13) return r.skip(16); // v128.const, i8x16.shuffle
  if (op >= 21 && op <= 34) return r.skip(1); // extract/replace lane
  if (op >= 84 && op <= 91) { skipMemarg(r); r.skip(1); return; } // load/store lane
  // every other SIMD instruction has no immediate
}

/** 0xFE prefix: threads (atomics). */
function skipPrefixFE(r: Reader): void {
  const op = r.uleb();
  if (op === 3) return r.skip(1); // atomic.fence
  skipMemarg(r);
}

/**
 * Walks a function body's instructions, calling `onMemoryOp` at each `memory.size` (0x3f) and
 * `memory.grow` (0x40) with its position; returns when the body's final `end` is read.
 */
export function walkBody(r: Reader, onMemoryOp: (op: 0x3f | 0x40, at: number, after: number) => void): void {
  while (!r.done) {
    const at = r.pos;
    const op = r.u8();
    switch (op) {
      case 0x02: case 0x03: case 0x04: case 0x06: skipBlockType(r); break; // block loop if try
      case 0x07: case 0x08: case 0x09: case 0x18: r.uleb(); break; // catch throw rethrow delegate
      case 0x0c: case 0x0d: r.uleb(); break; // br br_if
      case 0x0e: { const n = r.uleb(); for (let i = 0; i <= n; i++) r.uleb(); break; } // br_table
      case 0x10: case 0x12: r.uleb(); break; // call return_call
      case 0x11: case 0x13: r.uleb(); r.uleb(); break; // call_indirect return_call_indirect
      case 0x14: case 0x15: r.uleb(); break; // call_ref return_call_ref
      case 0x1c: { const n = r.uleb(); for (let i = 0; i < n; i++) r.u8(); break; } // select t*
      case 0x20: case 0x21: case 0x22: case 0x23: case 0x24: case 0x25: case 0x26: r.uleb(); break;
      case 0x3f: case 0x40: {
        r.uleb(); // memory index (0)
        onMemoryOp(op, at, r.pos);
        break;
      }
      case 0x41: case 0x42: r.skipLeb(); break; // i32.const i64.const
      case 0x43: r.skip(4); break;
      case 0x44: r.skip(8); break;
      case 0xd0: r.skipLeb(); break; // ref.null heaptype
      case 0xd2: r.uleb(); break; // ref.func
      case 0xd5: case 0xd6: r.uleb(); break; // br_on_null br_on_non_null
      case 0xfc: skipPrefixFC(r); break;
      case 0xfd: skipPrefixFD(r); break;
      case 0xfe: skipPrefixFE(r); break;
      case 0xfb: throw new WasmFormatError('garbage-collection instructions are not supported');
      default:
        if (op >= 0x28 && op <= 0x3e) skipMemarg(r); // loads and stores
        // everything else (numeric, parametric, control without immediates) has no immediate
        break;
    }
    if (op === 0x0b && r.pos === r.end) return;
  }
}
