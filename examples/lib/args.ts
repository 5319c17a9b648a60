// Command-line options for example guests (`--name value` pairs after argv[0]) and their messages.
import { errnoName } from "../../guest/flexsc";

export class Args {
  private readonly argv: string[];
  constructor() {
    this.argv = process.argv;
  }

  /** The value after `--name`, or `fallback`. */
  str(name: string, fallback: string): string {
    const flag = "--" + name;
    for (let i = 1; i < this.argv.length - 1; i++) if (this.argv[i] == flag) return this.argv[i + 1];
    return fallback;
  }

  int(name: string, fallback: i32): i32 {
    const v = this.str(name, "");
    if (v.length == 0) return fallback;
    const n = parseInt(v, 10);
    return isNaN(n) ? fallback : <i32>n;
  }

  has(name: string): bool {
    const flag = "--" + name;
    for (let i = 1; i < this.argv.length; i++) if (this.argv[i] == flag) return true;
    return false;
  }
}

/** Writes a line to standard error (the examples' diagnostics). */
export function logLine(s: string): void {
  process.stderr.write(s + "\n");
}

/** Reports a failed set-up call (`PROGRAM: WHAT failed: EADDRINUSE (-98)`) and exits with status 1. */
export function failed(program: string, what: string, r: i64): void {
  logLine(program + ": " + what + " failed: " + errnoName(r) + " (" + r.toString() + ")");
  process.exit(1);
}
