// What serves a guest's thread lines: takes a line's lock, claims the entries published since the
// last pass in seq order with the ABI's state machine (CAS SUBMITTED to BUSY), runs them as real
// system calls, answers cancellations, and announces completions. Two kinds of runner share it:
// the syscall threads (executor.h), whose readiness loops hold the calls that would block, and the
// guest's own thread inside flexvm.wait (inline.h: the paper's flexsc_wait, which runs the pending
// batch on the waiting core in one entry into the host), which hands such calls to a syscall thread.
#pragma once
#include <cstdint>
#include <vector>

#include "call.h"
#include "guest.h"

namespace flexvm {

class Executor;

class Runner : public Sink {
 public:
  // `thread`: this runner's syscall thread index, or -1 for a guest's own thread.
  Runner(Executor& ex, int thread) : ex_(ex), thread_(thread) {}
  void finish(Call* c, int64_t result) override;  // completes a heap call and frees it

 protected:
  // Serves line `line` of `g` unless another runner holds it: returns the entries claimed, or -1
  // when the line is busy.
  int serveLine(const GuestRef& g, int line);
  // Announces the completions of every guest this runner finished calls for.
  void flushAll();

  // A claimed call would block: keep it until its descriptor is ready (the runner's own readiness
  // loop, or a syscall thread's).
  virtual void park(Call* c) = 0;
  // Which syscall thread's readiness loop will hold a call of `line` this runner parks.
  virtual int parkHolder(int line) const = 0;
  // A CANCEL for the claimed call of posting `seq` in entry `index`, held by syscall thread `holder`
  // (maybe this one) if it parked.
  virtual void cancelClaimed(const GuestRef& g, int index, uint32_t seq, int holder) = 0;
  // Whether announcing completions must wake a sleeping guest (not when the guest itself runs them).
  virtual bool wakesGuest() const { return true; }

  int slot(const Guest& g) const { return thread_ < 0 ? g.inlineSlot() : thread_; }
  // The host statistics line this runner counts on while serving `line`.
  int statsLine(int line) const { return thread_ < 0 ? line : thread_; }
  void runClaimed(const GuestRef& g, int index, int line);
  // Writes the result, marks the completion and counts it (the call itself stays the caller's).
  void complete(Call& c, int64_t result);

  Executor& ex_;
  const int thread_;
  bool wokeGuest_ = false;  // a flush woke a sleeping guest since the loop last looked

 private:
  int scanPages(const GuestRef& g, LineState& l, int line, uint32_t tail);
  bool cancelEntry(const GuestRef& g, LineState& l, int line, int index, int32_t* e, uint32_t span);
  void cancelledBeforeClaim(const GuestRef& g, int index, int line);
  void flush(Guest& g);

  std::vector<GuestRef> toFlush_;
  int curLine_ = 0;
};

}  // namespace flexvm
