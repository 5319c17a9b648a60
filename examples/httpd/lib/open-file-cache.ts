// nginx's open_file_cache: descriptors of files served, with their fstat results, kept for the next
// requests of the same path, so that a request for a cached file makes no openat, fstat or close:
// its only calls are the read of the request, the write of the head and the sendfile of the body.
//
//   max       entries kept; past it the least recently used one goes
//   validSec  an entry this old is not used again: the path is opened afresh (nginx's
//             open_file_cache_valid), so a changed or replaced file is seen within that time
//   inactiveSec  an entry not used for this long is closed by the once-a-second sweep (inactive=)
//
// A file replaced or changed within validSec is served as it was when opened, as nginx does. An entry
// dropped while responses still send from its descriptor is closed when the last of them ends.
import * as flexsc from "../../../guest/flexsc";

export class CachedFile {
  key: string;
  fd: i32;
  /** The fstat result the descriptor was opened with. */
  stat: ArrayBuffer;
  openedAt: i64;
  usedAt: i64;
  /** Responses sending from the descriptor now. */
  users: i32 = 0;
  /** No longer in the cache: closed when its last user is done. */
  dropped: bool = false;

  constructor(key: string, fd: i32, stat: ArrayBuffer, now: i64) {
    this.key = key;
    this.fd = fd;
    this.stat = stat;
    this.openedAt = now;
    this.usedAt = now;
  }
}

export class OpenFileCache {
  private entries: Map<string, CachedFile> = new Map<string, CachedFile>();
  /** Entries dropped (evicted, expired or inactive): what a test or a log can look at. */
  dropped: i32 = 0;

  constructor(readonly max: i32, readonly validSec: i32, readonly inactiveSec: i32) {}

  get size(): i32 {
    return this.entries.size;
  }

  /** The entry for `key` that may still be used at `now` (one more user), or null. */
  take(key: string, now: i64): CachedFile | null {
    if (!this.entries.has(key)) return null;
    const e = this.entries.get(key);
    if (now - e.openedAt >= <i64>this.validSec) {
      this.drop(e);
      return null;
    }
    e.usedAt = now;
    e.users++;
    return e;
  }

  /** Keeps a freshly opened regular file (its `stat` is copied), with its first user. */
  put(key: string, fd: i32, stat: usize, statSize: i32, now: i64): CachedFile {
    if (this.entries.has(key)) this.drop(this.entries.get(key));
    if (this.entries.size >= this.max) this.dropLeastRecent();
    const copy = new ArrayBuffer(statSize);
    memory.copy(changetype<usize>(copy), stat, <usize>statSize);
    const e = new CachedFile(key, fd, copy, now);
    e.users = 1;
    this.entries.set(key, e);
    return e;
  }

  /** One user of `e` is done with its descriptor. */
  release(e: CachedFile): void {
    e.users--;
    if (e.dropped && e.users == 0) flexsc.close(null, e.fd);
  }

  /** Drops the entries not used for inactiveSec, and those too old to be used again (once a second). */
  sweep(now: i64): void {
    if (this.entries.size == 0) return;
    const all = this.entries.values();
    for (let i = 0; i < all.length; i++) {
      const e = unchecked(all[i]);
      if (now - e.usedAt >= <i64>this.inactiveSec || now - e.openedAt >= <i64>this.validSec) this.drop(e);
    }
  }

  /** Drops every entry (a graceful stop: nothing must stay open). */
  clear(): void {
    const all = this.entries.values();
    for (let i = 0; i < all.length; i++) this.drop(unchecked(all[i]));
  }

  private dropLeastRecent(): void {
    const all = this.entries.values();
    let oldest: CachedFile | null = null;
    for (let i = 0; i < all.length; i++) {
      const e = unchecked(all[i]);
      if (oldest === null || e.usedAt < oldest.usedAt) oldest = e;
    }
    if (oldest !== null) this.drop(oldest);
  }

  private drop(e: CachedFile): void {
    this.entries.delete(e.key);
    e.dropped = true;
    this.dropped++;
    if (e.users == 0) flexsc.close(null, e.fd);
  }
}
