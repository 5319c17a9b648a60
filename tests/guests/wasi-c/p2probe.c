// WASI preview 2 probe, built as a preview 1 program and made a component with jco's `new` and its
// preview 1 adapter (the adapter turns each call into wasi:cli, wasi:io, wasi:clocks, wasi:random
// and wasi:filesystem calls). Prints one line per behaviour, values that do not depend on the host
// (no times, no inode numbers), so flexvm's output can be compared line by line with jco's own
// preview2-shim. Run with one preopened, empty, writable directory "/data", PROBE=p2 in the
// environment, the arguments "one two" and some bytes on standard input; exits with the number of
// arguments (the adapter maps any non-zero status to 1).
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static void line(const char *what, int ok, int err) {
  if (ok) printf("ok %s\n", what);
  else printf("err %s: %s\n", what, strerror(err));
}

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void list(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) { line("opendir", 0, errno); return; }
  char *names[64];
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) && n < 64) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    names[n++] = strdup(e->d_name);
  }
  closedir(d);
  qsort(names, n, sizeof *names, cmp);
  printf("list %s:", dir);
  for (int i = 0; i < n; i++) { printf(" %s", names[i]); free(names[i]); }
  printf("\n");
}

int main(int argc, char **argv) {
  // wasi:cli: arguments, environment, standard streams
  printf("argc %d\n", argc);
  for (int i = 1; i < argc; i++) printf("arg %s\n", argv[i]);
  const char *probe = getenv("PROBE");
  printf("env PROBE=%s\n", probe ? probe : "(unset)");
  fprintf(stderr, "to stderr\n");

  // wasi:cli/stdin
  char in[256];
  ssize_t total = 0, r;
  while ((r = read(0, in, sizeof in)) > 0) total += r;
  printf("stdin %zd bytes\n", total);

  // wasi:clocks
  struct timespec a, b, rt;
  clock_gettime(CLOCK_MONOTONIC, &a);
  struct timespec pause = {0, 2000000};
  nanosleep(&pause, NULL);
  clock_gettime(CLOCK_MONOTONIC, &b);
  long long ns = (b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec);
  printf("monotonic slept >= 2ms: %s\n", ns >= 2000000 ? "yes" : "no");
  clock_gettime(CLOCK_REALTIME, &rt);
  printf("realtime after 2020: %s\n", rt.tv_sec > 1577836800 ? "yes" : "no");

  // wasi:random
  unsigned char rnd[64] = {0};
  line("getentropy", getentropy(rnd, sizeof rnd) == 0, errno);
  int nonzero = 0;
  for (size_t i = 0; i < sizeof rnd; i++) nonzero |= rnd[i];
  printf("random bytes not all zero: %s\n", nonzero ? "yes" : "no");

  // wasi:io/poll over a clock: poll() with only a timeout
  line("poll timeout", poll(NULL, 0, 1) == 0, errno);

  // wasi:filesystem: files
  int fd = open("/data/a.txt", O_CREAT | O_RDWR | O_TRUNC, 0644);
  line("create a.txt", fd >= 0, errno);
  const char *text = "hello, preview 2\n";
  printf("write %zd\n", write(fd, text, strlen(text)));
  char buf[64] = {0};
  printf("pread %zd\n", pread(fd, buf, 5, 7));
  printf("pread data %.5s\n", buf);
  printf("lseek end %lld\n", (long long)lseek(fd, 0, SEEK_END));
  printf("lseek set %lld\n", (long long)lseek(fd, 0, SEEK_SET));
  memset(buf, 0, sizeof buf);
  printf("read %zd: %s", read(fd, buf, sizeof buf - 1), buf);
  struct stat st;
  line("fstat", fstat(fd, &st) == 0, errno);
  printf("size %lld regular %d\n", (long long)st.st_size, S_ISREG(st.st_mode));
  line("ftruncate 5", ftruncate(fd, 5) == 0, errno);
  fstat(fd, &st);
  printf("size %lld\n", (long long)st.st_size);
  line("fsync", fsync(fd) == 0, errno);
  close(fd);
  fd = open("/data/a.txt", O_WRONLY | O_APPEND);
  printf("append %zd\n", write(fd, "+tail", 5));
  close(fd);
  stat("/data/a.txt", &st);
  printf("size after append %lld\n", (long long)st.st_size);

  // wasi:filesystem: directories
  line("mkdir sub", mkdir("/data/sub", 0755) == 0, errno);
  line("mkdir sub again", mkdir("/data/sub", 0755) == 0, errno);
  fd = open("/data/sub/b.txt", O_CREAT | O_WRONLY, 0644);
  close(fd);
  list("/data");
  list("/data/sub");
  stat("/data/sub", &st);
  printf("sub is dir %d\n", S_ISDIR(st.st_mode));
  line("rmdir non-empty", rmdir("/data/sub") == 0, errno);
  line("rename b.txt", rename("/data/sub/b.txt", "/data/c.txt") == 0, errno);
  line("rmdir sub", rmdir("/data/sub") == 0, errno);
  line("unlink c.txt", unlink("/data/c.txt") == 0, errno);
  line("open missing", open("/data/missing", O_RDONLY) >= 0, errno);
  line("stat missing", stat("/data/missing", &st) == 0, errno);
  line("unlink a directory", (mkdir("/data/d2", 0755), unlink("/data/d2")) == 0, errno);
  rmdir("/data/d2");
  list("/data");

  // wasi:filesystem: links and times
  line("symlink", symlink("a.txt", "/data/ln") == 0, errno);
  char target[64] = {0};
  ssize_t tl = readlink("/data/ln", target, sizeof target - 1);
  printf("readlink %zd %s\n", tl, tl > 0 ? target : "-");
  fd = open("/data/ln", O_RDONLY);
  memset(buf, 0, sizeof buf);
  printf("read through symlink %zd: %s\n", read(fd, buf, sizeof buf - 1), buf);
  close(fd);
  lstat("/data/ln", &st);
  printf("lstat is link %d\n", S_ISLNK(st.st_mode));
  line("readlink a file", readlink("/data/a.txt", target, sizeof target) >= 0, errno);
  line("link", link("/data/a.txt", "/data/hard") == 0, errno);
  stat("/data/hard", &st);
  printf("hard size %lld nlink %lld\n", (long long)st.st_size, (long long)st.st_nlink);
  struct timespec times[2] = {{1000000000, 0}, {1200000000, 500}};
  line("utimensat", utimensat(AT_FDCWD, "/data/a.txt", times, 0) == 0, errno);
  stat("/data/a.txt", &st);
  printf("mtime %lld\n", (long long)st.st_mtim.tv_sec);
  fd = open("/data/a.txt", O_RDWR);
  struct timespec t2[2] = {{1100000000, 0}, {1300000000, 0}};
  line("futimens", futimens(fd, t2) == 0, errno);
  fstat(fd, &st);
  printf("mtime %lld atime %lld\n", (long long)st.st_mtim.tv_sec, (long long)st.st_atim.tv_sec);
  close(fd);
  unlink("/data/ln");
  unlink("/data/hard");
  unlink("/data/a.txt");
  list("/data");

  fflush(stdout);
  return argc - 1;
}
