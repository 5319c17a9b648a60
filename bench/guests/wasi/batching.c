// What batching wins for an unmodified WASI program (docs/wasi.md): the same work as several WASI
// calls or as one call whose system calls flexvm posts together. Times itself with the monotonic
// clock (meaningful on the os kernel; the virtual kernel's clock is simulated) and prints ns per
// unit of work for: 8 x fd_pread of 64 B against one fd_pread of 8 x 64 B (8 pread64 entries in
// flight at once), and 16 x poll_oneoff on one descriptor against one poll_oneoff with 16
// subscriptions (one poll entry). Needs a preopened /data.
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wasi/api.h>

static __wasi_timestamp_t now(void) {
  __wasi_timestamp_t t = 0;
  (void)!__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t);
  return t;
}

int main(int argc, char **argv) {
  int reps = argc > 1 ? atoi(argv[1]) : 2000;
  int fd = open("/data/batch.bin", O_CREAT | O_TRUNC | O_RDWR, 0644);
  if (fd < 0) { perror("open"); return 1; }
  char block[512];
  memset(block, 'x', sizeof block);
  write(fd, block, sizeof block);
  uint8_t buf[512];
  __wasi_iovec_t iov[8];
  for (int i = 0; i < 8; i++) { iov[i].buf = buf + 64 * i; iov[i].buf_len = 64; }
  __wasi_size_t n;
  __wasi_timestamp_t t0 = now();
  for (int r = 0; r < reps; r++)
    for (int i = 0; i < 8; i++) (void)__wasi_fd_pread(fd, &iov[i], 1, 64 * i, &n);
  __wasi_timestamp_t t1 = now();
  for (int r = 0; r < reps; r++) (void)__wasi_fd_pread(fd, iov, 8, 0, &n);
  __wasi_timestamp_t t2 = now();
  printf("pread 8 calls: %llu ns per 8 reads\n", (unsigned long long)((t1 - t0) / reps));
  printf("pread 1 call of 8 iovecs: %llu ns per 8 reads\n", (unsigned long long)((t2 - t1) / reps));

  __wasi_subscription_t subs[16];
  __wasi_event_t evs[16];
  memset(subs, 0, sizeof subs);
  for (int i = 0; i < 16; i++) {
    subs[i].userdata = i;
    subs[i].u.tag = __WASI_EVENTTYPE_FD_WRITE;
    subs[i].u.u.fd_write.file_descriptor = fd;
  }
  t0 = now();
  for (int r = 0; r < reps; r++)
    for (int i = 0; i < 16; i++) (void)__wasi_poll_oneoff(&subs[i], evs, 1, &n);
  t1 = now();
  for (int r = 0; r < reps; r++) (void)__wasi_poll_oneoff(subs, evs, 16, &n);
  t2 = now();
  printf("poll 16 calls: %llu ns per 16 subscriptions\n", (unsigned long long)((t1 - t0) / reps));
  printf("poll 1 call of 16 subscriptions: %llu ns per 16 subscriptions\n", (unsigned long long)((t2 - t1) / reps));
  close(fd);
  unlink("/data/batch.bin");
  return 0;
}
