// Guest memory as the native executor sees it: the base of a shared Wasm memory and its current
// byte length. The base never moves (V8 reserves the whole maximum of a shared memory up front);
// the length only grows, and every pointer and length a guest passes is checked against the length
// read at the time of the call. Pages beyond it are not mapped: an unchecked access would fault the
// whole host.
#pragma once
#include <cstdint>
#include <cstring>
#include <memory>
#include <v8.h>

namespace flexvm {

class GuestMemory {
 public:
  explicit GuestMemory(std::shared_ptr<v8::BackingStore> store)
      : store_(std::move(store)), base_(static_cast<uint8_t*>(store_->Data())) {}

  uint64_t length() const { return store_->ByteLength(); }

  // True when [ptr, ptr + len) lies inside the memory (a guest pointer is a 32-bit offset).
  bool fits(uint32_t ptr, uint64_t len) const { return uint64_t(ptr) + len <= length(); }

  // The host address of guest offset `ptr`, or nullptr when [ptr, ptr + len) does not fit.
  uint8_t* at(uint32_t ptr, uint64_t len) const { return fits(ptr, len) ? base_ + ptr : nullptr; }

  // An address the caller has already checked (control block, pages: checked at attach).
  uint8_t* raw(uint32_t ptr) const { return base_ + ptr; }
  int32_t* word(uint32_t ptr) const { return reinterpret_cast<int32_t*>(base_ + ptr); }

  bool read32(uint32_t ptr, int32_t* out) const {
    uint8_t* p = at(ptr, 4);
    if (!p) return false;
    std::memcpy(out, p, 4);
    return true;
  }
  bool write32(uint32_t ptr, int32_t v) const {
    uint8_t* p = at(ptr, 4);
    if (!p) return false;
    std::memcpy(p, &v, 4);
    return true;
  }
  bool read64(uint32_t ptr, int64_t* out) const {
    uint8_t* p = at(ptr, 8);
    if (!p) return false;
    std::memcpy(out, p, 8);
    return true;
  }
  bool write64(uint32_t ptr, int64_t v) const {
    uint8_t* p = at(ptr, 8);
    if (!p) return false;
    std::memcpy(p, &v, 8);
    return true;
  }
  bool copyOut(uint32_t ptr, const void* src, uint64_t len) const {
    uint8_t* p = at(ptr, len);
    if (!p) return false;
    if (len) std::memcpy(p, src, len);
    return true;
  }
  bool copyIn(void* dst, uint32_t ptr, uint64_t len) const {
    uint8_t* p = at(ptr, len);
    if (!p) return false;
    if (len) std::memcpy(dst, p, len);
    return true;
  }
  // A NUL-terminated string of at most `max` bytes before its NUL: its length, -1 past memory (EFAULT),
  // -2 when no NUL comes within `max` bytes (ENAMETOOLONG).
  int64_t cstrlen(uint32_t ptr, uint32_t max) const {
    uint64_t len = length();
    for (uint64_t i = 0; i <= max; i++) {
      if (uint64_t(ptr) + i >= len) return -1;
      if (base_[ptr + i] == 0) return int64_t(i);
    }
    return -2;
  }

  const std::shared_ptr<v8::BackingStore>& store() const { return store_; }

 private:
  std::shared_ptr<v8::BackingStore> store_;
  uint8_t* base_;
};

// Atomic access to 32-bit words of shared memory (the ABI's status words and masks).
inline int32_t aload(int32_t* p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }
inline void astore(int32_t* p, int32_t v) { __atomic_store_n(p, v, __ATOMIC_SEQ_CST); }
inline int32_t axchg(int32_t* p, int32_t v) { return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST); }
inline int32_t aadd(int32_t* p, int32_t v) { return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST); }
inline int32_t aor(int32_t* p, int32_t v) { return __atomic_fetch_or(p, v, __ATOMIC_SEQ_CST); }
// Starts fetching the cache line at `p` in the exclusive state (PREFETCHW; a hint, never a fault).
inline void prefetchForWrite(const void* p) { asm volatile("prefetchw %0" : : "m"(*static_cast<const char*>(p))); }
// Compare-and-swap; returns the value found (== expected on success).
inline int32_t acas(int32_t* p, int32_t expected, int32_t desired) {
  __atomic_compare_exchange_n(p, &expected, desired, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
  return expected;
}

}  // namespace flexvm
