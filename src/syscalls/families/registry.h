// The family handlers, one accessor per family (defined in the family's file). Only
// registry.cc uses this list; everything else finds families by name (family.h).
#pragma once

#include "syscalls/families/family.h"

namespace tandem {

// files.cc
const Family& open_family();
const Family& fcntl_family();
const Family& file_handle_family();
const Family& xattrat_family();
// ioctl.cc
const Family& ioctl_family();
// process.cc
const Family& clone_family();
const Family& execve_family();
const Family& wait_family();
const Family& target_pid_family();
const Family& prlimit_family();
const Family& restart_syscall_family();
const Family& capabilities_family();
// signals.cc
const Family& kill_family();
const Family& rt_sigaction_family();
const Family& sigaltstack_family();
const Family& sigevent_family();
// prctl.cc
const Family& prctl_family();
// memory.cc
const Family& mmap_family();
const Family& futex_family();
// events.cc
const Family& poll_family();
const Family& select_family();
const Family& epoll_family();
// sockets.cc
const Family& send_family();
const Family& mmsg_family();
const Family& sockopt_family();
// sysv.cc
const Family& sysv_ctl_family();
// admin.cc
const Family& quotactl_family();
const Family& keyctl_family();
const Family& reboot_family();
const Family& sysfs_family();
const Family& fsconfig_family();
const Family& landlock_family();
const Family& seccomp_family();
// ptrace.cc
const Family& ptrace_family();

}  // namespace tandem
