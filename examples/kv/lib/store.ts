// The item store: the hash table, the slab classes with an LRU each, expiry and flush rules, and
// the counters behind `stats`. Operations cost the same however many items are stored: a hash
// lookup, O(1) list moves, and a bounded number of tail checks when memory must be found.
import {
  IT_PREV, IT_NEXT, IT_EXP, IT_TIME, IT_FLAGS, IT_CAS, IT_NBYTES, IT_HASH, IT_NKEY, IT_CLS, IT_STATE, IT_HNEXT,
  ST_LINKED, ST_FETCHED, ST_BUSY, ST_FREE, ST_STALE, ST_WON,
  itemKey, itemData, itemNBytes, itemNKey, itemSize, itemTotal, itemState, setState, clearState, hashKey,
} from "./item";
import { Slabs, SlabClass } from "./slabs";
import { HashTable } from "./hashtable";

/** Relative expiry times up to 30 days; larger values are absolute Unix times. */
export const REALTIME_MAXDELTA: i64 = 60 * 60 * 24 * 30;
/** Tail items examined for an expired one before evicting (memcached looks at 5). */
const TAIL_SEARCH: i32 = 5;

// Why the last alloc failed.
export const ALLOC_OK: i32 = 0;
export const ALLOC_TOO_LARGE: i32 = 1;
export const ALLOC_NO_MEMORY: i32 = 2;

// Why the last lookup missed (for get_expired / get_flushed).
export const MISS_ABSENT: i32 = 0;
export const MISS_EXPIRED: i32 = 1;
export const MISS_FLUSHED: i32 = 2;

export class Counters {
  cmdGet: u64 = 0;
  cmdSet: u64 = 0;
  cmdFlush: u64 = 0;
  cmdTouch: u64 = 0;
  cmdMeta: u64 = 0;
  getHits: u64 = 0;
  getMisses: u64 = 0;
  getExpired: u64 = 0;
  getFlushed: u64 = 0;
  deleteHits: u64 = 0;
  deleteMisses: u64 = 0;
  incrHits: u64 = 0;
  incrMisses: u64 = 0;
  decrHits: u64 = 0;
  decrMisses: u64 = 0;
  casHits: u64 = 0;
  casMisses: u64 = 0;
  casBadval: u64 = 0;
  touchHits: u64 = 0;
  touchMisses: u64 = 0;
  totalItems: u64 = 0;
  evictions: u64 = 0;
  reclaimed: u64 = 0;
  expiredUnfetched: u64 = 0;
  evictedUnfetched: u64 = 0;
  crawlerReclaimed: u64 = 0;
  crawlerChecked: u64 = 0;
  outOfMemory: u64 = 0;
}

export class Store {
  readonly slabs: Slabs;
  readonly table: HashTable;
  readonly itemMax: i32;
  readonly limitBytes: i64;
  /** Evict when memory is short (-M turns it off: stores fail instead). */
  evict: bool = true;
  /** Current Unix time in seconds (the server's clock keeps it). */
  now: u32 = 0;
  started: u32 = 0;
  cas: u64 = 0;
  /** flush_all without delay: items with a cas up to this are gone. */
  flushCas: u64 = 0;
  /** flush_all with delay: from this second, items last stored or used before it are gone. */
  flushAt: u32 = 0;
  allocError: i32 = ALLOC_OK;
  missReason: i32 = MISS_ABSENT;
  curItems: i32 = 0;
  bytes: i64 = 0;
  readonly stats: Counters = new Counters();
  /** The crawler's position in the hash table. */
  private crawlIndex: u32 = 0;

  constructor(limitBytes: i64, itemMax: i32, minChunk: i32, factor: f64, hashPower: i32) {
    this.limitBytes = limitBytes;
    this.itemMax = itemMax;
    this.slabs = new Slabs(limitBytes, itemMax, minChunk, factor);
    this.table = new HashTable(hashPower);
  }

  nextCas(): u64 {
    return ++this.cas;
  }

  /**
   * An expiry time as a client sends it (memcached's rules): 0 never; negative already expired;
   * up to 30 days relative to now; beyond that an absolute Unix time (one in the past: expired).
   */
  realtime(exptime: i64): u32 {
    if (exptime == 0) return 0;
    if (exptime < 0) return 1;
    if (exptime > REALTIME_MAXDELTA) {
      if (exptime <= <i64>this.now) return 1;
      return exptime > <i64>u32.MAX_VALUE ? u32.MAX_VALUE : <u32>exptime;
    }
    return <u32>(exptime + <i64>this.now);
  }

  /** 0: alive; otherwise why it is dead. */
  @inline deadReason(it: usize): i32 {
    const exp = load<u32>(it + IT_EXP);
    if (exp != 0 && exp <= this.now) return MISS_EXPIRED;
    if (load<u64>(it + IT_CAS) <= this.flushCas) return MISS_FLUSHED;
    if (this.flushAt != 0 && this.flushAt <= this.now && load<u32>(it + IT_TIME) < this.flushAt) return MISS_FLUSHED;
    return 0;
  }

  /**
   * The live item with this key, or 0 (missReason says why). Dead items found are reclaimed here
   * (lazy expiry). A hit moves the item to the head of its LRU unless `bump` is false.
   */
  find(key: usize, n: i32, bump: bool = true): usize {
    this.missReason = MISS_ABSENT;
    const hash = hashKey(key, n);
    const it = this.table.find(key, n, hash);
    if (it == 0) return 0;
    const dead = this.deadReason(it);
    if (dead != 0) {
      this.missReason = dead;
      if ((itemState(it) & ST_FETCHED) == 0 && dead == MISS_EXPIRED) this.stats.expiredUnfetched++;
      this.unlink(it);
      return 0;
    }
    if (bump) this.touchLru(it);
    return it;
  }

  /** Moves a linked item to the head of its LRU and records the access time. */
  touchLru(it: usize): void {
    store<u32>(it + IT_TIME, this.now);
    const c = this.slabs.byId(<i32>load<u8>(it + IT_CLS));
    if (c.lruHead == it) return;
    this.lruRemove(c, it);
    this.lruPush(c, it);
  }

  private lruPush(c: SlabClass, it: usize): void {
    store<u32>(it + IT_PREV, 0);
    store<u32>(it + IT_NEXT, <u32>c.lruHead);
    if (c.lruHead != 0) store<u32>(c.lruHead + IT_PREV, <u32>it);
    c.lruHead = it;
    if (c.lruTail == 0) c.lruTail = it;
  }

  private lruRemove(c: SlabClass, it: usize): void {
    const prev = <usize>load<u32>(it + IT_PREV);
    const next = <usize>load<u32>(it + IT_NEXT);
    if (prev != 0) store<u32>(prev + IT_NEXT, <u32>next);
    else c.lruHead = next;
    if (next != 0) store<u32>(next + IT_PREV, <u32>prev);
    else c.lruTail = prev;
  }

  /**
   * A chunk for an item of `nkey` + `nbytes`, header filled in, marked busy (never evicted until
   * linked or freed), or 0 with allocError set. Memory comes from the class's free list, a new page
   * under the limit, an expired or evicted item at the class's LRU tail, or a page moved from
   * another class.
   */
  alloc(key: usize, nkey: i32, flags: u32, exp: u32, nbytes: i32): usize {
    this.allocError = ALLOC_OK;
    const size = itemSize(nkey, nbytes);
    if (nbytes < 0 || size > this.itemMax) {
      this.allocError = ALLOC_TOO_LARGE;
      return 0;
    }
    const c = this.slabs.classFor(size);
    if (c === null) {
      this.allocError = ALLOC_TOO_LARGE;
      return 0;
    }
    let it = this.slabs.take(c);
    if (it == 0 && this.slabs.grow(c)) it = this.slabs.take(c);
    if (it == 0) it = this.fromTail(c);
    if (it == 0 && this.evict && this.movePageTo(c)) it = this.slabs.take(c);
    if (it == 0) {
      this.allocError = ALLOC_NO_MEMORY;
      this.stats.outOfMemory++;
      c.outOfMemory++;
      return 0;
    }
    store<u32>(it + IT_HNEXT, 0);
    store<u32>(it + IT_PREV, 0);
    store<u32>(it + IT_NEXT, 0);
    store<u32>(it + IT_EXP, exp);
    store<u32>(it + IT_TIME, this.now);
    store<u32>(it + IT_FLAGS, flags);
    store<u64>(it + IT_CAS, 0);
    store<u32>(it + IT_NBYTES, <u32>nbytes);
    store<u8>(it + IT_NKEY, <u8>nkey);
    store<u8>(it + IT_STATE, ST_BUSY);
    memory.copy(itemKey(it), key, <usize>nkey);
    store<u32>(it + IT_HASH, hashKey(key, nkey));
    return it;
  }

  /** Reuses an expired item near the tail of `c`'s LRU, or evicts the least recently used one. */
  private fromTail(c: SlabClass): usize {
    let it = c.lruTail;
    for (let i = 0; i < TAIL_SEARCH && it != 0; i++) {
      const prev = <usize>load<u32>(it + IT_PREV);
      if ((itemState(it) & ST_BUSY) == 0 && this.deadReason(it) != 0) {
        this.stats.reclaimed++;
        c.reclaimed++;
        if ((itemState(it) & ST_FETCHED) == 0) {
          this.stats.expiredUnfetched++;
          c.expiredUnfetched++;
        }
        this.unlink(it);
        return this.slabs.take(c);
      }
      it = prev;
    }
    if (!this.evict) return 0;
    it = c.lruTail;
    for (let i = 0; i < TAIL_SEARCH && it != 0; i++) {
      if ((itemState(it) & ST_BUSY) == 0) {
        this.stats.evictions++;
        c.evicted++;
        if (load<u32>(it + IT_EXP) != 0) c.evictedNonzero++;
        c.evictedTime = this.now - load<u32>(it + IT_TIME);
        if ((itemState(it) & ST_FETCHED) == 0) {
          this.stats.evictedUnfetched++;
          c.evictedUnfetched++;
        }
        this.unlink(it);
        return this.slabs.take(c);
      }
      it = <usize>load<u32>(it + IT_PREV);
    }
    return 0;
  }

  /**
   * Gives `to` a page of the class that holds the most pages (memcached's slab reassignment):
   * every item on that page is evicted (or reclaimed, when dead). Pages with a busy chunk stay.
   */
  private movePageTo(to: SlabClass): bool {
    let from: SlabClass | null = null;
    const classes = this.slabs.classes;
    for (let i = 0; i < classes.length; i++) {
      const c = classes[i];
      if (c === to || c.pages.length == 0) continue;
      if (from === null || c.pages.length > from.pages.length) from = c;
    }
    if (from === null) return false;
    const src = from;
    for (let k = 0; k < src.pages.length; k++) {
      const page = src.pages[k];
      if (this.slabs.pageBusy(src, page)) continue;
      for (let i = 0; i < src.perPage; i++) {
        const it = page + <usize>(i * src.chunkSize);
        const st = itemState(it);
        if ((st & ST_LINKED) == 0) continue;
        if (this.deadReason(it) != 0) {
          this.stats.reclaimed++;
          src.reclaimed++;
        } else {
          this.stats.evictions++;
          src.evicted++;
          if ((st & ST_FETCHED) == 0) this.stats.evictedUnfetched++;
        }
        this.unlink(it);
      }
      this.slabs.movePage(src, k, to);
      return true;
    }
    return false;
  }

  /** Makes a filled item visible: a new cas (or `cas` when given), in the table, at the LRU head. */
  link(it: usize, cas: u64 = 0): void {
    const c = this.slabs.byId(<i32>load<u8>(it + IT_CLS));
    store<u64>(it + IT_CAS, cas != 0 ? cas : this.nextCas());
    store<u32>(it + IT_TIME, this.now);
    store<u8>(it + IT_STATE, (itemState(it) & ~(ST_BUSY | ST_FREE)) | ST_LINKED);
    this.table.insert(it, load<u32>(it + IT_HASH));
    this.lruPush(c, it);
    c.items++;
    const total = itemTotal(it);
    c.bytes += total;
    this.bytes += total;
    this.curItems++;
    this.stats.totalItems++;
  }

  /** Removes a linked item and frees its chunk. */
  unlink(it: usize): void {
    if ((itemState(it) & ST_LINKED) == 0) return;
    const c = this.slabs.byId(<i32>load<u8>(it + IT_CLS));
    this.table.remove(it, load<u32>(it + IT_HASH));
    this.lruRemove(c, it);
    c.items--;
    const total = itemTotal(it);
    c.bytes -= total;
    this.bytes -= total;
    this.curItems--;
    clearState(it, ST_LINKED);
    this.slabs.give(c, it);
  }

  /** Frees an item that was allocated but never linked (a failed or abandoned store). */
  release(it: usize): void {
    const st = itemState(it);
    if (st & ST_LINKED) {
      clearState(it, ST_BUSY);
      return;
    }
    if (st & ST_FREE) return;
    this.slabs.give(this.slabs.byId(<i32>load<u8>(it + IT_CLS)), it);
  }

  /** Puts `it` (filled, busy) in the place of the linked item `old`. */
  replace(old: usize, it: usize, cas: u64 = 0): void {
    this.unlink(old);
    this.link(it, cas);
  }

  markFetched(it: usize): void {
    setState(it, ST_FETCHED);
  }

  /** flush_all: at once (delay 0) or from `delay` seconds on. */
  flush(delay: i64): void {
    if (delay <= 0) {
      this.flushCas = this.cas;
      this.flushAt = 0;
    } else {
      this.flushAt = this.realtime(delay);
    }
  }

  /**
   * One tick of the clock: moves the hash table along, and reclaims dead items from a slice of
   * it (memcached's LRU crawler: expired memory comes back without being asked for).
   */
  tick(now: u32): void {
    this.now = now;
    this.table.step(1024);
    const size = this.table.size;
    const slice: u32 = size < 16384 ? size : 16384;
    for (let k: u32 = 0; k < slice; k++) {
      const i = (this.crawlIndex + k) & (size - 1);
      let it = this.table.chain(i);
      while (it != 0) {
        const next = <usize>load<u32>(it + IT_HNEXT);
        this.stats.crawlerChecked++;
        if ((itemState(it) & ST_BUSY) == 0 && this.deadReason(it) != 0) {
          this.stats.crawlerReclaimed++;
          this.unlink(it);
        }
        it = next;
      }
    }
    this.crawlIndex = (this.crawlIndex + slice) & (size - 1);
  }

  /** Pins a linked item while a command allocates (so the allocation cannot evict it). */
  pin(it: usize): void {
    setState(it, ST_BUSY);
  }
  unpin(it: usize): void {
    clearState(it, ST_BUSY);
  }

  ttl(it: usize): i64 {
    const exp = load<u32>(it + IT_EXP);
    if (exp == 0) return -1;
    return exp > this.now ? <i64>(exp - this.now) : 0;
  }

  isStale(it: usize): bool {
    return (itemState(it) & ST_STALE) != 0;
  }
  markStale(it: usize): void {
    setState(it, ST_STALE);
  }
  won(it: usize): bool {
    return (itemState(it) & ST_WON) != 0;
  }
  markWon(it: usize): void {
    setState(it, ST_WON);
  }
}

export { itemKey, itemData, itemNBytes, itemNKey };
