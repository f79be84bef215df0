// What the ptrace backend does to a fresh program image at its exec stop.
#pragma once

#include <sys/types.h>
#include <sys/user.h>

#include <string>
#include <vector>

#include "base/result.h"

namespace tandem {

// Hides the vDSO from the new program: its auxiliary vector entry AT_SYSINFO_EHDR becomes
// AT_IGNORE before the dynamic loader (or a static binary's libc) reads it, so libc falls back
// to real clock_gettime/gettimeofday/time/getcpu syscalls, which the monitor sees (hazard 1).
// `sp` is the stack pointer at the exec stop (it points at argc).
Result<void> hide_vdso(pid_t pid, uint64_t sp);

// The argv of a program at its exec stop (used for events and tests).
Result<std::vector<std::string>> read_exec_argv(pid_t pid, uint64_t sp);

// True if the bytes at `pc` are rdtsc (0f 31) or rdtscp (0f 01 f9).
bool is_rdtsc_at(pid_t pid, uint64_t pc);

}  // namespace tandem
