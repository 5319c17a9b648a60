// Ctrl-C and SIGTERM for a guest that runs on Node's main thread (`flexvm run`, docs/startup.md):
// the addon's own handlers and a watcher thread that asks the guest to stop while that thread is
// blocked in it, and ends it (V8's TerminateExecution) when it must go.
#pragma once
#include <node.h>

namespace flexvm {

// watchSignals({ graceMs, stopLine, forceLine, onForce }) -> { guest, run, stops, forced, close }
void WatchSignals(const v8::FunctionCallbackInfo<v8::Value>& a);

}  // namespace flexvm
