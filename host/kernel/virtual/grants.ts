import * as hostFs from 'node:fs';
import { EINVAL, ENOENT, ENOTDIR } from '../../abi/v1.js';
import { SysError } from '../../errors.js';
import { parseHostPath } from '../common/path.js';
import type { Grant } from '../kernel.js';
import { FS_CAPACITY, MAX_FILE_SIZE, type DirInode, type FileSystem } from './fs.js';

/**
 * Copies a granted host directory into the virtual tree at its guest path, once: a guest path that
 * already exists (an earlier guest's grant) is left alone, so guests of one kernel share it.
 *
 * The copy is a snapshot read with synchronous fs calls at attach; nothing is written back. Only
 * directories and regular files are copied; a symlink is followed only when it resolves to a regular
 * file inside the granted directory (never to a directory, so no cycles and no escape); everything
 * else, and files too large for the virtual filesystem, are skipped with a log line. Times are
 * virtual, not the host's, so runs stay reproducible; permission bits are kept. Entries are copied
 * in byte order of their names, so directory listings do not depend on the host filesystem. A
 * read-only grant (`:ro`) marks everything it copies read-only, so the guest meets EROFS as on the
 * os kernel; the first guest's grant decides for a guest path that later guests share.
 */
export function copyGrant(vfs: FileSystem, grant: Grant, log: (message: string) => void): void {
  const guest = parseHostPath(grant.guestPath);
  if (!guest.absolute) throw new SysError(EINVAL, `grant guest path must be absolute: ${grant.guestPath}`);
  const names = guest.components.filter((n) => n !== '.');
  if (names.includes('..')) throw new SysError(EINVAL, `grant guest path must be normalised: ${grant.guestPath}`);
  const last = names[names.length - 1];
  const parent = vfs.mkdirs(names.slice(0, -1));
  if (last === undefined ? !vfs.root.isEmpty : parent.get(last) !== undefined) return;

  let root: string;
  let mode: number;
  try {
    root = hostFs.realpathSync(grant.hostPath);
    const st = hostFs.statSync(root);
    if (!st.isDirectory()) throw new SysError(ENOTDIR, grant.hostPath);
    mode = st.mode & 0o7777;
  } catch (e) {
    if (e instanceof SysError) throw e;
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    throw new SysError(missing ? ENOENT : ENOTDIR, `grant ${grant.hostPath}: ${(e as Error).message}`);
  }
  const target = last === undefined ? vfs.root : vfs.dirIn(parent, last, mode);
  const rootBytes = Buffer.from(root, 'utf8');
  const readOnly = grant.readOnly === true;
  target.readOnly = readOnly;
  copyDir(vfs, rootBytes, rootBytes, target, readOnly, log);
}

function copyDir(vfs: FileSystem, rootBytes: Buffer, dirBytes: Buffer, into: DirInode, readOnly: boolean, log: (m: string) => void): void {
  let names: Buffer[];
  try {
    names = hostFs.readdirSync(dirBytes, { encoding: 'buffer' });
  } catch (e) {
    log(`virtual kernel: grant: cannot list ${dirBytes.toString()}: ${(e as Error).message}`);
    return;
  }
  names.sort(Buffer.compare);
  for (const nameBytes of names) {
    const hostPath = Buffer.concat([dirBytes, Buffer.from('/'), nameBytes]);
    const name = nameBytes.toString('latin1');
    try {
      let st = hostFs.lstatSync(hostPath);
      if (st.isSymbolicLink()) {
        const real = Buffer.from(hostFs.realpathSync(hostPath), 'utf8');
        const inside =
          real.length > rootBytes.length &&
          real.subarray(0, rootBytes.length).equals(rootBytes) &&
          real[rootBytes.length] === 0x2f;
        st = hostFs.statSync(real);
        if (!inside || !st.isFile()) {
          log(`virtual kernel: grant: skipped symlink ${hostPath.toString()}`);
          continue;
        }
      }
      if (st.isDirectory()) {
        const dir = vfs.dirIn(into, name, st.mode & 0o7777);
        dir.readOnly = readOnly;
        copyDir(vfs, rootBytes, hostPath, dir, readOnly, log);
      } else if (st.isFile()) {
        if (st.size > MAX_FILE_SIZE || vfs.used + st.size > FS_CAPACITY) {
          log(`virtual kernel: grant: skipped ${hostPath.toString()} (${st.size} bytes: too large)`);
          continue;
        }
        vfs.fileIn(into, name, new Uint8Array(hostFs.readFileSync(hostPath)), st.mode & 0o7777).readOnly = readOnly;
      } else {
        log(`virtual kernel: grant: skipped special file ${hostPath.toString()}`);
      }
    } catch (e) {
      log(`virtual kernel: grant: skipped ${hostPath.toString()}: ${(e as Error).message}`);
    }
  }
}
