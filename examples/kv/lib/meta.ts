// The meta commands (mg, ms, md, ma, mn, me): one key, flags that say what to do and what to return,
// two-letter reply codes (HD, VA, EN, NS, EX, NF, MN, ME). Returned flags follow the order of the
// request. The q flag hides the nominal replies (EN for mg; HD for ms; HD and NF for md and ma), so
// a client can pipeline quietly and end with mn.
import { Conn, MetaSet, NR_SET, NR_ADD, NR_REPLACE, NR_APPEND, NR_PREPEND, NR_CAS } from "./conn";
import { Tokens, validKey, KEY_MAX } from "./tokens";
import { parseU64, parseU32, parseI32, parseOk, writeU64 } from "./numbers";
import { server } from "./context";
import { ALLOC_TOO_LARGE, MISS_EXPIRED, MISS_FLUSHED } from "./store";
import { IT_FLAGS, IT_CAS, IT_EXP, IT_TIME, IT_CLS, ST_FETCHED, itemKey, itemData, itemNBytes, itemNKey, itemState, itemTotal } from "./item";
import { storeItem, applyDelta, deltaLen, deltaItem, scratchPtr, DELTA_OK, DELTA_MISS, DELTA_NON_NUMERIC, DELTA_EXISTS } from "./text";
import { Output } from "./output";
import { base64Decode, base64Encode } from "./base64";

/** A meta key decoded from base64 (the b flag). */
const binaryKey = new ArrayBuffer(256);

const CONTINUE: i32 = -1;
const OPAQUE_MAX: i32 = 32;

/** Flags seen in this request (a bit per letter), for the duplicate check. */
let seen: u64 = 0;

function flagBit(ch: u8): u64 {
  if (ch >= 0x61 && ch <= 0x7a) return <u64>1 << <u64>(ch - 0x61);
  if (ch >= 0x41 && ch <= 0x5a) return <u64>1 << <u64>(ch - 0x41 + 26);
  return 0;
}

/** Parsed request flags. */
class Flags {
  error: string = "";
  quiet: bool = false;
  value: bool = false;
  noBump: bool = false;
  base64: bool = false;
  invalidate: bool = false;
  removeValue: bool = false;
  hasTtl: bool = false;
  ttl: i64 = 0;
  hasVivify: bool = false;
  vivify: i64 = 0;
  hasRecache: bool = false;
  recache: i64 = 0;
  hasCompare: bool = false;
  compare: u64 = 0;
  explicitCas: u64 = 0;
  clientFlags: u32 = 0;
  hasClientFlags: bool = false;
  mode: u8 = 0;
  hasInitial: bool = false;
  initial: u64 = 0;
  delta: u64 = 1;
  opaque: string = "";
}

const f = new Flags();

function resetFlags(): void {
  f.error = "";
  f.quiet = false;
  f.value = false;
  f.noBump = false;
  f.base64 = false;
  f.invalidate = false;
  f.removeValue = false;
  f.hasTtl = false;
  f.ttl = 0;
  f.hasVivify = false;
  f.vivify = 0;
  f.hasRecache = false;
  f.recache = 0;
  f.hasCompare = false;
  f.compare = 0;
  f.explicitCas = 0;
  f.clientFlags = 0;
  f.hasClientFlags = false;
  f.mode = 0;
  f.hasInitial = false;
  f.initial = 0;
  f.delta = 1;
  f.opaque = "";
}

/** Reads the flags from token `from` on; sets f.error on a malformed one. */
function parseFlags(t: Tokens, from: i32): void {
  resetFlags();
  seen = 0;
  for (let i = from; i < t.count; i++) {
    const p = t.ptr(i);
    const n = t.len(i);
    const ch = load<u8>(p);
    const bit = flagBit(ch);
    if (bit == 0) {
      f.error = "CLIENT_ERROR invalid flag";
      return;
    }
    if (seen & bit) {
      f.error = "CLIENT_ERROR duplicate flag";
      return;
    }
    seen |= bit;
    const vp = p + 1;
    const vn = n - 1;
    let ok = true;
    switch (ch) {
      case 0x71: f.quiet = true; break; // q
      case 0x76: f.value = true; break; // v
      case 0x75: f.noBump = true; break; // u
      case 0x62: f.base64 = true; break; // b
      case 0x49: f.invalidate = true; break; // I
      case 0x78: f.removeValue = true; break; // x
      case 0x54: f.hasTtl = true; f.ttl = parseI32(vp, vn); ok = parseOk; break; // T
      case 0x4e: f.hasVivify = true; f.vivify = parseI32(vp, vn); ok = parseOk; break; // N
      case 0x52: f.hasRecache = true; f.recache = parseI32(vp, vn); ok = parseOk; break; // R
      case 0x43: f.hasCompare = true; f.compare = parseU64(vp, vn); ok = parseOk; break; // C
      case 0x45: f.explicitCas = parseU64(vp, vn); ok = parseOk; break; // E
      case 0x46: f.hasClientFlags = true; f.clientFlags = parseU32(vp, vn); ok = parseOk; break; // F
      case 0x4a: f.hasInitial = true; f.initial = parseU64(vp, vn); ok = parseOk; break; // J
      case 0x44: f.delta = parseU64(vp, vn); ok = parseOk; break; // D
      case 0x4d: // M
        ok = vn == 1;
        if (ok) f.mode = load<u8>(vp);
        break;
      case 0x4f: // O
        if (vn > OPAQUE_MAX) {
          f.error = "CLIENT_ERROR opaque token too long";
          return;
        }
        f.opaque = String.UTF8.decodeUnsafe(vp, <usize>vn);
        break;
      default: break; // return flags (c f h k l s t) and ones without effect here (S, P, L)
    }
    if (!ok) {
      f.error = "CLIENT_ERROR bad token in command line format";
      return;
    }
  }
}

/** Writes the return flags the request asked for, in its order. */
function returnFlags(out: Output, t: Tokens, from: i32, it: usize, key: usize, nkey: i32, hitBefore: bool, lastAccess: u32): void {
  const db = server().store;
  for (let i = from; i < t.count; i++) {
    const ch = load<u8>(t.ptr(i));
    switch (ch) {
      case 0x4f: // O
        out.str(" O");
        out.bytes(t.ptr(i) + 1, t.len(i) - 1);
        break;
      case 0x6b: // k
        out.str(" k");
        if (f.base64) out.str(base64Encode(key, nkey));
        else out.bytes(key, nkey);
        break;
      case 0x62: out.str(" b"); break;
      default:
        if (it == 0) break;
        if (ch == 0x63) { out.str(" c"); out.u64(load<u64>(it + IT_CAS)); }
        else if (ch == 0x66) { out.str(" f"); out.u64(load<u32>(it + IT_FLAGS)); }
        else if (ch == 0x68) out.str(hitBefore ? " h1" : " h0");
        else if (ch == 0x6c) { out.str(" l"); out.u64(<u64>(db.now - lastAccess)); }
        else if (ch == 0x73) { out.str(" s"); out.u64(<u64>itemNBytes(it)); }
        else if (ch == 0x74) { out.str(" t"); out.i64(db.ttl(it)); }
        break;
    }
  }
}

/** A reply code without an item, with the O and k flags (meta errors and misses). */
function codeOnly(c: Conn, t: Tokens, from: i32, code: string): void {
  const out = c.out;
  out.str(code);
  returnFlags(out, t, from, 0, t.ptr(1), t.len(1), false, 0);
  out.crlf();
}

export function metaCommand(c: Conn, t: Tokens): i32 {
  const cmd = load<u8>(t.ptr(0) + 1);
  const out = c.out;
  const db = server().store;
  if (cmd == 0x6e) { // mn
    out.line("MN");
    return CONTINUE;
  }
  if (cmd != 0x67 && cmd != 0x73 && cmd != 0x64 && cmd != 0x61 && cmd != 0x65) {
    out.line("ERROR");
    return CONTINUE;
  }
  db.stats.cmdMeta++;
  if (t.count < 2 || !validKey(t.ptr(1), t.len(1))) {
    out.line("CLIENT_ERROR bad command line format");
    return CONTINUE;
  }
  // The b flag: the key is base64; it is decoded before anything looks it up (ms flags start after its length).
  const flagsFrom = cmd == 0x73 ? 3 : 2;
  for (let i = flagsFrom; i < t.count; i++) {
    if (t.len(i) != 1 || load<u8>(t.ptr(i)) != 0x62) continue;
    const kp = changetype<usize>(binaryKey);
    const n = base64Decode(t.ptr(1), t.len(1), kp, KEY_MAX);
    if (n <= 0) {
      out.line("CLIENT_ERROR error decoding key");
      if (cmd == 0x73 && t.count >= 3) {
        // The data block follows regardless: do not read it as commands.
        const vlen = parseI32(t.ptr(2), t.len(2));
        if (parseOk && vlen >= 0) {
          c.beginSwallow(vlen + 2);
        }
      }
      return CONTINUE;
    }
    t.substitute(1, kp, n);
    break;
  }
  if (cmd == 0x65) {
    metaDebug(c, t);
    return CONTINUE;
  }
  if (cmd == 0x73) return metaSet(c, t);
  parseFlags(t, 2);
  if (f.error.length > 0) {
    out.line(f.error);
    return CONTINUE;
  }
  if (cmd == 0x67) metaGet(c, t);
  else if (cmd == 0x64) metaDelete(c, t);
  else metaArithmetic(c, t);
  return CONTINUE;
}

function metaGet(c: Conn, t: Tokens): void {
  const s = server();
  const db = s.store;
  const st = db.stats;
  const key = t.ptr(1);
  const nkey = t.len(1);
  let it = db.find(key, nkey, false);
  st.cmdGet++;
  let win = false;
  if (it == 0) {
    if (db.missReason == MISS_EXPIRED) st.getExpired++;
    else if (db.missReason == MISS_FLUSHED) st.getFlushed++;
    if (!f.hasVivify) {
      st.getMisses++;
      if (!f.quiet) codeOnly(c, t, 2, "EN");
      return;
    }
    // N: create an empty item and tell this client it won the right to fill it.
    st.getMisses++;
    const fresh = db.alloc(key, nkey, 0, db.realtime(f.vivify), 0);
    if (fresh == 0) {
      c.out.line("SERVER_ERROR out of memory storing object");
      return;
    }
    db.link(fresh);
    db.markWon(fresh);
    it = fresh;
    win = true;
  } else {
    st.getHits++;
  }
  const hitBefore = (itemState(it) & ST_FETCHED) != 0;
  const lastAccess = load<u32>(it + IT_TIME);
  if (f.hasTtl) {
    store<u32>(it + IT_EXP, db.realtime(f.ttl));
    st.cmdTouch++;
    st.touchHits++;
  }
  let stale = false;
  let already = false;
  if (!win) {
    stale = db.isStale(it);
    const ttl = db.ttl(it);
    if (db.won(it)) already = true;
    else if (stale || (f.hasRecache && ttl != -1 && ttl < f.recache)) {
      win = true;
      db.markWon(it);
    }
  }
  db.markFetched(it);
  if (!f.noBump) db.touchLru(it);
  const out = c.out;
  const nbytes = itemNBytes(it);
  out.reserve(64 + nkey + nbytes);
  if (f.value) {
    out.str("VA ");
    out.u64(<u64>nbytes);
  } else out.str("HD");
  returnFlags(out, t, 2, it, key, nkey, hitBefore, lastAccess);
  if (win) out.str(" W");
  if (stale) out.str(" X");
  if (already) out.str(" Z");
  out.crlf();
  if (f.value) {
    out.bytes(itemData(it), nbytes);
    out.crlf();
  }
}

function metaSet(c: Conn, t: Tokens): i32 {
  const out = c.out;
  if (t.count < 3) {
    out.line("CLIENT_ERROR bad command line format");
    return CONTINUE;
  }
  const vlen = parseI32(t.ptr(2), t.len(2));
  if (!parseOk || vlen < 0) {
    out.line("CLIENT_ERROR bad data chunk");
    return CONTINUE;
  }
  parseFlags(t, 3);
  if (f.error.length > 0) {
    out.line(f.error);
    // The data block follows regardless: do not read it as commands.
    c.beginSwallow(vlen + 2);
    return CONTINUE;
  }
  const m = f.mode | 0x20; // lower case
  if (f.mode != 0 && m != 0x73 && m != 0x65 && m != 0x61 && m != 0x70 && m != 0x72) {
    out.line("CLIENT_ERROR invalid mode for ms STORE");
    c.beginSwallow(vlen + 2);
    return CONTINUE;
  }
  const db = server().store;
  const it = db.alloc(t.ptr(1), t.len(1), f.clientFlags, db.realtime(f.hasTtl ? f.ttl : 0), <i32>vlen);
  if (it == 0) {
    out.line(db.allocError == ALLOC_TOO_LARGE ? "SERVER_ERROR object too large for cache" : "SERVER_ERROR out of memory storing object");
    c.beginSwallow(vlen + 2);
    return CONTINUE;
  }
  const ms = new MetaSet();
  // Return flags: the ones that describe the stored item or echo the request.
  let ret = "";
  for (let i = 3; i < t.count; i++) {
    const ch = load<u8>(t.ptr(i));
    if (ch == 0x4f || ch == 0x6b || ch == 0x63 || ch == 0x62) ret += String.fromCharCode(ch);
  }
  ms.ret = ret;
  ms.base64 = f.base64;
  ms.opaque = f.opaque;
  ms.quiet = f.quiet;
  ms.mode = f.mode == 0 ? 0x73 : m;
  ms.hasCompare = f.hasCompare;
  ms.compareCas = f.compare;
  ms.explicitCas = f.explicitCas;
  ms.invalidate = f.invalidate;
  ms.vivifyTtl = f.hasVivify ? f.vivify : -1;
  c.beginValue(it, <i32>vlen, NR_SET, 0);
  c.meta = ms;
  c.noreply = false;
  return CONTINUE;
}

const keyCopy = new ArrayBuffer(256);

/** The data block of an ms arrived intact: store it and answer. */
export function completeMetaSet(c: Conn, it: usize): void {
  const ms = changetype<MetaSet>(c.meta);
  c.meta = null;
  const db = server().store;
  const nkey = itemNKey(it);
  const kp = changetype<usize>(keyCopy);
  memory.copy(kp, itemKey(it), <usize>nkey);
  let cmd = NR_SET;
  const mode = ms.mode;
  if (mode == 0x65) cmd = NR_ADD;
  else if (mode == 0x72) cmd = NR_REPLACE;
  else if (mode == 0x61) cmd = NR_APPEND;
  else if (mode == 0x70) cmd = NR_PREPEND;
  let casIn: u64 = 0;
  let markStale = false;
  if (ms.hasCompare) {
    if (cmd == NR_SET) {
      const old = db.find(kp, nkey, false);
      if (old != 0 && ms.invalidate && ms.compareCas < load<u64>(old + IT_CAS)) {
        // An invalidation with an older cas: stored, but marked stale.
        markStale = true;
      } else cmd = NR_CAS;
    }
    casIn = ms.compareCas;
  }
  if ((cmd == NR_APPEND || cmd == NR_PREPEND) && ms.vivifyTtl >= 0 && db.find(kp, nkey, false) == 0) {
    // N with append/prepend: a miss creates the item.
    store<u32>(it + IT_EXP, db.realtime(ms.vivifyTtl));
    cmd = NR_SET;
  }
  const r = storeItem(it, cmd, cmd == NR_CAS || cmd == NR_APPEND || cmd == NR_PREPEND || cmd == NR_REPLACE ? casIn : 0, ms.explicitCas);
  let code = "HD";
  if (r == "STORED") code = "HD";
  else if (r == "NOT_STORED") code = "NS";
  else if (r == "EXISTS") code = "EX";
  else if (r == "NOT_FOUND") code = "NF";
  else {
    c.out.line(r);
    return;
  }
  const stored = code == "HD" ? db.find(kp, nkey, false) : 0;
  if (markStale && stored != 0) db.markStale(stored);
  if (code == "HD" && ms.quiet) return;
  const out = c.out;
  out.str(code);
  const ret = ms.ret;
  for (let i = 0; i < ret.length; i++) {
    const ch = ret.charCodeAt(i);
    if (ch == 0x4f) {
      out.str(" O");
      out.str(ms.opaque);
    } else if (ch == 0x6b) {
      out.str(" k");
      if (ms.base64) out.str(base64Encode(kp, nkey));
      else out.bytes(kp, nkey);
    } else if (ch == 0x63) {
      if (stored != 0) {
        out.str(" c");
        out.u64(load<u64>(stored + IT_CAS));
      }
    } else if (ch == 0x62) out.str(" b");
  }
  out.crlf();
}

function metaDelete(c: Conn, t: Tokens): void {
  const db = server().store;
  const st = db.stats;
  const it = db.find(t.ptr(1), t.len(1), false);
  if (it == 0) {
    st.deleteMisses++;
    if (!f.quiet) codeOnly(c, t, 2, "NF");
    return;
  }
  if (f.hasCompare && load<u64>(it + IT_CAS) != f.compare) {
    codeOnly(c, t, 2, "EX");
    return;
  }
  st.deleteHits++;
  if (f.invalidate) {
    // Stale, not gone: the next mg sees X and one client gets W to recache it.
    db.markStale(it);
    if (f.hasTtl) store<u32>(it + IT_EXP, db.realtime(f.ttl));
    store<u64>(it + IT_CAS, db.nextCas());
  } else if (f.removeValue) {
    // x: keep the item, drop its value and client flags.
    db.pin(it);
    const empty = db.alloc(t.ptr(1), t.len(1), 0, load<u32>(it + IT_EXP), 0);
    db.unpin(it);
    if (empty == 0) {
      c.out.line("SERVER_ERROR out of memory");
      return;
    }
    db.replace(it, empty);
  } else {
    db.unlink(it);
  }
  if (!f.quiet) codeOnly(c, t, 2, "HD");
}

function metaArithmetic(c: Conn, t: Tokens): void {
  const db = server().store;
  const key = t.ptr(1);
  const nkey = t.len(1);
  const m = f.mode;
  let incr = true;
  if (m == 0x44 || m == 0x64 || m == 0x2d) incr = false;
  else if (m != 0 && m != 0x49 && m != 0x69 && m != 0x2b) {
    c.out.line("CLIENT_ERROR invalid mode for ma");
    return;
  }
  let r = applyDelta(key, nkey, incr, f.delta, f.hasCompare ? f.compare : 0);
  let it = deltaItem;
  let len = deltaLen;
  const sp = scratchPtr();
  if (r == DELTA_MISS && f.hasVivify) {
    // N: a miss creates the item with the initial value (J, default 0).
    len = writeU64(sp, f.initial);
    const fresh = db.alloc(key, nkey, 0, db.realtime(f.vivify), len);
    if (fresh == 0) {
      c.out.line("SERVER_ERROR out of memory");
      return;
    }
    memory.copy(itemData(fresh), sp, <usize>len);
    db.link(fresh);
    it = fresh;
    r = DELTA_OK;
  }
  if (r == DELTA_MISS) {
    if (!f.quiet) codeOnly(c, t, 2, "NF");
    return;
  }
  if (r == DELTA_EXISTS) {
    codeOnly(c, t, 2, "EX");
    return;
  }
  if (r == DELTA_NON_NUMERIC) {
    c.out.line("CLIENT_ERROR cannot increment or decrement non-numeric value");
    return;
  }
  if (r != DELTA_OK) {
    c.out.line("SERVER_ERROR out of memory");
    return;
  }
  if (f.hasTtl) store<u32>(it + IT_EXP, db.realtime(f.ttl));
  if (!f.value && f.quiet) return;
  const out = c.out;
  if (f.value) {
    out.str("VA ");
    out.u64(<u64>len);
  } else out.str("HD");
  returnFlags(out, t, 2, it, key, nkey, true, db.now);
  out.crlf();
  if (f.value) {
    out.bytes(sp, len);
    out.crlf();
  }
}

function metaDebug(c: Conn, t: Tokens): void {
  const db = server().store;
  const it = db.find(t.ptr(1), t.len(1), false);
  const out = c.out;
  if (it == 0) {
    out.line("EN");
    return;
  }
  out.str("ME ");
  out.bytes(t.ptr(1), t.len(1));
  out.str(" exp=");
  out.i64(db.ttl(it));
  out.str(" la=");
  out.u64(<u64>(db.now - load<u32>(it + IT_TIME)));
  out.str(" cas=");
  out.u64(load<u64>(it + IT_CAS));
  out.str((itemState(it) & ST_FETCHED) != 0 ? " fetch=yes" : " fetch=no");
  out.str(" cls=");
  out.u64(<u64>load<u8>(it + IT_CLS));
  out.str(" size=");
  out.u64(<u64>itemTotal(it));
  out.crlf();
}
