// The key index: a chained hash table of item addresses in linear memory (a u32 per bucket, the
// chain through each item's first word). When it holds 1.5 items per bucket it doubles, and the
// move to the new table is incremental, as memcached's is: every operation (and every clock tick)
// moves a few buckets, and a lookup reads whichever table holds its bucket at that moment. No
// operation ever pays for the whole table.
import { IT_HNEXT, IT_HASH, keyEquals } from "./item";

/** Buckets moved per operation while the table grows. */
const MOVE_PER_OP: u32 = 16;

export class HashTable {
  power: i32;
  table: usize;
  /** While growing: the old table and the next of its buckets to move. */
  old: usize = 0;
  oldPower: i32 = 0;
  moveIndex: u32 = 0;
  count: i32 = 0;

  constructor(power: i32) {
    this.power = power;
    this.table = HashTable.newTable(power);
  }

  private static newTable(power: i32): usize {
    const bytes = (<usize>1 << <usize>power) * 4;
    const t = heap.alloc(bytes);
    memory.fill(t, 0, bytes);
    return t;
  }

  get expanding(): bool {
    return this.old != 0;
  }

  get bytes(): i64 {
    let b = (<i64>1 << this.power) * 4;
    if (this.old != 0) b += (<i64>1 << this.oldPower) * 4;
    return b;
  }

  /** The address of the bucket word that holds `hash`'s chain. */
  @inline private bucket(hash: u32): usize {
    if (this.old != 0) {
      const oi = hash & ((<u32>1 << <u32>this.oldPower) - 1);
      if (oi >= this.moveIndex) return this.old + (<usize>oi << 2);
    }
    return this.table + (<usize>(hash & ((<u32>1 << <u32>this.power) - 1)) << 2);
  }

  find(key: usize, n: i32, hash: u32): usize {
    let it = <usize>load<u32>(this.bucket(hash));
    while (it != 0) {
      if (load<u32>(it + IT_HASH) == hash && keyEquals(it, key, n)) return it;
      it = <usize>load<u32>(it + IT_HNEXT);
    }
    return 0;
  }

  insert(it: usize, hash: u32): void {
    const b = this.bucket(hash);
    store<u32>(it + IT_HNEXT, load<u32>(b));
    store<u32>(b, <u32>it);
    this.count++;
    if (this.old == 0 && this.count > (3 << this.power) >> 1 && this.power < 28) this.startGrowing();
    else this.step(MOVE_PER_OP);
  }

  remove(it: usize, hash: u32): void {
    let prev = this.bucket(hash);
    let p = <usize>load<u32>(prev);
    while (p != 0) {
      if (p == it) {
        store<u32>(prev, load<u32>(it + IT_HNEXT));
        this.count--;
        return;
      }
      prev = p + IT_HNEXT;
      p = <usize>load<u32>(prev);
    }
  }

  private startGrowing(): void {
    this.old = this.table;
    this.oldPower = this.power;
    this.power++;
    this.table = HashTable.newTable(this.power);
    this.moveIndex = 0;
  }

  /** Moves up to `n` buckets of the old table into the new one. */
  step(n: u32): void {
    if (this.old == 0) return;
    const oldSize = <u32>1 << <u32>this.oldPower;
    const mask = (<u32>1 << <u32>this.power) - 1;
    for (let k: u32 = 0; k < n && this.moveIndex < oldSize; k++) {
      const b = this.old + (<usize>this.moveIndex << 2);
      let it = <usize>load<u32>(b);
      while (it != 0) {
        const next = <usize>load<u32>(it + IT_HNEXT);
        const nb = this.table + (<usize>(load<u32>(it + IT_HASH) & mask) << 2);
        store<u32>(it + IT_HNEXT, load<u32>(nb));
        store<u32>(nb, <u32>it);
        it = next;
      }
      store<u32>(b, 0);
      this.moveIndex++;
    }
    if (this.moveIndex >= oldSize) {
      heap.free(this.old);
      this.old = 0;
    }
  }

  /** Bucket count of the table being filled (the crawler walks it). */
  get size(): u32 {
    return <u32>1 << <u32>this.power;
  }

  /** The chain head of bucket `i` in the current table (old buckets not yet moved are skipped). */
  chain(i: u32): usize {
    return <usize>load<u32>(this.table + (<usize>i << 2));
  }
}
