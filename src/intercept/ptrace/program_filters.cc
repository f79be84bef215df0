#include "intercept/ptrace/program_filters.h"

#include <linux/audit.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/syscall.h>

#include "intercept/ptrace/install_marker.h"

namespace tandem {

uint64_t injection_secret() {
  static const uint64_t secret = [] {
    uint64_t s = 0;
    while (s == 0) {
      if (getrandom(&s, sizeof s, 0) != sizeof s) s = 0;
    }
    return s;
  }();
  return secret;
}

int filter_install_arg(const SyscallCall& call) {
  if (call.nr == SYS_seccomp && call.args[0] == SECCOMP_SET_MODE_FILTER) return 2;
  if (call.nr == SYS_prctl && call.args[0] == PR_SET_SECCOMP &&
      call.args[1] == SECCOMP_MODE_FILTER)
    return 2;
  return -1;
}

std::vector<sock_filter> guard_filter(const std::vector<sock_filter>& program, uint64_t secret) {
  auto lo = [](uint64_t v) { return static_cast<uint32_t>(v); };
  auto hi = [](uint64_t v) { return static_cast<uint32_t>(v >> 32); };
  constexpr uint32_t kArgs5 = offsetof(seccomp_data, args) + 5 * 8;
  constexpr uint32_t kArgs0 = offsetof(seccomp_data, args);
  // Offsets are counted from the next instruction; kProgram is where the program starts.
  constexpr int kProgram = 13;
  std::vector<sock_filter> out = {
      /* 0 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
      /* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, kProgram - 2),
      /* 2 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kArgs5),
      /* 3 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, lo(secret), 0, 2),
      /* 4 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kArgs5 + 4),
      /* 5 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, hi(secret), 12 - 6, 0),
      /* 6 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      /* 7 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kInstallMarkerNr, 0, kProgram - 8),
      /* 8 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kArgs0),
      /* 9 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, lo(kInstallMarkerMagic), 0, kProgram - 10),
      /* 10 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kArgs0 + 4),
      /* 11 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, hi(kInstallMarkerMagic), 0, kProgram - 12),
      /* 12 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  out.insert(out.end(), program.begin(), program.end());
  return out;
}

}  // namespace tandem
