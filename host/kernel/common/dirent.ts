import {
  LINUX_DIRENT64_D_INO,
  LINUX_DIRENT64_D_OFF,
  LINUX_DIRENT64_D_RECLEN,
  LINUX_DIRENT64_D_TYPE,
  LINUX_DIRENT64_SIZE,
} from '../../abi/v1.js';
import type { GuestMemory } from '../../memory/guest-memory.js';

/** Bytes one linux_dirent64 record takes: header, name, NUL, padded to 8. */
export function direntSize(nameLength: number): number {
  return (LINUX_DIRENT64_SIZE + nameLength + 1 + 7) & ~7;
}

/**
 * Packs linux_dirent64 records into a guest buffer for getdents64. `add` refuses a record that does
 * not fit; getdents64 answers EINVAL when not even the first one does.
 */
export class DirentWriter {
  private used = 0;

  constructor(
    private readonly memory: GuestMemory,
    private readonly ptr: number,
    private readonly capacity: number,
  ) {}

  /** Bytes written so far (the call's result). */
  get length(): number {
    return this.used;
  }

  /**
   * Appends one record. `nextOffset` is the d_off cookie: the directory position that continues after
   * this entry. Returns false (writing nothing) when the record does not fit.
   */
  add(ino: number, nextOffset: number, type: number, name: Uint8Array): boolean {
    const size = direntSize(name.length);
    if (this.used + size > this.capacity) return false;
    const at = (this.ptr >>> 0) + this.used;
    this.memory.fill(at, size, 0);
    this.memory.setI64(at + LINUX_DIRENT64_D_INO, ino);
    this.memory.setI64(at + LINUX_DIRENT64_D_OFF, nextOffset);
    this.memory.setU16(at + LINUX_DIRENT64_D_RECLEN, size);
    this.memory.setU8(at + LINUX_DIRENT64_D_TYPE, type);
    this.memory.write(at + LINUX_DIRENT64_SIZE, name);
    this.used += size;
    return true;
  }
}
