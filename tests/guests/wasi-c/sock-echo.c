// Serves one connection on the listening socket the host granted (fd 3, from --listen): accepts it,
// answers each message upper-cased until the client shuts down its side, then shuts down and exits.
#include <ctype.h>
#include <stdio.h>
#include <wasi/api.h>

int main(void) {
  __wasi_fd_t conn;
  __wasi_errno_t e = __wasi_sock_accept(3, 0, &conn);
  if (e != 0) { printf("accept failed %d\n", e); return 1; }
  printf("accepted\n");
  fflush(stdout);
  char buf[256];
  for (;;) {
    __wasi_iovec_t iov = {(uint8_t *)buf, sizeof buf};
    __wasi_size_t n = 0;
    __wasi_roflags_t ro;
    e = __wasi_sock_recv(conn, &iov, 1, 0, &n, &ro);
    if (e != 0) { printf("recv failed %d\n", e); return 1; }
    if (n == 0) break;
    for (size_t i = 0; i < n; i++) buf[i] = (char)toupper((unsigned char)buf[i]);
    __wasi_ciovec_t out = {(const uint8_t *)buf, n};
    __wasi_size_t sent = 0;
    e = __wasi_sock_send(conn, &out, 1, 0, &sent);
    if (e != 0 || sent != n) { printf("send failed %d\n", e); return 1; }
  }
  __wasi_ciovec_t bye = {(const uint8_t *)"BYE\n", 4};
  __wasi_size_t sent = 0;
  if (__wasi_sock_send(conn, &bye, 1, 0, &sent) != 0) return 1;
  printf("shutdown %d\n", __wasi_sock_shutdown(conn, __WASI_SDFLAGS_WR));
  printf("bad shutdown %d\n", __wasi_sock_shutdown(conn, 0));
  printf("accept on a connection %d\n", __wasi_sock_accept(conn, 0, &conn));
  printf("recv on a file %d\n", __wasi_sock_recv(1, 0, 0, 0, 0, 0));
  return 0;
}
