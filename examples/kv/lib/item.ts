// The layout of an item in linear memory: a fixed header, the key, then the value. Items live in
// slab chunks (slabs.ts); nothing here is a JavaScript-style object, so storing an item allocates
// nothing the garbage collector sees.
//
//   0  u32  hash chain: next item in the same bucket (a free chunk: next free chunk)
//   4  u32  LRU: previous (toward the head, more recently used)
//   8  u32  LRU: next (toward the tail)
//  12  u32  expiry, absolute Unix seconds (0: never)
//  16  u32  last access, Unix seconds
//  20  u32  client flags
//  24  u64  cas unique
//  32  u32  value length in bytes
//  36  u32  hash of the key
//  40  u8   key length
//  41  u8   slab class
//  42  u8   state bits (IT_*)
//  44       key bytes, then value bytes
export const IT_HNEXT: usize = 0;
export const IT_PREV: usize = 4;
export const IT_NEXT: usize = 8;
export const IT_EXP: usize = 12;
export const IT_TIME: usize = 16;
export const IT_FLAGS: usize = 20;
export const IT_CAS: usize = 24;
export const IT_NBYTES: usize = 32;
export const IT_HASH: usize = 36;
export const IT_NKEY: usize = 40;
export const IT_CLS: usize = 41;
export const IT_STATE: usize = 42;
export const IT_KEY: usize = 44;
export const ITEM_HEADER: i32 = 44;

/** In the hash table and its class's LRU. */
export const ST_LINKED: u8 = 1;
/** Read by a client since it was stored (stats, meta h flag). */
export const ST_FETCHED: u8 = 2;
/** Allocated and being filled or held by a command: never evicted nor moved. */
export const ST_BUSY: u8 = 4;
/** Marked stale by a meta invalidation (md I, ms I). */
export const ST_STALE: u8 = 8;
/** A meta client has been told it won the right to recache it (W sent). */
export const ST_WON: u8 = 16;
/** On its class's free list. */
export const ST_FREE: u8 = 32;

@inline export function itemSize(nkey: i32, nbytes: i32): i32 {
  return ITEM_HEADER + nkey + nbytes;
}
@inline export function itemKey(it: usize): usize {
  return it + IT_KEY;
}
@inline export function itemNKey(it: usize): i32 {
  return <i32>load<u8>(it + IT_NKEY);
}
@inline export function itemData(it: usize): usize {
  return it + IT_KEY + <usize>load<u8>(it + IT_NKEY);
}
@inline export function itemNBytes(it: usize): i32 {
  return <i32>load<u32>(it + IT_NBYTES);
}
@inline export function itemState(it: usize): u8 {
  return load<u8>(it + IT_STATE);
}
@inline export function setState(it: usize, bits: u8): void {
  store<u8>(it + IT_STATE, load<u8>(it + IT_STATE) | bits);
}
@inline export function clearState(it: usize, bits: u8): void {
  store<u8>(it + IT_STATE, load<u8>(it + IT_STATE) & ~bits);
}
@inline export function itemTotal(it: usize): i32 {
  return ITEM_HEADER + itemNKey(it) + itemNBytes(it);
}

/** Whether the key stored in `it` equals the `n` bytes at `key`. */
export function keyEquals(it: usize, key: usize, n: i32): bool {
  if (itemNKey(it) != n) return false;
  return memory.compare(itemKey(it), key, <usize>n) == 0;
}

/** FNV-1a over the key with a final avalanche (the table indexes by the low bits). */
export function hashKey(key: usize, n: i32): u32 {
  let h: u32 = 2166136261;
  for (let i = 0; i < n; i++) {
    h ^= <u32>load<u8>(key + <usize>i);
    h *= 16777619;
  }
  h ^= h >> 16;
  h *= 0x85ebca6b;
  h ^= h >> 13;
  h *= 0xc2b2ae35;
  h ^= h >> 16;
  return h;
}
