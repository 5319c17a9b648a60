import { posix as posixPath, resolve as resolvePath } from 'node:path';
import type { Grant } from '../kernel/kernel.js';

/**
 * Parses `HOST[:GUEST][:ro|:rw]` (GUEST defaults to HOST's absolute path; a grant is read-write
 * unless it ends in `:ro`), and wasmtime's and wasmer's `HOST::GUEST`, where GUEST may be relative
 * (".", "data"): the name a WASI program's preopen shows; the kernel sees it under "/" ("." is the root).
 */
export function parseGrant(spec: string | Grant): Grant {
  if (typeof spec !== 'string') return spec;
  let rest = spec;
  let readOnly = false;
  if (rest.endsWith(':ro') || rest.endsWith(':rw')) {
    readOnly = rest.endsWith(':ro');
    rest = rest.slice(0, -3);
  }
  const wasi = rest.indexOf('::');
  if (wasi >= 0) {
    const host = rest.slice(0, wasi);
    const name = rest.slice(wasi + 2);
    if (!host || !name) throw new Error(`bad --dir ${JSON.stringify(spec)}: expected HOST::GUEST`);
    const guest = name.startsWith('/') ? name : posixPath.join('/', name);
    return { hostPath: resolvePath(host), guestPath: guest, wasiName: name, ...(readOnly ? { readOnly } : {}) };
  }
  const i = rest.indexOf(':');
  const host = i < 0 ? rest : rest.slice(0, i);
  const guest = i < 0 ? resolvePath(host) : rest.slice(i + 1);
  if (!host) throw new Error(`bad --dir ${JSON.stringify(spec)}: expected HOST[:GUEST][:ro]`);
  if (!guest.startsWith('/')) throw new Error(`bad --dir ${JSON.stringify(spec)}: the guest path must be absolute`);
  return { hostPath: resolvePath(host), guestPath: guest, ...(readOnly ? { readOnly } : {}) };
}
