// A syscall as one version made it, and what tandem derives from it without the monitor:
// its effective class, a pointer-free signature for comparing versions, the outputs it wrote
// (to replicate into followers) and a human-readable decoding.
//
// Everything here is generic over the syscall model plus the family handlers for irregular calls
// (ioctl by request, fcntl by command, prctl by option, socket options, ...; families/). Remote
// memory is only read through RemoteMemory. Thread-safe: no shared mutable state.
//
// Errors: functions that read a version's memory return the errno of the failed read (EFAULT
// for a bad pointer the program passed: the kernel would fail the call the same way, ESRCH for
// a version that vanished). A length above what the kernel accepts is not read (abi.h limits).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "base/remote_mem.h"
#include "base/result.h"
#include "syscalls/syscall_model.h"

namespace tandem {

struct SyscallCall {
  int nr = -1;
  std::array<uint64_t, 6> args{};
};

// The class of this particular call: the model's class refined by argument values, e.g.
// openat for writing or creating -> kLockstep, read-only -> kReplicated; mprotect with PROT_EXEC
// -> kLockstep; fcntl(F_GETFL) -> kReplicated but fcntl(F_SETFD) -> kEveryone; clone with
// CLONE_THREAD -> kRefused (threads are not supported yet).
//
// Some classes depend on memory: clone3 (flags in struct clone_args), openat2 (flags in struct
// open_how), sendmsg (an explicit msg_name). Pass the caller's memory; without it the answer is
// the most cautious one: clone3 -> kRefused, openat2 and sendmsg -> kLockstep. Numbers outside
// the model (not syscalls on x86-64) are kLocal: the kernel answers ENOSYS.
//
// Invariant: a call the seccomp filter traps (seccomp_rules.h) is never kLocal here, and a call
// it lets through always is.
SyscallClass effective_class(const SyscallCall& call, const RemoteMemory* mem = nullptr);

// The full verdict for one call (the typed result of the classify phase).
struct Classification {
  SyscallClass cls = SyscallClass::kLocal;
  // Every version runs its own call: kLocal, kEveryone, and kLockstep calls on the caller itself
  // (SyscallInfo::own_process: mprotect(PROT_EXEC), setuid, prctl(PR_SET_SECCOMP), ...), which
  // run after the versions agreed. False: the leader runs it (kReplicated, other kLockstep),
  // the monitor computes it (kEmulated), or nobody does (kRefused).
  bool every_version_runs = false;
  int refuse_errno = 0;        // for kRefused
  const char* why = nullptr;   // for kRefused and other non-obvious classes, for events
};
Classification classify(const SyscallCall& call, const RemoteMemory* mem = nullptr);

// A canonical encoding of everything the call gives the kernel, with pointers replaced by the
// bytes they point to (paths, in-buffers, structs, iovec contents, sockaddrs, argv/envp) and
// out-buffers reduced to their capacity. Two versions made "the same call" iff their signatures
// are equal. `fields` lets a divergence report say which argument differs.
struct Signature {
  struct Field {
    uint8_t arg = 0;       // argument index
    uint32_t offset = 0;   // start of this field in bytes
    uint32_t length = 0;
  };
  int nr = -1;
  std::vector<uint8_t> bytes;
  std::vector<Field> fields;
  bool operator==(const Signature& o) const { return nr == o.nr && bytes == o.bytes; }
  // Index of the first argument that differs, or -1 when equal; kDifferentCall when the two
  // signatures are of different syscalls. Argument `ignored` (if >= 0) is not compared.
  static constexpr int kDifferentCall = 6;
  int first_difference(const Signature& other, int ignored = -1) const;
};
Result<Signature> make_signature(const SyscallCall& call, const RemoteMemory& mem);

// What the kernel wrote into the caller's memory for this call, in pointer-free form, plus the
// file descriptors the call created (returned, written as a pair, or received through
// SCM_RIGHTS) so that the monitor can give followers the same descriptors.
//
// Blob parts: 0 for a plain buffer or struct. An out-iovec is one blob of the bytes gathered in
// order. A msghdr is four parts (kMsgHeader: u32 namelen, u32 pad, u64 controllen, u32 flags,
// u32 pad as written by the kernel; kMsgName; kMsgData; kMsgControl); recvmmsg/sendmmsg use
// part = message index * 8 + msghdr part, and kMmsgLen for each msg_len. epoll_wait's blob is
// the packed epoll_event array with the leader's cookies (see families/epoll.h).
struct Outputs {
  static constexpr uint16_t kMsgHeader = 0, kMsgName = 1, kMsgData = 2, kMsgControl = 3,
                            kMmsgLen = 4;
  struct Blob {
    uint8_t arg = 0;      // which argument the bytes belong to
    uint16_t part = 0;    // sub-object: iovec index, msghdr member, ...
    std::vector<uint8_t> bytes;
  };
  std::vector<Blob> blobs;
  std::vector<int> new_fds;
};
// Reads the outputs of `call` (made by the version that executed it) whose result was `ret`.
Result<Outputs> capture_outputs(const SyscallCall& call, int64_t ret, const RemoteMemory& mem);
// Writes `outputs` into a follower that made the equivalent call `call` (its own pointers).
// Never writes past the follower's own buffers: lengths are clamped to its capacities.
Result<void> apply_outputs(const SyscallCall& call, int64_t ret, const Outputs& outputs,
                           const RemoteMemory& mem);

// "openat(AT_FDCWD, \"/etc/passwd\", O_RDONLY|O_CLOEXEC)"; mem may be null (pointers printed
// as addresses then). Long buffers are abbreviated.
std::string format_call(const SyscallCall& call, const RemoteMemory* mem);
// "3", "-1 ENOENT (No such file or directory)", "0x7f12... " for addresses.
std::string format_result(const SyscallCall& call, int64_t ret);

}  // namespace tandem
