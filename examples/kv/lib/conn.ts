// A client connection's state: its input buffer and where parsing stands, what a command waiting
// for its data block or a multiget in progress needs to resume, and its two reply buffers. The
// connection is also the request that carries its reads; `writer` carries its writes.
import * as flexsc from "../../../guest/flexsc";
import { Output } from "./output";
import { itemData } from "./item";

/** Input buffer: commands and data blocks arrive here (a data block larger than it streams through). */
export const RBUF: i32 = 16384;
/** A line longer than this without a newline closes the connection, unless it is a multiget. */
export const MAX_LINE: i32 = 2048;
/** Replies collected past this wait for the write in flight (a huge multiget is sent as it goes). */
export const OUT_SOFT: i32 = 65536;

// What the parser is doing.
export const S_CMD: i32 = 0; // reading a command line
export const S_NREAD: i32 = 1; // reading a data block into an item
export const S_SWALLOW: i32 = 2; // discarding a data block that will not be stored
export const S_GET: i32 = 3; // answering the keys of a retrieval line, one at a time
export const S_SKIPLINE: i32 = 4; // discarding the rest of a line after an error

// Commands that take a data block.
export const NR_SET: i32 = 1;
export const NR_ADD: i32 = 2;
export const NR_REPLACE: i32 = 3;
export const NR_APPEND: i32 = 4;
export const NR_PREPEND: i32 = 5;
export const NR_CAS: i32 = 6;

// Retrieval commands.
export const G_GET: i32 = 0;
export const G_GETS: i32 = 1;
export const G_GAT: i32 = 2;
export const G_GATS: i32 = 3;

export class Writer extends flexsc.Request {
  conn: Conn;
  sent: i32 = 0;
  constructor(conn: Conn, handler: (r: flexsc.Request) => void) {
    super(handler);
    this.conn = conn;
  }
}

/** What an ms command asked for, kept while its data block arrives. */
export class MetaSet {
  ret: string = ""; // return flags in request order (O k c b)
  opaque: string = "";
  quiet: bool = false;
  mode: u8 = 0x53; // S
  compareCas: u64 = 0;
  hasCompare: bool = false;
  explicitCas: u64 = 0;
  invalidate: bool = false;
  vivifyTtl: i64 = -1;
  base64: bool = false;
}

/** The protocol a connection speaks, known from its first byte (memcached decides the same way). */
export const PROTO_UNKNOWN: i32 = 0;
export const PROTO_TEXT: i32 = 1;
export const PROTO_BINARY: i32 = 2;

export class Conn extends flexsc.Request {
  fd: i32 = -1;
  proto: i32 = PROTO_UNKNOWN;
  // The binary request being answered: its opcode and opaque (echoed), and for a storage command
  // its key (kept while the value arrives) and whether it is quiet.
  binOpcode: u8 = 0;
  binOpaque: u32 = 0;
  binKey: ArrayBuffer = new ArrayBuffer(256);
  binKeyLen: i32 = 0;
  binQuiet: bool = false;
  rbuf: ArrayBuffer = new ArrayBuffer(RBUF);
  rstart: i32 = 0;
  rend: i32 = 0;
  state: i32 = S_CMD;
  noreply: bool = false;
  // S_NREAD: the item being filled, bytes of its value copied so far, the command.
  item: usize = 0;
  got: i32 = 0;
  need: i32 = 0;
  nreadCmd: i32 = 0;
  casIn: u64 = 0;
  meta: MetaSet | null = null;
  // S_SWALLOW
  swallow: i64 = 0;
  // S_GET
  getKind: i32 = 0;
  gatExp: u32 = 0;
  keysSeen: i32 = 0;
  // Replies: `out` collects, `wout` is being written.
  out: Output = new Output();
  wout: Output = new Output();
  writer!: Writer;
  /** Stop reading: close once the replies are written (quit, a fatal error, the client left). */
  closing: bool = false;
  /** The client is gone: drop replies not yet written. */
  dead: bool = false;
  closed: bool = false;

  constructor(handler: (r: flexsc.Request) => void, writeHandler: (r: flexsc.Request) => void) {
    super(handler);
    this.writer = new Writer(this, writeHandler);
  }

  @inline get base(): usize {
    return changetype<usize>(this.rbuf);
  }

  /** Starts filling the item `it` with a value of `need` bytes, for the storage command `cmd`. */
  beginValue(it: usize, need: i32, cmd: i32, casIn: u64): void {
    this.item = it;
    this.got = 0;
    this.need = need;
    this.nreadCmd = cmd;
    this.casIn = casIn;
    this.meta = null;
    this.state = S_NREAD;
  }

  /** Copies what has arrived of the value into the item; true once it is whole. */
  fillValue(): bool {
    const want = this.need - this.got;
    const avail = this.rend - this.rstart;
    const n = avail < want ? avail : want;
    if (n > 0) {
      memory.copy(itemData(this.item) + <usize>this.got, this.base + <usize>this.rstart, <usize>n);
      this.got += n;
      this.rstart += n;
    }
    return this.got >= this.need;
  }

  /** Starts discarding `n` bytes of input as they arrive (a value that will not be stored). */
  beginSwallow(n: i64): void {
    this.swallow = n;
    this.state = S_SWALLOW;
  }

  /** Discards what has arrived of them; true once all are gone (the connection reads commands again). */
  swallowInput(): bool {
    const avail = <i64>(this.rend - this.rstart);
    const n = avail < this.swallow ? avail : this.swallow;
    this.rstart += <i32>n;
    this.swallow -= n;
    if (this.swallow > 0) return false;
    this.state = S_CMD;
    return true;
  }

  /** Moves unparsed input to the front of the buffer (only while no read is in flight). */
  compact(): void {
    if (this.rstart == 0) return;
    const n = this.rend - this.rstart;
    if (n > 0) memory.copy(this.base, this.base + <usize>this.rstart, <usize>n);
    this.rstart = 0;
    this.rend = n;
  }
}
