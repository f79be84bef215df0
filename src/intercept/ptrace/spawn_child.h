// The child side of starting a version: what runs between fork and execve.
//
// The monitor is multi-threaded, so the child may only make async-signal-safe calls: everything
// (argv/envp arrays, the BPF program, the signal mask to restore) is prepared before fork.
#pragma once

#include <linux/filter.h>
#include <signal.h>

namespace tandem {

struct ChildSetup {
  const char* path = nullptr;
  char* const* argv = nullptr;
  char* const* envp = nullptr;
  int cpu = -1;
  int release_fd = -1;   // read end: the tracer writes one byte once it has seized the child
  int error_fd = -1;     // write end (O_CLOEXEC): errno of a failed execve
  int info_fd = -1;      // write end (O_CLOEXEC): the number of the notification listener
  bool install_marker = false;  // add the installation-marker filter (install_marker.h)
  sock_fprog filter{};
  sigset_t original_mask{};
  bool set_no_new_privs = true;
  bool disable_aslr = false;
};

// Never returns.
[[noreturn]] void run_spawned_child(const ChildSetup& setup);

}  // namespace tandem
