// WASI preview 1 conformance probe: every function on its success and error paths, as the witx
// specification describes them. Prints "ok NAME" or "FAIL NAME: why" per check and a summary; exits
// 0 only when every check passed. Run with one preopened, empty, writable directory (fd 3) and the
// environment variable PROBE=1. Built by tests/helpers/wasi-c.ts with Debian's clang and wasi-libc.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wasi/api.h>

#define RAW(name) __attribute__((import_module("wasi_snapshot_preview1"), import_name(#name)))
// Raw imports for the error paths the libc wrappers cannot express (bad pointers, lengths).
int32_t raw_random_get(int32_t buf, int32_t len) RAW(random_get);
int32_t raw_fd_write(int32_t fd, int32_t iovs, int32_t n, int32_t out) RAW(fd_write);
int32_t raw_path_open(int32_t fd, int32_t dirflags, int32_t path, int32_t len, int32_t oflags, int64_t base, int64_t inh, int32_t fdflags, int32_t out) RAW(path_open);
int32_t raw_clock_time_get(int32_t id, int64_t precision, int32_t out) RAW(clock_time_get);
int32_t raw_fd_prestat_dir_name(int32_t fd, int32_t buf, int32_t len) RAW(fd_prestat_dir_name);

static int passed, failed;
static void check(const char *name, int cond, const char *fmt, long a, long b) {
  if (cond) { passed++; printf("ok %s\n", name); return; }
  failed++;
  printf("FAIL %s: ", name);
  printf(fmt, a, b);
  printf("\n");
}
#define EXPECT(name, got, want) do { long g_ = (long)(got), w_ = (long)(want); check(name, g_ == w_, "got %ld, expected %ld", g_, w_); } while (0)

static const __wasi_rights_t RW = __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_FD_SEEK | __WASI_RIGHTS_FD_TELL |
  __WASI_RIGHTS_FD_FILESTAT_GET | __WASI_RIGHTS_FD_FILESTAT_SET_SIZE | __WASI_RIGHTS_FD_ALLOCATE | __WASI_RIGHTS_FD_SYNC |
  __WASI_RIGHTS_FD_DATASYNC | __WASI_RIGHTS_FD_ADVISE | __WASI_RIGHTS_FD_FDSTAT_SET_FLAGS | __WASI_RIGHTS_POLL_FD_READWRITE;
static const __wasi_rights_t DIR_RIGHTS = __WASI_RIGHTS_FD_READDIR | __WASI_RIGHTS_PATH_OPEN | __WASI_RIGHTS_PATH_CREATE_FILE |
  __WASI_RIGHTS_PATH_FILESTAT_GET | __WASI_RIGHTS_FD_FILESTAT_GET | __WASI_RIGHTS_PATH_UNLINK_FILE | __WASI_RIGHTS_PATH_CREATE_DIRECTORY |
  __WASI_RIGHTS_PATH_REMOVE_DIRECTORY | __WASI_RIGHTS_PATH_RENAME_SOURCE | __WASI_RIGHTS_PATH_RENAME_TARGET;

static __wasi_errno_t open_at(__wasi_fd_t dir, const char *path, __wasi_oflags_t o, __wasi_rights_t r, __wasi_fdflags_t f, __wasi_fd_t *fd) {
  return __wasi_path_open(dir, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, path, o, r, r | DIR_RIGHTS, f, fd);
}

static size_t write_all(__wasi_fd_t fd, const char *s) {
  __wasi_ciovec_t iov = {(const uint8_t *)s, strlen(s)};
  __wasi_size_t n = 0;
  if (__wasi_fd_write(fd, &iov, 1, &n) != 0) return (size_t)-1;
  return n;
}

/** Names fd_readdir lists, reading with a small buffer so the cookies carry the walk. */
static int readdir_names(__wasi_fd_t dir, char *out, size_t cap) {
  uint8_t buf[40];
  __wasi_dircookie_t cookie = 0;
  int count = 0;
  out[0] = 0;
  for (int guard = 0; guard < 100; guard++) {
    __wasi_size_t used = 0;
    if (__wasi_fd_readdir(dir, buf, sizeof buf, cookie, &used) != 0) return -1;
    if (used < sizeof(__wasi_dirent_t)) break;
    __wasi_dirent_t d;
    memcpy(&d, buf, sizeof d);
    if (used < sizeof d + d.d_namlen) {
      // cut: a buffer this small holds one whole entry when the name is short; longer ones are skipped
      cookie = d.d_next;
      count++;
      continue;
    }
    strncat(out, (const char *)buf + sizeof d, d.d_namlen < cap - strlen(out) - 2 ? d.d_namlen : 0);
    strcat(out, ",");
    cookie = d.d_next;
    count++;
    if (used < sizeof buf) {
      // the rest of the buffer may hold more entries: walk them too
      size_t p = sizeof d + d.d_namlen;
      while (p + sizeof d <= used) {
        memcpy(&d, buf + p, sizeof d);
        if (p + sizeof d + d.d_namlen > used) break;
        strncat(out, (const char *)buf + p + sizeof d, d.d_namlen);
        strcat(out, ",");
        cookie = d.d_next;
        count++;
        p += sizeof d + d.d_namlen;
      }
      break;
    }
  }
  return count;
}

int main(int argc, char **argv) {
  // args and environment
  EXPECT("args_get argc", argc, 3);
  check("args_get argv", argc == 3 && strcmp(argv[1], "one") == 0 && strcmp(argv[2], "two words") == 0, "argv wrong (%ld %ld)", argc, 0);
  const char *probe = getenv("PROBE");
  check("environ_get", probe && strcmp(probe, "1") == 0, "PROBE=%ld %ld", probe ? 1 : 0, 0);

  // clocks
  __wasi_timestamp_t res = 0, t1 = 0, t2 = 0;
  EXPECT("clock_res_get realtime", __wasi_clock_res_get(__WASI_CLOCKID_REALTIME, &res), 0);
  check("clock_res_get value", res > 0 && res <= 1000000, "res %ld %ld", (long)res, 0);
  EXPECT("clock_res_get bad clock", __wasi_clock_res_get(99, &res), __WASI_ERRNO_INVAL);
  EXPECT("clock_time_get monotonic", __wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t1), 0);
  EXPECT("clock_time_get monotonic again", __wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t2), 0);
  check("clock_time_get non-decreasing", t2 >= t1, "%ld then %ld", (long)t1, (long)t2);
  EXPECT("clock_time_get realtime", __wasi_clock_time_get(__WASI_CLOCKID_REALTIME, 1, &t1), 0);
  check("clock_time_get realtime after 2020", t1 > 1577836800000000000ull, "%ld %ld", (long)(t1 / 1000000000), 0);
  EXPECT("clock_time_get bad clock", __wasi_clock_time_get(7, 1, &t1), __WASI_ERRNO_INVAL);
  EXPECT("clock_time_get bad pointer", raw_clock_time_get(1, 1, -8), __WASI_ERRNO_FAULT);

  // randomness
  uint8_t rnd[64] = {0};
  EXPECT("random_get", __wasi_random_get(rnd, sizeof rnd), 0);
  int nonzero = 0;
  for (size_t i = 0; i < sizeof rnd; i++) nonzero |= rnd[i];
  check("random_get fills", nonzero != 0, "all zero %ld %ld", 0, 0);
  EXPECT("random_get bad pointer", raw_random_get(-16, 64), __WASI_ERRNO_FAULT);
  EXPECT("sched_yield", __wasi_sched_yield(), 0);

  // standard streams
  EXPECT("fd_write stdout", write_all(1, "(stdout line)\n"), 14);
  __wasi_size_t n = 0;
  __wasi_ciovec_t civ = {(const uint8_t *)"x", 1};
  EXPECT("fd_write bad fd", __wasi_fd_write(99, &civ, 1, &n), __WASI_ERRNO_BADF);
  EXPECT("fd_write bad iovec", raw_fd_write(1, -8, 1, 64), __WASI_ERRNO_FAULT);
  __wasi_fdstat_t st;
  EXPECT("fd_fdstat_get stdout", __wasi_fd_fdstat_get(1, &st), 0);
  check("fd_fdstat_get stdout can write", (st.fs_rights_base & __WASI_RIGHTS_FD_WRITE) != 0, "rights %ld %ld", (long)st.fs_rights_base, 0);
  EXPECT("fd_fdstat_get bad fd", __wasi_fd_fdstat_get(77, &st), __WASI_ERRNO_BADF);

  // the preopen
  __wasi_prestat_t pre;
  EXPECT("fd_prestat_get 3", __wasi_fd_prestat_get(3, &pre), 0);
  EXPECT("fd_prestat_get is a directory", pre.tag, __WASI_PREOPENTYPE_DIR);
  char name[64] = {0};
  EXPECT("fd_prestat_dir_name", __wasi_fd_prestat_dir_name(3, (uint8_t *)name, pre.u.dir.pr_name_len), 0);
  EXPECT("fd_prestat_dir_name value", strcmp(name, "/sandbox"), 0);
  EXPECT("fd_prestat_dir_name short buffer", raw_fd_prestat_dir_name(3, (int32_t)(intptr_t)name, 2), __WASI_ERRNO_NAMETOOLONG);
  EXPECT("fd_prestat_get stdin", __wasi_fd_prestat_get(0, &pre), __WASI_ERRNO_BADF);
  EXPECT("fd_prestat_get past the end", __wasi_fd_prestat_get(40, &pre), __WASI_ERRNO_BADF);
  EXPECT("fd_fdstat_get preopen", __wasi_fd_fdstat_get(3, &st), 0);
  EXPECT("fd_fdstat_get preopen type", st.fs_filetype, __WASI_FILETYPE_DIRECTORY);

  // path_open and a file's life
  __wasi_fd_t f = 0, g = 0;
  EXPECT("path_open create", open_at(3, "t.txt", __WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC, RW, 0, &f), 0);
  EXPECT("fd_write file", write_all(f, "hello world"), 11);
  __wasi_filesize_t pos = 99;
  EXPECT("fd_tell", __wasi_fd_tell(f, &pos), 0);
  EXPECT("fd_tell value", pos, 11);
  EXPECT("fd_seek set", __wasi_fd_seek(f, 0, __WASI_WHENCE_SET, &pos), 0);
  EXPECT("fd_seek value", pos, 0);
  EXPECT("fd_seek bad whence", __wasi_fd_seek(f, 0, 7, &pos), __WASI_ERRNO_INVAL);
  EXPECT("fd_seek before start", __wasi_fd_seek(f, -5, __WASI_WHENCE_SET, &pos), __WASI_ERRNO_INVAL);
  char rb[32] = {0};
  __wasi_iovec_t iv[2] = {{(uint8_t *)rb, 5}, {(uint8_t *)rb + 5, 20}};
  EXPECT("fd_read two iovecs", __wasi_fd_read(f, iv, 2, &n), 0);
  EXPECT("fd_read count", n, 11);
  EXPECT("fd_read content", memcmp(rb, "hello world", 11), 0);
  EXPECT("fd_read at end", __wasi_fd_read(f, iv, 1, &n), 0);
  EXPECT("fd_read at end reads 0", n, 0);
  memset(rb, 0, sizeof rb);
  __wasi_iovec_t piv[2] = {{(uint8_t *)rb, 2}, {(uint8_t *)rb + 2, 10}};
  EXPECT("fd_pread", __wasi_fd_pread(f, piv, 2, 6, &n), 0);
  EXPECT("fd_pread count", n, 5);
  EXPECT("fd_pread content", memcmp(rb, "world", 5), 0);
  __wasi_ciovec_t pw = {(const uint8_t *)"W", 1};
  EXPECT("fd_pwrite", __wasi_fd_pwrite(f, &pw, 1, 6, &n), 0);
  EXPECT("fd_tell after pread/pwrite", (__wasi_fd_tell(f, &pos), pos), 11);
  __wasi_filestat_t fs;
  EXPECT("fd_filestat_get", __wasi_fd_filestat_get(f, &fs), 0);
  EXPECT("fd_filestat_get size", fs.size, 11);
  EXPECT("fd_filestat_get type", fs.filetype, __WASI_FILETYPE_REGULAR_FILE);
  EXPECT("fd_filestat_set_size", __wasi_fd_filestat_set_size(f, 5), 0);
  EXPECT("fd_filestat_set_size size", (__wasi_fd_filestat_get(f, &fs), fs.size), 5);
  EXPECT("fd_allocate", __wasi_fd_allocate(f, 0, 100), 0);
  EXPECT("fd_allocate size", (__wasi_fd_filestat_get(f, &fs), fs.size), 100);
  EXPECT("fd_allocate zero length", __wasi_fd_allocate(f, 0, 0), __WASI_ERRNO_INVAL);
  EXPECT("fd_sync", __wasi_fd_sync(f), 0);
  EXPECT("fd_datasync", __wasi_fd_datasync(f), 0);
  EXPECT("fd_advise", __wasi_fd_advise(f, 0, 10, __WASI_ADVICE_SEQUENTIAL), 0);
  EXPECT("fd_advise bad advice", __wasi_fd_advise(f, 0, 10, 9), __WASI_ERRNO_INVAL);
  EXPECT("fd_fdstat_set_flags append", __wasi_fd_fdstat_set_flags(f, __WASI_FDFLAGS_APPEND), 0);
  EXPECT("fd_fdstat_get append", (__wasi_fd_fdstat_get(f, &st), st.fs_flags & __WASI_FDFLAGS_APPEND), __WASI_FDFLAGS_APPEND);
  EXPECT("fd_fdstat_set_flags bad flags", __wasi_fd_fdstat_set_flags(f, 0x100), __WASI_ERRNO_INVAL);

  // rights: drop, then use and widen
  EXPECT("fd_fdstat_set_rights drop write", __wasi_fd_fdstat_set_rights(f, RW & ~__WASI_RIGHTS_FD_WRITE, 0), 0);
  EXPECT("fd_write without the right", __wasi_fd_write(f, &civ, 1, &n), __WASI_ERRNO_NOTCAPABLE);
  EXPECT("fd_fdstat_set_rights widen", __wasi_fd_fdstat_set_rights(f, RW, 0), __WASI_ERRNO_NOTCAPABLE);
  EXPECT("path_open read-only", open_at(3, "t.txt", 0, __WASI_RIGHTS_FD_READ, 0, &g), 0);
  EXPECT("fd_write on a read-only open", __wasi_fd_write(g, &civ, 1, &n), __WASI_ERRNO_NOTCAPABLE);
  EXPECT("fd_seek without the right", __wasi_fd_seek(g, 1, __WASI_WHENCE_SET, &pos), __WASI_ERRNO_NOTCAPABLE);

  // renumber and close
  EXPECT("fd_renumber", __wasi_fd_renumber(g, f), 0);
  EXPECT("fd_renumber source gone", __wasi_fd_close(g), __WASI_ERRNO_BADF);
  EXPECT("fd_renumber target readable", __wasi_fd_read(f, iv, 1, &n), 0);
  EXPECT("fd_renumber bad source", __wasi_fd_renumber(60, f), __WASI_ERRNO_BADF);
  EXPECT("fd_close", __wasi_fd_close(f), 0);
  EXPECT("fd_close twice", __wasi_fd_close(f), __WASI_ERRNO_BADF);

  // path_open's errors
  EXPECT("path_open missing", open_at(3, "missing.txt", 0, RW, 0, &g), __WASI_ERRNO_NOENT);
  EXPECT("path_open exclusive", open_at(3, "t.txt", __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL, RW, 0, &g), __WASI_ERRNO_EXIST);
  EXPECT("path_open directory flag on a file", open_at(3, "t.txt", __WASI_OFLAGS_DIRECTORY, __WASI_RIGHTS_FD_READ, 0, &g), __WASI_ERRNO_NOTDIR);
  EXPECT("path_open .. escapes", open_at(3, "../t.txt", 0, __WASI_RIGHTS_FD_READ, 0, &g), __WASI_ERRNO_NOTCAPABLE);
  EXPECT("path_open a/../.. escapes", open_at(3, "a/../../t.txt", 0, __WASI_RIGHTS_FD_READ, 0, &g), __WASI_ERRNO_NOTCAPABLE);
  EXPECT("path_open absolute", open_at(3, "/etc/passwd", 0, __WASI_RIGHTS_FD_READ, 0, &g), __WASI_ERRNO_NOTCAPABLE);
  EXPECT("path_open through a file", open_at(3, "t.txt/x", 0, __WASI_RIGHTS_FD_READ, 0, &g), __WASI_ERRNO_NOTDIR);
  EXPECT("path_open bad dir fd", open_at(55, "t.txt", 0, __WASI_RIGHTS_FD_READ, 0, &g), __WASI_ERRNO_BADF);
  EXPECT("path_open from a file fd", (open_at(3, "t.txt", 0, __WASI_RIGHTS_FD_READ, 0, &g), open_at(g, "x", 0, __WASI_RIGHTS_FD_READ, 0, &f)), __WASI_ERRNO_NOTDIR);
  __wasi_fd_close(g);
  EXPECT("path_open bad path pointer", raw_path_open(3, 1, -4, 8, 0, 2, 2, 0, 1024), __WASI_ERRNO_FAULT);

  // directories
  EXPECT("path_create_directory", __wasi_path_create_directory(3, "d"), 0);
  EXPECT("path_create_directory exists", __wasi_path_create_directory(3, "d"), __WASI_ERRNO_EXIST);
  EXPECT("path_filestat_get dir", __wasi_path_filestat_get(3, 0, "d", &fs), 0);
  EXPECT("path_filestat_get dir type", fs.filetype, __WASI_FILETYPE_DIRECTORY);
  EXPECT("path_filestat_get missing", __wasi_path_filestat_get(3, 0, "nope", &fs), __WASI_ERRNO_NOENT);
  EXPECT("path_rename into dir", __wasi_path_rename(3, "t.txt", 3, "d/u.txt"), 0);
  EXPECT("path_rename missing", __wasi_path_rename(3, "t.txt", 3, "d/v.txt"), __WASI_ERRNO_NOENT);
  EXPECT("path_open in subdir", open_at(3, "d/w.txt", __WASI_OFLAGS_CREAT, RW, 0, &g), 0);
  __wasi_fd_close(g);
  __wasi_fd_t d = 0;
  EXPECT("path_open directory", open_at(3, "d", __WASI_OFLAGS_DIRECTORY, __WASI_RIGHTS_FD_READDIR | __WASI_RIGHTS_PATH_OPEN, 0, &d), 0);
  char names[256];
  int count = readdir_names(d, names, sizeof names);
  EXPECT("fd_readdir entries", count, 4);
  check("fd_readdir names", strstr(names, ".,") && strstr(names, "..,") && strstr(names, "u.txt,") && strstr(names, "w.txt,"), "%ld %ld", count, 0);
  EXPECT("path_open .. from a subdirectory fd", open_at(d, "../d", 0, __WASI_RIGHTS_FD_READ, 0, &g), __WASI_ERRNO_NOTCAPABLE);
  EXPECT("fd_readdir on a file", (open_at(3, "d/u.txt", 0, __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_READDIR, 0, &g), __wasi_fd_readdir(g, (uint8_t *)names, 64, 0, &n)), __WASI_ERRNO_NOTDIR);
  __wasi_fd_close(g);
  __wasi_fd_close(d);
  EXPECT("path_remove_directory not empty", __wasi_path_remove_directory(3, "d"), __WASI_ERRNO_NOTEMPTY);
  EXPECT("path_unlink_file a directory", __wasi_path_unlink_file(3, "d"), __WASI_ERRNO_ISDIR);
  EXPECT("path_unlink_file", __wasi_path_unlink_file(3, "d/u.txt"), 0);
  EXPECT("path_unlink_file again", __wasi_path_unlink_file(3, "d/u.txt"), __WASI_ERRNO_NOENT);
  EXPECT("path_unlink_file w", __wasi_path_unlink_file(3, "d/w.txt"), 0);
  EXPECT("path_remove_directory a file", (open_at(3, "f2", __WASI_OFLAGS_CREAT, RW, 0, &g), __wasi_fd_close(g), __wasi_path_remove_directory(3, "f2")), __WASI_ERRNO_NOTDIR);
  EXPECT("path_unlink_file f2", __wasi_path_unlink_file(3, "f2"), 0);
  EXPECT("path_remove_directory", __wasi_path_remove_directory(3, "d"), 0);

  // links and times
  EXPECT("path_open l.txt", open_at(3, "l.txt", __WASI_OFLAGS_CREAT, RW | __WASI_RIGHTS_FD_FILESTAT_SET_TIMES, 0, &g), 0);
  EXPECT("fd_write l.txt", write_all(g, "link"), 4);
  EXPECT("fd_filestat_set_times", __wasi_fd_filestat_set_times(g, 1000000000000000000ull, 1200000000000000007ull, __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM), 0);
  EXPECT("fd_filestat_get after set_times", __wasi_fd_filestat_get(g, &fs), 0);
  EXPECT("fd_filestat_set_times mtim", fs.mtim / 1000000000ull, 1200000000);
  EXPECT("fd_filestat_set_times atim", fs.atim / 1000000000ull, 1000000000);
  EXPECT("fd_filestat_set_times both ATIM and ATIM_NOW", __wasi_fd_filestat_set_times(g, 0, 0, __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_ATIM_NOW), __WASI_ERRNO_INVAL);
  EXPECT("fd_filestat_set_times bad fd", __wasi_fd_filestat_set_times(77, 0, 0, __WASI_FSTFLAGS_MTIM_NOW), __WASI_ERRNO_BADF);
  __wasi_fd_close(g);
  EXPECT("path_filestat_set_times", __wasi_path_filestat_set_times(3, 0, "l.txt", 0, 1300000000000000000ull, __WASI_FSTFLAGS_MTIM), 0);
  EXPECT("path_filestat_get after set_times", __wasi_path_filestat_get(3, 0, "l.txt", &fs), 0);
  EXPECT("path_filestat_set_times mtim", fs.mtim / 1000000000ull, 1300000000);
  EXPECT("path_filestat_set_times atim kept", fs.atim / 1000000000ull, 1000000000);
  EXPECT("path_filestat_set_times missing", __wasi_path_filestat_set_times(3, 0, "nope", 0, 0, __WASI_FSTFLAGS_MTIM_NOW), __WASI_ERRNO_NOENT);
  EXPECT("path_filestat_set_times escapes", __wasi_path_filestat_set_times(3, 0, "../x", 0, 0, __WASI_FSTFLAGS_MTIM_NOW), __WASI_ERRNO_NOTCAPABLE);
  EXPECT("path_symlink", __wasi_path_symlink("l.txt", 3, "sl"), 0);
  EXPECT("path_symlink exists", __wasi_path_symlink("l.txt", 3, "sl"), __WASI_ERRNO_EXIST);
  EXPECT("path_symlink absolute target", __wasi_path_symlink("/etc/passwd", 3, "abs"), __WASI_ERRNO_PERM);
  EXPECT("path_symlink escaping link name", __wasi_path_symlink("l.txt", 3, "../sl"), __WASI_ERRNO_NOTCAPABLE);
  {
    char target[16];
    __wasi_size_t used = 0;
    EXPECT("path_readlink", __wasi_path_readlink(3, "sl", (uint8_t *)target, sizeof target, &used), 0);
    check("path_readlink target", used == 5 && memcmp(target, "l.txt", 5) == 0, "used %ld %ld", (long)used, 0);
    EXPECT("path_readlink short buffer", __wasi_path_readlink(3, "sl", (uint8_t *)target, 2, &used), 0);
    EXPECT("path_readlink short buffer used", used, 2);
    EXPECT("path_readlink a file", __wasi_path_readlink(3, "l.txt", (uint8_t *)target, sizeof target, &used), __WASI_ERRNO_INVAL);
    EXPECT("path_readlink missing", __wasi_path_readlink(3, "nope", (uint8_t *)target, sizeof target, &used), __WASI_ERRNO_NOENT);
  }
  EXPECT("path_open through the symlink", open_at(3, "sl", 0, __WASI_RIGHTS_FD_READ, 0, &g), 0);
  __wasi_fd_close(g);
  EXPECT("path_open the symlink nofollow", __wasi_path_open(3, 0, "sl", 0, __WASI_RIGHTS_FD_READ, 0, 0, &g), __WASI_ERRNO_LOOP);
  EXPECT("path_filestat_get symlink nofollow", __wasi_path_filestat_get(3, 0, "sl", &fs), 0);
  EXPECT("path_filestat_get symlink type", fs.filetype, __WASI_FILETYPE_SYMBOLIC_LINK);
  EXPECT("path_symlink dangling", __wasi_path_symlink("nowhere", 3, "dl"), 0);
  EXPECT("path_open dangling", open_at(3, "dl", 0, __WASI_RIGHTS_FD_READ, 0, &g), __WASI_ERRNO_NOENT);
  EXPECT("path_symlink leading out", __wasi_path_symlink("../../../../etc/passwd", 3, "out"), 0);
  {
    __wasi_errno_t e = open_at(3, "out", 0, __WASI_RIGHTS_FD_READ, 0, &g);
    check("path_open leading out refused", e != 0, "errno %ld %ld", (long)e, 0);
  }
  EXPECT("path_link", __wasi_path_link(3, 0, "l.txt", 3, "hl"), 0);
  EXPECT("path_filestat_get hard link", __wasi_path_filestat_get(3, 0, "hl", &fs), 0);
  EXPECT("path_link nlink", fs.nlink, 2);
  EXPECT("path_link exists", __wasi_path_link(3, 0, "l.txt", 3, "hl"), __WASI_ERRNO_EXIST);
  EXPECT("path_link missing", __wasi_path_link(3, 0, "nope", 3, "hl2"), __WASI_ERRNO_NOENT);
  EXPECT("path_link escapes", __wasi_path_link(3, 0, "l.txt", 3, "../hl"), __WASI_ERRNO_NOTCAPABLE);
  EXPECT("path_link bad fd", __wasi_path_link(3, 0, "l.txt", 88, "hl2"), __WASI_ERRNO_BADF);
  EXPECT("path_unlink_file sl", __wasi_path_unlink_file(3, "sl"), 0);
  EXPECT("path_unlink_file dl", __wasi_path_unlink_file(3, "dl"), 0);
  EXPECT("path_unlink_file out", __wasi_path_unlink_file(3, "out"), 0);
  EXPECT("path_unlink_file hl", __wasi_path_unlink_file(3, "hl"), 0);
  EXPECT("path_unlink_file l.txt", __wasi_path_unlink_file(3, "l.txt"), 0);

  // poll_oneoff
  __wasi_subscription_t subs[3];
  __wasi_event_t evs[3];
  memset(subs, 0, sizeof subs);
  subs[0].userdata = 42;
  subs[0].u.tag = __WASI_EVENTTYPE_CLOCK;
  subs[0].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
  subs[0].u.u.clock.timeout = 2000000; // 2 ms
  __wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t1);
  EXPECT("poll_oneoff clock", __wasi_poll_oneoff(subs, evs, 1, &n), 0);
  __wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t2);
  EXPECT("poll_oneoff clock events", n, 1);
  EXPECT("poll_oneoff clock userdata", evs[0].userdata, 42);
  EXPECT("poll_oneoff clock type", evs[0].type, __WASI_EVENTTYPE_CLOCK);
  check("poll_oneoff clock waited", t2 - t1 >= 2000000, "waited %ld ns %ld", (long)(t2 - t1), 0);
  subs[1].userdata = 7;
  subs[1].u.tag = __WASI_EVENTTYPE_FD_WRITE;
  subs[1].u.u.fd_write.file_descriptor = 1;
  subs[0].u.u.clock.timeout = 5000000000ull; // 5 s: stdout is writable long before
  EXPECT("poll_oneoff fd_write", __wasi_poll_oneoff(subs, evs, 2, &n), 0);
  EXPECT("poll_oneoff fd_write events", n, 1);
  EXPECT("poll_oneoff fd_write userdata", evs[0].userdata, 7);
  EXPECT("poll_oneoff fd_write error", evs[0].error, 0);
  subs[2].userdata = 9;
  subs[2].u.tag = __WASI_EVENTTYPE_FD_READ;
  subs[2].u.u.fd_read.file_descriptor = 66;
  EXPECT("poll_oneoff bad fd", __wasi_poll_oneoff(subs + 2, evs, 1, &n), 0);
  EXPECT("poll_oneoff bad fd event", n == 1 ? evs[0].error : -1, __WASI_ERRNO_BADF);
  EXPECT("poll_oneoff no subscriptions", __wasi_poll_oneoff(subs, evs, 0, &n), __WASI_ERRNO_INVAL);

  printf("passed %d failed %d\n", passed, failed);
  fflush(stdout);
  return failed == 0 ? 0 : 1;
}
