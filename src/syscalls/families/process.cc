// Families of process calls: clone (threads paired, memory-sharing processes refused), execve and wait (named for the monitor,
// generic otherwise), target_pid (oneself vs. another process), prlimit, restart_syscall and
// capabilities (capset's data size by header version).
#include <fmt/format.h>

#include <cstring>
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

// A family that only names irregular calls for the monitor (which implements their effect:
// pairing children, re-hiding the vDSO, translating pids); their arguments are regular.
class NamedFamily final : public Family {
 public:
  explicit NamedFamily(std::string_view name) : name_(name) {}
  std::string_view name() const override { return name_; }

 private:
  std::string_view name_;
};

// ------------------------------------------------------------------------------------------
// clone, clone3, fork, vfork

// Threads (CLONE_THREAD, which requires CLONE_VM) run in every version and are paired by
// creation order. Memory shared with a running parent *without* CLONE_THREAD is a process that
// is a thread in all but name (its own descriptor table and signals but the parent's memory):
// refused. With CLONE_VFORK the parent is suspended until the child execs or exits, so such a
// child is a process for the monitor (posix_spawn).
bool shares_memory_as_process(uint64_t flags) {
  return (flags & abi::kCloneVm) != 0 && (flags & abi::kCloneThread) == 0 &&
         (flags & abi::kCloneVfork) == 0;
}

constexpr uint64_t kCloneArgsVer0 = 64;
constexpr uint64_t kMaxPidNsLevel = 32;
constexpr const char* kSharedMemoryRefused =
    "processes sharing memory without CLONE_THREAD or CLONE_VFORK are not supported";

class CloneFamily final : public Family {
 public:
  std::string_view name() const override { return "clone"; }

  std::optional<Refinement> classify(const SyscallCall& call, const SyscallInfo& info,
                                     const RemoteMemory* mem) const override {
    if (is(info, "clone")) {
      if (shares_memory_as_process(call.args[0]))
        return Refinement{SyscallClass::kRefused, kSharedMemoryRefused};
      return std::nullopt;
    }
    if (is(info, "clone3")) {
      if (mem == nullptr)
        return Refinement{SyscallClass::kRefused, "clone3 classified without memory"};
      auto flags = mem->read_value(remote_ptr<uint64_t>(call.args[0]));
      // Unreadable arguments: every version gets EFAULT from its own kernel call.
      if (!flags) return std::nullopt;
      if (shares_memory_as_process(*flags))
        return Refinement{SyscallClass::kRefused, kSharedMemoryRefused};
    }
    return std::nullopt;
  }

  Result<bool> sign(const SyscallCall& call, int arg, const RemoteMemory& mem,
                    SigWriter& w) const override {
    if (!is(info_of(call), "clone3") || arg != 0) return false;
    uint64_t size = call.args[1];
    if (arg_ptr(call, 0).is_null() || size < kCloneArgsVer0 || size > 4096) {
      w.null();  // EFAULT / EINVAL / E2BIG in the kernel, by size alone
      w.u64(size);
      return true;
    }
    abi::CloneArgs a{};
    auto bytes = mem.read_bytes(arg_ptr(call, 0), size);
    if (!bytes) return bytes.error();
    std::memcpy(&a, bytes->data(), std::min<size_t>(size, sizeof(a)));
    w.present();
    w.u64(a.flags);
    w.u64(a.exit_signal);
    w.u64(a.stack_size);
    w.u64(a.cgroup);
    // Pointers: only whether they are given (the kernel writes pids/pidfd there per version).
    for (uint64_t p : {a.pidfd, a.child_tid, a.parent_tid, a.stack, a.tls}) {
      if (p == 0) {
        w.null();
      } else {
        w.present();
      }
    }
    // set_tid: pids asked for in each pid namespace level (virtual, compared by value).
    if (a.set_tid == 0 || a.set_tid_size == 0 || a.set_tid_size > kMaxPidNsLevel) {
      w.u64(a.set_tid_size);
    } else if (auto r = w.remote_bytes(mem, remote_addr(a.set_tid), a.set_tid_size * 4); !r) {
      return r.error();
    }
    // Bytes past the known struct must be zero for the kernel; compared as they are.
    if (size > sizeof(a)) w.bytes(std::span(*bytes).subspan(sizeof(a)));
    return true;
  }

  bool format(const SyscallCall& call, int arg, const RemoteMemory* mem,
              std::string& out) const override {
    if (!is(info_of(call), "clone3") || arg != 0 || mem == nullptr) return false;
    auto a = mem->read_value(remote_ptr<abi::CloneArgs>(call.args[0]));
    if (!a) return false;
    out = fmt::format("{{flags={}, exit_signal={}, stack={}, stack_size={:#x}, tls={}}}",
                      format_flags("unshare_flags", a->flags),
                      signal_name(static_cast<int>(a->exit_signal)), fmt_pointer(a->stack),
                      a->stack_size, fmt_pointer(a->tls));
    return true;
  }
};

// ------------------------------------------------------------------------------------------
// target_pid: scheduling and memory placement of oneself (pid/who 0: every version sets its
// own) or of other processes (authority over them: compared, run once by the leader). The
// monitor's handler also treats a version's own virtual pid as "oneself".

constexpr uint32_t kPrioUser = 2;
constexpr uint32_t kIoprioWhoUser = 3;

class TargetPidFamily final : public Family {
 public:
  std::string_view name() const override { return "target_pid"; }

  std::optional<Refinement> classify(const SyscallCall& call, const SyscallInfo& info,
                                     const RemoteMemory*) const override {
    bool self = false;
    if (is(info, "setpriority")) {
      self = arg_u32(call, 0) != kPrioUser && arg_i32(call, 1) == 0;
    } else if (is(info, "ioprio_set")) {
      self = arg_u32(call, 0) != kIoprioWhoUser && arg_i32(call, 1) == 0;
    } else {
      self = arg_i32(call, 0) == 0;
    }
    return Refinement{self ? SyscallClass::kEveryone : SyscallClass::kLockstep};
  }
};

// prlimit64(pid, resource, new, old): reading -> the leader's answer; setting one's own
// limits -> every version; setting another process's -> authority.
class PrlimitFamily final : public Family {
 public:
  std::string_view name() const override { return "prlimit"; }

  std::optional<Refinement> classify(const SyscallCall& call, const SyscallInfo&,
                                     const RemoteMemory*) const override {
    if (call.args[2] == 0) return Refinement{SyscallClass::kReplicated};
    return Refinement{arg_i32(call, 0) == 0 ? SyscallClass::kEveryone : SyscallClass::kLockstep};
  }
};

// ------------------------------------------------------------------------------------------
// capset(hdr, data): data holds one struct __user_cap_data_struct (12 bytes) for version 1,
// two for versions 2 and 3.

constexpr uint32_t kCapV1 = 0x19980330, kCapV2 = 0x20071026, kCapV3 = 0x20080522;

class CapabilitiesFamily final : public UseFamily {
 public:
  std::string_view name() const override { return "capabilities"; }

  std::optional<ArgUse> use(const SyscallCall& call, int arg,
                            const RemoteMemory* mem) const override {
    if (arg != 1) return std::nullopt;
    if (mem == nullptr) return ArgUse::address();
    auto version = mem->read_value(remote_ptr<uint32_t>(call.args[0]));
    if (!version) return ArgUse::address();  // the kernel fails the call with EFAULT
    if (*version == kCapV1) return ArgUse::in(12);
    if (*version == kCapV2 || *version == kCapV3) return ArgUse::in(24);
    return ArgUse::unused();  // EINVAL: the kernel only writes back its preferred version
  }
};

}  // namespace

const Family& clone_family() {
  static const CloneFamily f;
  return f;
}
const Family& execve_family() {
  static const NamedFamily f("execve");
  return f;
}
const Family& wait_family() {
  static const NamedFamily f("wait");
  return f;
}
const Family& restart_syscall_family() {
  static const NamedFamily f("restart_syscall");
  return f;
}
const Family& target_pid_family() {
  static const TargetPidFamily f;
  return f;
}
const Family& prlimit_family() {
  static const PrlimitFamily f;
  return f;
}
const Family& capabilities_family() {
  static const CapabilitiesFamily f;
  return f;
}

}  // namespace tandem
