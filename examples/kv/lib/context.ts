// What every part of the server shares: the configuration, the store, and the server-wide counters
// that are not the store's (connections, bytes moved). Set once at start-up by server.ts.
import { Config } from "./config";
import { Store } from "./store";

export class Server {
  config: Config;
  store: Store;
  pid: i32 = 0;
  currConns: i32 = 0;
  totalConns: u64 = 0;
  rejectedConns: u64 = 0;
  connStructures: i32 = 0;
  bytesRead: u64 = 0;
  bytesWritten: u64 = 0;
  /** 0 none, 1 errors, 2 commands and replies, 3 connections too (-v, -vv, -vvv). */
  verbose: i32 = 0;
  /** Set by the shutdown command (-A). */
  shuttingDown: bool = false;
  onShutdown: (() => void) | null = null;

  constructor(config: Config, store: Store) {
    this.config = config;
    this.store = store;
    this.verbose = config.verbose;
  }
}

let current: Server | null = null;

export function setServer(s: Server): void {
  current = s;
}

export function server(): Server {
  return changetype<Server>(current);
}
