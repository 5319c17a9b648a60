// Refusing connections past a server's capacity, as memcached's -c does. Every open connection
// holds calls that wait for its client (its read, its idle timer) in the syscall pages. libflexsc
// adds pages when they run out, up to a limit (its own and the host's --max-pages: the capacity
// below counts every page that may be added); past it, libflexsc holds new waiting calls back until others finish, and
// the server's re-posted accept would be held back too: new clients would time out with no word in
// the log. So a connection is admitted only while a limit (--max-conns, 0: none) and the entries
// allow it; otherwise it is closed at once and counted. The log says it once when refusing begins
// and once when a connection is admitted again (with the count): two lines per episode, however
// many clients knock meanwhile. The accept is re-posted either way.
//
// The entries are budgeted, not just looked at: an open connection keeps its share even while one
// of its waiting calls has completed and the next is not posted yet (a read answered, its response
// being written), or a connection admitted meanwhile would take that entry and the re-posted read,
// then the accept behind it, would be held back. Each syscall thread has its own entries and the
// connections spread over them by descriptor, so a margin per thread absorbs an uneven spread, and
// the entries free right now are checked too.
import * as flexsc from "../../guest/flexsc";
import { logLine } from "./args";

export class ConnectionLimit {
  /** Connections admitted and not yet closed. */
  open: i32 = 0;
  /** Connections refused (closed at once), in all. */
  refused: i64 = 0;
  /** Refused since refusing began (0: admitting). */
  private refusing: i64 = 0;

  constructor(
    /** The program's name, for the log line. */
    readonly program: string,
    /** The most connections open at once (0: as many as the syscall pages hold). */
    readonly max: i32,
    /** Calls that wait for the outside world a connection may hold at once. */
    readonly waitsPerConn: i32,
    /** Waiting calls the server holds besides its connections (its accepts, its clock). */
    readonly fixedWaits: i32,
  ) {}

  /**
   * Whether the syscall pages hold the waiting calls of one more connection beside `openNow`, and
   * keep the accept (servers that count their connections themselves, such as kv, ask this alone).
   */
  pagesHoldOneMore(openNow: i32 = this.open): bool {
    const capacity = flexsc.waitCapacity();
    if (capacity == i32.MAX_VALUE) return true; // sync and epoll modes: waiting calls take no entry
    const budget = capacity - this.fixedWaits - flexsc.threadCount() * this.waitsPerConn * 2;
    return (openNow + 1) * this.waitsPerConn <= budget && flexsc.waitRoom() >= this.waitsPerConn + 1;
  }

  /**
   * Whether the connection just accepted on `fd` may stay. If not, it is closed (no handler: the
   * close takes an entry kept for calls that finish), counted, and the first refusal logged.
   */
  admit(fd: i32): bool {
    const full = this.max > 0 && this.open >= this.max;
    if (!full && this.pagesHoldOneMore()) {
      this.open++;
      if (this.refusing > 0) {
        logLine(this.program + ": accepting connections again, " + this.open.toString() + " open (refused " +
          this.refusing.toString() + " meanwhile, " + this.refused.toString() + " in all)");
        this.refusing = 0;
      }
      return true;
    }
    flexsc.close(null, fd);
    this.refused++;
    if (this.refusing++ == 0) {
      const why = full
        ? "--max-conns " + this.max.toString() + " reached"
        : "its syscall pages hold no more waiting calls (flexvm's --max-pages)";
      logLine(this.program + ": refusing new connections, " + this.open.toString() + " open: " + why +
        " (each is closed at once and counted; said again when accepting again)");
    }
    return false;
  }

  /** A connection admitted earlier has closed. */
  closed(): void {
    this.open--;
  }
}
