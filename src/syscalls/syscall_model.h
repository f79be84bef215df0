// The syscall model: one description of every x86-64 syscall, generated from syscalls.py.
//
// Each syscall has a number, a name, up to six arguments described by *meaning* (not C type) and
// a class that tells the monitor how versions execute it. Comparison, replication and decoding
// are generic over these descriptions; irregular calls name a family handler (`special`) that
// the monitor implements by hand (src/monitor/families/).
//
// The table is immutable and generated at build time (syscall_table.inc in the build folder)
// by gen_syscalls.py from syscalls.py; it may be read from any thread. Invariants, checked by the
// generator and by the unit tests: numbers and names are unique; every buffer, struct, iovec,
// sockaddr and sigset argument has a length; lengths from arguments refer to integer arguments
// (kArg) or to length pointers (kArgPtr); kFd, kDirFd and kPid arguments are C ints (width 4);
// every kSpecial argument belongs to a call with a family handler (`special`).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace tandem {

// How the versions execute a call. See docs/syscall-model.md.
enum class SyscallClass : uint8_t {
  kLocal,       // not intercepted: every version runs it at native speed (memory, signal masks, ...)
  kReplicated,  // the leader runs it; result and out-buffers are copied into the followers
  kLockstep,    // security-sensitive: all versions must agree before the leader runs it; replicated
  kEveryone,    // every version runs its own call (process-local state: close, dup, chdir, exit)
  kEmulated,    // the monitor computes each version's result (virtual pids, CPU affinity)
  kRefused,     // refused with `refuse_errno` and an event (io_uring_setup -> ENOSYS)
};

// What an argument means. Pointers are never compared by value.
enum class ArgKind : uint8_t {
  kNone,         // slot unused
  kValue,        // integer compared by value (sizes, counts, modes, offsets)
  kFlags,        // integer compared by value, printed with `flagset`
  kFd,           // file descriptor (numbers are kept identical across versions)
  kDirFd,        // fd or AT_FDCWD
  kPid,          // process id as the version sees it (virtual)
  kSignal,       // signal number
  kPath,         // NUL-terminated path, compared by content
  kString,       // other NUL-terminated string, compared by content
  kStringArray,  // NULL-terminated array of strings (argv, envp)
  kInBuf,        // bytes read by the kernel; length = `len`
  kOutBuf,       // bytes written by the kernel; capacity = `len`, written = `written`
  kInStruct,     // struct read by the kernel: `size` bytes (or `len`)
  kOutStruct,    // struct written by the kernel: `size` bytes (or `len`)
  kInOutStruct,  // both
  kInIovec,      // iovec array (count = `len`), contents read by the kernel
  kOutIovec,     // iovec array (count = `len`), filled by the kernel up to the return value
  kInMsghdr,     // struct msghdr for sendmsg: name, iov contents, control
  kOutMsghdr,    // struct msghdr for recvmsg: name, iov, control and lengths written back
  kInSockaddr,   // sockaddr read by the kernel, length = `len` (a value argument)
  kOutSockaddr,  // sockaddr written by the kernel, length in/out through the socklen_t* at `len`
  kSockLenPtr,   // the socklen_t/u32* that goes with a kOutSockaddr or a kOutBuf whose length is
                 // kArgPtr (getsockopt's optlen): capacity in, length written out
  kInSigset,     // sigset_t read by the kernel, size = `len`
  kOutSigset,    // sigset_t written by the kernel, size = `len`
  kOutFdPair,    // int[2] of new file descriptors written by the kernel (pipe, socketpair)
  kIgnored,      // pointer or value that must not be compared (address hints, reserved)
  kSpecial,      // meaning depends on other arguments (ioctl arg, fcntl arg, prctl args...)
};

// Where a length comes from.
enum class LenFrom : uint8_t {
  kNone,
  kArg,     // the value of argument `index`
  kArgPtr,  // the integer (socklen_t / int) that argument `index` points to
  kRet,     // the return value (only for what the kernel writes)
  kFixed,   // a fixed size in bytes
  kField,   // a u32 at byte offset `value` inside the pointed struct itself (self-sized structs:
            // perf_event_attr, sched_attr, mnt_id_req; for out buffers: read after the call)
};

// length = source * scale + bias. `scale` turns counts into bytes (poll: nfds * 8), `bias` adds
// a fixed header (msgsnd: 8 + msgsz). For kField, a field of 0 means the kernel assumes the
// first published size of the struct, `if_zero`.
struct Length {
  LenFrom from = LenFrom::kNone;
  uint32_t value = 0;  // the argument index, the fixed size, or the field offset
  uint32_t scale = 1;
  int32_t bias = 0;
  uint32_t if_zero = 0;
};

struct ArgSpec {
  ArgKind kind = ArgKind::kNone;
  const char* name = "";
  Length len;      // capacity (buffers, structs, iovec counts, sockaddrs)
  Length written;  // for out kinds: how much the kernel wrote (default: all of `len`)
  const char* flagset = nullptr;  // name of a flag set for kFlags (see flags.h)
  // Size of the C type of integer arguments (4: int, unsigned, pid_t; 8: long, size_t). The
  // kernel ignores the upper half of a register carrying an int and compilers leave garbage
  // there, so only `width` bytes are compared and printed.
  uint8_t width = 8;
  // Out structs the kernel also writes when the call fails with EINTR (remaining time of
  // nanosleep, clock_nanosleep, ppoll).
  bool on_eintr = false;
};

// Which result the call returns, beyond a plain value.
enum class RetKind : uint8_t {
  kValue,     // integer or -errno
  kFd,        // a new file descriptor
  kPid,       // a process id (virtual)
  kAddress,   // an address in the caller (mmap, brk, shmat): never compared or replicated
  kNoReturn,  // exit, exit_group, rt_sigreturn, execve on success
};

struct SyscallInfo {
  int nr = -1;
  const char* name = nullptr;
  SyscallClass cls = SyscallClass::kLocal;
  RetKind ret = RetKind::kValue;
  uint8_t nargs = 0;
  ArgSpec args[6];
  // Irregular calls: the name of the family handler the monitor uses ("open", "fcntl", "ioctl",
  // "clone", "mmap", ...), or nullptr when the generic description is enough.
  const char* special = nullptr;
  // The errno of a refusal: for kRefused calls, and for calls whose family refines some argument
  // values to kRefused (clone of a thread -> EAGAIN, unknown fcntl command -> EINVAL).
  int refuse_errno = 0;
  // Non-null for kLocal calls the seccomp filter must trap for some argument values: a readable
  // summary ("prot & PROT_EXEC"); the machine form is in seccomp_rules.h.
  const char* trap_when = nullptr;
  // The call acts on the calling process itself (its memory, credentials, root, namespaces,
  // seccomp or landlock domain). When such a call is kLockstep, the versions agree first and then
  // every version runs its own call: the leader's result is never replicated for it.
  bool own_process = false;
  // A kReplicated call that only asks (the time, a file's metadata, a pid) and makes no
  // descriptor: it has no effect another version or process could see, so the leader may make
  // it before the followers arrive (early execution, docs/architecture.md).
  bool query = false;
  // Why the call has its class when that is not obvious (refusals quote it in their event).
  const char* why = nullptr;
};

// Highest syscall number of the x86-64 ABI described (inclusive): file_setattr in Linux 6.18.
constexpr int kMaxSyscall = 469;

// The description of `nr`, or nullptr if the number is not a syscall of this ABI.
const SyscallInfo* syscall_info(int nr);
// Lookup by name; nullptr if unknown.
const SyscallInfo* syscall_by_name(std::string_view name);
// All described syscalls, in number order.
std::span<const SyscallInfo> all_syscalls();

const char* to_string(SyscallClass cls);
const char* to_string(ArgKind kind);
const char* to_string(LenFrom from);
const char* to_string(RetKind ret);

}  // namespace tandem
