// Small helpers of the group code: restart codes, open flags, FD_CLOEXEC, pending signals.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/remote_mem.h"
#include "base/result.h"
#include "syscalls/call.h"

namespace tandem {
struct Member;
class PidMap;
}

namespace tandem::detail {

// Restart codes the kernel leaves in rax when a signal interrupts a call (never seen by the
// program): the call had no effect and is restarted or fails with EINTR.
constexpr int64_t kERestartSys = -512;
constexpr int64_t kERestartNoIntr = -513;
constexpr int64_t kERestartNoHand = -514;
constexpr int64_t kERestartRestartBlock = -516;
bool is_restart_code(int64_t r);

// rdtsc/rdtscp meet at the rendezvous like a call, under this pseudo number.
constexpr int kPseudoRdtsc = -2;

// The process has ended: a zombie, or reaped (no /proc entry).
bool process_ended(pid_t pid);

bool contains(const std::vector<int>& v, int x);
bool is_open_call(int nr);
// Open flags of an open-family call (openat2 keeps them in struct open_how).
uint64_t open_flags(const SyscallCall& c, const RemoteMemory& mem);
// Whether descriptor `fd` of `pid` has FD_CLOEXEC, from /proc/PID/fdinfo.
bool fd_is_cloexec(pid_t pid, int fd);
// Whether descriptor `fd` of `pid` is a socket (/proc/PID/fd).
bool is_socket_fd(pid_t pid, int fd);
// The file status flags of descriptor `fd` of `pid` (/proc/PID/fdinfo), or nullopt.
std::optional<unsigned long> fd_flags(pid_t pid, int fd);
// The descriptor numbers of process `pid`, each with whether it has FD_CLOEXEC.
std::map<int, bool> list_fds(pid_t pid);
// Whether the descriptors a call creates get FD_CLOEXEC, from its own flags (nullopt: unknown).
std::optional<bool> cloexec_from_call(const SyscallCall& c);
// True if signal `sig` is pending in the kernel for `tid` (thread or process queue).
bool signal_pending(pid_t tid, int sig);
// The SIGPIPE the kernel sends a process whose call returned EPIPE (a write to a pipe or
// socket without reader, without MSG_NOSIGNAL), as that process would receive it (si_pid its
// own pid as the program knows it, si_uid its real uid); nullopt when the call raises none.
// A version served such a call's result gets it from tandem, as the executor got it from the
// kernel.
std::optional<siginfo_t> sigpipe_for(const SyscallCall& c, int64_t result, pid_t tid,
                                     pid_t virtual_pid);
// True if `tid` blocks `sig`.
bool signal_blocked(pid_t tid, int sig);
const SyscallInfo* info_of(const SyscallCall& c);
// wait4(-1 / 0 / -pgid) and waitid(P_ALL / P_PGID): "any child" of a set.
bool waits_for_any_child(const SyscallCall& c);
// The child (real pid) a finished wait4 (`result` > 0) or waitid (0, pid in its siginfo) of
// task `tid` reported; 0 if none.
pid_t reported_child(const SyscallCall& c, pid_t tid, int64_t result);
// Calls that change the descriptor table (ordered across threads, see Process).
bool changes_fd_table(const SyscallCall& c);
// The descriptor numbers such a call closes, as a range ([-1,-1] if none).
std::pair<int, int> fds_closed_by(const SyscallCall& c);
// For a path under /proc: the path with the version's real ids (/proc/<pid>/task/<tid>/...)
// replaced by the virtual ones, so that versions compare equal; `own` tells if the path names
// the calling version's own process (self, thread-self, or one of its ids). Empty string when
// the path is not under /proc or contains no id.
std::string canonical_proc_path(const std::string& path, int version, const PidMap& pids,
                                pid_t own_tgid, bool& own);
// The descriptor a call acts on (its first argument, when that is a descriptor), or -1.
int fd_argument(const SyscallCall& c);
// Every descriptor argument of a call (epoll_ctl's target, sendfile's source...), in order.
std::vector<int> fd_arguments(const SyscallCall& c);
// True for calls that read input from a descriptor (read, readv, recvfrom, recvmsg...).
bool reads_input(int nr);
// Rx (docs/architecture.md, "Restart"): calls that a version whose connection was withheld
// may leave to the leader alone when it is elsewhere: they touch files, the clock or
// descriptors of that connection, and bring no other connection's input or output (reads and
// writes count only on a descriptor that is not a socket: `on_socket`).
bool rx_leader_alone_call(int nr, bool on_socket);
// Rx: calls such a version may make alone, for itself, where the leader makes another: file
// metadata, positioned file reads, the clock, and closing a descriptor that is not a socket
// (nothing that moves a file offset it shares with the leader).
bool rx_version_alone_call(int nr, bool on_socket);
// The timeout argument of an event wait (epoll_wait, epoll_pwait, poll, ppoll), or -1. A
// version whose connection was withheld has no timer for it (nginx's keep-alive): its wait's
// timeout differs from the leader's, the wait is the same.
int event_wait_timeout_arg(int nr);
// Output calls whose bytes may differ in a version whose connection was withheld (a log file
// buffered across requests): write, writev, pwrite64, pwritev.
bool writes_output(int nr);
// Where two calls differ, for a divergence report: the argument, and for buffers the first
// differing byte with both sides around it ("" when they do not differ).
std::string describe_difference(const Member& a, const Member& b);
// The bytes a write or writev asks to write.
Result<std::vector<uint8_t>> write_data(const Member& m);

}  // namespace tandem::detail
