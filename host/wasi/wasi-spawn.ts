import { MODE_EPOLL } from '../abi/v1.js';
import type { Grant } from '../kernel/kernel.js';
import { parseGrant } from '../vm/grants.js';
import type { Listener, Preopen } from './preview1/index.js';
import type { WasiLayout } from './wasi-module.js';

/** What a guest thread needs to run an unmodified WASI program (travels in the spawn message). */
export interface WasiSpawn {
  readonly layout: WasiLayout;
  readonly preopens: readonly Preopen[];
  readonly listeners: readonly Listener[];
}

/** A WASI program that cannot be started as asked (the epoll mode). */
export class WasiSpawnError extends Error {}

/** Parses `--listen ADDR:PORT` (IPv4 address; the port may be 0 to let the kernel pick). */
export function parseListen(spec: string): Listener {
  const i = spec.lastIndexOf(':');
  const address = i < 0 ? '' : spec.slice(0, i);
  const port = Number(spec.slice(i + 1));
  if (i < 0 || !/^\d{1,3}(\.\d{1,3}){3}$/.test(address) || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`bad --listen ${JSON.stringify(spec)}: expected IPV4-ADDRESS:PORT, such as 127.0.0.1:8080`);
  }
  return { address, port };
}

/**
 * The WASI part of a spawn: the program's preopens are its grants (named as the program should see
 * them), its listeners the `listen` option's. WASI calls block the program's thread, which the epoll
 * mode (a guest that returns to its event loop to wait) cannot do.
 */
export function wasiSpawn(
  layout: WasiLayout,
  options: { readonly dirs?: readonly (string | Grant)[]; readonly listen?: readonly string[] },
  mode: number,
  label: string,
): WasiSpawn {
  if (mode === MODE_EPOLL) throw new WasiSpawnError(`${label} is a WASI program: run it in exceptionless or sync mode (its calls block, which the epoll mode cannot)`);
  const preopens = (options.dirs ?? []).map((d) => {
    const g = parseGrant(d);
    return { name: g.wasiName ?? g.guestPath, kernelPath: g.guestPath };
  });
  return { layout, preopens, listeners: (options.listen ?? []).map(parseListen) };
}
