// Copies standard input to standard output with fd_read/fd_write, then reports the byte count on
// standard error: the host's standard input reaching a WASI program.
#include <stdio.h>
#include <unistd.h>

int main(void) {
  char buf[1000];
  long total = 0;
  ssize_t n;
  while ((n = read(0, buf, sizeof buf)) > 0) {
    write(1, buf, (size_t)n);
    total += n;
  }
  fprintf(stderr, "read %ld bytes\n", total);
  return n < 0 ? 1 : 0;
}
