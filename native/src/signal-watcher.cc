// Ctrl-C and SIGTERM while a guest runs on Node's main thread (`flexvm run`, docs/startup.md).
//
// The guest blocks that thread, so neither its event loop (where Node's signal listeners run) nor
// any JavaScript of flexvm's can take a signal while it runs. The addon takes them instead: while
// the CLI's main-thread path runs, its own handlers replace SIGINT's and SIGTERM's (libuv's, or
// Node's own that ends the process), saved and put back exactly at close. A handler does only what
// is safe in one (a counter and a futex wake); a watcher thread then applies the CLI's policy:
//
// - the first request prints the CLI's line, writes the guest's shutdown word and wakes its
//   completions word (what the host does for a guest on a worker) and starts the grace period;
// - a second request, or the end of the grace period, forces the end: the guest is woken, and
//   V8's TerminateExecution (thread-safe) stops the main thread's JavaScript and Wasm wherever it
//   is, computing or not, as far as the `run` call that entered the guest; `run` cancels the
//   termination and answers false, and the CLI ends the guest there (status 137, statistics).
//   Outside `run` (before the guest started, after it ended) the main thread's event loop runs:
//   the end is handed to it (a uv_async) and the CLI's onForce callback carries it out.
//
// sigwaitinfo on a thread of its own cannot do this: Node's threads have these signals unblocked,
// so the kernel delivers to any of them. The watcher thread blocks every signal itself.
#include "signal-watcher.h"

#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include <cerrno>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "executor.h"  // futexWait, futexWakeAll

namespace flexvm {
namespace {

using v8::Context;
using v8::Function;
using v8::FunctionCallbackInfo;
using v8::Global;
using v8::HandleScope;
using v8::Integer;
using v8::Isolate;
using v8::Local;
using v8::MaybeLocal;
using v8::Object;
using v8::String;
using v8::Value;

constexpr int kSignals[] = {SIGINT, SIGTERM};
constexpr int kSignalCount = 2;
// Why the guest must end now (watcher.forced()).
constexpr int kNoForce = 0;
constexpr int kForceNow = 1;    // a second request
constexpr int kForceGrace = 2;  // it did not stop within the grace period

// The words a handler touches: plain integers, no locks, no allocation.
int32_t gArrived = 0;  // requests (SIGINT, SIGTERM) taken by the handler since the process started
int32_t gBell = 0;     // bumped by the handler and by close; the watcher thread sleeps on it

void ring() {
  __atomic_add_fetch(&gBell, 1, __ATOMIC_SEQ_CST);
  syscall(SYS_futex, &gBell, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}

void onSignal(int) {
  int saved = errno;
  __atomic_add_fetch(&gArrived, 1, __ATOMIC_SEQ_CST);
  ring();
  errno = saved;
}

int64_t nowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

void writeAll(int fd, const std::string& s) {
  size_t done = 0;
  while (done < s.size()) {
    ssize_t n = write(fd, s.data() + done, s.size() - done);
    if (n > 0) done += size_t(n);
    else if (n < 0 && errno == EINTR) continue;
    else return;  // standard error gone: the line is lost, the policy goes on
  }
}

struct Watcher {
  Isolate* iso = nullptr;
  int generation = 0;
  Global<Context> context;
  Global<Function> onForce;
  int64_t graceNs = 0;
  std::string stopLine, forceLine;
  struct sigaction saved[kSignalCount];
  pthread_t thread;
  uv_async_t async;
  int32_t seen = 0;  // gArrived when it started: requests before are not its own

  std::mutex mu;
  // Under mu:
  int stops = 0;
  int forced = kNoForce;
  bool told = false;         // onForce has been called
  bool inside = false;       // the main thread is in run(): a forced end terminates its JavaScript
  bool terminating = false;  // TerminateExecution was asked during this run()
  bool closing = false;
  int64_t graceAt = -1;      // when the grace period ends (CLOCK_MONOTONIC ns; -1: not running)
  std::shared_ptr<v8::BackingStore> memory;  // the guest's, once it registered
  uint32_t shutdownAddr = 0, completionsAddr = 0;

  int32_t* word(uint32_t addr) { return reinterpret_cast<int32_t*>(static_cast<uint8_t*>(memory->Data()) + addr); }

  // The guest's completions word changes and its sleepers wake: it looks at its shutdown word.
  void wakeGuest() {
    if (!memory) return;
    __atomic_add_fetch(word(completionsAddr), 1, __ATOMIC_SEQ_CST);
    futexWakeAll(word(completionsAddr));
  }

  // The stop request, as the host writes it for a guest on a worker (SupervisedGuest.kill).
  void askStop() {
    if (!memory) return;  // written when it registers
    __atomic_store_n(word(shutdownAddr), 1, __ATOMIC_SEQ_CST);
    wakeGuest();
  }

  void force(int kind) {
    if (forced != kNoForce) return;
    forced = kind;
    wakeGuest();  // asleep, it comes back to Wasm, where the termination lands
    if (inside) {
      terminating = true;
      iso->TerminateExecution();
    } else {
      uv_async_send(&async);  // the event loop runs: onForce there
    }
  }

  void onRequest() {
    stops++;
    if (stops == 1) {
      writeAll(2, stopLine);
      askStop();
      graceAt = nowNs() + graceNs;
    } else if (stops == 2) {
      writeAll(2, forceLine);
      force(kForceNow);
    }
  }
};

Watcher* gWatcher = nullptr;  // one at most: signal dispositions belong to the process
int gGenerations = 0;

void* watch(void* arg) {
  Watcher* w = static_cast<Watcher*>(arg);
  int32_t seen = w->seen;
  for (;;) {
    int32_t bell = __atomic_load_n(&gBell, __ATOMIC_SEQ_CST);
    int32_t arrived = __atomic_load_n(&gArrived, __ATOMIC_SEQ_CST);
    int64_t waitNs = -1;
    {
      std::lock_guard<std::mutex> lock(w->mu);
      if (w->closing) return nullptr;
      for (; seen != arrived; seen++) w->onRequest();
      if (w->graceAt >= 0 && w->forced == kNoForce) {
        int64_t left = w->graceAt - nowNs();
        if (left <= 0) w->force(kForceGrace);
        else waitNs = left;
      }
    }
    futexWait(&gBell, bell, waitNs);
  }
}

// A forced end while the event loop runs: the CLI's onForce(kind), once.
void onAsync(uv_async_t* h) {
  Watcher* w = static_cast<Watcher*>(h->data);
  if (gWatcher != w) return;
  int kind;
  {
    std::lock_guard<std::mutex> lock(w->mu);
    if (w->forced == kNoForce || w->told) return;
    w->told = true;
    kind = w->forced;
  }
  Isolate* iso = w->iso;
  HandleScope scope(iso);
  Local<Context> ctx = w->context.Get(iso);
  Context::Scope cs(ctx);
  Local<Value> argv[] = {Integer::New(iso, kind)};
  MaybeLocal<Value> r = node::MakeCallback(iso, ctx->Global(), w->onForce.Get(iso), 1, argv, node::async_context{0, 0});
  if (r.IsEmpty()) return;  // it threw: Node reported it as any callback's exception
}

void throwError(Isolate* iso, const char* m) {
  iso->ThrowException(v8::Exception::Error(String::NewFromUtf8(iso, m).ToLocalChecked()));
}

// The watcher a function of the object watchSignals returned acts on, or null (and a JS error)
// once that one is closed or on another thread.
Watcher* current(const FunctionCallbackInfo<Value>& a) {
  Isolate* iso = a.GetIsolate();
  Watcher* w = gWatcher;
  if (!w || w->generation != a.Data().As<Integer>()->Value() || w->iso != iso) {
    throwError(iso, "the signal watcher is closed (or belongs to another thread)");
    return nullptr;
  }
  return w;
}

// guest(memory, shutdownAddr, completionsAddr): the guest registered; a stop request now writes its
// shutdown word (at once if one came before).
void GuestFn(const FunctionCallbackInfo<Value>& a) {
  Isolate* iso = a.GetIsolate();
  Watcher* w = current(a);
  if (!w) return;
  if (a.Length() < 3 || !a[0]->IsSharedArrayBuffer() || !a[1]->IsUint32() || !a[2]->IsUint32()) {
    return throwError(iso, "guest(memory, shutdownAddr, completionsAddr)");
  }
  auto store = a[0].As<v8::SharedArrayBuffer>()->GetBackingStore();
  uint32_t shutdown = a[1].As<v8::Uint32>()->Value();
  uint32_t completions = a[2].As<v8::Uint32>()->Value();
  for (uint32_t addr : {shutdown, completions}) {
    if (addr % 4 != 0 || uint64_t(addr) + 4 > store->ByteLength()) return throwError(iso, "guest: address out of range");
  }
  std::lock_guard<std::mutex> lock(w->mu);
  w->memory = store;
  w->shutdownAddr = shutdown;
  w->completionsAddr = completions;
  if (w->stops > 0) w->askStop();
}

// run(fn) -> true once fn returned, false when a forced end stopped it (or came before it started).
// fn's exceptions pass through.
void RunFn(const FunctionCallbackInfo<Value>& a) {
  Isolate* iso = a.GetIsolate();
  Watcher* w = current(a);
  if (!w) return;
  if (a.Length() < 1 || !a[0]->IsFunction()) return throwError(iso, "run(fn)");
  {
    std::lock_guard<std::mutex> lock(w->mu);
    if (w->forced != kNoForce) return a.GetReturnValue().Set(false);
    w->inside = true;
  }
  v8::TryCatch tc(iso);
  MaybeLocal<Value> r = a[0].As<Function>()->Call(iso->GetCurrentContext(), v8::Undefined(iso), 0, nullptr);
  bool ours;
  {
    std::lock_guard<std::mutex> lock(w->mu);
    w->inside = false;
    ours = w->terminating;
    w->terminating = false;
  }
  if (ours) {
    // Asked by the watcher, taken or still pending (fn returned just then): this thread goes on.
    iso->CancelTerminateExecution();
    return a.GetReturnValue().Set(!r.IsEmpty());
  }
  if (tc.HasCaught() && !tc.HasTerminated()) {
    tc.ReThrow();
    return;
  }
  a.GetReturnValue().Set(!r.IsEmpty());
}

// stops() -> requests so far
void StopsFn(const FunctionCallbackInfo<Value>& a) {
  Watcher* w = current(a);
  if (!w) return;
  std::lock_guard<std::mutex> lock(w->mu);
  a.GetReturnValue().Set(w->stops);
}

// forced() -> 0, 1 (a second request) or 2 (the grace period ended)
void ForcedFn(const FunctionCallbackInfo<Value>& a) {
  Watcher* w = current(a);
  if (!w) return;
  std::lock_guard<std::mutex> lock(w->mu);
  a.GetReturnValue().Set(w->forced);
}

// close(): the previous handlers back (unless someone replaced ours since), the thread joined.
void CloseFn(const FunctionCallbackInfo<Value>& a) {
  Watcher* w = gWatcher;
  if (!w || w->generation != a.Data().As<Integer>()->Value()) return;  // closed already
  if (w->iso != a.GetIsolate()) return throwError(a.GetIsolate(), "the signal watcher belongs to another thread");
  for (int i = 0; i < kSignalCount; i++) {
    struct sigaction now;
    if (sigaction(kSignals[i], nullptr, &now) == 0 && now.sa_handler == onSignal) sigaction(kSignals[i], &w->saved[i], nullptr);
  }
  {
    std::lock_guard<std::mutex> lock(w->mu);
    w->closing = true;
  }
  ring();
  pthread_join(w->thread, nullptr);
  gWatcher = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(&w->async), [](uv_handle_t* h) { delete static_cast<Watcher*>(h->data); });
}

}  // namespace

void WatchSignals(const FunctionCallbackInfo<Value>& a) {
  Isolate* iso = a.GetIsolate();
  Local<Context> ctx = iso->GetCurrentContext();
  if (gWatcher) return throwError(iso, "signals are watched already");
  if (a.Length() < 1 || !a[0]->IsObject()) return throwError(iso, "watchSignals({ graceMs, stopLine, forceLine, onForce })");
  Local<Object> o = a[0].As<Object>();
  auto get = [&](const char* name) {
    return o->Get(ctx, String::NewFromUtf8(iso, name).ToLocalChecked()).FromMaybe(Local<Value>());
  };
  Local<Value> grace = get("graceMs"), stopLine = get("stopLine"), forceLine = get("forceLine"), onForce = get("onForce");
  if (grace.IsEmpty() || !grace->IsNumber() || !(grace.As<v8::Number>()->Value() >= 0) || stopLine.IsEmpty() ||
      !stopLine->IsString() || forceLine.IsEmpty() || !forceLine->IsString() || onForce.IsEmpty() || !onForce->IsFunction()) {
    return throwError(iso, "watchSignals({ graceMs, stopLine, forceLine, onForce })");
  }
  uv_loop_t* loop = node::GetCurrentEventLoop(iso);
  if (!loop) return throwError(iso, "watchSignals: no event loop on this thread");

  auto* w = new Watcher();
  w->iso = iso;
  w->generation = ++gGenerations;
  w->context.Reset(iso, ctx);
  w->onForce.Reset(iso, onForce.As<Function>());
  w->graceNs = int64_t(grace.As<v8::Number>()->Value() * 1e6);
  w->stopLine = *String::Utf8Value(iso, stopLine);
  w->forceLine = *String::Utf8Value(iso, forceLine);
  w->seen = __atomic_load_n(&gArrived, __ATOMIC_SEQ_CST);
  if (uv_async_init(loop, &w->async, onAsync) != 0) {
    delete w;
    return throwError(iso, "watchSignals: uv_async_init failed");
  }
  w->async.data = w;
  uv_unref(reinterpret_cast<uv_handle_t*>(&w->async));  // it never keeps the process alive

  // The thread takes no signal itself (the handlers run on Node's threads, or the syscall threads).
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int rc = pthread_create(&w->thread, nullptr, watch, w);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (rc != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(&w->async), [](uv_handle_t* h) { delete static_cast<Watcher*>(h->data); });
    return throwError(iso, "watchSignals: cannot start its thread");
  }
  pthread_setname_np(w->thread, "flexvm-signals");

  struct sigaction sa = {};
  sa.sa_handler = onSignal;
  sa.sa_flags = SA_RESTART;  // as libuv's: other threads' calls go on
  sigemptyset(&sa.sa_mask);
  for (int s : kSignals) sigaddset(&sa.sa_mask, s);
  for (int i = 0; i < kSignalCount; i++) sigaction(kSignals[i], &sa, &w->saved[i]);
  gWatcher = w;

  Local<Object> r = Object::New(iso);
  Local<Integer> gen = Integer::New(iso, w->generation);
  auto set = [&](const char* name, v8::FunctionCallback cb) {
    r->Set(ctx, String::NewFromUtf8(iso, name).ToLocalChecked(), Function::New(ctx, cb, gen).ToLocalChecked()).Check();
  };
  set("guest", GuestFn);
  set("run", RunFn);
  set("stops", StopsFn);
  set("forced", ForcedFn);
  set("close", CloseFn);
  a.GetReturnValue().Set(r);
}

}  // namespace flexvm
