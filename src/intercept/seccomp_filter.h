// Builds the seccomp-bpf program that decides, in the kernel, which calls of a version stop for
// the monitor (SECCOMP_RET_TRACE) and which run at native speed (SECCOMP_RET_ALLOW).
//
// The program is compiled with libseccomp in the monitor, before any fork, so that the child
// between fork and execve only has to call seccomp(2) on a ready buffer (it may not allocate:
// the monitor is multi-threaded).
#pragma once

#include <linux/filter.h>

#include <vector>

#include "base/result.h"
#include "intercept/backend.h"

namespace tandem {

struct BpfProgram {
  std::vector<sock_filter> instructions;
  sock_fprog as_fprog() {
    return sock_fprog{static_cast<unsigned short>(instructions.size()), instructions.data()};
  }
};

// Calls of a non-x86-64 ABI (int 0x80, x32) fail with ENOSYS: the model describes x86-64 only.
Result<BpfProgram> build_trap_filter(const std::vector<TrapRule>& rules);

}  // namespace tandem
