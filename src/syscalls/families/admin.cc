// Families of administrative calls whose buffer depends on a command: quotactl, keyctl,
// reboot, sysfs, fsconfig, landlock_add_rule, seccomp. Commands the model does not describe
// are refused with the call's refuse_errno rather than compared blindly.
#include <fmt/format.h>

#include <string_view>

#include "syscalls/args.h"
#include "syscalls/families/family.h"
#include "syscalls/families/registry.h"
#include "syscalls/format_util.h"

namespace tandem {

namespace {

constexpr SyscallClass kRepl = SyscallClass::kReplicated;
constexpr SyscallClass kLock = SyscallClass::kLockstep;
constexpr SyscallClass kEvery = SyscallClass::kEveryone;

bool is(const SyscallInfo& info, std::string_view name) {
  return name == info.name;
}

// ------------------------------------------------------------------------------------------
// quotactl(cmd, special, id, addr), quotactl_fd(fd, cmd, id, addr): cmd = QCMD(sub, type).

struct QuotaCmd {
  uint32_t sub;
  SyscallClass cls;
  ArgUse addr;
};

const QuotaCmd kQuotaCmds[] = {
    {0x800001, kRepl, ArgUse::unused()},  // Q_SYNC
    {0x800002, kLock, ArgUse::string()},  // Q_QUOTAON (quota file)
    {0x800003, kLock, ArgUse::unused()},  // Q_QUOTAOFF
    {0x800004, kRepl, ArgUse::out(4)},    // Q_GETFMT
    {0x800005, kRepl, ArgUse::out(24)},   // Q_GETINFO (struct if_dqinfo)
    {0x800006, kLock, ArgUse::in(24)},    // Q_SETINFO
    {0x800007, kRepl, ArgUse::out(72)},   // Q_GETQUOTA (struct if_dqblk)
    {0x800008, kLock, ArgUse::in(72)},    // Q_SETQUOTA
    {0x800009, kRepl, ArgUse::out(72)},   // Q_GETNEXTQUOTA (struct if_nextdqblk)
    {0x5801, kLock, ArgUse::in(4)},       // Q_XQUOTAON
    {0x5802, kLock, ArgUse::in(4)},       // Q_XQUOTAOFF
    {0x5803, kRepl, ArgUse::out(112)},    // Q_XGETQUOTA (struct fs_disk_quota)
    {0x5804, kLock, ArgUse::in(112)},     // Q_XSETQLIM
    {0x5805, kRepl, ArgUse::out(80)},     // Q_XGETQSTAT (struct fs_quota_stat)
    {0x5806, kLock, ArgUse::in(4)},       // Q_XQUOTARM
    {0x5807, kRepl, ArgUse::unused()},    // Q_XQUOTASYNC
    {0x5808, kRepl, ArgUse::inout(160)},  // Q_XGETQSTATV (struct fs_quota_statv)
    {0x5809, kRepl, ArgUse::out(112)},    // Q_XGETNEXTQUOTA
};

class QuotactlFamily final : public UseFamily {
 public:
  std::string_view name() const override { return "quotactl"; }

  std::optional<Refinement> classify(const SyscallCall& call, const SyscallInfo&,
                                     const RemoteMemory*) const override {
    const QuotaCmd* c = find(call);
    if (c == nullptr) return Refinement{SyscallClass::kRefused, "unknown quotactl command"};
    return Refinement{c->cls};
  }

  std::optional<ArgUse> use(const SyscallCall& call, int arg, const RemoteMemory*) const override {
    if (arg != 3) return std::nullopt;
    const QuotaCmd* c = find(call);
    return c ? c->addr : ArgUse::unused();
  }

 private:
  static const QuotaCmd* find(const SyscallCall& call) {
    uint32_t cmd = arg_u32(call, is(info_of(call), "quotactl") ? 0 : 1);
    for (const QuotaCmd& c : kQuotaCmds)
      if (c.sub == cmd >> 8) return &c;
    return nullptr;
  }
};

// ------------------------------------------------------------------------------------------
// keyctl(op, arg2, arg3, arg4, arg5)

constexpr uint64_t kMaxKeyPayload = 1 << 20;

struct KeyOp {
  uint32_t op;
  SyscallClass cls;
  ArgUse args[4];
};

const ArgUse kV = ArgUse::value(8);
const ArgUse kU = ArgUse::unused();
const ArgUse kS = ArgUse::string();
// Placeholders resolved per call: a buffer whose size is another argument.
const ArgUse kOutSizedBy4 = ArgUse::out_up_to_ret(0);
const ArgUse kInSizedBy4 = ArgUse::in(0);

const KeyOp kKeyOps[] = {
    {0, kRepl, {kV, kV, kU, kU}},  // GET_KEYRING_ID (create: see classify)
    // The session keyring is part of the calling process's credentials.
    {1, kEvery, {kS, kU, kU, kU}},                        // JOIN_SESSION_KEYRING
    {2, kLock, {kV, kInSizedBy4, kV, kU}},                // UPDATE
    {3, kLock, {kV, kU, kU, kU}},                         // REVOKE
    {4, kLock, {kV, kV, kV, kU}},                         // CHOWN
    {5, kLock, {kV, kV, kU, kU}},                         // SETPERM
    {6, kRepl, {kV, kOutSizedBy4, kV, kU}},               // DESCRIBE
    {7, kLock, {kV, kU, kU, kU}},                         // CLEAR
    {8, kLock, {kV, kV, kU, kU}},                         // LINK
    {9, kLock, {kV, kV, kU, kU}},                         // UNLINK
    {10, kRepl, {kV, kS, kS, kV}},                        // SEARCH (linking into dest: classify)
    {11, kRepl, {kV, kOutSizedBy4, kV, kU}},              // READ
    {12, kLock, {kV, kInSizedBy4, kV, kV}},               // INSTANTIATE
    {13, kLock, {kV, kV, kV, kU}},                        // NEGATE
    {14, kEvery, {kV, kU, kU, kU}},                       // SET_REQKEY_KEYRING
    {15, kLock, {kV, kV, kU, kU}},                        // SET_TIMEOUT
    {16, kEvery, {kV, kU, kU, kU}},                       // ASSUME_AUTHORITY
    {17, kRepl, {kV, kOutSizedBy4, kV, kU}},              // GET_SECURITY
    {18, kLock, {kU, kU, kU, kU}},                        // SESSION_TO_PARENT (another process)
    {19, kLock, {kV, kV, kV, kV}},                        // REJECT
    {21, kLock, {kV, kU, kU, kU}},                        // INVALIDATE
    {22, kLock, {kV, kV, kU, kU}},                        // GET_PERSISTENT (links into a keyring)
    {29, kLock, {kV, kS, kS, kU}},                        // RESTRICT_KEYRING
    {30, kLock, {kV, kV, kV, kV}},                        // MOVE
    {31, kRepl, {ArgUse::out_up_to_ret(0), kV, kU, kU}},  // CAPABILITIES (size: arg3)
    {32, kRepl, {kV, kV, kV, kU}},                        // WATCH_KEY
};
// Not described (refused): 20 INSTANTIATE_IOV, 23 DH_COMPUTE, 24..28 PKEY_*: their arguments
// are structs holding pointers.

class KeyctlFamily final : public UseFamily {
 public:
  std::string_view name() const override { return "keyctl"; }

  std::optional<Refinement> classify(const SyscallCall& call, const SyscallInfo&,
                                     const RemoteMemory*) const override {
    const KeyOp* k = find(call);
    if (k == nullptr) return Refinement{SyscallClass::kRefused, "keyctl operation not described"};
    uint32_t op = arg_u32(call, 0);
    if ((op == 0 && call.args[2] != 0) || (op == 10 && call.args[4] != 0))
      return Refinement{kLock};  // creating a keyring / linking the found key
    return Refinement{k->cls};
  }

  std::optional<ArgUse> use(const SyscallCall& call, int arg, const RemoteMemory*) const override {
    if (arg < 1) return std::nullopt;
    const KeyOp* k = find(call);
    if (k == nullptr) return ArgUse::unused();
    ArgUse u = k->args[arg - 1];
    if ((u.kind == ArgUse::kIn || u.kind == ArgUse::kOut) && u.size == 0) {
      // The size is the next argument (arg4 for the buffer in arg3, arg3 for CAPABILITIES).
      int size_arg = arg == 1 ? 2 : 3;
      u.size = std::min<uint64_t>(call.args[static_cast<size_t>(size_arg)], kMaxKeyPayload);
    }
    return u;
  }

 private:
  static const KeyOp* find(const SyscallCall& call) {
    for (const KeyOp& k : kKeyOps)
      if (k.op == arg_u32(call, 0)) return &k;
    return nullptr;
  }
};

// ------------------------------------------------------------------------------------------
// reboot(magic, magic2, cmd, arg): arg is a command string for LINUX_REBOOT_CMD_RESTART2 only.

constexpr uint32_t kRebootRestart2 = 0xA1B2C3D4;

class RebootFamily final : public UseFamily {
 public:
  std::string_view name() const override { return "reboot"; }
  std::optional<ArgUse> use(const SyscallCall& call, int arg, const RemoteMemory*) const override {
    if (arg != 3) return std::nullopt;
    return arg_u32(call, 2) == kRebootRestart2 ? ArgUse::string() : ArgUse::unused();
  }
};

// ------------------------------------------------------------------------------------------
// sysfs(option, arg1, arg2): 1 = index of the file system named by the string arg1;
// 2 = name of file system number arg1, written as a string into arg2; 3 = count.

constexpr uint64_t kFsNameMax = 256;

class SysfsFamily final : public Family {
 public:
  std::string_view name() const override { return "sysfs"; }

  std::optional<Refinement> classify(const SyscallCall& call, const SyscallInfo&,
                                     const RemoteMemory*) const override {
    int option = arg_i32(call, 0);
    if (option < 1 || option > 3) return Refinement{SyscallClass::kRefused, "unknown sysfs option"};
    return std::nullopt;
  }

  Result<bool> sign(const SyscallCall& call, int arg, const RemoteMemory& mem,
                    SigWriter& w) const override {
    int option = arg_i32(call, 0);
    if (arg == 1 && option == 1) {
      auto s = mem.read_cstring(arg_ptr(call, 1), kFsNameMax);
      if (!s) return s.error();
      w.text(*s);
    } else if (arg == 1 && option == 2) {
      w.u32(arg_u32(call, 1));
    } else if (arg == 2 && option == 2) {
      if (call.args[2] == 0) {
        w.null();
      } else {
        w.present();
      }
    }
    return arg == 1 || arg == 2;
  }

  Result<bool> capture(const SyscallCall& call, int arg, int64_t ret, const RemoteMemory& mem,
                       Outputs& out) const override {
    if (arg != 2) return arg == 1;
    if (arg_i32(call, 0) != 2 || ret < 0) return true;
    auto s = mem.read_cstring(arg_ptr(call, 2), kFsNameMax);
    if (!s) return s.error();
    std::vector<uint8_t> bytes(s->begin(), s->end());
    bytes.push_back(0);
    add_blob(out, 2, 0, std::move(bytes));
    return true;
  }

  Result<bool> apply(const SyscallCall& call, int arg, int64_t, const Outputs& outputs,
                     const RemoteMemory& mem) const override {
    if (arg != 2) return arg == 1;
    if (auto r = apply_bytes(mem, arg_ptr(call, 2), kFsNameMax, outputs, 2); !r) return r.error();
    return true;
  }

  bool format(const SyscallCall& call, int arg, const RemoteMemory* mem,
              std::string& out) const override {
    if (arg == 1 && arg_i32(call, 0) == 1) {
      out = fmt_remote_string(mem, arg_ptr(call, 1));
      return true;
    }
    return false;
  }
};

// ------------------------------------------------------------------------------------------
// fsconfig(fd, cmd, key, value, aux): value is a string, a binary blob of aux bytes, a path, or
// unused, by command.

class FsconfigFamily final : public UseFamily {
 public:
  std::string_view name() const override { return "fsconfig"; }

  std::optional<Refinement> classify(const SyscallCall& call, const SyscallInfo&,
                                     const RemoteMemory*) const override {
    if (arg_u32(call, 1) > 8) return Refinement{SyscallClass::kRefused, "unknown fsconfig command"};
    return std::nullopt;
  }

  std::optional<ArgUse> use(const SyscallCall& call, int arg, const RemoteMemory*) const override {
    if (arg != 3) return std::nullopt;
    switch (arg_u32(call, 1)) {
      case 1:  // FSCONFIG_SET_STRING
      case 3:  // FSCONFIG_SET_PATH
      case 4:  // FSCONFIG_SET_PATH_EMPTY
        return ArgUse::string();
      case 2:  // FSCONFIG_SET_BINARY: aux is the size (at most a page in the kernel)
        return ArgUse::in(std::min<uint64_t>(arg_u32(call, 4), 1 << 20));
      default:
        return ArgUse::unused();
    }
  }
};

// ------------------------------------------------------------------------------------------
// landlock_add_rule(ruleset_fd, rule_type, rule_attr, flags): the struct by rule type, both
// packed: path_beneath {u64 allowed_access; s32 parent_fd}, net_port {u64 allowed; u64 port}.

class LandlockFamily final : public UseFamily {
 public:
  std::string_view name() const override { return "landlock"; }

  std::optional<Refinement> classify(const SyscallCall& call, const SyscallInfo&,
                                     const RemoteMemory*) const override {
    uint32_t type = arg_u32(call, 1);
    if (type != 1 && type != 2) return Refinement{SyscallClass::kRefused, "unknown landlock rule"};
    return std::nullopt;
  }

  std::optional<ArgUse> use(const SyscallCall& call, int arg, const RemoteMemory*) const override {
    if (arg != 2) return std::nullopt;
    return arg_u32(call, 1) == 1 ? ArgUse::in(12) : ArgUse::in(16);
  }
};

// ------------------------------------------------------------------------------------------
// seccomp(op, flags, args): installing a filter (or strict mode) confines the caller: compared,
// then every version installs its own (own_process). The two queries are replicated. A
// program's own filter stacks on tandem's (HAZARDS 12).

class SeccompFamily final : public UseFamily {
 public:
  std::string_view name() const override { return "seccomp"; }

  std::optional<Refinement> classify(const SyscallCall& call, const SyscallInfo&,
                                     const RemoteMemory*) const override {
    switch (arg_u32(call, 0)) {
      case 0:
      case 1:
        return Refinement{kLock};
      case 2:
      case 3:
        return Refinement{kRepl};
      default:
        return Refinement{SyscallClass::kRefused, "unknown seccomp operation"};
    }
  }

  std::optional<ArgUse> use(const SyscallCall& call, int arg, const RemoteMemory*) const override {
    if (arg != 2) return std::nullopt;
    switch (arg_u32(call, 0)) {
      case 2:
        return ArgUse::in(4);  // GET_ACTION_AVAIL: u32 action
      case 3:
        return ArgUse::out(6);  // GET_NOTIF_SIZES: struct seccomp_notif_sizes
      case 1:
        return ArgUse::address();  // the program: see sign()
      default:
        return ArgUse::unused();
    }
  }

  Result<bool> sign(const SyscallCall& call, int arg, const RemoteMemory& mem,
                    SigWriter& w) const override {
    if (arg == 2 && arg_u32(call, 0) == 1) {
      if (auto r = sign_sock_fprog(mem, arg_ptr(call, 2), w); !r) return r.error();
      return true;
    }
    return UseFamily::sign(call, arg, mem, w);
  }
};

}  // namespace

const Family& quotactl_family() {
  static const QuotactlFamily f;
  return f;
}
const Family& keyctl_family() {
  static const KeyctlFamily f;
  return f;
}
const Family& reboot_family() {
  static const RebootFamily f;
  return f;
}
const Family& sysfs_family() {
  static const SysfsFamily f;
  return f;
}
const Family& fsconfig_family() {
  static const FsconfigFamily f;
  return f;
}
const Family& landlock_family() {
  static const LandlockFamily f;
  return f;
}
const Family& seccomp_family() {
  static const SeccompFamily f;
  return f;
}

}  // namespace tandem
