/* How much of its throughput a user loop keeps when it makes a system call every N loop iterations:
 * a pseudo-random read-modify-write walk over a 512 KB working set (enough user state for a call to
 * disturb), with no call, with getppid (the null call) or with a 64-byte pwrite to a file in the
 * directory given. Usage: fraction MODE ITERATIONS_PER_CALL CALLS [DIR]. Prints the nanoseconds of the
 * fastest of several batches, per call interval. Under callgrind, its instruction count per interval
 * says how many instructions an interval is. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define WORDS (512 * 1024 / 8)
static uint64_t ws[WORDS];

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}

__attribute__((noipa)) uint64_t work(uint64_t x, long iterations) {
  for (long i = 0; i < iterations; i++) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    ws[(x >> 33) & (WORDS - 1)] += x;
  }
  return x;
}

int main(int argc, char **argv) {
  if (argc < 4) return 2;
  const char *mode = argv[1];
  long per = atol(argv[2]), calls = atol(argv[3]);
  int fd = -1;
  char buf[64] = {0};
  if (strcmp(mode, "pwrite") == 0) {
    char path[4096];
    snprintf(path, sizeof path, "%s/flexvm-fraction-%d", argc > 4 ? argv[4] : "/tmp", (int)getpid());
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) return 1;
    unlink(path);
  }
  int call = strcmp(mode, "getppid") == 0 ? 1 : fd >= 0 ? 2 : 0;
  uint64_t x = 1;
  x = work(x, WORDS * 4); /* warm the working set */
  double best = 1e18;
  const long batch = 200;
  for (long b = 0; b < calls / batch; b++) {
    double t0 = now();
    for (long i = 0; i < batch; i++) {
      x = work(x, per);
      if (call == 1) syscall(SYS_getppid);
      else if (call == 2 && pwrite(fd, buf, sizeof buf, 0) != sizeof buf) return 3;
    }
    double t = (now() - t0) / batch;
    if (t < best) best = t;
  }
  printf("%.1f %llu\n", best, (unsigned long long)(x & 1));
  return 0;
}
