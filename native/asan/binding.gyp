{
  "targets": [
    {
      "target_name": "flexvm_native",
      "sources": [
        "../src/addon.cc", "../src/calls.cc", "../src/executor.cc", "../src/fd-table.cc", "../src/guest.cc", "../src/inline.cc", "../src/runner.cc",
        "../src/local.cc", "../src/reactor.cc", "../src/sandbox.cc", "../src/seccomp.cc", "../src/signal-watcher.cc"
      ],
      "include_dirs": ["../../abi/include"],
      "cflags_cc!": ["-fno-exceptions", "-O3", "-O2"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Werror", "-O1", "-g", "-fno-omit-frame-pointer",
                    "-fsanitize=address,undefined", "-fno-sanitize-recover=undefined", "-fvisibility=hidden"],
      "ldflags": ["-fsanitize=address,undefined"]
    }
  ]
}
