// A system-call-heavy WASI program for bench/suites/wasi.ts: in the preopened directory /data it
// creates FILES small files, reads each back in 64-byte reads, walks the directory, removes the
// files, and writes LINES short lines to standard output with one write each; ROUNDS times. Prints
// "start" and "end" around the work (the harness times the lines' arrival). Plain POSIX calls, no
// stdio buffering on the hot path: every call is one WASI call (open is path_open + fd_fdstat_get).
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
  int files = argc > 1 ? atoi(argv[1]) : 100;
  int lines = argc > 2 ? atoi(argv[2]) : 1000;
  int rounds = argc > 3 ? atoi(argv[3]) : 1;
  char path[64], buf[64], line[32];
  const char *payload = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  write(1, "start\n", 6);
  long entries = 0;
  for (int r = 0; r < rounds; r++) {
    for (int i = 0; i < files; i++) {
      snprintf(path, sizeof path, "/data/f%d", i);
      int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
      if (fd < 0) { perror("open"); return 1; }
      for (int k = 0; k < 4; k++) write(fd, payload, 64);
      close(fd);
    }
    for (int i = 0; i < files; i++) {
      snprintf(path, sizeof path, "/data/f%d", i);
      int fd = open(path, O_RDONLY);
      if (fd < 0) { perror("open"); return 1; }
      while (read(fd, buf, sizeof buf) > 0) {}
      close(fd);
    }
    DIR *d = opendir("/data");
    if (!d) { perror("opendir"); return 1; }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) entries++;
    closedir(d);
    for (int i = 0; i < files; i++) {
      snprintf(path, sizeof path, "/data/f%d", i);
      unlink(path);
    }
    for (int i = 0; i < lines; i++) {
      int n = snprintf(line, sizeof line, "line %d\n", i);
      write(2, line, n); // standard error: the harness keeps standard output for its markers
    }
  }
  char done[64];
  int n = snprintf(done, sizeof done, "end %ld\n", entries);
  write(1, done, n);
  return 0;
}
