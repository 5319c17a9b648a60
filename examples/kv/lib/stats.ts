// The stats command: general counters, settings, items and slabs, as memcached names them.
import { Conn } from "./conn";
import { Tokens } from "./tokens";
import { server } from "./context";
import { VERSION } from "./config";
import { Output } from "./output";
import { reply } from "./text";
import { Counters } from "./store";
import * as flexsc from "../../../guest/flexsc";

function stat(out: Output, name: string, v: u64): void {
  out.str("STAT ");
  out.str(name);
  out.byte(0x20);
  out.u64(v);
  out.crlf();
}

function statS(out: Output, name: string, v: string): void {
  out.str("STAT ");
  out.str(name);
  out.byte(0x20);
  out.str(v);
  out.crlf();
}

/** rusage_user/system: the guest cannot see its CPU time; it reports the process's clock instead. */
const cpuTime = new ArrayBuffer(16);

function cpu(): string {
  const r = flexsc.syscallSync(flexsc.SYS_clock_gettime, 2 /* CLOCK_PROCESS_CPUTIME_ID */, <i32>changetype<usize>(cpuTime));
  if (r < 0) return "0.000000";
  const sec = load<i64>(changetype<usize>(cpuTime));
  const us = load<i64>(changetype<usize>(cpuTime) + 8) / 1000;
  let frac = us.toString();
  while (frac.length < 6) frac = "0" + frac;
  return sec.toString() + "." + frac;
}

export function writeStats(c: Conn, t: Tokens): void {
  const group = t.count == 1 ? "" : t.count == 2 ? String.UTF8.decodeUnsafe(t.ptr(1), <usize>t.len(1)) : "?";
  const r = renderStats(group, c.out);
  if (r == STATS_RESET) reply(c, "RESET");
  else if (r == STATS_UNKNOWN) reply(c, "ERROR");
  else c.out.line("END");
}

/** renderStats' answers: lines written; the counters were reset (nothing written); no such group. */
export const STATS_LINES: i32 = 0;
export const STATS_RESET: i32 = 1;
export const STATS_UNKNOWN: i32 = 2;

/**
 * The "STAT name value" lines of a stats group ("" for the general counters, "settings", "items",
 * "slabs", "sizes", "conns"), or "reset": shared by the text protocol and the binary one (which
 * sends each line as a packet).
 */
export function renderStats(group: string, out: Output): i32 {
  const s = server();
  if (group == "") general(out);
  else if (group == "reset") {
    resetCounters(s.store.stats);
    s.totalConns = 0;
    s.rejectedConns = 0;
    s.bytesRead = 0;
    s.bytesWritten = 0;
    return STATS_RESET;
  } else if (group == "settings") settings(out);
  else if (group == "items") items(out);
  else if (group == "slabs") slabs(out);
  // Not tracked (memcached's -o track_sizes is off by default too).
  else if (group == "sizes") statS(out, "sizes_status", "disabled");
  else if (group == "conns") {
    // Nothing per connection is kept for this report.
  } else return STATS_UNKNOWN;
  return STATS_LINES;
}

function resetCounters(st: Counters): void {
  st.cmdGet = 0; st.cmdSet = 0; st.cmdFlush = 0; st.cmdTouch = 0; st.cmdMeta = 0;
  st.getHits = 0; st.getMisses = 0; st.getExpired = 0; st.getFlushed = 0;
  st.deleteHits = 0; st.deleteMisses = 0; st.incrHits = 0; st.incrMisses = 0;
  st.decrHits = 0; st.decrMisses = 0; st.casHits = 0; st.casMisses = 0; st.casBadval = 0;
  st.touchHits = 0; st.touchMisses = 0; st.totalItems = 0; st.evictions = 0; st.reclaimed = 0;
  st.expiredUnfetched = 0; st.evictedUnfetched = 0; st.crawlerReclaimed = 0; st.crawlerChecked = 0;
  st.outOfMemory = 0;
}

function general(out: Output): void {
  const s = server();
  const db = s.store;
  const st = db.stats;
  stat(out, "pid", <u64>s.pid);
  stat(out, "uptime", <u64>(db.now - db.started));
  stat(out, "time", <u64>db.now);
  statS(out, "version", VERSION);
  statS(out, "libevent", "flexvm");
  stat(out, "pointer_size", 32);
  const t = cpu();
  statS(out, "rusage_user", t);
  statS(out, "rusage_system", "0.000000");
  stat(out, "max_connections", <u64>s.config.maxConns);
  stat(out, "curr_connections", <u64>s.currConns);
  stat(out, "total_connections", s.totalConns);
  stat(out, "rejected_connections", s.rejectedConns);
  stat(out, "connection_structures", <u64>s.connStructures);
  stat(out, "cmd_get", st.cmdGet);
  stat(out, "cmd_set", st.cmdSet);
  stat(out, "cmd_flush", st.cmdFlush);
  stat(out, "cmd_touch", st.cmdTouch);
  stat(out, "cmd_meta", st.cmdMeta);
  stat(out, "get_hits", st.getHits);
  stat(out, "get_misses", st.getMisses);
  stat(out, "get_expired", st.getExpired);
  stat(out, "get_flushed", st.getFlushed);
  stat(out, "delete_misses", st.deleteMisses);
  stat(out, "delete_hits", st.deleteHits);
  stat(out, "incr_misses", st.incrMisses);
  stat(out, "incr_hits", st.incrHits);
  stat(out, "decr_misses", st.decrMisses);
  stat(out, "decr_hits", st.decrHits);
  stat(out, "cas_misses", st.casMisses);
  stat(out, "cas_hits", st.casHits);
  stat(out, "cas_badval", st.casBadval);
  stat(out, "touch_hits", st.touchHits);
  stat(out, "touch_misses", st.touchMisses);
  stat(out, "auth_cmds", 0);
  stat(out, "auth_errors", 0);
  stat(out, "bytes_read", s.bytesRead);
  stat(out, "bytes_written", s.bytesWritten);
  stat(out, "limit_maxbytes", <u64>db.limitBytes);
  stat(out, "accepting_conns", 1);
  stat(out, "threads", <u64>flexsc.threadCount());
  stat(out, "hash_power_level", <u64>db.table.power);
  stat(out, "hash_bytes", <u64>db.table.bytes);
  stat(out, "hash_is_expanding", db.table.expanding ? 1 : 0);
  stat(out, "slabs_moved", db.slabs.pagesMoved);
  stat(out, "expired_unfetched", st.expiredUnfetched);
  stat(out, "evicted_unfetched", st.evictedUnfetched);
  stat(out, "crawler_reclaimed", st.crawlerReclaimed);
  stat(out, "crawler_items_checked", st.crawlerChecked);
  stat(out, "total_malloced", <u64>db.slabs.pagesUsed * <u64>db.slabs.pageSize);
  stat(out, "curr_items", <u64>db.curItems);
  stat(out, "total_items", st.totalItems);
  stat(out, "bytes", <u64>db.bytes);
  stat(out, "evictions", st.evictions);
  stat(out, "reclaimed", st.reclaimed);
}

function settings(out: Output): void {
  const s = server();
  const cfg = s.config;
  const db = s.store;
  stat(out, "maxbytes", <u64>db.limitBytes);
  stat(out, "maxconns", <u64>cfg.maxConns);
  stat(out, "tcpport", <u64>cfg.port);
  stat(out, "udpport", 0);
  statS(out, "inter", cfg.host);
  stat(out, "verbosity", <u64>s.verbose);
  stat(out, "oldest", 0);
  statS(out, "evictions", cfg.noEvict ? "off" : "on");
  statS(out, "domain_socket", "NULL");
  statS(out, "umask", "700");
  statS(out, "growth_factor", cfg.factor.toString());
  stat(out, "chunk_size", <u64>cfg.minChunk);
  stat(out, "num_threads", <u64>cfg.threads);
  statS(out, "stat_key_prefix", ":");
  statS(out, "detail_enabled", "no");
  stat(out, "reqs_per_event", <u64>cfg.reqsPerEvent);
  statS(out, "cas_enabled", cfg.casDisabled ? "no" : "yes");
  stat(out, "tcp_backlog", <u64>cfg.backlog);
  statS(out, "binding_protocol", "ascii");
  statS(out, "auth_enabled_sasl", "no");
  stat(out, "item_size_max", <u64>cfg.itemMax);
  statS(out, "maxconns_fast", "yes");
  statS(out, "hashpower_init", "16");
  statS(out, "slab_reassign", "yes");
  statS(out, "slab_automove", "0");
  stat(out, "slab_chunk_max", <u64>db.slabs.pageSize);
  statS(out, "hash_algorithm", "fnv1a");
  statS(out, "lru_crawler", "yes");
  statS(out, "lru_maintainer_thread", "no");
  statS(out, "flush_enabled", cfg.flushDisabled ? "no" : "yes");
  statS(out, "shutdown_enabled", cfg.shutdownEnabled ? "yes" : "no");
}

function items(out: Output): void {
  const db = server().store;
  const classes = db.slabs.classes;
  for (let i = 0; i < classes.length; i++) {
    const c = classes[i];
    if (c.items == 0 && c.evicted == 0 && c.pages.length == 0) continue;
    const p = "items:" + c.id.toString() + ":";
    stat(out, p + "number", <u64>c.items);
    stat(out, p + "age", c.lruTail != 0 ? <u64>(db.now - load<u32>(c.lruTail + 16)) : 0);
    stat(out, p + "evicted", c.evicted);
    stat(out, p + "evicted_nonzero", c.evictedNonzero);
    stat(out, p + "evicted_time", <u64>c.evictedTime);
    stat(out, p + "outofmemory", c.outOfMemory);
    stat(out, p + "reclaimed", c.reclaimed);
    stat(out, p + "expired_unfetched", c.expiredUnfetched);
    stat(out, p + "evicted_unfetched", c.evictedUnfetched);
  }
}

function slabs(out: Output): void {
  const db = server().store;
  const classes = db.slabs.classes;
  let active = 0;
  for (let i = 0; i < classes.length; i++) {
    const c = classes[i];
    if (c.pages.length == 0) continue;
    active++;
    const p = c.id.toString() + ":";
    const total = c.pages.length * c.perPage;
    stat(out, p + "chunk_size", <u64>c.chunkSize);
    stat(out, p + "chunks_per_page", <u64>c.perPage);
    stat(out, p + "total_pages", <u64>c.pages.length);
    stat(out, p + "total_chunks", <u64>total);
    stat(out, p + "used_chunks", <u64>(total - c.freeCount));
    stat(out, p + "free_chunks", <u64>c.freeCount);
    stat(out, p + "free_chunks_end", 0);
    stat(out, p + "mem_requested", <u64>c.bytes);
  }
  stat(out, "active_slabs", <u64>active);
  stat(out, "total_malloced", <u64>db.slabs.pagesUsed * <u64>db.slabs.pageSize);
}
