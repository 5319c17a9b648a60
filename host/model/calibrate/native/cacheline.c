/* One modified cache line moving between two threads: they take turns writing a shared counter
 * (each waits for the other's write), so each turn is one transfer. Also the futex wake-up: the two
 * threads take turns sleeping on a futex and waking the other. Prints "transfer_ns wakeup_ns". */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static _Alignas(64) _Atomic long turn;
static _Alignas(64) _Atomic int word;
static const long rounds = 200000;
static const long wakes = 5000;

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}

static void *bouncer(void *arg) {
  (void)arg;
  for (long i = 1; i < 2 * rounds; i += 2) {
    while (atomic_load_explicit(&turn, memory_order_acquire) != i) {}
    atomic_store_explicit(&turn, i + 1, memory_order_release);
  }
  return NULL;
}

static void futex_wait(_Atomic int *w, int v) { syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, v, NULL, NULL, 0); }
static void futex_wake(_Atomic int *w) { syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0); }

static void *sleeper(void *arg) {
  (void)arg;
  for (long i = 0; i < wakes; i++) {
    while (atomic_load(&word) == 0) futex_wait(&word, 0);
    atomic_store(&word, 0);
    futex_wake(&word);
  }
  return NULL;
}

int main(void) {
  pthread_t t;
  pthread_create(&t, NULL, bouncer, NULL);
  /* The fastest of many short batches: a batch the scheduler interrupted is slower, never faster. */
  double best_transfer = 1e18, best_wake = 1e18;
  const long batch = 500;
  for (long b = 0; b < rounds / batch; b++) {
    double t0 = now();
    for (long i = 2 * b * batch; i < 2 * (b + 1) * batch; i += 2) {
      while (atomic_load_explicit(&turn, memory_order_acquire) != i) {}
      atomic_store_explicit(&turn, i + 1, memory_order_release);
    }
    double t1 = now();
    if ((t1 - t0) / (2.0 * batch) < best_transfer) best_transfer = (t1 - t0) / (2.0 * batch);
  }
  pthread_join(t, NULL);
  pthread_create(&t, NULL, sleeper, NULL);
  for (long i = 0; i < wakes; i++) {
    double t2 = now();
    atomic_store(&word, 1);
    futex_wake(&word);
    while (atomic_load(&word) == 1) futex_wait(&word, 1);
    double t3 = now();
    if ((t3 - t2) / 2.0 < best_wake) best_wake = (t3 - t2) / 2.0;
  }
  pthread_join(t, NULL);
  printf("%.1f %.1f\n", best_transfer, best_wake);
  return 0;
}
