// The JavaScript face of the native kernel (a Node addon on V8's API: Node-API cannot see a
// SharedArrayBuffer in Node 20, V8's SharedArrayBuffer::GetBackingStore() can, and holding that
// shared_ptr keeps the guest's memory alive for as long as native code touches it).
//
// Executors and guests are named by integers so that any Node thread (the main thread, a guest's
// worker) can reach them. The guest-side functions (`imports`, `local`) return functions bound to
// one memory, used directly as the guest's Wasm imports.
#include <fcntl.h>
#include <node.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>

#include "executor.h"
#include "inline.h"
#include "local.h"
#include "sandbox.h"
#include "signal-watcher.h"

namespace flexvm {
namespace {

using v8::Array;
using v8::BigInt;
using v8::Context;
using v8::External;
using v8::Function;
using v8::FunctionCallbackInfo;
using v8::Global;
using v8::Integer;
using v8::Isolate;
using v8::Local;
using v8::Number;
using v8::Object;
using v8::SharedArrayBuffer;
using v8::String;
using v8::Uint32Array;
using v8::Value;

struct Binding {
  std::weak_ptr<Executor> ex;
  std::weak_ptr<Guest> g;
};

std::mutex gMu;
std::map<int, std::shared_ptr<Executor>> gExecutors;
int gNextExecutor = 1;
std::map<const void*, Binding> gByBase;  // guest memory base -> its executor and guest

std::shared_ptr<Executor> executorOf(int id) {
  std::lock_guard<std::mutex> lock(gMu);
  auto it = gExecutors.find(id);
  return it == gExecutors.end() ? nullptr : it->second;
}

void throwError(Isolate* iso, const std::string& m) {
  iso->ThrowException(v8::Exception::Error(String::NewFromUtf8(iso, m.c_str()).ToLocalChecked()));
}

int32_t intArg(const FunctionCallbackInfo<Value>& a, int i, int32_t dflt = 0) {
  if (a.Length() <= i || !a[i]->IsNumber()) return dflt;
  return a[i]->Int32Value(a.GetIsolate()->GetCurrentContext()).FromMaybe(dflt);
}

double numArg(const FunctionCallbackInfo<Value>& a, int i, double dflt = 0) {
  if (a.Length() <= i || !a[i]->IsNumber()) return dflt;
  return a[i].As<Number>()->Value();
}

Local<Value> prop(Isolate* iso, Local<Object> o, const char* name) {
  return o->Get(iso->GetCurrentContext(), String::NewFromUtf8(iso, name).ToLocalChecked()).ToLocalChecked();
}

double numProp(Isolate* iso, Local<Object> o, const char* name, double dflt) {
  Local<Value> v = prop(iso, o, name);
  return v->IsNumber() ? v.As<Number>()->Value() : dflt;
}

std::string strOf(Isolate* iso, Local<Value> v) {
  String::Utf8Value s(iso, v);
  return *s ? std::string(*s, size_t(s.length())) : std::string();
}

std::shared_ptr<v8::BackingStore> storeArg(const FunctionCallbackInfo<Value>& a, int i) {
  if (a.Length() <= i || !a[i]->IsSharedArrayBuffer()) return nullptr;
  return a[i].As<SharedArrayBuffer>()->GetBackingStore();
}

// Data of functions bound to one guest memory; freed when the function is collected.
struct Bound {
  std::shared_ptr<v8::BackingStore> store;
  std::unique_ptr<GuestMemory> mem;
  std::shared_ptr<LocalRunner> local;
  std::unique_ptr<InlineRunner> inliner;  // flexvm.wait's runs on the guest's own thread
  Binding binding;
  bool resolved = false;
  Global<Function> self;
};

Local<Function> boundFunction(Isolate* iso, v8::FunctionCallback cb, std::shared_ptr<Bound> data) {
  auto* holder = new std::shared_ptr<Bound>(std::move(data));
  Local<Function> f = Function::New(iso->GetCurrentContext(), cb, External::New(iso, holder)).ToLocalChecked();
  // One Global per function, weak: the holder goes when the function does.
  auto* g = new Global<Function>(iso, f);
  struct Pair {
    Global<Function>* g;
    std::shared_ptr<Bound>* h;
  };
  auto* pair = new Pair{g, holder};
  g->SetWeak(
      pair,
      [](const v8::WeakCallbackInfo<Pair>& info) {
        Pair* p = info.GetParameter();
        p->g->Reset();
        delete p->g;
        delete p->h;
        delete p;
      },
      v8::WeakCallbackType::kParameter);
  return f;
}

Bound& boundOf(const FunctionCallbackInfo<Value>& a) {
  return **static_cast<std::shared_ptr<Bound>*>(a.Data().As<External>()->Value());
}

// ------------------------------------------------------------------ executors

// createExecutor(threads, spinUs, maxSpinUs, trace) -> id
void CreateExecutor(const FunctionCallbackInfo<Value>& a) {
  Isolate* iso = a.GetIsolate();
  ExecutorOptions o;
  o.threads = intArg(a, 0, 1);
  if (o.threads < 1 || o.threads > FLEXVM_MAX_THREADS) return throwError(iso, "threads out of range");
  o.spinNs = int64_t(numArg(a, 1, 100)) * 1000;
  o.maxSpinNs = std::max(o.spinNs, int64_t(numArg(a, 2, 100)) * 1000);
  o.trace = a.Length() > 3 && a[3]->IsTrue();
  // Switches for interleaved A/B runs (docs/native-kernel.md, "Measured choices").
  const char* steal = getenv("FLEXVM_NATIVE_STEAL");
  const char* inl = getenv("FLEXVM_NATIVE_INLINE");
  o.steal = !(steal && strcmp(steal, "0") == 0);
  o.inlineWait = inl && strcmp(inl, "1") == 0;
  if (const char* poll = getenv("FLEXVM_NATIVE_POLL_US")) o.pollNs = int64_t(atoi(poll)) * 1000;
  const char* yield = getenv("FLEXVM_NATIVE_YIELD");
  o.yieldAfterWake = !(yield && strcmp(yield, "0") == 0);
  const char* filter = getenv("FLEXVM_NATIVE_SECCOMP");  // 0: no seccomp filter (to measure it)
  o.seccomp = !(filter && strcmp(filter, "0") == 0);
  if (const char* ms = getenv("FLEXVM_NATIVE_MAXSPIN_US")) o.maxSpinNs = std::max(o.spinNs, int64_t(atoi(ms)) * 1000);
  auto ex = std::make_shared<Executor>(o);
  if (!ex->ok()) return throwError(iso, std::string("cannot create the syscall threads' epoll sets: ") + strerror(errno));
  std::lock_guard<std::mutex> lock(gMu);
  int id = gNextExecutor++;
  gExecutors[id] = ex;
  a.GetReturnValue().Set(id);
}

void DestroyExecutor(const FunctionCallbackInfo<Value>& a) {
  std::shared_ptr<Executor> ex;
  {
    std::lock_guard<std::mutex> lock(gMu);
    auto it = gExecutors.find(intArg(a, 0));
    if (it == gExecutors.end()) return;
    ex = it->second;
    gExecutors.erase(it);
    for (auto b = gByBase.begin(); b != gByBase.end();) {
      if (b->second.ex.lock() == ex) b = gByBase.erase(b);
      else ++b;
    }
  }
  ex.reset();  // joins the threads
}

std::vector<std::string> splitGuestPath(const std::string& p) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t i = 0; i <= p.size(); i++) {
    if (i == p.size() || p[i] == '/') {
      std::string c = p.substr(start, i - start);
      if (c == "..") {
        if (!out.empty()) out.pop_back();
      } else if (!c.empty() && c != ".") {
        out.push_back(c);
      }
      start = i + 1;
    }
  }
  return out;
}

// Installs host descriptor `hostFd` (dup'ed) as guest descriptor `gfd`.
bool installStdio(Guest& g, int gfd, int hostFd) {
  int fd = -1;
  if (hostFd >= 0) {
    fd = fcntl(hostFd, F_DUPFD_CLOEXEC, 3);
  } else {
    // No stream: reads see EOF at once (a pipe whose write end is closed), writes fail with EPIPE.
    int p[2];
    if (pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) return false;
    fd = gfd == 0 ? p[0] : p[1];
    close(gfd == 0 ? p[1] : p[0]);
  }
  if (fd < 0) return false;
  struct stat st;
  Kind kind = Kind::Other;
  if (fstat(fd, &st) == 0) kind = S_ISFIFO(st.st_mode) ? Kind::Pipe : S_ISSOCK(st.st_mode) ? Kind::Socket : S_ISREG(st.st_mode) ? Kind::Regular : Kind::Other;
  if (kind == Kind::Pipe || kind == Kind::Socket) {
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0) fcntl(fd, F_SETFL, fl | O_NONBLOCK);
  }
  auto f = std::make_shared<File>(fd, kind);
  f->statusFlags = gfd == 0 ? O_RDONLY : O_WRONLY;
  return g.fds.installAt(gfd, std::move(f));
}

// attach(executor, sab, options) -> 0, or throws saying why
void Attach(const FunctionCallbackInfo<Value>& a) {
  Isolate* iso = a.GetIsolate();
  auto ex = executorOf(intArg(a, 0));
  if (!ex) return throwError(iso, "no such executor");
  auto store = storeArg(a, 1);
  if (!store) return throwError(iso, "guest memory must be a SharedArrayBuffer");
  if (a.Length() < 3 || !a[2]->IsObject()) return throwError(iso, "attach options missing");
  Local<Object> o = a[2].As<Object>();
  GuestMemory mem(store);
  uint32_t ctrl = uint32_t(numProp(iso, o, "ctrl", 0));
  uint32_t pagesPtr = uint32_t(numProp(iso, o, "pagesPtr", 0));
  uint32_t pageCount = uint32_t(numProp(iso, o, "pageCount", 0));
  // Absent (an older caller): no pages added at run time.
  uint32_t maskPages = uint32_t(numProp(iso, o, "maskPages", pageCount));
  uint32_t pageMax = uint32_t(numProp(iso, o, "pageMax", pageCount));
  std::string bad = checkLayout(mem, ctrl, pagesPtr, pageCount, maskPages, pageMax);
  if (!bad.empty()) return throwError(iso, bad);
  int threads = int(numProp(iso, o, "threads", 1));
  if (threads < 1 || threads > ex->options.threads) return throwError(iso, "guest threads exceed the executor's");
  Limits limits;
  limits.maxFds = uint32_t(numProp(iso, o, "maxFds", 65536));
  limits.maxPending = uint32_t(numProp(iso, o, "maxPending", 65536));
  bool listenAny = prop(iso, o, "listenAny")->IsTrue();
  auto g = std::make_shared<Guest>(int(numProp(iso, o, "gid", 0)), int(numProp(iso, o, "pid", 0)),
                                   strOf(iso, prop(iso, o, "name")), mem, ctrl, pagesPtr, pageCount, maskPages, pageMax, threads, limits,
                                   listenAny);
  g->scanned = !prop(iso, o, "local")->IsTrue();
  g->strictLinks = prop(iso, o, "strictLinks")->IsTrue();
  Local<Value> grants = prop(iso, o, "grants");
  if (grants->IsArray()) {
    Local<Array> arr = grants.As<Array>();
    for (uint32_t i = 0; i < arr->Length(); i++) {
      Local<Value> gv = arr->Get(iso->GetCurrentContext(), i).ToLocalChecked();
      if (!gv->IsObject()) continue;
      Local<Object> go = gv.As<Object>();
      Grant gr;
      gr.hostPath = strOf(iso, prop(iso, go, "hostPath"));
      gr.guest = splitGuestPath(strOf(iso, prop(iso, go, "guestPath")));
      gr.readOnly = prop(iso, go, "readOnly")->IsTrue();
      gr.dirfd = open(gr.hostPath.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (gr.dirfd < 0) return throwError(iso, "cannot open granted directory " + gr.hostPath + ": " + strerror(errno));
      g->grants.push_back(std::move(gr));
    }
  }
  // The connect() allow-list, flattened as [net, prefix, port (-1: any)] triples; absent, loopback
  // only (127.0.0.0/8, and 0.0.0.0: this host, as Linux connects it), as ConnectPolicy's default.
  Local<Value> rules = prop(iso, o, "connectRules");
  if (!rules->IsArray()) {
    g->connectRules.push_back(ConnectRule{0x7f000000u, 8, -1});
    g->connectRules.push_back(ConnectRule{0, 32, -1});
  } else {
    Local<Array> arr = rules.As<Array>();
    for (uint32_t i = 0; i + 2 < arr->Length(); i += 3) {
      auto num = [&](uint32_t k) {
        return arr->Get(iso->GetCurrentContext(), k).ToLocalChecked()->NumberValue(iso->GetCurrentContext()).FromMaybe(0);
      };
      ConnectRule r;
      r.net = uint32_t(num(i));
      r.prefix = int(num(i + 1));
      r.port = int(num(i + 2));
      g->connectRules.push_back(r);
    }
  }
  Local<Value> stdio = prop(iso, o, "stdio");
  if (stdio->IsString() && strOf(iso, stdio) == "pipes") {
    // The guest's standard streams are pipes; the embedder takes the other ends (takeStdio).
    for (int i = 0; i < 3; i++) {
      int p[2];
      if (pipe2(p, O_CLOEXEC) != 0) return throwError(iso, std::string("pipe: ") + strerror(errno));
      int guestEnd = i == 0 ? p[0] : p[1];
      g->stdioHost[i] = i == 0 ? p[1] : p[0];
      bool ok = installStdio(*g, i, guestEnd);
      close(guestEnd);
      if (!ok) return throwError(iso, std::string("cannot set up standard stream: ") + strerror(errno));
    }
  } else for (int i = 0; i < 3; i++) {
    int fd = -1;
    if (stdio->IsArray()) {
      Local<Value> v = stdio.As<Array>()->Get(iso->GetCurrentContext(), uint32_t(i)).ToLocalChecked();
      if (v->IsNumber()) fd = v->Int32Value(iso->GetCurrentContext()).FromMaybe(-1);
    }
    if (!installStdio(*g, i, fd)) return throwError(iso, std::string("cannot set up standard stream: ") + strerror(errno));
  }
  {
    std::lock_guard<std::mutex> lock(gMu);
    gByBase[store->Data()] = Binding{ex, g};
  }
  ex->attach(g);
  a.GetReturnValue().Set(0);
}

Local<Uint32Array> countsArray(Isolate* iso, const GuestRef& g, bool completed) {
  Local<v8::ArrayBuffer> buf = v8::ArrayBuffer::New(iso, kSysnoLimit * 4);
  auto* out = static_cast<uint32_t*>(buf->GetBackingStore()->Data());
  for (int n = 0; n < kSysnoLimit; n++) {
    uint32_t sum = 0;
    for (auto& s : g->ts) sum += completed ? s->completed[n] : s->submitted[n];
    out[n] = sum;
  }
  return Uint32Array::New(buf, 0, kSysnoLimit);
}

// detach(executor, gid) -> [submitted, completed] per system call number, or null
void Detach(const FunctionCallbackInfo<Value>& a) {
  Isolate* iso = a.GetIsolate();
  auto ex = executorOf(intArg(a, 0));
  if (!ex) return;
  GuestRef g = ex->detach(intArg(a, 1));
  if (!g) return a.GetReturnValue().SetNull();
  {
    std::lock_guard<std::mutex> lock(gMu);
    auto it = gByBase.find(g->mem.store()->Data());
    if (it != gByBase.end() && it->second.g.lock() == g) gByBase.erase(it);
  }
  Local<Array> r = Array::New(iso, 2);
  r->Set(iso->GetCurrentContext(), 0, countsArray(iso, g, false)).Check();
  r->Set(iso->GetCurrentContext(), 1, countsArray(iso, g, true)).Check();
  a.GetReturnValue().Set(r);
}

// addPages(executor, gid, ptr, count) -> the guest's new page count, or -errno (flexvm.add_pages)
void AddPages(const FunctionCallbackInfo<Value>& a) {
  auto ex = executorOf(intArg(a, 0));
  GuestRef g = ex ? ex->find(intArg(a, 1)) : nullptr;
  if (!g) return a.GetReturnValue().Set(-EINVAL);
  a.GetReturnValue().Set(g->addPages(uint32_t(intArg(a, 2)), intArg(a, 3)));
}

// takeStdio(executor, gid) -> [stdin write end, stdout read end, stderr read end] (once), or null
void TakeStdio(const FunctionCallbackInfo<Value>& a) {
  Isolate* iso = a.GetIsolate();
  auto ex = executorOf(intArg(a, 0));
  GuestRef g = ex ? ex->find(intArg(a, 1)) : nullptr;
  if (!g) return a.GetReturnValue().SetNull();
  std::lock_guard<std::mutex> lock(gMu);
  Local<Array> r = Array::New(iso, 3);
  for (int i = 0; i < 3; i++) {
    r->Set(iso->GetCurrentContext(), uint32_t(i), Integer::New(iso, g->stdioHost[i])).Check();
    g->stdioHost[i] = -1;
  }
  a.GetReturnValue().Set(r);
}

// takeTrace(executor) -> flat array: pid, sysno, thread, flags, a0..a5, result per record
void TakeTrace(const FunctionCallbackInfo<Value>& a) {
  Isolate* iso = a.GetIsolate();
  auto ex = executorOf(intArg(a, 0));
  if (!ex) return;
  auto recs = ex->takeTrace();
  Local<Array> out = Array::New(iso, int(recs.size() * 11));
  Local<Context> ctx = iso->GetCurrentContext();
  uint32_t k = 0;
  for (auto& r : recs) {
    out->Set(ctx, k++, Integer::New(iso, r.pid)).Check();
    out->Set(ctx, k++, Integer::New(iso, r.sysno)).Check();
    out->Set(ctx, k++, Integer::New(iso, r.thread)).Check();
    out->Set(ctx, k++, Integer::New(iso, r.flags)).Check();
    for (int i = 0; i < 6; i++) out->Set(ctx, k++, Integer::New(iso, r.a[i])).Check();
    out->Set(ctx, k++, Number::New(iso, double(r.result))).Check();
  }
  a.GetReturnValue().Set(out);
}

// ------------------------------------------------------------------ waiting and waking

int32_t* checkedWord(const GuestMemory& mem, double addr) {
  if (!(addr >= 0) || addr > 4294967292.0) return nullptr;
  uint32_t p = uint32_t(addr);
  if (p % 4) return nullptr;
  uint8_t* at = mem.at(p, 4);
  return reinterpret_cast<int32_t*>(at);
}

// The guest and executor a bound function's memory belongs to (looked up once it registered).
void resolve(Bound* b, const GuestMemory& mem, std::shared_ptr<Guest>* g, std::shared_ptr<Executor>* ex) {
  if (b) {
    if (!b->resolved || !(*g = b->binding.g.lock())) {
      std::lock_guard<std::mutex> lock(gMu);
      auto it = gByBase.find(mem.store()->Data());
      if (it != gByBase.end()) {
        b->binding = it->second;
        b->resolved = true;
      }
    }
    *g = b->binding.g.lock();
    *ex = b->binding.ex.lock();
  } else {
    std::lock_guard<std::mutex> lock(gMu);
    auto it = gByBase.find(mem.store()->Data());
    if (it != gByBase.end()) {
      *g = it->second.g.lock();
      *ex = it->second.ex.lock();
    }
  }
}

// Wakes what sleeps on `addr` of guest memory `mem`: a syscall thread if it is one of its doorbells.
void wakeWord(Bound* b, const GuestMemory& mem, int32_t* word, uint32_t addr) {
  std::shared_ptr<Guest> g;
  std::shared_ptr<Executor> ex;
  resolve(b, mem, &g, &ex);
  if (g && ex) {
    uint32_t first = g->ctrl + FLEXVM_THREAD_LINES;
    if (addr >= first && addr < first + 64u * uint32_t(g->threads) && (addr - first) % 64 == FLEXVM_T_DOORBELL) {
      ex->wakeThread(int((addr - first) / 64));
      return;
    }
  }
  futexWakeAll(word);
}

// wait(sab, addr, expected, timeoutMs) -> 'ok' | 'not-equal' | 'timed-out' (like Atomics.wait)
void Wait(const FunctionCallbackInfo<Value>& a) {
  Isolate* iso = a.GetIsolate();
  auto store = storeArg(a, 0);
  if (!store) return throwError(iso, "wait: not a SharedArrayBuffer");
  GuestMemory mem(store);
  int32_t* w = checkedWord(mem, numArg(a, 1, -1));
  if (!w) return throwError(iso, "wait: address out of range");
  double ms = numArg(a, 3, -1);
  int r = futexWait(w, intArg(a, 2), ms < 0 ? -1 : int64_t(ms * 1e6));
  a.GetReturnValue().Set(String::NewFromUtf8(iso, r == 0 ? "ok" : r == 1 ? "not-equal" : "timed-out").ToLocalChecked());
}

// wake(sab, addr)
void Wake(const FunctionCallbackInfo<Value>& a) {
  Isolate* iso = a.GetIsolate();
  auto store = storeArg(a, 0);
  if (!store) return throwError(iso, "wake: not a SharedArrayBuffer");
  GuestMemory mem(store);
  double addr = numArg(a, 1, -1);
  int32_t* w = checkedWord(mem, addr);
  if (!w) return throwError(iso, "wake: address out of range");
  wakeWord(nullptr, mem, w, uint32_t(addr));
}

// The guest's imports flexvm.wait(addr, expected, timeout_us) -> i32 and flexvm.wake(addr) -> i32.
// A wait on the completions word of a guest served by syscall threads is the paper's flexsc_wait:
// the guest's own thread first runs what is pending (InlineRunner), and sleeps only if nothing
// completed. A timeout of 0 runs what is pending without sleeping.
void ImportWait(const FunctionCallbackInfo<Value>& a) {
  Bound& b = boundOf(a);
  double addr = numArg(a, 0, -1);
  int32_t* w = checkedWord(*b.mem, addr);
  if (!w) return a.GetReturnValue().Set(-EFAULT);
  int32_t expected = intArg(a, 1);
  int32_t us = intArg(a, 2, -1);
  std::shared_ptr<Guest> g;
  std::shared_ptr<Executor> ex;
  resolve(&b, *b.mem, &g, &ex);
  if (g && ex && g->scanned && uint32_t(addr) == g->ctrl + FLEXVM_C_COMPLETIONS) {
    if (aload(w) != expected) return a.GetReturnValue().Set(1);
    if (ex->options.inlineWait) {
      if (!b.inliner || !b.inliner->serves(*ex, g)) b.inliner = std::make_unique<InlineRunner>(*ex, g);
      b.inliner->run();
      if (aload(w) != expected) return a.GetReturnValue().Set(1);
    }
    if (us == 0) return a.GetReturnValue().Set(2);
  }
  a.GetReturnValue().Set(futexWait(w, expected, us < 0 ? -1 : int64_t(us) * 1000));
}

void ImportWake(const FunctionCallbackInfo<Value>& a) {
  Bound& b = boundOf(a);
  double addr = numArg(a, 0, -1);
  int32_t* w = checkedWord(*b.mem, addr);
  if (!w) return a.GetReturnValue().Set(-EFAULT);
  wakeWord(&b, *b.mem, w, uint32_t(addr));
  a.GetReturnValue().Set(0);
}

// imports(sab) -> { wait, wake }
void Imports(const FunctionCallbackInfo<Value>& a) {
  Isolate* iso = a.GetIsolate();
  auto store = storeArg(a, 0);
  if (!store) return throwError(iso, "imports: not a SharedArrayBuffer");
  auto b = std::make_shared<Bound>();
  b->store = store;
  b->mem = std::make_unique<GuestMemory>(store);
  Local<Object> o = Object::New(iso);
  Local<Context> ctx = iso->GetCurrentContext();
  o->Set(ctx, String::NewFromUtf8(iso, "wait").ToLocalChecked(), boundFunction(iso, ImportWait, b)).Check();
  o->Set(ctx, String::NewFromUtf8(iso, "wake").ToLocalChecked(), boundFunction(iso, ImportWake, b)).Check();
  a.GetReturnValue().Set(o);
}

// ------------------------------------------------------------------ epoll mode (the guest's own thread)

void LocalSyscall(const FunctionCallbackInfo<Value>& a) { boundOf(a).local->syscall(uint32_t(numArg(a, 0, 0))); }
void LocalYield(const FunctionCallbackInfo<Value>& a) {
  a.GetReturnValue().Set(boundOf(a).local->yield(uint32_t(numArg(a, 0, 0))));
}
void LocalWait(const FunctionCallbackInfo<Value>& a) { a.GetReturnValue().Set(boundOf(a).local->wait(intArg(a, 0, 0))); }
void LocalParked(const FunctionCallbackInfo<Value>& a) { a.GetReturnValue().Set(double(boundOf(a).local->parked())); }
void LocalClose(const FunctionCallbackInfo<Value>& a) { boundOf(a).local->close(); }
void LocalShim(const FunctionCallbackInfo<Value>& a) {
  int32_t args[4] = {intArg(a, 1), intArg(a, 2), intArg(a, 3), intArg(a, 4)};
  a.GetReturnValue().Set(double(boundOf(a).local->shim(intArg(a, 0), args)));
}

// local(executor, gid) -> { syscall, yield, wait, parked, shim } for a guest attached with local: true
void Local_(const FunctionCallbackInfo<Value>& a) {
  Isolate* iso = a.GetIsolate();
  auto ex = executorOf(intArg(a, 0));
  if (!ex) return throwError(iso, "no such executor");
  GuestRef g = ex->find(intArg(a, 1));
  if (!g) return throwError(iso, "no such guest");
  auto b = std::make_shared<Bound>();
  b->store = g->mem.store();
  b->mem = std::make_unique<GuestMemory>(b->store);
  b->local = std::make_shared<LocalRunner>(g, ex);
  if (!b->local->ok()) return throwError(iso, std::string("cannot create an epoll set: ") + strerror(errno));
  Local<Object> o = Object::New(iso);
  Local<Context> ctx = iso->GetCurrentContext();
  auto set = [&](const char* name, v8::FunctionCallback cb) {
    o->Set(ctx, String::NewFromUtf8(iso, name).ToLocalChecked(), boundFunction(iso, cb, b)).Check();
  };
  set("syscall", LocalSyscall);
  set("yield", LocalYield);
  set("wait", LocalWait);
  set("parked", LocalParked);
  set("shim", LocalShim);
  set("close", LocalClose);
  a.GetReturnValue().Set(o);
}

// ------------------------------------------------------------------ helpers

// pipe() -> [readFd, writeFd] (close-on-exec): the guest's standard streams travel through pipes.
void Pipe(const FunctionCallbackInfo<Value>& a) {
  Isolate* iso = a.GetIsolate();
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return throwError(iso, std::string("pipe: ") + strerror(errno));
  Local<Array> r = Array::New(iso, 2);
  r->Set(iso->GetCurrentContext(), 0, Integer::New(iso, p[0])).Check();
  r->Set(iso->GetCurrentContext(), 1, Integer::New(iso, p[1])).Check();
  a.GetReturnValue().Set(r);
}

void CloseFd(const FunctionCallbackInfo<Value>& a) {
  int fd = intArg(a, 0, -1);
  if (fd > 2) close(fd);
}

}  // namespace
}  // namespace flexvm

// Node finds a context-aware addon (loadable from workers) by this well-known symbol.
extern "C" NODE_MODULE_EXPORT void NODE_MODULE_INITIALIZER(v8::Local<v8::Object> exports, v8::Local<v8::Value> module,
                                                           v8::Local<v8::Context> context) {
  using namespace flexvm;
  Isolate* iso = context->GetIsolate();
  auto set = [&](const char* name, v8::FunctionCallback cb) {
    exports
        ->Set(context, v8::String::NewFromUtf8(iso, name).ToLocalChecked(),
              v8::Function::New(context, cb).ToLocalChecked())
        .Check();
  };
  set("createExecutor", CreateExecutor);
  set("destroyExecutor", DestroyExecutor);
  set("attach", Attach);
  set("detach", Detach);
  set("takeTrace", TakeTrace);
  set("takeStdio", TakeStdio);
  set("addPages", AddPages);
  set("wait", Wait);
  set("wake", Wake);
  set("imports", Imports);
  set("local", Local_);
  set("pipe", Pipe);
  set("closeFd", CloseFd);
  set("watchSignals", WatchSignals);
  (void)module;
}
