// Families of file calls: open (class by flags), fcntl (by command), file_handle
// (name_to_handle_at), xattrat (the value pointer inside struct xattr_args).
#include <fmt/format.h>

#include <string_view>

#include "syscalls/args.h"
#include "syscalls/families/family.h"
#include "syscalls/families/registry.h"
#include "syscalls/flags.h"
#include "syscalls/format_util.h"

namespace tandem {

namespace {

constexpr uint64_t kAccMode = 03;
constexpr uint64_t kOCreat = 0100;
constexpr uint64_t kOTrunc = 01000;
constexpr uint64_t kOAppend = 02000;
constexpr uint64_t kOTmpfileBit = 020000000;  // __O_TMPFILE (O_TMPFILE adds O_DIRECTORY)
constexpr uint64_t kOPath = 010000000;

bool is(const SyscallInfo& info, std::string_view name) {
  return name == info.name;
}

// ------------------------------------------------------------------------------------------
// open, openat, openat2, creat, mq_open, open_by_handle_at

class OpenFamily final : public Family {
 public:
  std::string_view name() const override { return "open"; }

  std::optional<Refinement> classify(const SyscallCall& call, const SyscallInfo& info,
                                     const RemoteMemory* mem) const override {
    if (is(info, "creat")) return Refinement{SyscallClass::kLockstep};
    std::optional<uint64_t> flags = open_flags(call, info, mem);
    // openat2 without memory: its flags are unknown, so the cautious class.
    if (!flags) return Refinement{SyscallClass::kLockstep};
    if (modifies(*flags)) return Refinement{SyscallClass::kLockstep};
    // An O_PATH descriptor only names a file (no I/O, no effect), and the kernel cannot pass
    // it to a follower (SECCOMP_IOCTL_NOTIF_ADDFD takes its source with fget(), which refuses
    // O_PATH files: EBADF): each version opens its own.
    if ((*flags & kOPath) != 0 && !is(info, "open_by_handle_at"))
      return Refinement{SyscallClass::kEveryone,
                        "O_PATH: names a file without opening it; each version opens its own"};
    return Refinement{SyscallClass::kReplicated};
  }

  Result<bool> sign(const SyscallCall& call, int arg, const RemoteMemory& mem,
                    SigWriter& w) const override {
    const SyscallInfo& info = info_of(call);
    if (arg != mode_arg(info) && !(is(info, "mq_open") && arg == 3)) return false;
    // The kernel reads the mode (and mq_open's attributes) only when creating; otherwise the
    // register holds whatever the caller left there and must not be compared.
    auto flags = open_flags(call, info, &mem);
    if (flags && !creates(*flags) && !is(info, "creat")) return true;
    return false;
  }

  bool format(const SyscallCall& call, int arg, const RemoteMemory* mem,
              std::string& out) const override {
    const SyscallInfo& info = info_of(call);
    if (arg == mode_arg(info)) {
      auto flags = open_flags(call, info, mem);
      if (flags && !creates(*flags) && !is(info, "creat")) {
        out.clear();  // omitted, as strace does
        return true;
      }
      return false;
    }
    if (is(info, "openat2") && arg == 2) {
      remote_addr p = arg_ptr(call, 2);
      if (mem == nullptr || p.is_null()) return false;
      auto how = mem->read_bytes(p, 24);
      if (!how) return false;
      out = fmt::format("{{flags={}, mode={}, resolve={:#x}}}",
                        format_flags("open_flags", get_u64(*how, 0)),
                        format_flags("mode", get_u64(*how, 8)), get_u64(*how, 16));
      return true;
    }
    return false;
  }

 private:
  static bool modifies(uint64_t flags) {
    uint64_t acc = flags & kAccMode;
    // Access mode 3 is Linux's "ioctl only" open, which requires read and write permission.
    return acc != 0 || (flags & (kOCreat | kOTrunc | kOAppend | kOTmpfileBit)) != 0;
  }
  static bool creates(uint64_t flags) { return (flags & (kOCreat | kOTmpfileBit)) != 0; }

  static int flags_arg(const SyscallInfo& info) {
    if (is(info, "open") || is(info, "mq_open")) return 1;
    if (is(info, "openat") || is(info, "open_by_handle_at")) return 2;
    return -1;
  }
  static int mode_arg(const SyscallInfo& info) {
    if (is(info, "open") || is(info, "mq_open")) return 2;
    if (is(info, "openat")) return 3;
    if (is(info, "creat")) return 1;
    return -1;
  }
  static std::optional<uint64_t> open_flags(const SyscallCall& call, const SyscallInfo& info,
                                            const RemoteMemory* mem) {
    if (int a = flags_arg(info); a >= 0) return arg_u32(call, a);
    if (is(info, "openat2")) {
      if (mem == nullptr) return std::nullopt;
      // struct open_how starts with u64 flags. An unreadable struct makes the kernel fail the
      // call with EFAULT: any class works, the cautious one is kept.
      auto f = mem->read_value(remote_ptr<uint64_t>(call.args[2]));
      if (!f) return std::nullopt;
      return *f;
    }
    return kOCreat | 1;  // creat: O_CREAT|O_WRONLY|O_TRUNC
  }
};

// ------------------------------------------------------------------------------------------
// fcntl: F_DUPFD*, F_GETFD/F_SETFD and F_DUPFD_QUERY act on the descriptor table (every
// version); the rest on the open file, shared by the versions (leader, replicated).

struct FcntlCmd {
  uint32_t cmd;
  SyscallClass cls;
  ArgUse arg;
};

constexpr uint64_t kFlockSize = sizeof(abi::Flock);
// struct flock as the kernel reads it for setting a lock: type, whence, start, len. The padding
// after whence and after pid holds stack garbage, and l_pid is ignored (it is an output of
// F_GETLK and must be 0 for OFD locks, which the kernel checks itself).
constexpr uint8_t kFlockIn[kFlockSize] = {1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                          1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0};
const FcntlCmd kFcntlCmds[] = {
    {0, SyscallClass::kEveryone, ArgUse::value(4)},                  // F_DUPFD
    {1, SyscallClass::kEveryone, ArgUse::unused()},                  // F_GETFD
    {2, SyscallClass::kEveryone, ArgUse::value(4)},                  // F_SETFD
    {3, SyscallClass::kReplicated, ArgUse::unused()},                // F_GETFL
    {4, SyscallClass::kReplicated, ArgUse::value(4, "open_flags")},  // F_SETFL
    // POSIX record locks belong to the process that takes them: the leader holds them for
    // every version, so a follower promoted after the leader died must take them again.
    {5, SyscallClass::kReplicated, ArgUse::inout_masked(kFlockSize, kFlockIn)},  // F_GETLK
    {6, SyscallClass::kReplicated, ArgUse::in_masked(kFlockSize, kFlockIn)},  // F_SETLK
    {7, SyscallClass::kReplicated, ArgUse::in_masked(kFlockSize, kFlockIn)},  // F_SETLKW
    {8, SyscallClass::kReplicated, ArgUse::value(4)},                     // F_SETOWN (virtual pid)
    {9, SyscallClass::kReplicated, ArgUse::unused()},                     // F_GETOWN
    {10, SyscallClass::kReplicated, ArgUse::value(4, "signal")},          // F_SETSIG
    {11, SyscallClass::kReplicated, ArgUse::unused()},                    // F_GETSIG
    {15, SyscallClass::kReplicated, ArgUse::in(8)},                       // F_SETOWN_EX
    {16, SyscallClass::kReplicated, ArgUse::out(8)},                      // F_GETOWN_EX
    {17, SyscallClass::kReplicated, ArgUse::out(8)},                      // F_GETOWNER_UIDS
    {36, SyscallClass::kReplicated, ArgUse::inout_masked(kFlockSize, kFlockIn)},  // F_OFD_GETLK
    {37, SyscallClass::kReplicated, ArgUse::in_masked(kFlockSize, kFlockIn)},  // F_OFD_SETLK
    {38, SyscallClass::kReplicated, ArgUse::in_masked(kFlockSize, kFlockIn)},  // F_OFD_SETLKW
    {1024, SyscallClass::kReplicated, ArgUse::value(4)},                  // F_SETLEASE
    {1025, SyscallClass::kReplicated, ArgUse::unused()},                  // F_GETLEASE
    {1026, SyscallClass::kReplicated, ArgUse::value(4, "inotify_mask")},  // F_NOTIFY
    {1027, SyscallClass::kEveryone, ArgUse::value(4)},                    // F_DUPFD_QUERY
    {1028, SyscallClass::kReplicated, ArgUse::unused()},                  // F_CREATED_QUERY
    {1029, SyscallClass::kReplicated, ArgUse::value(4)},                  // F_CANCELLK
    {1030, SyscallClass::kEveryone, ArgUse::value(4)},                    // F_DUPFD_CLOEXEC
    {1031, SyscallClass::kReplicated, ArgUse::value(4)},                  // F_SETPIPE_SZ
    {1032, SyscallClass::kReplicated, ArgUse::unused()},                  // F_GETPIPE_SZ
    {1033, SyscallClass::kReplicated, ArgUse::value(4)},                  // F_ADD_SEALS
    {1034, SyscallClass::kReplicated, ArgUse::unused()},                  // F_GET_SEALS
    {1035, SyscallClass::kReplicated, ArgUse::out(8)},                    // F_GET_RW_HINT
    {1036, SyscallClass::kReplicated, ArgUse::in(8)},                     // F_SET_RW_HINT
    {1037, SyscallClass::kReplicated, ArgUse::out(8)},                    // F_GET_FILE_RW_HINT
    {1038, SyscallClass::kReplicated, ArgUse::in(8)},                     // F_SET_FILE_RW_HINT
};

const FcntlCmd* find_fcntl(uint32_t cmd) {
  for (const FcntlCmd& c : kFcntlCmds)
    if (c.cmd == cmd) return &c;
  return nullptr;
}

class FcntlFamily final : public UseFamily {
 public:
  std::string_view name() const override { return "fcntl"; }

  std::optional<Refinement> classify(const SyscallCall& call, const SyscallInfo&,
                                     const RemoteMemory*) const override {
    const FcntlCmd* c = find_fcntl(arg_u32(call, 1));
    if (c == nullptr) return Refinement{SyscallClass::kRefused, "unknown fcntl command"};
    return Refinement{c->cls};
  }

  std::optional<ArgUse> use(const SyscallCall& call, int arg, const RemoteMemory*) const override {
    if (arg != 2) return std::nullopt;
    const FcntlCmd* c = find_fcntl(arg_u32(call, 1));
    return c ? c->arg : ArgUse::unused();
  }

  bool format(const SyscallCall& call, int arg, const RemoteMemory* mem,
              std::string& out) const override {
    if (arg != 2) return false;
    const FcntlCmd* c = find_fcntl(arg_u32(call, 1));
    if (c != nullptr && c->arg.kind == ArgUse::kUnused) {
      out.clear();
      return true;
    }
    if (c != nullptr && c->arg.size == kFlockSize && mem != nullptr) {
      auto fl = mem->read_value(remote_ptr<abi::Flock>(call.args[2]));
      if (fl) {
        static constexpr const char* kTypes[] = {"F_RDLCK", "F_WRLCK", "F_UNLCK"};
        out = fmt::format(
            "{{l_type={}, l_whence={}, l_start={}, l_len={}}}",
            fl->type >= 0 && fl->type < 3 ? kTypes[fl->type] : std::to_string(fl->type),
            format_flags("whence", static_cast<uint64_t>(fl->whence)), fl->start, fl->len);
        return true;
      }
    }
    if (arg_u32(call, 1) == 2) {  // F_SETFD
      out = arg_u32(call, 2) == 1 ? "FD_CLOEXEC" : std::to_string(arg_u32(call, 2));
      return true;
    }
    return UseFamily::format(call, arg, mem, out);
  }
};

// ------------------------------------------------------------------------------------------
// name_to_handle_at: struct file_handle {u32 handle_bytes; int handle_type; u8 f_handle[]} is
// in/out (capacity in handle_bytes), and mount_id is an int, or a u64 with
// AT_HANDLE_MNT_ID_UNIQUE.

constexpr uint64_t kMaxHandleSz = 128;
constexpr uint32_t kAtHandleMntIdUnique = 0x1;
constexpr int kHandleNeededPart = 1;

class FileHandleFamily final : public Family {
 public:
  std::string_view name() const override { return "file_handle"; }

  Result<bool> sign(const SyscallCall& call, int arg, const RemoteMemory& mem,
                    SigWriter& w) const override {
    remote_addr p = arg_ptr(call, arg);
    if (arg == 2) {
      if (p.is_null()) {
        w.null();
        return true;
      }
      auto cap = mem.read_value(remote_ptr<uint32_t>(p.addr()));
      if (!cap) return cap.error();
      w.present();
      w.u32(*cap);
      return true;
    }
    if (arg == 3) {
      if (p.is_null()) {
        w.null();
      } else {
        w.present();
      }
      return true;
    }
    return false;
  }

  Result<bool> capture(const SyscallCall& call, int arg, int64_t ret, const RemoteMemory& mem,
                       Outputs& out) const override {
    remote_addr p = arg_ptr(call, arg);
    if (arg == 2 && !p.is_null()) {
      auto bytes = mem.read_value(remote_ptr<uint32_t>(p.addr()));
      if (!bytes) return bytes.error();
      if (ret == 0) {
        if (auto r = capture_bytes(mem, p, 8 + std::min<uint64_t>(*bytes, kMaxHandleSz), out, 2);
            !r)
          return r.error();
      } else if (ret == -EOVERFLOW) {
        // The kernel reports the size it needs in handle_bytes.
        if (auto r = capture_bytes(mem, p, 4, out, 2, kHandleNeededPart); !r) return r.error();
      }
      return true;
    }
    if (arg == 3 && ret == 0) {
      if (auto r = capture_bytes(mem, p, mount_id_size(call), out, 3); !r) return r.error();
      return true;
    }
    return arg == 2 || arg == 3;
  }

  Result<bool> apply(const SyscallCall& call, int arg, int64_t ret, const Outputs& outputs,
                     const RemoteMemory& mem) const override {
    remote_addr p = arg_ptr(call, arg);
    if (arg == 2 && !p.is_null()) {
      auto cap = mem.read_value(remote_ptr<uint32_t>(p.addr()));
      if (!cap) return cap.error();
      if (auto r = apply_bytes(mem, p, 8 + *cap, outputs, 2); !r) return r.error();
      if (auto r = apply_bytes(mem, p, 4, outputs, 2, kHandleNeededPart); !r) return r.error();
      return true;
    }
    if (arg == 3) {
      if (auto r = apply_bytes(mem, p, mount_id_size(call), outputs, 3); !r) return r.error();
      return true;
    }
    return arg == 2;
  }

 private:
  static uint64_t mount_id_size(const SyscallCall& call) {
    return (arg_u32(call, 4) & kAtHandleMntIdUnique) ? 8 : 4;
  }
};

// ------------------------------------------------------------------------------------------
// setxattrat/getxattrat: struct xattr_args {u64 value; u32 size; u32 flags} (usize >= 16).

constexpr uint64_t kXattrArgsSize = 16;
constexpr uint64_t kXattrSizeMax = 65536;

class XattratFamily final : public Family {
 public:
  std::string_view name() const override { return "xattrat"; }

  Result<bool> sign(const SyscallCall& call, int arg, const RemoteMemory& mem,
                    SigWriter& w) const override {
    if (arg != 4) return false;
    remote_addr p = arg_ptr(call, 4);
    if (p.is_null() || call.args[5] < kXattrArgsSize) {
      w.null();  // the kernel fails these with EFAULT/EINVAL
      w.u64(call.args[5]);
      return true;
    }
    auto a = mem.read_bytes(p, kXattrArgsSize);
    if (!a) return a.error();
    uint64_t value = get_u64(*a, 0);
    uint32_t size = get_u32(*a, 8);
    w.present();
    w.u32(size);
    w.u32(get_u32(*a, 12));
    if (is_set(call)) {
      if (auto r = w.remote_bytes(mem, remote_addr(value), std::min<uint64_t>(size, kXattrSizeMax));
          !r)
        return r.error();
    } else if (value == 0) {
      w.null();
    } else {
      w.present();
    }
    return true;
  }

  Result<bool> capture(const SyscallCall& call, int arg, int64_t ret, const RemoteMemory& mem,
                       Outputs& out) const override {
    if (arg != 4) return false;
    if (is_set(call) || ret <= 0) return true;
    auto a = args_struct(call, mem);
    if (!a) return a.error();
    uint64_t n = std::min<uint64_t>(static_cast<uint64_t>(ret), a->second);
    if (auto r = capture_bytes(mem, remote_addr(a->first), n, out, 4); !r) return r.error();
    return true;
  }

  Result<bool> apply(const SyscallCall& call, int arg, int64_t ret, const Outputs& outputs,
                     const RemoteMemory& mem) const override {
    if (arg != 4) return false;
    if (is_set(call) || find_blob(outputs, 4) == nullptr) return true;
    auto a = args_struct(call, mem);
    if (!a) return a.error();
    if (auto r = apply_bytes(mem, remote_addr(a->first), a->second, outputs, 4); !r)
      return r.error();
    return true;
  }

  bool format(const SyscallCall& call, int arg, const RemoteMemory* mem,
              std::string& out) const override {
    if (arg != 4 || mem == nullptr) return false;
    auto a = mem->read_bytes(arg_ptr(call, 4), kXattrArgsSize);
    if (!a) return false;
    uint64_t value = get_u64(*a, 0);
    uint32_t size = get_u32(*a, 8);
    out = fmt::format(
        "{{value={}, size={}, flags={}}}",
        is_set(call) ? fmt_remote_buffer(mem, remote_addr(value), size) : fmt_pointer(value), size,
        format_flags("xattr_flags", get_u32(*a, 12)));
    return true;
  }

 private:
  static bool is_set(const SyscallCall& call) {
    return std::string_view(info_of(call).name) == "setxattrat";
  }
  // {value pointer, size} of the caller's struct xattr_args.
  static Result<std::pair<uint64_t, uint64_t>> args_struct(const SyscallCall& call,
                                                           const RemoteMemory& mem) {
    auto a = mem.read_bytes(arg_ptr(call, 4), kXattrArgsSize);
    if (!a) return a.error();
    return std::pair<uint64_t, uint64_t>{get_u64(*a, 0), get_u32(*a, 8)};
  }
};

}  // namespace

const Family& open_family() {
  static const OpenFamily f;
  return f;
}
const Family& fcntl_family() {
  static const FcntlFamily f;
  return f;
}
const Family& file_handle_family() {
  static const FileHandleFamily f;
  return f;
}
const Family& xattrat_family() {
  static const XattratFamily f;
  return f;
}

}  // namespace tandem
