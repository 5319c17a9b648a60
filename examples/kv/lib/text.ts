// The text protocol: parses what has arrived on a connection and appends the replies. Commands are
// taken one line at a time, as many as the buffer holds (pipelining); a data block is copied into
// its item as it arrives, over as many reads as it takes; a retrieval line is answered key by key,
// so a multiget of any length streams through without being buffered whole.
import {
  Conn, PROTO_UNKNOWN, PROTO_TEXT, PROTO_BINARY, MAX_LINE, OUT_SOFT, S_CMD, S_NREAD, S_SWALLOW, S_GET, S_SKIPLINE,
  NR_SET, NR_ADD, NR_REPLACE, NR_APPEND, NR_PREPEND, NR_CAS, G_GET, G_GETS, G_GAT, G_GATS,
} from "./conn";
import { Tokens, validKey, KEY_MAX } from "./tokens";
import { parseU64, parseU32, parseI32, parseStoredU64, parseOk, writeU64 } from "./numbers";
import { server } from "./context";
import { VERSION } from "./config";
import { ALLOC_TOO_LARGE, MISS_EXPIRED, MISS_FLUSHED } from "./store";
import { IT_FLAGS, IT_CAS, IT_EXP, itemKey, itemData, itemNBytes, itemNKey } from "./item";
import { writeStats } from "./stats";
import { metaCommand, completeMetaSet } from "./meta";
import { binaryInput, MAGIC_REQUEST } from "./binary";
import { logLine } from "../../lib/args";

/** processInput's answers: read more input; wait for the write in flight; close the connection. */
export const P_MORE: i32 = 0;
export const P_PAUSE: i32 = 1;
export const P_CLOSE: i32 = 2;
const CONTINUE: i32 = -1;

export const tokens = new Tokens();
/** Scratch space for numbers (incr/decr). */
const scratch = new ArrayBuffer(32);

/** A one-line reply, unless the command said noreply (memcached then drops errors too). */
export function reply(c: Conn, s: string): void {
  if (c.noreply) return;
  c.out.line(s);
  if (server().verbose > 1) logLine(">" + c.fd.toString() + " " + s);
}

/** Parses and answers everything that can be answered with the input at hand. */
export function processInput(c: Conn): i32 {
  if (c.proto == PROTO_UNKNOWN) {
    if (c.rend == c.rstart) return P_MORE;
    c.proto = load<u8>(c.base + <usize>c.rstart) == MAGIC_REQUEST ? PROTO_BINARY : PROTO_TEXT;
  }
  if (c.proto == PROTO_BINARY) return binaryInput(c);
  for (;;) {
    if (c.out.len >= OUT_SOFT) return P_PAUSE;
    let r: i32;
    switch (c.state) {
      case S_CMD: r = commandStep(c); break;
      case S_NREAD: r = nreadStep(c); break;
      case S_SWALLOW: r = swallowStep(c); break;
      case S_GET: r = getStep(c); break;
      default: r = skipStep(c); break;
    }
    if (r != CONTINUE) return r;
  }
  return P_MORE;
}

function findNewline(c: Conn): i32 {
  const base = c.base;
  for (let i = c.rstart; i < c.rend; i++) if (load<u8>(base + <usize>i) == 0x0a) return i;
  return -1;
}

/** Whether the bytes at `at` start with the ASCII `s`. */
function startsWith(c: Conn, at: i32, s: string): bool {
  if (c.rend - at < s.length) return false;
  const p = c.base + <usize>at;
  for (let k = 0; k < s.length; k++) if (<i32>load<u8>(p + <usize>k) != s.charCodeAt(k)) return false;
  return true;
}

/** The start of a retrieval line: "get ", "gets ", "gat ", "gats " (after leading spaces), else -1. */
function retrievalKind(c: Conn, at: i32): i32 {
  if (startsWith(c, at, "get ")) return G_GET;
  if (startsWith(c, at, "gets ")) return G_GETS;
  if (startsWith(c, at, "gat ")) return G_GAT;
  if (startsWith(c, at, "gats ")) return G_GATS;
  return -1;
}

function commandStep(c: Conn): i32 {
  if (c.rstart >= c.rend) return P_MORE;
  const base = c.base;
  let at = c.rstart;
  while (at < c.rend && load<u8>(base + <usize>at) == 0x20) at++;
  const nl = findNewline(c);
  const kind = retrievalKind(c, at);
  if (kind >= 0) return startRetrieval(c, kind, at, nl);
  if (nl < 0) {
    // memcached: a line this long without a newline can only be a large multiget; anything else
    // closes the connection.
    if (c.rend - c.rstart > MAX_LINE) return P_CLOSE;
    return P_MORE;
  }
  let end = nl;
  if (end > c.rstart && load<u8>(base + <usize>(end - 1)) == 0x0d) end--;
  if (server().verbose > 1) logLine("<" + c.fd.toString() + " " + String.UTF8.decodeUnsafe(base + <usize>c.rstart, <usize>(end - c.rstart)));
  tokens.split(base, c.rstart, end);
  c.rstart = nl + 1;
  c.noreply = false;
  return dispatch(c);
}

function dispatch(c: Conn): i32 {
  const t = tokens;
  const n = t.count;
  if (n == 0 || t.overflow) {
    reply(c, "ERROR");
    return CONTINUE;
  }
  const s = server();
  if (t.len(0) == 2 && load<u8>(t.ptr(0)) == 0x6d) return metaCommand(c, t);
  if (t.is(0, "set")) return update(c, NR_SET, n == 5 || n == 6);
  if (t.is(0, "add")) return update(c, NR_ADD, n == 5 || n == 6);
  if (t.is(0, "replace")) return update(c, NR_REPLACE, n == 5 || n == 6);
  if (t.is(0, "append")) return update(c, NR_APPEND, n == 5 || n == 6);
  if (t.is(0, "prepend")) return update(c, NR_PREPEND, n == 5 || n == 6);
  if (t.is(0, "cas")) return update(c, NR_CAS, n == 6 || n == 7);
  if (t.is(0, "incr") || t.is(0, "decr")) {
    if (n == 3 || n == 4) arithmetic(c, t.is(0, "incr"));
    else reply(c, "ERROR");
    return CONTINUE;
  }
  if (t.is(0, "delete")) {
    if (n >= 2 && n <= 4) deleteCommand(c);
    else reply(c, "ERROR");
    return CONTINUE;
  }
  if (t.is(0, "touch")) {
    if (n == 3 || n == 4) touchCommand(c);
    else reply(c, "ERROR");
    return CONTINUE;
  }
  if (t.is(0, "stats")) {
    writeStats(c, t);
    return CONTINUE;
  }
  if (t.is(0, "flush_all")) {
    if (n <= 3) flushCommand(c);
    else reply(c, "ERROR");
    return CONTINUE;
  }
  if (t.is(0, "version")) {
    reply(c, "VERSION " + VERSION);
    return CONTINUE;
  }
  if (t.is(0, "quit")) return P_CLOSE;
  if (t.is(0, "verbosity")) {
    if (n == 2 || n == 3) verbosityCommand(c);
    else reply(c, "ERROR");
    return CONTINUE;
  }
  if (t.is(0, "cache_memlimit")) {
    // The limit is fixed at start-up here (pages are never handed back): say so as memcached
    // says it about a value it cannot use.
    c.noreply = t.noreply();
    reply(c, n == 2 || n == 3 ? "CLIENT_ERROR cache_memlimit cannot be changed by flexvm kv" : "ERROR");
    return CONTINUE;
  }
  if (t.is(0, "shutdown")) {
    if (!s.config.shutdownEnabled) {
      reply(c, "ERROR: shutdown not enabled");
      return CONTINUE;
    }
    s.shuttingDown = true;
    const f = s.onShutdown;
    if (f) f();
    return P_CLOSE;
  }
  // (A connection whose first byte is the binary magic 0x80 speaks the binary protocol: binary.ts.)
  reply(c, "ERROR");
  return CONTINUE;
}

// ------------------------------------------------------------------ storage

function update(c: Conn, cmd: i32, countOk: bool): i32 {
  const t = tokens;
  if (!countOk) {
    reply(c, "ERROR");
    return CONTINUE;
  }
  c.noreply = t.noreply();
  const s = server();
  if (!validKey(t.ptr(1), t.len(1))) {
    reply(c, "CLIENT_ERROR bad command line format");
    return CONTINUE;
  }
  const flags = parseU32(t.ptr(2), t.len(2));
  let ok = parseOk;
  const exptime = parseI32(t.ptr(3), t.len(3));
  ok = ok && parseOk;
  const vlen = parseI32(t.ptr(4), t.len(4));
  ok = ok && parseOk;
  let casIn: u64 = 0;
  if (cmd == NR_CAS) {
    casIn = parseU64(t.ptr(5), t.len(5));
    ok = ok && parseOk;
  }
  if (!ok || vlen < 0 || vlen > 0x7ffffffd) {
    reply(c, "CLIENT_ERROR bad command line format");
    return CONTINUE;
  }
  const db = s.store;
  const it = db.alloc(t.ptr(1), t.len(1), flags, db.realtime(exptime), <i32>vlen);
  if (it == 0) {
    reply(c, db.allocError == ALLOC_TOO_LARGE ? "SERVER_ERROR object too large for cache" : "SERVER_ERROR out of memory storing object");
    // A set that cannot be stored must not leave the old value behind.
    if (cmd == NR_SET) {
      const old = db.find(t.ptr(1), t.len(1), false);
      if (old != 0) db.unlink(old);
    }
    c.beginSwallow(vlen + 2);
    return CONTINUE;
  }
  c.beginValue(it, <i32>vlen, cmd, casIn);
  return CONTINUE;
}

/** Copies the data block into the item; at its end checks the CRLF and stores. */
function nreadStep(c: Conn): i32 {
  if (!c.fillValue()) return P_MORE;
  if (c.rend - c.rstart < 2) return P_MORE;
  const tail = load<u16>(c.base + <usize>c.rstart);
  c.rstart += 2;
  const it = c.item;
  c.item = 0;
  c.state = S_CMD;
  const s = server();
  if (tail != 0x0a0d) {
    s.store.release(it);
    if (c.meta !== null) c.noreply = false; // meta always reports errors
    reply(c, "CLIENT_ERROR bad data chunk");
    return CONTINUE;
  }
  if (c.meta !== null) {
    completeMetaSet(c, it);
    return CONTINUE;
  }
  const r = storeItem(it, c.nreadCmd, c.casIn);
  reply(c, r);
  return CONTINUE;
}

/**
 * memcached's do_store_item: stores the filled item `it` under the rules of `cmd`, and says how it
 * went. The item is linked or released either way.
 */
export function storeItem(it: usize, cmd: i32, casIn: u64, explicitCas: u64 = 0): string {
  const db = server().store;
  const st = db.stats;
  st.cmdSet++;
  const old = db.find(itemKey(it), itemNKey(it), false);
  if (cmd == NR_CAS) {
    if (old == 0) {
      st.casMisses++;
      db.release(it);
      return "NOT_FOUND";
    }
    if (load<u64>(old + IT_CAS) != casIn) {
      st.casBadval++;
      db.release(it);
      return "EXISTS";
    }
    st.casHits++;
    db.replace(old, it, explicitCas);
    return "STORED";
  }
  if (cmd == NR_ADD) {
    if (old != 0) {
      // memcached moves the existing item up the LRU: it was just asked for.
      db.touchLru(old);
      db.release(it);
      return "NOT_STORED";
    }
    db.link(it, explicitCas);
    return "STORED";
  }
  if (cmd == NR_REPLACE || cmd == NR_APPEND || cmd == NR_PREPEND) {
    if (old == 0) {
      db.release(it);
      return "NOT_STORED";
    }
    if (casIn != 0 && load<u64>(old + IT_CAS) != casIn) {
      db.release(it);
      return "EXISTS";
    }
    if (cmd == NR_REPLACE) {
      db.replace(old, it, explicitCas);
      return "STORED";
    }
    // A new item holding both values; the old one and the data stay pinned meanwhile.
    const oldLen = itemNBytes(old);
    const addLen = itemNBytes(it);
    db.pin(old);
    const both = db.alloc(itemKey(old), itemNKey(old), load<u32>(old + IT_FLAGS), load<u32>(old + IT_EXP), oldLen + addLen);
    db.unpin(old);
    if (both == 0) {
      db.release(it);
      return db.allocError == ALLOC_TOO_LARGE ? "SERVER_ERROR object too large for cache" : "SERVER_ERROR out of memory storing object";
    }
    const d = itemData(both);
    if (cmd == NR_APPEND) {
      memory.copy(d, itemData(old), <usize>oldLen);
      memory.copy(d + <usize>oldLen, itemData(it), <usize>addLen);
    } else {
      memory.copy(d, itemData(it), <usize>addLen);
      memory.copy(d + <usize>addLen, itemData(old), <usize>oldLen);
    }
    db.release(it);
    db.replace(old, both, explicitCas);
    return "STORED";
  }
  // set
  if (old != 0) db.replace(old, it, explicitCas);
  else db.link(it, explicitCas);
  return "STORED";
}

function swallowStep(c: Conn): i32 {
  return c.swallowInput() ? CONTINUE : P_MORE;
}

function skipStep(c: Conn): i32 {
  const nl = findNewline(c);
  if (nl < 0) {
    c.rstart = c.rend;
    return P_MORE;
  }
  c.rstart = nl + 1;
  c.state = S_CMD;
  return CONTINUE;
}

// ------------------------------------------------------------------ retrieval

/** Sets up a get/gets/gat/gats line; `at` is where the command word starts, `nl` its newline or -1. */
function startRetrieval(c: Conn, kind: i32, at: i32, nl: i32): i32 {
  if (server().verbose > 1 && nl >= 0) logLine("<" + c.fd.toString() + " " + String.UTF8.decodeUnsafe(c.base + <usize>c.rstart, <usize>(nl - c.rstart)).trimEnd());
  c.noreply = false;
  let p = at + (kind == G_GET || kind == G_GAT ? 4 : 5);
  if (kind == G_GAT || kind == G_GATS) {
    const base = c.base;
    while (p < c.rend && load<u8>(base + <usize>p) == 0x20) p++;
    let e = p;
    while (e < c.rend && load<u8>(base + <usize>e) != 0x20 && load<u8>(base + <usize>e) != 0x0d && load<u8>(base + <usize>e) != 0x0a) e++;
    if (e >= c.rend) {
      if (c.rend - c.rstart > MAX_LINE) return P_CLOSE;
      return P_MORE; // the exptime is not complete yet
    }
    if (load<u8>(base + <usize>e) != 0x20) {
      // "gat <exptime>" without a key
      c.rstart = nl + 1;
      reply(c, "ERROR");
      return CONTINUE;
    }
    const exptime = parseI32(base + <usize>p, e - p);
    if (!parseOk) {
      reply(c, "CLIENT_ERROR invalid exptime argument");
      c.rstart = e;
      c.state = S_SKIPLINE;
      return CONTINUE;
    }
    c.gatExp = server().store.realtime(exptime);
    p = e;
  }
  c.rstart = p;
  c.getKind = kind;
  c.keysSeen = 0;
  c.state = S_GET;
  return CONTINUE;
}

/** Answers the next key of a retrieval line, or its end. */
function getStep(c: Conn): i32 {
  const base = c.base;
  let p = c.rstart;
  while (p < c.rend && load<u8>(base + <usize>p) == 0x20) p++;
  c.rstart = p;
  if (p >= c.rend) return P_MORE;
  const ch = load<u8>(base + <usize>p);
  if (ch == 0x0a || (ch == 0x0d && p + 1 < c.rend && load<u8>(base + <usize>(p + 1)) == 0x0a)) {
    c.rstart = p + (ch == 0x0a ? 1 : 2);
    c.state = S_CMD;
    reply(c, c.keysSeen == 0 ? "ERROR" : "END");
    return CONTINUE;
  }
  if (ch == 0x0d && p + 1 >= c.rend) return P_MORE;
  let e = p;
  while (e < c.rend) {
    const b = load<u8>(base + <usize>e);
    if (b == 0x20 || b == 0x0a) break;
    if (b == 0x0d && (e + 1 >= c.rend || load<u8>(base + <usize>(e + 1)) == 0x0a)) break;
    e++;
  }
  const n = e - p;
  if (e >= c.rend && n <= KEY_MAX) return P_MORE; // the key may go on
  c.keysSeen++;
  if (!validKey(base + <usize>p, n)) {
    reply(c, "CLIENT_ERROR bad command line format");
    c.rstart = e;
    c.state = S_SKIPLINE;
    return CONTINUE;
  }
  const s = server();
  const db = s.store;
  const st = db.stats;
  const kind = c.getKind;
  const touch = kind == G_GAT || kind == G_GATS;
  const it = db.find(base + <usize>p, n);
  st.cmdGet++;
  if (touch) st.cmdTouch++;
  if (it == 0) {
    if (touch) st.touchMisses++;
    else st.getMisses++;
    if (db.missReason == MISS_EXPIRED) st.getExpired++;
    else if (db.missReason == MISS_FLUSHED) st.getFlushed++;
  } else {
    if (touch) {
      st.touchHits++;
      store_exp(it, c.gatExp);
    } else st.getHits++;
    db.markFetched(it);
    writeValue(c, it, kind == G_GETS || kind == G_GATS);
  }
  c.rstart = e;
  return CONTINUE;
}

@inline function store_exp(it: usize, exp: u32): void {
  store<u32>(it + IT_EXP, exp);
}

/** VALUE <key> <flags> <bytes> [<cas>]\r\n<data>\r\n */
export function writeValue(c: Conn, it: usize, withCas: bool): void {
  const out = c.out;
  const nkey = itemNKey(it);
  const nbytes = itemNBytes(it);
  out.reserve(6 + nkey + 1 + 10 + 1 + 10 + 1 + 20 + 2 + nbytes + 2);
  out.str("VALUE ");
  out.bytes(itemKey(it), nkey);
  out.byte(0x20);
  out.u64(load<u32>(it + IT_FLAGS));
  out.byte(0x20);
  out.u64(<u64>nbytes);
  if (withCas) {
    out.byte(0x20);
    out.u64(server().config.casDisabled ? 0 : load<u64>(it + IT_CAS));
  }
  out.crlf();
  out.bytes(itemData(it), nbytes);
  out.crlf();
}

// ------------------------------------------------------------------ the others

function arithmetic(c: Conn, incr: bool): void {
  const t = tokens;
  c.noreply = t.noreply();
  if (t.len(1) > KEY_MAX || !validKey(t.ptr(1), t.len(1))) {
    reply(c, "CLIENT_ERROR bad command line format");
    return;
  }
  const delta = parseU64(t.ptr(2), t.len(2));
  if (!parseOk) {
    reply(c, "CLIENT_ERROR invalid numeric delta argument");
    return;
  }
  const r = applyDelta(t.ptr(1), t.len(1), incr, delta);
  if (r == DELTA_OK) {
    if (c.noreply) return;
    c.out.bytes(changetype<usize>(scratch), deltaLen);
    c.out.crlf();
  } else if (r == DELTA_MISS) reply(c, "NOT_FOUND");
  else if (r == DELTA_NON_NUMERIC) reply(c, "CLIENT_ERROR cannot increment or decrement non-numeric value");
  else reply(c, "SERVER_ERROR out of memory");
}

export const DELTA_OK: i32 = 0;
export const DELTA_MISS: i32 = 1;
export const DELTA_NON_NUMERIC: i32 = 2;
export const DELTA_NO_MEMORY: i32 = 3;
export const DELTA_EXISTS: i32 = 4;
/** The new value's digits, in `scratch`. */
export let deltaLen: i32 = 0;
export let deltaValue: u64 = 0;
/** The item that holds the result (for the meta flags that describe it). */
export let deltaItem: usize = 0;

export function scratchPtr(): usize {
  return changetype<usize>(scratch);
}

/**
 * memcached's add_delta: incr wraps at 2^64, decr stops at 0. A result no longer than the old
 * value is written in place, padded with spaces; a longer one goes into a new item.
 */
export function applyDelta(key: usize, nkey: i32, incr: bool, delta: u64, casIn: u64 = 0): i32 {
  const db = server().store;
  const st = db.stats;
  const it = db.find(key, nkey);
  deltaItem = 0;
  if (it == 0) {
    if (incr) st.incrMisses++;
    else st.decrMisses++;
    return DELTA_MISS;
  }
  if (casIn != 0 && load<u64>(it + IT_CAS) != casIn) return DELTA_EXISTS;
  const len = itemNBytes(it);
  let v = parseStoredU64(itemData(it), len);
  if (!parseOk) return DELTA_NON_NUMERIC;
  if (incr) {
    v += delta;
    st.incrHits++;
  } else {
    v = delta > v ? 0 : v - delta;
    st.decrHits++;
  }
  deltaValue = v;
  const buf = changetype<usize>(scratch);
  const res = writeU64(buf, v);
  deltaLen = res;
  if (res <= len) {
    memory.copy(itemData(it), buf, <usize>res);
    if (len > res) memory.fill(itemData(it) + <usize>res, 0x20, <usize>(len - res));
    store<u64>(it + IT_CAS, db.nextCas());
    db.touchLru(it);
    deltaItem = it;
    return DELTA_OK;
  }
  db.pin(it);
  const fresh = db.alloc(key, nkey, load<u32>(it + IT_FLAGS), load<u32>(it + IT_EXP), res);
  db.unpin(it);
  if (fresh == 0) return DELTA_NO_MEMORY;
  memory.copy(itemData(fresh), buf, <usize>res);
  db.replace(it, fresh);
  deltaItem = fresh;
  return DELTA_OK;
}

function deleteCommand(c: Conn): void {
  const t = tokens;
  const n = t.count;
  if (n > 2) {
    const holdZero = t.is(2, "0");
    const nr = t.noreply();
    const valid = (n == 3 && (holdZero || nr)) || (n == 4 && holdZero && nr);
    if (!valid) {
      reply(c, "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]");
      return;
    }
    c.noreply = nr;
  }
  if (!validKey(t.ptr(1), t.len(1))) {
    reply(c, "CLIENT_ERROR bad command line format");
    return;
  }
  const db = server().store;
  const it = db.find(t.ptr(1), t.len(1), false);
  if (it != 0) {
    db.stats.deleteHits++;
    db.unlink(it);
    reply(c, "DELETED");
  } else {
    db.stats.deleteMisses++;
    reply(c, "NOT_FOUND");
  }
}

function touchCommand(c: Conn): void {
  const t = tokens;
  c.noreply = t.noreply();
  if (!validKey(t.ptr(1), t.len(1))) {
    reply(c, "CLIENT_ERROR bad command line format");
    return;
  }
  const exptime = parseI32(t.ptr(2), t.len(2));
  if (!parseOk) {
    reply(c, "CLIENT_ERROR invalid exptime argument");
    return;
  }
  const db = server().store;
  db.stats.cmdTouch++;
  const it = db.find(t.ptr(1), t.len(1));
  if (it != 0) {
    store<u32>(it + IT_EXP, db.realtime(exptime));
    db.stats.touchHits++;
    reply(c, "TOUCHED");
  } else {
    db.stats.touchMisses++;
    reply(c, "NOT_FOUND");
  }
}

function flushCommand(c: Conn): void {
  const t = tokens;
  c.noreply = t.noreply();
  const s = server();
  if (s.config.flushDisabled) {
    reply(c, "CLIENT_ERROR flush_all not allowed");
    return;
  }
  let delay: i64 = 0;
  if (t.count != (c.noreply ? 2 : 1)) {
    delay = parseI32(t.ptr(1), t.len(1));
    if (!parseOk) {
      reply(c, "CLIENT_ERROR bad command line format");
      return;
    }
  }
  s.store.stats.cmdFlush++;
  s.store.flush(delay);
  reply(c, "OK");
}

function verbosityCommand(c: Conn): void {
  const t = tokens;
  c.noreply = t.noreply();
  const level = parseU32(t.ptr(1), t.len(1));
  if (!parseOk) {
    reply(c, "CLIENT_ERROR bad command line format");
    return;
  }
  server().verbose = level > 3 ? 3 : <i32>level;
  reply(c, "OK");
}
