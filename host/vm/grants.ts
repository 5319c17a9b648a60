import { resolve as resolvePath } from 'node:path';
import type { Grant } from '../kernel/kernel.js';

/**
 * Parses `HOST[:GUEST][:ro|:rw]` (GUEST defaults to HOST's absolute path; a grant is read-write
 * unless it ends in `:ro`).
 */
export function parseGrant(spec: string | Grant): Grant {
  if (typeof spec !== 'string') return spec;
  let rest = spec;
  let readOnly = false;
  if (rest.endsWith(':ro') || rest.endsWith(':rw')) {
    readOnly = rest.endsWith(':ro');
    rest = rest.slice(0, -3);
  }
  const i = rest.indexOf(':');
  const host = i < 0 ? rest : rest.slice(0, i);
  const guest = i < 0 ? resolvePath(host) : rest.slice(i + 1);
  if (!host) throw new Error(`bad --dir ${JSON.stringify(spec)}: expected HOST[:GUEST][:ro]`);
  if (!guest.startsWith('/')) throw new Error(`bad --dir ${JSON.stringify(spec)}: the guest path must be absolute`);
  return { hostPath: resolvePath(host), guestPath: guest, ...(readOnly ? { readOnly } : {}) };
}
