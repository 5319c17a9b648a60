// Command-line options for example guests (`--name value` pairs after argv[0]) and their messages.
// A malformed number is a usage error (exit status 2), never a silent default; done() refuses the
// options nobody asked for, so a typo (`--prot 80`) does not start a server on the default port.
import { errnoName } from "../../guest/flexsc";

export class Args {
  private readonly argv: string[];
  /** Options read with str/int (they take a value) and flags read with has. */
  private readonly valued: string[] = [];
  private readonly flags: string[] = [];

  /** `program` prefixes usage errors (`httpd: --port ...`). */
  constructor(private readonly program: string = "") {
    this.argv = process.argv;
  }

  /** The value after `--name`, or `fallback`. A `--name` without a value is a usage error. */
  str(name: string, fallback: string): string {
    this.valued.push(name);
    const flag = "--" + name;
    for (let i = 1; i < this.argv.length; i++) {
      if (this.argv[i] != flag) continue;
      if (i + 1 >= this.argv.length) this.usage(flag + " needs a value");
      return this.argv[i + 1];
    }
    return fallback;
  }

  /** A decimal integer from `min` to `max`; anything else given is a usage error. */
  int(name: string, fallback: i32, min: i32 = i32.MIN_VALUE, max: i32 = i32.MAX_VALUE): i32 {
    const v = this.str(name, "");
    if (v.length == 0) return fallback;
    let ok = true;
    let n: i64 = 0;
    const neg = v.charCodeAt(0) == 0x2d;
    const from = neg ? 1 : 0;
    if (v.length == from || v.length - from > 10) ok = false;
    for (let i = from; ok && i < v.length; i++) {
      const c = v.charCodeAt(i);
      if (c < 0x30 || c > 0x39) ok = false;
      else n = n * 10 + (c - 0x30);
    }
    if (neg) n = -n;
    if (!ok || n < <i64>min || n > <i64>max) {
      this.usage("--" + name + " must be an integer from " + min.toString() + " to " + max.toString() + ", got \"" + v + "\"");
    }
    return <i32>n;
  }

  has(name: string): bool {
    this.flags.push(name);
    const flag = "--" + name;
    for (let i = 1; i < this.argv.length; i++) if (this.argv[i] == flag) return true;
    return false;
  }

  /** Call after reading every option: an unknown option or a stray word is a usage error. */
  done(): void {
    for (let i = 1; i < this.argv.length; i++) {
      const w = this.argv[i];
      if (!w.startsWith("--")) this.usage("unexpected argument \"" + w + "\"");
      const name = w.slice(2);
      if (this.valued.includes(name)) i++;
      else if (!this.flags.includes(name)) this.usage("unknown option " + w);
    }
  }

  private usage(message: string): void {
    logLine((this.program.length ? this.program + ": " : "") + message);
    process.exit(2);
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
