// The registry of family handlers: name -> handler, and syscall -> handler resolved once.
#include "syscalls/families/registry.h"

#include <array>
#include <vector>

namespace tandem {

std::span<const Family* const> all_families() {
  // A function-local static: built on first use, thread-safe, and free of static-initialization
  // order issues with the families' own statics.
  static const std::vector<const Family*> families = {
      &open_family(),
      &fcntl_family(),
      &file_handle_family(),
      &xattrat_family(),
      &ioctl_family(),
      &clone_family(),
      &execve_family(),
      &wait_family(),
      &target_pid_family(),
      &prlimit_family(),
      &restart_syscall_family(),
      &capabilities_family(),
      &kill_family(),
      &rt_sigaction_family(),
      &sigaltstack_family(),
      &sigevent_family(),
      &prctl_family(),
      &mmap_family(),
      &futex_family(),
      &poll_family(),
      &select_family(),
      &epoll_family(),
      &send_family(),
      &mmsg_family(),
      &sockopt_family(),
      &sysv_ctl_family(),
      &quotactl_family(),
      &keyctl_family(),
      &reboot_family(),
      &sysfs_family(),
      &fsconfig_family(),
      &landlock_family(),
      &seccomp_family(),
      &ptrace_family(),
  };
  return families;
}

const Family* find_family(std::string_view name) {
  for (const Family* f : all_families())
    if (f->name() == name) return f;
  return nullptr;
}

const Family* family_of(const SyscallInfo& info) {
  if (info.special == nullptr) return nullptr;
  // Resolved once per syscall number: the hot path (every intercepted call) must not compare
  // strings.
  static const std::array<const Family*, kMaxSyscall + 1> by_nr = [] {
    std::array<const Family*, kMaxSyscall + 1> a{};
    for (const SyscallInfo& s : all_syscalls()) {
      if (s.special == nullptr) continue;
      a[static_cast<size_t>(s.nr)] = find_family(s.special);
      TANDEM_CHECK(a[static_cast<size_t>(s.nr)] != nullptr)
          << "syscall " << s.name << " names an unknown family " << s.special;
    }
    return a;
  }();
  return by_nr[static_cast<size_t>(info.nr)];
}

}  // namespace tandem
