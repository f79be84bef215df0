// Families of memory calls: mmap (which mappings stop for the monitor) and futex (whose fourth
// argument is a timeout or a count).
//
// Both are kLocal: they run natively unless the seccomp conditions in syscalls.py trap them.
// classify() must agree with those conditions exactly (the unit tests check it): a trapped call
// is never answered kLocal, an untrapped one always is.
#include <fmt/format.h>

#include <string_view>

#include "syscalls/args.h"
#include "syscalls/families/family.h"
#include "syscalls/families/registry.h"
#include "syscalls/flags.h"
#include "syscalls/format_util.h"

namespace tandem {

namespace {

bool is(const SyscallInfo& info, std::string_view name) {
  return name == info.name;
}

class MmapFamily final : public Family {
 public:
  std::string_view name() const override { return "mmap"; }

  std::optional<Refinement> classify(const SyscallCall& call, const SyscallInfo& info,
                                     const RemoteMemory*) const override {
    uint64_t prot = call.args[2];
    if (prot & abi::kProtExec)
      return Refinement{SyscallClass::kLockstep, "new code enters the version (PROT_EXEC)"};
    if (!is(info, "mmap")) return Refinement{SyscallClass::kLocal};
    uint64_t flags = call.args[3];
    bool shared_file = (flags & (abi::kMapSharedBit | abi::kMapAnonymous)) == abi::kMapSharedBit;
    if (!shared_file) return Refinement{SyscallClass::kLocal};
    // Writes through a shared file mapping reach the file without any syscall: compared first,
    // and the monitor decides how followers map it (a private copy, or refusal) so that the
    // file is written once (HAZARDS 13).
    if (prot & abi::kProtWrite)
      return Refinement{SyscallClass::kLockstep, "writable MAP_SHARED file mapping"};
    return Refinement{SyscallClass::kEveryone, "read-only MAP_SHARED file mapping"};
  }

  Result<bool> sign(const SyscallCall& call, int arg, const RemoteMemory&,
                    SigWriter&) const override {
    // An anonymous mapping ignores its descriptor and offset (callers pass -1/0 by convention,
    // but the kernel does not look).
    return is(info_of(call), "mmap") && (arg == 4 || arg == 5) &&
           (call.args[3] & abi::kMapAnonymous) != 0;
  }
};

// FUTEX_WAIT-like operations take a struct timespec*; the requeue and wake-op ones use the
// same register for a second count (val2).
bool futex_takes_timeout(uint64_t op) {
  switch (op & 0x7f) {
    case 0:   // FUTEX_WAIT
    case 6:   // FUTEX_LOCK_PI
    case 9:   // FUTEX_WAIT_BITSET
    case 11:  // FUTEX_WAIT_REQUEUE_PI
    case 13:  // FUTEX_LOCK_PI2
      return true;
    default:
      return false;
  }
}

class FutexFamily final : public Family {
 public:
  std::string_view name() const override { return "futex"; }

  Result<bool> sign(const SyscallCall& call, int arg, const RemoteMemory& mem,
                    SigWriter& w) const override {
    if (arg != 3) return false;
    if (futex_takes_timeout(call.args[1])) {
      if (auto r = w.remote_bytes(mem, arg_ptr(call, 3), sizeof(abi::Timespec)); !r)
        return r.error();
    } else {
      w.u32(arg_u32(call, 3));
    }
    return true;
  }

  bool format(const SyscallCall& call, int arg, const RemoteMemory* mem,
              std::string& out) const override {
    if (arg != 3) return false;
    out = futex_takes_timeout(call.args[1]) ? fmt_remote_timespec(mem, arg_ptr(call, 3), "nsec")
                                            : std::to_string(arg_u32(call, 3));
    return true;
  }
};

}  // namespace

const Family& mmap_family() {
  static const MmapFamily f;
  return f;
}
const Family& futex_family() {
  static const FutexFamily f;
  return f;
}

}  // namespace tandem
