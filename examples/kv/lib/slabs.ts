// Slab allocator in linear memory, in the manner of memcached: memory is taken in pages (1 MB, or
// the item size limit when that is larger), each page is cut into equal chunks of one size class,
// and a freed chunk goes back to its class's free list. Nothing is allocated per item, and the pages
// taken never exceed the memory limit (-m): when a class runs dry the store evicts from that
// class's LRU, or moves a whole page from another class (store.ts decides; this file only keeps the
// pages and chunks).
import { IT_HNEXT, IT_STATE, IT_CLS, ST_FREE, ST_BUSY } from "./item";

export const MAX_CLASSES: i32 = 63;

export class SlabClass {
  id: i32 = 0;
  chunkSize: i32 = 0;
  perPage: i32 = 0;
  /** Free chunks, linked through their hash-chain word. */
  freeHead: usize = 0;
  freeCount: i32 = 0;
  /** Pages owned by the class (addresses). */
  pages: Array<usize> = new Array<usize>();
  /** LRU of linked items: head most recently used. */
  lruHead: usize = 0;
  lruTail: usize = 0;
  items: i32 = 0;
  /** Bytes of the items stored in the class (header, key and value). */
  bytes: i64 = 0;
  evicted: u64 = 0;
  evictedNonzero: u64 = 0;
  evictedTime: u32 = 0;
  reclaimed: u64 = 0;
  expiredUnfetched: u64 = 0;
  evictedUnfetched: u64 = 0;
  outOfMemory: u64 = 0;
  getHits: u64 = 0;
  setCmds: u64 = 0;
  deleteHits: u64 = 0;
  incrHits: u64 = 0;
  decrHits: u64 = 0;
  casHits: u64 = 0;
  casBadval: u64 = 0;
  touchHits: u64 = 0;
}

export class Slabs {
  readonly pageSize: i32;
  readonly pageLimit: i32;
  pagesUsed: i32 = 0;
  readonly classes: Array<SlabClass> = new Array<SlabClass>();
  /** Pages moved between classes. */
  pagesMoved: u64 = 0;

  /**
   * Classes from `minChunk` growing by `factor` up to half a page, then one of a whole page.
   * `limitBytes` is -m; at least one page is always allowed.
   */
  constructor(limitBytes: i64, itemMax: i32, minChunk: i32, factor: f64) {
    let page = 1024 * 1024;
    if (itemMax > page) page = itemMax;
    this.pageSize = page;
    const limit = limitBytes / <i64>page;
    this.pageLimit = limit < 1 ? 1 : <i32>limit;
    let size = minChunk;
    while (this.classes.length < MAX_CLASSES - 1 && size <= page / 2) {
      size = (size + 7) & ~7;
      this.add(size);
      let next = <i32>(<f64>size * factor);
      if (next <= size) next = size + 8;
      size = next;
    }
    this.add(page);
  }

  private add(size: i32): void {
    const c = new SlabClass();
    c.id = this.classes.length + 1; // memcached numbers classes from 1
    c.chunkSize = size;
    c.perPage = this.pageSize / size;
    this.classes.push(c);
  }

  /** The smallest class whose chunks hold `size` bytes, or null when none does. */
  classFor(size: i32): SlabClass | null {
    const n = this.classes.length;
    // Binary search: the classes grow.
    let lo = 0;
    let hi = n - 1;
    if (size > this.classes[hi].chunkSize) return null;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.classes[mid].chunkSize >= size) hi = mid;
      else lo = mid + 1;
    }
    return this.classes[lo];
  }

  byId(id: i32): SlabClass {
    return this.classes[id - 1];
  }

  /** A chunk from the class's free list, or 0. */
  take(c: SlabClass): usize {
    const p = c.freeHead;
    if (p == 0) return 0;
    c.freeHead = <usize>load<u32>(p + IT_HNEXT);
    c.freeCount--;
    store<u8>(p + IT_STATE, ST_BUSY);
    store<u8>(p + IT_CLS, <u8>c.id);
    return p;
  }

  give(c: SlabClass, p: usize): void {
    store<u8>(p + IT_STATE, ST_FREE);
    store<u8>(p + IT_CLS, <u8>c.id);
    store<u32>(p + IT_HNEXT, <u32>c.freeHead);
    c.freeHead = p;
    c.freeCount++;
  }

  /** Takes a new page for `c` from the memory limit; false when the limit is reached. */
  grow(c: SlabClass): bool {
    if (this.pagesUsed >= this.pageLimit) return false;
    const page = heap.alloc(<usize>this.pageSize);
    this.pagesUsed++;
    this.carve(c, page);
    return true;
  }

  /** Cuts `page` into chunks of `c` and frees them all. */
  carve(c: SlabClass, page: usize): void {
    c.pages.push(page);
    // Free in reverse so the first chunk is taken first (memory is touched in order).
    for (let i = c.perPage - 1; i >= 0; i--) this.give(c, page + <usize>(i * c.chunkSize));
  }

  /** Whether some chunk of `page` (of class `c`) is busy: such a page cannot be moved now. */
  pageBusy(c: SlabClass, page: usize): bool {
    for (let i = 0; i < c.perPage; i++) {
      if (load<u8>(page + <usize>(i * c.chunkSize) + IT_STATE) & ST_BUSY) return true;
    }
    return false;
  }

  /**
   * Removes `page` from class `c` after the store emptied it: its chunks leave the free list
   * (rebuilt without them) and the page goes to `to`.
   */
  movePage(c: SlabClass, index: i32, to: SlabClass): void {
    const page = c.pages[index];
    const end = page + <usize>this.pageSize;
    c.pages[index] = c.pages[c.pages.length - 1];
    c.pages.pop();
    let p = c.freeHead;
    c.freeHead = 0;
    c.freeCount = 0;
    while (p != 0) {
      const next = <usize>load<u32>(p + IT_HNEXT);
      if (p < page || p >= end) this.give(c, p);
      p = next;
    }
    this.pagesMoved++;
    this.carve(to, page);
  }
}
