/* The loops whose instructions calibrate the Wasm-to-x86 ratio, the same as loops.wat: an FNV-1a
 * hash over a buffer and a scan for the end of an HTTP header (a byte search with a small state
 * machine). Run under callgrind, which counts the instructions of `kernels` exactly. */
#include <stdint.h>
#include <stdio.h>

static unsigned char buf[4096];

__attribute__((noipa)) uint32_t fnv(const unsigned char *p, int n) {
  uint32_t h = 2166136261u;
  for (int i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
  return h;
}

__attribute__((noipa)) int header_end(const unsigned char *p, int n) {
  int state = 0;
  for (int i = 0; i < n; i++) {
    unsigned char c = p[i];
    if (c == '\r') state = (state == 2) ? 3 : 1;
    else if (c == '\n') { if (state == 3) return i + 1; state = (state == 1) ? 2 : 0; }
    else state = 0;
  }
  return -1;
}

__attribute__((noipa)) uint32_t kernels(int rounds) {
  uint32_t acc = 0;
  for (int r = 0; r < rounds; r++) acc += fnv(buf, 4096) + (uint32_t)header_end(buf, 4096);
  return acc;
}

int main(void) {
  for (int i = 0; i < 4096; i++) buf[i] = (unsigned char)("GET /index.html HTTP/1.1\r\nHost: x\r\n"[i % 35]);
  printf("%u\n", kernels(100));
  return 0;
}
