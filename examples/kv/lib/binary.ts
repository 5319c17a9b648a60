// memcached's binary protocol (the 24-byte headers of protocol_binary.h, as libmemcached's
// `--binary` mode and older clients speak it). A connection speaks it when its first byte is the
// request magic 0x80, as memcached decides. Storage commands stream their value into the item as it
// arrives, over as many reads as it takes; every other command waits until its whole body is in the
// input buffer. The store, its rules and its counters are the text protocol's.
//
// Supported: GET, GETQ, GETK, GETKQ, SET, ADD, REPLACE (and their Q forms, CAS in the header),
// APPEND, PREPEND (and Q), DELETE (and Q, with CAS), INCREMENT, DECREMENT (and Q, with the initial
// value and its expiry), QUIT (and Q), FLUSH (and Q, with a delay), NOOP, VERSION, STAT (every
// group, one packet per line and an empty one at the end), VERBOSITY, TOUCH, GAT, GATQ, GATK, GATKQ.
// Anything else (SASL, the range and vbucket commands) answers "Unknown command".
import { Conn, OUT_SOFT, S_CMD, S_NREAD, S_SWALLOW, NR_SET, NR_ADD, NR_REPLACE, NR_APPEND, NR_PREPEND, NR_CAS } from "./conn";
import { KEY_MAX } from "./tokens";
import { server } from "./context";
import { VERSION } from "./config";
import { ALLOC_TOO_LARGE, MISS_EXPIRED, MISS_FLUSHED } from "./store";
import { IT_FLAGS, IT_CAS, IT_EXP, itemKey, itemData, itemNBytes, itemNKey } from "./item";
import { storeItem, applyDelta, DELTA_OK, DELTA_MISS, DELTA_NON_NUMERIC, DELTA_EXISTS, deltaValue, deltaItem } from "./text";
import { renderStats, STATS_UNKNOWN } from "./stats";
import { Output } from "./output";
import { writeU64 } from "./numbers";
import { logLine } from "../../lib/args";

export const MAGIC_REQUEST: u8 = 0x80;
const MAGIC_RESPONSE: u8 = 0x81;
const HEADER: i32 = 24;

// Opcodes.
const OP_GET: u8 = 0x00;
const OP_SET: u8 = 0x01;
const OP_ADD: u8 = 0x02;
const OP_REPLACE: u8 = 0x03;
const OP_DELETE: u8 = 0x04;
const OP_INCREMENT: u8 = 0x05;
const OP_DECREMENT: u8 = 0x06;
const OP_QUIT: u8 = 0x07;
const OP_FLUSH: u8 = 0x08;
const OP_GETQ: u8 = 0x09;
const OP_NOOP: u8 = 0x0a;
const OP_VERSION: u8 = 0x0b;
const OP_GETK: u8 = 0x0c;
const OP_GETKQ: u8 = 0x0d;
const OP_APPEND: u8 = 0x0e;
const OP_PREPEND: u8 = 0x0f;
const OP_STAT: u8 = 0x10;
const OP_SETQ: u8 = 0x11;
const OP_ADDQ: u8 = 0x12;
const OP_REPLACEQ: u8 = 0x13;
const OP_DELETEQ: u8 = 0x14;
const OP_INCREMENTQ: u8 = 0x15;
const OP_DECREMENTQ: u8 = 0x16;
const OP_QUITQ: u8 = 0x17;
const OP_FLUSHQ: u8 = 0x18;
const OP_APPENDQ: u8 = 0x19;
const OP_PREPENDQ: u8 = 0x1a;
const OP_VERBOSITY: u8 = 0x1b;
const OP_TOUCH: u8 = 0x1c;
const OP_GAT: u8 = 0x1d;
const OP_GATQ: u8 = 0x1e;
const OP_GATK: u8 = 0x23;
const OP_GATKQ: u8 = 0x24;

// Response statuses, with the texts memcached sends in an error's body.
const ST_OK: u16 = 0x0000;
const ST_KEY_ENOENT: u16 = 0x0001;
const ST_KEY_EEXISTS: u16 = 0x0002;
const ST_E2BIG: u16 = 0x0003;
const ST_EINVAL: u16 = 0x0004;
const ST_NOT_STORED: u16 = 0x0005;
const ST_DELTA_BADVAL: u16 = 0x0006;
const ST_UNKNOWN_COMMAND: u16 = 0x0081;
const ST_ENOMEM: u16 = 0x0082;

function statusText(status: u16): string {
  switch (status) {
    case ST_KEY_ENOENT: return "Not found";
    case ST_KEY_EEXISTS: return "Data exists for key.";
    case ST_E2BIG: return "Too large.";
    case ST_EINVAL: return "Invalid arguments";
    case ST_NOT_STORED: return "Not stored.";
    case ST_DELTA_BADVAL: return "Non-numeric server-side value for incr or decr";
    case ST_UNKNOWN_COMMAND: return "Unknown command";
    default: return "Out of memory";
  }
}

const CONTINUE: i32 = -1;
const P_MORE: i32 = 0;
const P_PAUSE: i32 = 1;
const P_CLOSE: i32 = 2;

@inline function be16(p: usize): u32 {
  return (<u32>load<u8>(p) << 8) | <u32>load<u8>(p + 1);
}

@inline function be32(p: usize): u32 {
  return bswap<u32>(load<u32>(p));
}

@inline function be64(p: usize): u64 {
  return bswap<u64>(load<u64>(p));
}

/** Appends one response packet: the header, then extras, key and value (each may be empty). */
function respond(out: Output, opcode: u8, status: u16, opaque: u32, cas: u64, extras: usize, extlen: i32, key: usize, keylen: i32, value: usize, vlen: i32): void {
  const body = extlen + keylen + vlen;
  out.reserve(HEADER + body);
  const h = out.base + <usize>out.len;
  store<u8>(h, MAGIC_RESPONSE);
  store<u8>(h + 1, opcode);
  store<u16>(h + 2, bswap<u16>(<u16>keylen));
  store<u8>(h + 4, <u8>extlen);
  store<u8>(h + 5, 0); // raw bytes
  store<u16>(h + 6, bswap<u16>(status));
  store<u32>(h + 8, bswap<u32>(<u32>body));
  store<u32>(h + 12, opaque); // as the client sent it
  store<u64>(h + 16, bswap<u64>(cas));
  out.len += HEADER;
  if (extlen > 0) out.bytes(extras, extlen);
  if (keylen > 0) out.bytes(key, keylen);
  if (vlen > 0) out.bytes(value, vlen);
}

/** An error response: the status and its text. Sent for quiet commands too, as memcached does. */
function fail(c: Conn, status: u16): void {
  const text = String.UTF8.encode(statusText(status));
  respond(c.out, c.binOpcode, status, c.binOpaque, 0, 0, 0, 0, 0, changetype<usize>(text), text.byteLength);
  if (server().verbose > 1) logLine(">" + c.fd.toString() + " binary 0x" + c.binOpcode.toString(16) + " status 0x" + status.toString(16));
}

/** A success without a body (quiet commands say nothing). */
function ok(c: Conn, cas: u64, quiet: bool): void {
  if (!quiet) respond(c.out, c.binOpcode, ST_OK, c.binOpaque, cas, 0, 0, 0, 0, 0, 0);
}

const extrasBuf = new ArrayBuffer(20);

/** Parses and answers what can be answered with the input at hand (the text protocol's processInput). */
export function binaryInput(c: Conn): i32 {
  for (;;) {
    if (c.out.len >= OUT_SOFT) return P_PAUSE;
    let r: i32;
    if (c.state == S_NREAD) r = nreadStep(c);
    else if (c.state == S_SWALLOW) r = swallowStep(c);
    else r = requestStep(c);
    if (r != CONTINUE) return r;
  }
  return P_MORE;
}

function isStorage(op: u8): bool {
  return op == OP_SET || op == OP_ADD || op == OP_REPLACE || op == OP_SETQ || op == OP_ADDQ || op == OP_REPLACEQ ||
    op == OP_APPEND || op == OP_PREPEND || op == OP_APPENDQ || op == OP_PREPENDQ;
}

function requestStep(c: Conn): i32 {
  const avail = c.rend - c.rstart;
  if (avail == 0) return P_MORE;
  const h = c.base + <usize>c.rstart;
  // A connection that started binary stays binary: anything but the request magic is a protocol error.
  if (load<u8>(h) != MAGIC_REQUEST) return P_CLOSE;
  if (avail < HEADER) return P_MORE;
  const op = load<u8>(h + 1);
  const keylen = <i32>be16(h + 2);
  const extlen = <i32>load<u8>(h + 4);
  const datatype = load<u8>(h + 5);
  const bodylen = be32(h + 8);
  c.binOpcode = op;
  c.binOpaque = load<u32>(h + 12);
  const cas = be64(h + 16);
  if (<u64>bodylen < <u64>(keylen + extlen) || bodylen > 0x7ffffff0) return P_CLOSE; // lengths that cannot be parsed
  if (server().verbose > 1) logLine("<" + c.fd.toString() + " binary 0x" + (<u32>op).toString(16) + " key " + keylen.toString() + " body " + bodylen.toString());
  if (isStorage(op)) return storageRequest(c, h, op, keylen, extlen, <i32>bodylen, cas, datatype);
  // Every other command waits for its whole body (small by the protocol: a key and a few extras).
  if (<i64>HEADER + <i64>bodylen > <i64>c.rbuf.byteLength) return P_CLOSE;
  if (avail < HEADER + <i32>bodylen) return P_MORE;
  c.rstart += HEADER + <i32>bodylen;
  const extras = h + <usize>HEADER;
  const key = extras + <usize>extlen;
  const vlen = <i32>bodylen - extlen - keylen;
  if (datatype != 0) {
    fail(c, ST_EINVAL);
    return CONTINUE;
  }
  return command(c, op, extras, extlen, key, keylen, vlen, cas);
}

/** SET/ADD/REPLACE/APPEND/PREPEND: the extras and key now, the value into a fresh item as it arrives. */
function storageRequest(c: Conn, h: usize, op: u8, keylen: i32, extlen: i32, bodylen: i32, cas: u64, datatype: u8): i32 {
  const avail = c.rend - c.rstart;
  const vlen = bodylen - extlen - keylen;
  const append = op == OP_APPEND || op == OP_PREPEND || op == OP_APPENDQ || op == OP_PREPENDQ;
  if (extlen != (append ? 0 : 8) || keylen == 0 || keylen > KEY_MAX || datatype != 0) {
    c.rstart += HEADER;
    c.beginSwallow(<i64>bodylen);
    fail(c, ST_EINVAL);
    return CONTINUE;
  }
  if (avail < HEADER + extlen + keylen) return P_MORE;
  const key = h + <usize>(HEADER + extlen);
  const s = server();
  const db = s.store;
  const flags = append ? 0 : be32(h + <usize>HEADER);
  const exptime = append ? 0 : <i64>(<i32>be32(h + <usize>HEADER + 4));
  let cmd = NR_SET;
  if (op == OP_ADD || op == OP_ADDQ) cmd = NR_ADD;
  else if (op == OP_REPLACE || op == OP_REPLACEQ) cmd = NR_REPLACE;
  else if (op == OP_APPEND || op == OP_APPENDQ) cmd = NR_APPEND;
  else if (op == OP_PREPEND || op == OP_PREPENDQ) cmd = NR_PREPEND;
  else if (cas != 0) cmd = NR_CAS; // a SET with a CAS is memcached's cas
  // The key is kept: the input buffer moves on before the value is complete.
  memory.copy(changetype<usize>(c.binKey), key, <usize>keylen);
  c.binKeyLen = keylen;
  c.binQuiet = op == OP_SETQ || op == OP_ADDQ || op == OP_REPLACEQ || op == OP_APPENDQ || op == OP_PREPENDQ;
  c.rstart += HEADER + extlen + keylen;
  const it = db.alloc(key, keylen, flags, db.realtime(exptime), vlen);
  if (it == 0) {
    fail(c, db.allocError == ALLOC_TOO_LARGE ? ST_E2BIG : ST_ENOMEM);
    // A set that cannot be stored must not leave the old value behind (as the text protocol).
    if (cmd == NR_SET) {
      const old = db.find(changetype<usize>(c.binKey), keylen, false);
      if (old != 0) db.unlink(old);
    }
    c.beginSwallow(<i64>vlen);
    return CONTINUE;
  }
  c.beginValue(it, vlen, cmd, cas);
  return CONTINUE;
}

/** Copies the value into the item; once whole, stores it by the command's rules and answers. */
function nreadStep(c: Conn): i32 {
  if (!c.fillValue()) return P_MORE;
  const it = c.item;
  c.item = 0;
  c.state = S_CMD;
  const cmd = c.nreadCmd;
  const r = storeItem(it, cmd, c.casIn);
  if (r == "STORED") {
    const db = server().store;
    const now = db.find(changetype<usize>(c.binKey), c.binKeyLen, false);
    ok(c, now != 0 ? load<u64>(now + IT_CAS) : 0, c.binQuiet);
  } else if (r == "NOT_STORED") {
    // memcached's binary statuses: an add finds the key, a replace does not; append/prepend: not stored.
    fail(c, cmd == NR_ADD ? ST_KEY_EEXISTS : cmd == NR_REPLACE ? ST_KEY_ENOENT : ST_NOT_STORED);
  } else if (r == "EXISTS") fail(c, ST_KEY_EEXISTS);
  else if (r == "NOT_FOUND") fail(c, ST_KEY_ENOENT);
  else if (r.includes("too large")) fail(c, ST_E2BIG);
  else fail(c, ST_ENOMEM);
  return CONTINUE;
}

function swallowStep(c: Conn): i32 {
  return c.swallowInput() ? CONTINUE : P_MORE;
}

/** Every command but storage, with its whole body at hand. */
function command(c: Conn, op: u8, extras: usize, extlen: i32, key: usize, keylen: i32, vlen: i32, cas: u64): i32 {
  const s = server();
  const db = s.store;
  const st = db.stats;
  switch (op) {
    case OP_GET: case OP_GETQ: case OP_GETK: case OP_GETKQ:
    case OP_GAT: case OP_GATQ: case OP_GATK: case OP_GATKQ: {
      const touch = op == OP_GAT || op == OP_GATQ || op == OP_GATK || op == OP_GATKQ;
      if (extlen != (touch ? 4 : 0) || keylen == 0 || keylen > KEY_MAX || vlen != 0) {
        fail(c, ST_EINVAL);
        return CONTINUE;
      }
      const quiet = op == OP_GETQ || op == OP_GETKQ || op == OP_GATQ || op == OP_GATKQ;
      const withKey = op == OP_GETK || op == OP_GETKQ || op == OP_GATK || op == OP_GATKQ;
      const it = db.find(key, keylen);
      st.cmdGet++;
      if (touch) st.cmdTouch++;
      if (it == 0) {
        if (touch) st.touchMisses++;
        else st.getMisses++;
        if (db.missReason == MISS_EXPIRED) st.getExpired++;
        else if (db.missReason == MISS_FLUSHED) st.getFlushed++;
        if (quiet) return CONTINUE;
        if (withKey) respond(c.out, op, ST_KEY_ENOENT, c.binOpaque, 0, 0, 0, key, keylen, 0, 0);
        else fail(c, ST_KEY_ENOENT);
        return CONTINUE;
      }
      if (touch) {
        st.touchHits++;
        store<u32>(it + IT_EXP, db.realtime(<i64>(<i32>be32(extras))));
      } else st.getHits++;
      db.markFetched(it);
      const flags = changetype<usize>(extrasBuf);
      store<u32>(flags, bswap<u32>(load<u32>(it + IT_FLAGS)));
      const itemCas = s.config.casDisabled ? 0 : load<u64>(it + IT_CAS);
      respond(c.out, op, ST_OK, c.binOpaque, itemCas, flags, 4, withKey ? itemKey(it) : 0, withKey ? itemNKey(it) : 0, itemData(it), itemNBytes(it));
      return CONTINUE;
    }
    case OP_DELETE: case OP_DELETEQ: {
      if (extlen != 0 || keylen == 0 || keylen > KEY_MAX || vlen != 0) {
        fail(c, ST_EINVAL);
        return CONTINUE;
      }
      const it = db.find(key, keylen, false);
      if (it == 0) {
        st.deleteMisses++;
        fail(c, ST_KEY_ENOENT);
      } else if (cas != 0 && load<u64>(it + IT_CAS) != cas) {
        fail(c, ST_KEY_EEXISTS);
      } else {
        st.deleteHits++;
        db.unlink(it);
        ok(c, 0, op == OP_DELETEQ);
      }
      return CONTINUE;
    }
    case OP_INCREMENT: case OP_INCREMENTQ: case OP_DECREMENT: case OP_DECREMENTQ: {
      if (extlen != 20 || keylen == 0 || keylen > KEY_MAX || vlen != 0) {
        fail(c, ST_EINVAL);
        return CONTINUE;
      }
      const incr = op == OP_INCREMENT || op == OP_INCREMENTQ;
      const quiet = op == OP_INCREMENTQ || op == OP_DECREMENTQ;
      const delta = be64(extras);
      const initial = be64(extras + 8);
      const exptime = be32(extras + 16);
      const r = applyDelta(key, keylen, incr, delta, cas);
      let value: u64 = 0;
      let itemCas: u64 = 0;
      if (r == DELTA_OK) {
        value = deltaValue;
        itemCas = deltaItem != 0 ? load<u64>(deltaItem + IT_CAS) : 0;
      } else if (r == DELTA_MISS) {
        // memcached: an expiry of all ones means "do not create"; otherwise the initial value is stored.
        if (exptime == 0xffffffff) {
          fail(c, ST_KEY_ENOENT);
          return CONTINUE;
        }
        const digits = changetype<usize>(extrasBuf);
        const n = writeU64(digits, initial);
        const it = db.alloc(key, keylen, 0, db.realtime(<i64>(<i32>exptime)), n);
        if (it == 0) {
          fail(c, ST_ENOMEM);
          return CONTINUE;
        }
        memory.copy(itemData(it), digits, <usize>n);
        db.link(it);
        value = initial;
        itemCas = load<u64>(it + IT_CAS);
      } else {
        fail(c, r == DELTA_NON_NUMERIC ? ST_DELTA_BADVAL : r == DELTA_EXISTS ? ST_KEY_EEXISTS : ST_ENOMEM);
        return CONTINUE;
      }
      if (!quiet) {
        const v = changetype<usize>(extrasBuf);
        store<u64>(v, bswap<u64>(value));
        respond(c.out, op, ST_OK, c.binOpaque, itemCas, 0, 0, 0, 0, v, 8);
      }
      return CONTINUE;
    }
    case OP_QUIT: case OP_QUITQ:
      ok(c, 0, op == OP_QUITQ);
      return P_CLOSE;
    case OP_FLUSH: case OP_FLUSHQ: {
      if ((extlen != 0 && extlen != 4) || keylen != 0 || vlen != 0) {
        fail(c, ST_EINVAL);
        return CONTINUE;
      }
      if (s.config.flushDisabled) {
        fail(c, ST_EINVAL);
        return CONTINUE;
      }
      st.cmdFlush++;
      db.flush(extlen == 4 ? <i64>(<i32>be32(extras)) : 0);
      ok(c, 0, op == OP_FLUSHQ);
      return CONTINUE;
    }
    case OP_NOOP:
      ok(c, 0, false);
      return CONTINUE;
    case OP_VERSION: {
      const v = String.UTF8.encode(VERSION);
      respond(c.out, op, ST_OK, c.binOpaque, 0, 0, 0, 0, 0, changetype<usize>(v), v.byteLength);
      return CONTINUE;
    }
    case OP_VERBOSITY: {
      if (extlen != 4 || keylen != 0 || vlen != 0) {
        fail(c, ST_EINVAL);
        return CONTINUE;
      }
      const level = be32(extras);
      s.verbose = level > 3 ? 3 : <i32>level;
      ok(c, 0, false);
      return CONTINUE;
    }
    case OP_TOUCH: {
      if (extlen != 4 || keylen == 0 || keylen > KEY_MAX || vlen != 0) {
        fail(c, ST_EINVAL);
        return CONTINUE;
      }
      st.cmdTouch++;
      const it = db.find(key, keylen);
      if (it == 0) {
        st.touchMisses++;
        fail(c, ST_KEY_ENOENT);
        return CONTINUE;
      }
      st.touchHits++;
      store<u32>(it + IT_EXP, db.realtime(<i64>(<i32>be32(extras))));
      ok(c, load<u64>(it + IT_CAS), false);
      return CONTINUE;
    }
    case OP_STAT:
      statCommand(c, key, keylen);
      return CONTINUE;
    default:
      fail(c, ST_UNKNOWN_COMMAND);
      return CONTINUE;
  }
}

const statText = new Output();

/** STAT [group]: each "STAT name value" line as a packet (key: the name, value: the value), then an empty one. */
function statCommand(c: Conn, key: usize, keylen: i32): void {
  const group = String.UTF8.decodeUnsafe(key, <usize>keylen);
  statText.reset();
  const r = renderStats(group, statText);
  if (r == STATS_UNKNOWN) {
    fail(c, ST_KEY_ENOENT);
    return;
  }
  const base = statText.base;
  const end = statText.len;
  let p = 0;
  while (p < end) {
    let nl = p;
    while (nl < end && load<u8>(base + <usize>nl) != 0x0a) nl++;
    let e = nl > p && load<u8>(base + <usize>(nl - 1)) == 0x0d ? nl - 1 : nl;
    // "STAT " name " " value
    const nameStart = p + 5;
    let sp = nameStart;
    while (sp < e && load<u8>(base + <usize>sp) != 0x20) sp++;
    const valueStart = sp < e ? sp + 1 : e;
    respond(c.out, OP_STAT, ST_OK, c.binOpaque, 0, 0, 0, base + <usize>nameStart, sp - nameStart, base + <usize>valueStart, e - valueStart);
    p = nl + 1;
  }
  respond(c.out, OP_STAT, ST_OK, c.binOpaque, 0, 0, 0, 0, 0, 0, 0);
}
