// memcached's command line, read by the guest: the options a script that starts memcached passes.
// What cannot apply to a guest is refused clearly (-d, UDP, UNIX sockets) or accepted with a note
// (-u: there is no user to switch to; -o: extended options are ignored with a warning).
import { logLine } from "../../lib/args";

export const VERSION = "1.6.21";

export class Config {
  port: i32 = 11211;
  udpPort: i32 = 0;
  host: string = "127.0.0.1";
  memoryMb: i64 = 64;
  maxConns: i32 = 1024;
  itemMax: i32 = 1024 * 1024;
  threads: i32 = 4;
  verbose: i32 = 0;
  /** -M: answer out-of-memory errors instead of evicting. */
  noEvict: bool = false;
  /** -C: no cas uniques (they are still kept; gets shows 0). */
  casDisabled: bool = false;
  factor: f64 = 1.25;
  minChunk: i32 = 48;
  backlog: i32 = 1024;
  reqsPerEvent: i32 = 20;
  /** -A: the shutdown command is allowed. */
  shutdownEnabled: bool = false;
  /** -F: flush_all is refused. */
  flushDisabled: bool = false;
  /** syscall pages to start with (flexvm; more are added as connections come, up to pageLimit). */
  pages: i32 = 0;
  /** The most syscall pages: enough for every connection's read to wait (the host's --max-pages may cap it). */
  pageLimit: i32 = 0;
  /** Set when the process should exit at once with this status (help, version, errors). */
  exitStatus: i32 = -1;
}

export const USAGE = `flexvm kv ${VERSION}: a memcached-compatible cache server (a flexvm guest)
-p, --port=<num>          TCP port to listen on (default: 11211)
-U, --udp-port=<num>      UDP port: 0 (off) is the only value (no UDP here)
-l, --listen=<addr>       interface to listen on (default: 127.0.0.1)
-d, --daemon              refused: run it under a supervisor instead
-u, --user=<user>         accepted and ignored (a guest has no user to become)
-m, --memory-limit=<num>  item memory in megabytes (default: 64)
-M, --disable-evictions   return errors on memory exhausted instead of evicting
-c, --conn-limit=<num>    max simultaneous connections (default: 1024)
-v, --verbose             errors and warnings; -vv also commands and replies; -vvv also connections
-h, --help                print this help and exit
-V, --version             print the version and exit
-f, --slab-growth-factor=<num>  chunk size growth factor (default: 1.25)
-n, --slab-min-size=<bytes>     min space for key, value and flags (default: 48)
-t, --threads=<num>       syscall threads serving the guest (default: 4 in memcached; flexvm kv
                          passes it to --syscall-threads; the guest's own loop is one thread)
-I, --max-item-size=<num> item size limit, with k/m suffix (default: 1m; min 1k, max 1/2 of -m)
-C, --disable-cas         no cas uniques
-b, --listen-backlog=<num> listen backlog (default: 1024)
-R, --max-reqs-per-event=<num>  accepted (no effect: requests are never starved here)
-A, --enable-shutdown     allow the shutdown command
-F, --disable-flush-all   refuse flush_all
-o, --extended=<opts>     accepted and ignored with a warning
--pages=<num>             flexvm: syscall pages to start with (64 calls each, default 64;
                          more are added as -c needs, up to flexvm's --max-pages)
`;

function sizeArg(v: string, unit: i64): i64 {
  if (v.length == 0) return -1;
  let mult: i64 = unit;
  let s = v;
  const last = v.charCodeAt(v.length - 1) | 0x20;
  if (last == 0x6b) { mult = 1024; s = v.slice(0, v.length - 1); }
  else if (last == 0x6d) { mult = 1024 * 1024; s = v.slice(0, v.length - 1); }
  else if (last == 0x67) { mult = 1024 * 1024 * 1024; s = v.slice(0, v.length - 1); }
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) < 0x30 || s.charCodeAt(i) > 0x39) return -1;
  if (s.length == 0 || s.length > 12) return -1;
  return I64.parseInt(s, 10) * mult;
}

function intArg(v: string): i64 {
  if (v.length == 0 || v.length > 10) return -1;
  for (let i = 0; i < v.length; i++) if (v.charCodeAt(i) < 0x30 || v.charCodeAt(i) > 0x39) return -1;
  return I64.parseInt(v, 10);
}

const LONG_NAMES = ["port", "udp-port", "listen", "daemon", "user", "memory-limit", "disable-evictions", "conn-limit",
  "verbose", "help", "version", "slab-growth-factor", "slab-min-size", "threads", "max-item-size", "disable-cas",
  "listen-backlog", "max-reqs-per-event", "enable-shutdown", "disable-flush-all", "extended", "pages", "unix-socket"];
const LONG_CHARS = "pUldumMcvhVfntICbRAFo*s";
/** Options that take a value. */
const WITH_VALUE = "pUlumcfntIbRo*s";

function fail(c: Config, msg: string): Config {
  logLine("flexvm-kv: " + msg);
  c.exitStatus = 64; // EX_USAGE, as memcached
  return c;
}

/** Reads memcached's options from the guest's arguments. */
export function parseConfig(argv: string[]): Config {
  const c = new Config();
  let pagesSet = false;
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i];
    let opts = "";
    let value: string | null = null;
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      const k = LONG_NAMES.indexOf(name);
      if (k < 0) return fail(c, "unrecognized option '" + a + "'");
      opts = LONG_CHARS.charAt(k);
      if (eq >= 0) value = a.slice(eq + 1);
    } else if (a.startsWith("-") && a.length > 1) {
      opts = a.slice(1);
    } else {
      return fail(c, "unexpected argument '" + a + "'");
    }
    for (let j = 0; j < opts.length; j++) {
      const ch = opts.charAt(j);
      let v = "";
      if (WITH_VALUE.includes(ch)) {
        if (value !== null) v = value;
        else if (j + 1 < opts.length) v = opts.slice(j + 1);
        else if (i + 1 < argv.length) v = argv[++i];
        else return fail(c, "option requires an argument -- '" + ch + "'");
        j = opts.length;
      }
      if (ch == "p") {
        const n = intArg(v);
        if (n < 0 || n > 65535) return fail(c, "invalid port '" + v + "'");
        c.port = <i32>n;
      } else if (ch == "U") {
        const n = intArg(v);
        if (n != 0) return fail(c, "UDP is not supported: -U " + v + " (use -U 0, the default)");
      } else if (ch == "l") {
        c.host = v;
      } else if (ch == "d") {
        return fail(c, "-d (daemonize) is not supported: run flexvm kv under a supervisor (systemd, a shell's &)");
      } else if (ch == "u") {
        // A guest runs as no user: nothing to drop.
      } else if (ch == "m") {
        const n = sizeArg(v, 1024 * 1024);
        if (n <= 0) return fail(c, "invalid memory limit '" + v + "'");
        c.memoryMb = n < 1024 * 1024 ? 1 : n / (1024 * 1024);
        if (c.memoryMb > 900) return fail(c, "-m " + v + ": at most 900 megabytes fit in a guest's linear memory");
      } else if (ch == "M") {
        c.noEvict = true;
      } else if (ch == "c") {
        const n = intArg(v);
        if (n <= 0) return fail(c, "invalid connection limit '" + v + "'");
        c.maxConns = <i32>n;
      } else if (ch == "v") {
        c.verbose++;
      } else if (ch == "h") {
        process.stdout.write(USAGE);
        c.exitStatus = 0;
        return c;
      } else if (ch == "V") {
        process.stdout.write("memcached " + VERSION + " (flexvm kv)\n");
        c.exitStatus = 0;
        return c;
      } else if (ch == "f") {
        const f = parseFloat(v);
        if (isNaN(f) || f <= 1.0) return fail(c, "factor must be greater than 1");
        c.factor = f;
      } else if (ch == "n") {
        const n = intArg(v);
        if (n <= 0) return fail(c, "chunk size must be greater than 0");
        c.minChunk = <i32>n;
      } else if (ch == "t") {
        const n = intArg(v);
        if (n <= 0) return fail(c, "number of threads must be greater than 0");
        c.threads = <i32>n;
      } else if (ch == "I") {
        const n = sizeArg(v, 1);
        if (n < 0) return fail(c, "invalid item size '" + v + "'");
        if (n < 1024) return fail(c, "item max size cannot be less than 1024 bytes");
        if (n > 1024 * 1024 * 1024) return fail(c, "cannot set item size limit higher than 1 gigabyte");
        c.itemMax = <i32>n;
      } else if (ch == "C") {
        c.casDisabled = true;
      } else if (ch == "b") {
        const n = intArg(v);
        if (n <= 0) return fail(c, "invalid backlog '" + v + "'");
        c.backlog = <i32>n;
      } else if (ch == "R") {
        const n = intArg(v);
        if (n <= 0) return fail(c, "number of requests per event must be greater than 0");
        c.reqsPerEvent = <i32>n;
      } else if (ch == "A") {
        c.shutdownEnabled = true;
      } else if (ch == "F") {
        c.flushDisabled = true;
      } else if (ch == "o") {
        logLine("flexvm-kv: warning: ignoring extended option -o " + v);
      } else if (ch == "*") {
        const n = intArg(v);
        if (n <= 0) return fail(c, "invalid --pages '" + v + "'");
        c.pages = <i32>n;
        pagesSet = true;
      } else if (ch == "s") {
        return fail(c, "UNIX domain sockets (-s) are not supported: use -p");
      } else {
        return fail(c, "invalid option -- '" + ch + "'");
      }
    }
  }
  if (<i64>c.itemMax > c.memoryMb * 1024 * 1024 / 2) {
    return fail(c, "cannot set item size limit higher than 1/2 of memory max");
  }
  // Every connection's read may wait: waiting calls use 7/8 of the 64 entries of a page. The pages
  // start small and are added as connections come (libflexsc), up to what -c needs.
  if (!pagesSet) c.pages = 64;
  c.pageLimit = max(c.pages, (c.maxConns + 16) / 48 + 2);
  return c;
}
