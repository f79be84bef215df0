// Families of signal calls: kill (signal 0 only probes), rt_sigaction and sigaltstack (struct
// fields that are addresses in the caller), sigevent (timer_create, mq_notify).
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

void presence(SigWriter& w, uint64_t p) {
  if (p == 0) {
    w.null();
  } else {
    w.present();
  }
}

// ------------------------------------------------------------------------------------------
// kill, tkill, tgkill, rt_sigqueueinfo, rt_tgsigqueueinfo, pidfd_send_signal

// siginfo_t: si_signo, si_errno, si_code, (pad), then a union; for queued signals the union
// starts with si_pid and si_uid, followed by si_value, which is the sender's cookie (often a
// pointer) and is not compared.
constexpr uint64_t kSiginfoComparedBytes = 24;

class KillFamily final : public Family {
 public:
  std::string_view name() const override { return "kill"; }

  std::optional<Refinement> classify(const SyscallCall& call, const SyscallInfo& info,
                                     const RemoteMemory*) const override {
    // Signal 0 checks that the target exists and may be signalled: no effect, one answer.
    if (arg_i32(call, signal_arg(info)) == 0) return Refinement{SyscallClass::kReplicated};
    return std::nullopt;
  }

  Result<bool> sign(const SyscallCall& call, int arg, const RemoteMemory& mem,
                    SigWriter& w) const override {
    if (arg != info_arg(info_of(call))) return false;
    if (auto r = w.remote_bytes(mem, arg_ptr(call, arg), kSiginfoComparedBytes); !r)
      return r.error();
    return true;
  }

 private:
  static int signal_arg(const SyscallInfo& info) {
    return is(info, "tgkill") || is(info, "rt_tgsigqueueinfo") ? 2 : 1;
  }
  static int info_arg(const SyscallInfo& info) {
    if (is(info, "rt_sigqueueinfo") || is(info, "pidfd_send_signal")) return 2;
    if (is(info, "rt_tgsigqueueinfo")) return 3;
    return -1;
  }
};

// ------------------------------------------------------------------------------------------
// rt_sigaction(sig, act, oldact, sigsetsize): the handler and restorer are code addresses of
// the caller; what matters is default / ignore / a handler, the flags and the mask.

constexpr uint64_t kSigDfl = 0, kSigIgn = 1;

class RtSigactionFamily final : public Family {
 public:
  std::string_view name() const override { return "rt_sigaction"; }

  Result<bool> sign(const SyscallCall& call, int arg, const RemoteMemory& mem,
                    SigWriter& w) const override {
    if (arg == 2) {
      presence(w, call.args[2]);
      return true;
    }
    if (arg != 1) return false;
    if (call.args[1] == 0) {
      w.null();
      return true;
    }
    auto act = mem.read_value(remote_ptr<abi::KernelSigaction>(call.args[1]));
    if (!act) return act.error();
    w.present();
    w.u64(act->handler == kSigDfl || act->handler == kSigIgn ? act->handler : 2);
    w.u64(act->flags);
    w.u64(act->mask);
    return true;
  }

  Result<bool> capture(const SyscallCall& call, int arg, int64_t ret, const RemoteMemory& mem,
                       Outputs& out) const override {
    if (arg == 1) return true;
    if (arg != 2) return false;
    if (ret == 0)
      if (auto r = capture_bytes(mem, arg_ptr(call, 2), sizeof(abi::KernelSigaction), out, 2); !r)
        return r.error();
    return true;
  }

  Result<bool> apply(const SyscallCall& call, int arg, int64_t, const Outputs& outputs,
                     const RemoteMemory& mem) const override {
    if (arg == 1) return true;
    if (arg != 2) return false;
    if (auto r = apply_bytes(mem, arg_ptr(call, 2), sizeof(abi::KernelSigaction), outputs, 2); !r)
      return r.error();
    return true;
  }

  bool format(const SyscallCall& call, int arg, const RemoteMemory* mem,
              std::string& out) const override {
    if (arg != 1 && arg != 2) return false;
    if (arg == 2 || mem == nullptr || call.args[1] == 0) {
      out = fmt_pointer(call.args[static_cast<size_t>(arg)]);
      return true;
    }
    auto act = mem->read_value(remote_ptr<abi::KernelSigaction>(call.args[1]));
    if (!act) return false;
    std::string handler = act->handler == kSigDfl   ? "SIG_DFL"
                          : act->handler == kSigIgn ? "SIG_IGN"
                                                    : fmt_pointer(act->handler);
    out = fmt::format("{{sa_handler={}, sa_mask={}, sa_flags={}, sa_restorer={}}}", handler,
                      fmt_sigset(act->mask), format_flags("sa_flags", act->flags),
                      fmt_pointer(act->restorer));
    return true;
  }
};

// ------------------------------------------------------------------------------------------
// sigaltstack(ss, old_ss): the stack's address differs per version; flags and size do not.

class SigaltstackFamily final : public Family {
 public:
  std::string_view name() const override { return "sigaltstack"; }

  Result<bool> sign(const SyscallCall& call, int arg, const RemoteMemory& mem,
                    SigWriter& w) const override {
    if (arg == 1) {
      presence(w, call.args[1]);
      return true;
    }
    if (call.args[0] == 0) {
      w.null();
      return true;
    }
    auto ss = mem.read_value(remote_ptr<abi::StackT>(call.args[0]));
    if (!ss) return ss.error();
    w.present();
    presence(w, ss->sp);
    w.u32(static_cast<uint32_t>(ss->flags));
    w.u64(ss->size);
    return true;
  }

  Result<bool> capture(const SyscallCall& call, int arg, int64_t ret, const RemoteMemory& mem,
                       Outputs& out) const override {
    if (arg == 1 && ret == 0)
      if (auto r = capture_bytes(mem, arg_ptr(call, 1), sizeof(abi::StackT), out, 1); !r)
        return r.error();
    return true;
  }

  Result<bool> apply(const SyscallCall& call, int arg, int64_t, const Outputs& outputs,
                     const RemoteMemory& mem) const override {
    if (arg == 1)
      if (auto r = apply_bytes(mem, arg_ptr(call, 1), sizeof(abi::StackT), outputs, 1); !r)
        return r.error();
    return true;
  }

  bool format(const SyscallCall& call, int arg, const RemoteMemory* mem,
              std::string& out) const override {
    if (arg != 0 || mem == nullptr || call.args[0] == 0) return false;
    auto ss = mem->read_value(remote_ptr<abi::StackT>(call.args[0]));
    if (!ss) return false;
    std::string flags;
    if (ss->flags & 1) flags += "SS_ONSTACK";
    if (ss->flags & 2) flags += flags.empty() ? "SS_DISABLE" : "|SS_DISABLE";
    if (ss->flags & int32_t(0x80000000))
      flags += flags.empty() ? "SS_AUTODISARM" : "|SS_AUTODISARM";
    out = fmt::format("{{ss_sp={}, ss_flags={}, ss_size={}}}", fmt_pointer(ss->sp),
                      flags.empty() ? "0" : flags, ss->size);
    return true;
  }
};

// ------------------------------------------------------------------------------------------
// struct sigevent (timer_create, mq_notify): how to notify and with which signal; the value is
// the caller's cookie and SIGEV_THREAD's function and attributes are addresses.

constexpr int32_t kSigevThreadId = 4;

class SigeventFamily final : public Family {
 public:
  std::string_view name() const override { return "sigevent"; }

  Result<bool> sign(const SyscallCall& call, int arg, const RemoteMemory& mem,
                    SigWriter& w) const override {
    if (arg != 1) return false;
    if (call.args[1] == 0) {
      w.null();
      return true;
    }
    auto ev = mem.read_value(remote_ptr<abi::Sigevent>(call.args[1]));
    if (!ev) return ev.error();
    w.present();
    w.u32(static_cast<uint32_t>(ev->notify));
    w.u32(static_cast<uint32_t>(ev->signo));
    if (ev->notify == kSigevThreadId) w.u32(static_cast<uint32_t>(ev->tid));
    return true;
  }

  bool format(const SyscallCall& call, int arg, const RemoteMemory* mem,
              std::string& out) const override {
    if (arg != 1 || mem == nullptr || call.args[1] == 0) return false;
    auto ev = mem->read_value(remote_ptr<abi::Sigevent>(call.args[1]));
    if (!ev) return false;
    static constexpr const char* kNotify[] = {"SIGEV_SIGNAL", "SIGEV_NONE", "SIGEV_THREAD", "3",
                                              "SIGEV_THREAD_ID"};
    out = fmt::format(
        "{{sigev_value={:#x}, sigev_signo={}, sigev_notify={}}}", ev->value, signal_name(ev->signo),
        ev->notify >= 0 && ev->notify <= 4 ? kNotify[ev->notify] : std::to_string(ev->notify));
    return true;
  }
};

}  // namespace

const Family& kill_family() {
  static const KillFamily f;
  return f;
}
const Family& rt_sigaction_family() {
  static const RtSigactionFamily f;
  return f;
}
const Family& sigaltstack_family() {
  static const SigaltstackFamily f;
  return f;
}
const Family& sigevent_family() {
  static const SigeventFamily f;
  return f;
}

}  // namespace tandem
