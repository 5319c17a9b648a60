import { EINVAL } from '../../abi/v1.js';
import { SysError } from '../errors.js';

/**
 * Which addresses a guest may connect() to: outgoing network access is granted, as wasmtime requires,
 * never assumed. A rule is `ADDR[/PREFIX][:PORT]` (IPv4: the only family the ABI carries): an address,
 * a network of PREFIX leading bits (32 by default), and one port or any. The default is loopback
 * only (127.0.0.0/8 and 0.0.0.0, this host; any port); rules given replace it, and `none` allows nothing. Past the rules,
 * connect() answers EACCES, on every kernel.
 */
export interface ConnectRule {
  readonly net: number;
  readonly prefix: number;
  /** null: any port. */
  readonly port: number | null;
}

const RULE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?(?::(\d{1,5}))?$/;

function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** Parses one rule; throws a SysError(EINVAL) naming what is wrong. */
export function parseConnectRule(spec: string): ConnectRule {
  const m = RULE.exec(spec.trim());
  if (!m) throw new SysError(EINVAL, `--allow-connect ${spec}: expected ADDR[/PREFIX][:PORT], e.g. 10.0.0.0/8:5432`);
  const octets = m.slice(1, 5).map(Number);
  const prefix = m[5] === undefined ? 32 : Number(m[5]);
  const port = m[6] === undefined ? null : Number(m[6]);
  if (octets.some((o) => o > 255)) throw new SysError(EINVAL, `--allow-connect ${spec}: not an IPv4 address`);
  if (prefix > 32) throw new SysError(EINVAL, `--allow-connect ${spec}: the prefix is 0 to 32`);
  if (port !== null && (port < 1 || port > 65535)) throw new SysError(EINVAL, `--allow-connect ${spec}: the port is 1 to 65535`);
  const addr = ((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!) >>> 0;
  return { net: (addr & maskOf(prefix)) >>> 0, prefix, port };
}

export class ConnectPolicy {
  /** The default: loopback only. */
  static readonly LOOPBACK = new ConnectPolicy([
    { net: 0x7f000000, prefix: 8, port: null },
    { net: 0, prefix: 32, port: null }, // 0.0.0.0: this host, as Linux connects it
  ]);

  constructor(readonly rules: readonly ConnectRule[]) {}

  /** The policy of a kernel's `allowConnect` option: the default when absent, nothing for ['none']. */
  static from(specs: readonly string[] | undefined): ConnectPolicy {
    if (specs === undefined || specs.length === 0) return ConnectPolicy.LOOPBACK;
    if (specs.length === 1 && specs[0] === 'none') return new ConnectPolicy([]);
    return new ConnectPolicy(specs.map(parseConnectRule));
  }

  /** from(), for a kernel: a rule it cannot parse is logged and allows nothing (fail closed). */
  static forKernel(specs: readonly string[] | undefined, log: (message: string) => void): ConnectPolicy {
    try {
      return ConnectPolicy.from(specs);
    } catch (e) {
      log(`allowConnect: ${(e as Error).message}; no outgoing connection is allowed`);
      return new ConnectPolicy([]);
    }
  }

  /** Whether a connection to `addr` (host order) and `port` is granted. */
  allows(addr: number, port: number): boolean {
    for (const r of this.rules) {
      if (((addr & maskOf(r.prefix)) >>> 0) === r.net && (r.port === null || r.port === port)) return true;
    }
    return false;
  }
}
