import { createRequire } from 'node:module';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * A cache of derived files keyed by the hash of what they were derived from (a rewritten module, a
 * transpiled component). It lives in `$FLEXVM_CACHE_DIR`, else `$XDG_CACHE_HOME/flexvm`, else
 * `~/.cache/flexvm`. Entries are written to a temporary name and renamed, so a reader never sees half
 * a file; a cache that cannot be written is simply not used (the work is redone next time).
 */
export function cacheDir(): string {
  const env = process.env;
  if (env['FLEXVM_CACHE_DIR']) return env['FLEXVM_CACHE_DIR'];
  return join(env['XDG_CACHE_HOME'] || join(homedir(), '.cache'), 'flexvm');
}

export function contentKey(...parts: (Uint8Array | string)[]): string {
  // node:crypto on first use: importing it costs every flexvm start, and only WASI programs need it.
  const { createHash } = createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

export async function cacheGet(kind: string, key: string): Promise<Uint8Array | null> {
  try {
    return await readFile(join(cacheDir(), kind, key));
  } catch {
    return null;
  }
}

export async function cachePut(kind: string, key: string, data: Uint8Array | string): Promise<void> {
  try {
    const dir = join(cacheDir(), kind);
    await mkdir(dir, { recursive: true });
    const tmp = join(dir, `.${key}.${process.pid}.${Math.random().toString(36).slice(2)}`);
    await writeFile(tmp, data);
    await rename(tmp, join(dir, key));
  } catch {
    // not writable: run without the cache
  }
}
