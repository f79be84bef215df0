// A syscall as one version made it, and what tandem derives from it without the monitor:
// its effective class, a pointer-free signature for comparing versions, the outputs it wrote
// (to replicate into followers) and a human-readable decoding.
//
// Everything here is generic over the syscall model plus the family handlers for irregular calls
// (ioctl by request, fcntl by command, prctl by option, socket options, ...). Remote memory is
// only read through RemoteMemory. Thread-safe: no shared mutable state.
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
SyscallClass effective_class(const SyscallCall& call);

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
  // Index of the first argument that differs, or -1 when equal.
  int first_difference(const Signature& other) const;
};
Result<Signature> make_signature(const SyscallCall& call, const RemoteMemory& mem);

// What the kernel wrote into the caller's memory for this call, in pointer-free form, plus the
// file descriptors the call created (returned, written as a pair, or received through
// SCM_RIGHTS) so that the monitor can give followers the same descriptors.
struct Outputs {
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
Result<void> apply_outputs(const SyscallCall& call, int64_t ret, const Outputs& outputs,
                           const RemoteMemory& mem);

// "openat(AT_FDCWD, \"/etc/passwd\", O_RDONLY|O_CLOEXEC)"; mem may be null (pointers printed
// as addresses then). Long buffers are abbreviated.
std::string format_call(const SyscallCall& call, const RemoteMemory* mem);
// "3", "-1 ENOENT (No such file or directory)", "0x7f12... " for addresses.
std::string format_result(const SyscallCall& call, int64_t ret);

}  // namespace tandem
