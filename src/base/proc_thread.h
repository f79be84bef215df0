// What /proc says of one thread (by tid): its scheduling state, its pending SIGKILL, its CPU
// time. The monitor asks these where ptrace does not tell: whether a task it lost track of is
// a zombie, whether a thread stands at a ptrace stop its tracer thread has not handled yet,
// whether a thread held at a stop is about to die, whether a version that does not reach its
// next call is computing (a hang) or starved of its CPU.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>

namespace tandem {

// The state letter of /proc/TID/stat ('R', 'S', 'D', 't' at a ptrace stop, 'T', 'Z', 'X'), or
// nullopt when the thread is gone (reaped) or the file cannot be read.
std::optional<char> thread_state(pid_t tid);
// Whether the thread has SIGKILL pending, its own or its process's: it dies when it runs.
bool sigkill_pending(pid_t tid);
// Its CPU time so far, user and system, in clock ticks; nullopt when it is gone.
std::optional<uint64_t> thread_cpu_ticks(pid_t tid);

}  // namespace tandem
