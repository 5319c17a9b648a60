// Symlinks inside a preopen (".", wasmtime's --dir HOST::.): one to a file beside it opens; one that
// leads out of the preopen, a dangling one and a loop are refused with the errno the kernel gives.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void try_open(const char *name) {
  int fd = open(name, O_RDONLY);
  if (fd >= 0) {
    char buf[16] = {0};
    read(fd, buf, sizeof buf - 1);
    printf("%s: opened, reads %s", name, buf);
    close(fd);
  } else printf("%s: %s\n", name, strerror(errno));
}

int main(void) {
  try_open("link-in");
  try_open("sub/../link-in");
  try_open("link-out");
  try_open("dangling");
  try_open("loop");
  DIR *d = opendir(".");
  int n = 0;
  while (d && readdir(d)) n++;
  printf("entries %d\n", n);
  return 0;
}
