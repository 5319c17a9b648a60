// The start-up benchmark's WASI reference (bench/suites/startup.ts): a C hello world, run by
// node:wasi and by flexvm. Built with Debian's clang and wasi-libc at run time.
#include <stdio.h>

int main(void) {
  puts("hello");
  return 0;
}
