{
  "targets": [
    {
      "target_name": "flexvm_native",
      "sources": [
        "src/addon.cc", "src/calls.cc", "src/executor.cc", "src/fd-table.cc", "src/guest.cc", "src/inline.cc", "src/runner.cc",
        "src/local.cc", "src/reactor.cc", "src/sandbox.cc", "src/seccomp.cc", "src/signal-watcher.cc"
      ],
      "include_dirs": ["../abi/include"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Werror", "-O2", "-fvisibility=hidden"],
      "variables": {"flexvm_profile%": "<!(node -p \"process.env.FLEXVM_NATIVE_PROFILE === '1' ? 1 : 0\")"},
      "conditions": [["flexvm_profile == 1", {"defines": ["FLEXVM_PROFILE"]}]]
    }
  ]
}
