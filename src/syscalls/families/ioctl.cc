// The ioctl family: the request decides what the argument is and how versions run the call.
//
// Most requests encode their argument in the number (_IOC: direction, size, type, nr), which
// makes them generic: _IOC_WRITE -> the kernel reads `size` bytes, _IOC_READ -> it writes them,
// neither -> the argument is a value. Older requests (terminals, sockets, block devices) encode
// nothing; a table gives the common ones. An unencoded request that is not in the table cannot
// be compared safely (its argument may be a pointer or a value), so it is refused with ENOTTY,
// the kernel's own answer to a request a file does not support.
#include <fmt/format.h>

#include "syscalls/args.h"
#include "syscalls/families/family.h"
#include "syscalls/families/registry.h"
#include "syscalls/flags.h"
#include "syscalls/format_util.h"

namespace tandem {

namespace {

constexpr uint32_t kIocNone = 0, kIocWrite = 1, kIocRead = 2;
constexpr uint32_t ioc_dir(uint32_t req) {
  return req >> 30;
}
constexpr uint32_t ioc_size(uint32_t req) {
  return (req >> 16) & 0x3fff;
}
constexpr uint32_t ioc_type(uint32_t req) {
  return (req >> 8) & 0xff;
}
constexpr uint32_t ioc_nr(uint32_t req) {
  return req & 0xff;
}

constexpr uint64_t kTermios = 36;  // kernel struct termios (not glibc's 60-byte one)
constexpr uint64_t kTermio = 18;
constexpr uint64_t kIfreq = 40;
constexpr uint32_t kSiocgifconf = 0x8912;
constexpr uint32_t kTiocgptpeer = 0x5441;

struct Request {
  uint32_t req;
  SyscallClass cls;
  ArgUse arg;
};

// Requests whose number does not describe their argument, and encoded ones whose argument is
// not what the encoding says (FICLONE takes a descriptor by value).
const Request kRequests[] = {
    {0x5401, SyscallClass::kReplicated, ArgUse::out(kTermios)},  // TCGETS
    {0x5402, SyscallClass::kReplicated, ArgUse::in(kTermios)},   // TCSETS
    {0x5403, SyscallClass::kReplicated, ArgUse::in(kTermios)},   // TCSETSW
    {0x5404, SyscallClass::kReplicated, ArgUse::in(kTermios)},   // TCSETSF
    {0x5405, SyscallClass::kReplicated, ArgUse::out(kTermio)},   // TCGETA
    {0x5406, SyscallClass::kReplicated, ArgUse::in(kTermio)},    // TCSETA
    {0x5407, SyscallClass::kReplicated, ArgUse::in(kTermio)},    // TCSETAW
    {0x5408, SyscallClass::kReplicated, ArgUse::in(kTermio)},    // TCSETAF
    {0x5409, SyscallClass::kReplicated, ArgUse::value(4)},       // TCSBRK
    {0x540a, SyscallClass::kReplicated, ArgUse::value(4)},       // TCXONC
    {0x540b, SyscallClass::kReplicated, ArgUse::value(4)},       // TCFLSH
    {0x540c, SyscallClass::kReplicated, ArgUse::unused()},       // TIOCEXCL
    {0x540d, SyscallClass::kReplicated, ArgUse::unused()},       // TIOCNXCL
    // The controlling terminal belongs to each version's own session (setsid runs everywhere).
    {0x540e, SyscallClass::kEveryone, ArgUse::value(4)},  // TIOCSCTTY
    {0x540f, SyscallClass::kReplicated, ArgUse::out(4)},  // TIOCGPGRP
    {0x5410, SyscallClass::kReplicated, ArgUse::in(4)},   // TIOCSPGRP
    {0x5411, SyscallClass::kReplicated, ArgUse::out(4)},  // TIOCOUTQ
    // Pushing bytes into a terminal's input is how terminal injection attacks work.
    {0x5412, SyscallClass::kLockstep, ArgUse::in(1)},                           // TIOCSTI
    {0x5413, SyscallClass::kReplicated, ArgUse::out(8)},                        // TIOCGWINSZ
    {0x5414, SyscallClass::kReplicated, ArgUse::in(8)},                         // TIOCSWINSZ
    {0x5415, SyscallClass::kReplicated, ArgUse::out(4)},                        // TIOCMGET
    {0x5416, SyscallClass::kReplicated, ArgUse::in(4)},                         // TIOCMBIS
    {0x5417, SyscallClass::kReplicated, ArgUse::in(4)},                         // TIOCMBIC
    {0x5418, SyscallClass::kReplicated, ArgUse::in(4)},                         // TIOCMSET
    {0x5419, SyscallClass::kReplicated, ArgUse::out(4)},                        // TIOCGSOFTCAR
    {0x541a, SyscallClass::kReplicated, ArgUse::in(4)},                         // TIOCSSOFTCAR
    {0x541b, SyscallClass::kReplicated, ArgUse::out(4)},                        // FIONREAD
    {0x541d, SyscallClass::kLockstep, ArgUse::unused()},                        // TIOCCONS
    {0x5421, SyscallClass::kReplicated, ArgUse::in(4)},                         // FIONBIO
    {0x5422, SyscallClass::kEveryone, ArgUse::unused()},                        // TIOCNOTTY
    {0x5423, SyscallClass::kReplicated, ArgUse::in(4)},                         // TIOCSETD
    {0x5424, SyscallClass::kReplicated, ArgUse::out(4)},                        // TIOCGETD
    {0x5425, SyscallClass::kReplicated, ArgUse::value(4)},                      // TCSBRKP
    {0x5427, SyscallClass::kReplicated, ArgUse::unused()},                      // TIOCSBRK
    {0x5428, SyscallClass::kReplicated, ArgUse::unused()},                      // TIOCCBRK
    {0x5429, SyscallClass::kReplicated, ArgUse::out(4)},                        // TIOCGSID
    {0x5437, SyscallClass::kLockstep, ArgUse::unused()},                        // TIOCVHANGUP
    {kTiocgptpeer, SyscallClass::kReplicated, ArgUse::value(4, "open_flags")},  // TIOCGPTPEER
    // Close-on-exec is a property of the descriptor table entry: every version sets its own.
    {0x5450, SyscallClass::kEveryone, ArgUse::unused()},           // FIONCLEX
    {0x5451, SyscallClass::kEveryone, ArgUse::unused()},           // FIOCLEX
    {0x5452, SyscallClass::kReplicated, ArgUse::in(4)},            // FIOASYNC
    {0x5456, SyscallClass::kReplicated, ArgUse::out(kTermios)},    // TIOCGLCKTRMIOS
    {0x5457, SyscallClass::kLockstep, ArgUse::in(kTermios)},       // TIOCSLCKTRMIOS
    {0x5459, SyscallClass::kReplicated, ArgUse::out(4)},           // TIOCSERGETLSR
    {0x5460, SyscallClass::kReplicated, ArgUse::out(8)},           // FIOQSIZE
    {0x0001, SyscallClass::kReplicated, ArgUse::inout(4)},         // FIBMAP
    {0x0002, SyscallClass::kReplicated, ArgUse::out(4)},           // FIGETBSZ
    {0x1260, SyscallClass::kReplicated, ArgUse::out(8)},           // BLKGETSIZE
    {0x1268, SyscallClass::kReplicated, ArgUse::out(4)},           // BLKSSZGET
    {0x8905, SyscallClass::kReplicated, ArgUse::out(4)},           // SIOCATMARK
    {0x8906, SyscallClass::kReplicated, ArgUse::out(16)},          // SIOCGSTAMP
    {0x8907, SyscallClass::kReplicated, ArgUse::out(16)},          // SIOCGSTAMPNS
    {0x8910, SyscallClass::kReplicated, ArgUse::inout(kIfreq)},    // SIOCGIFNAME
    {kSiocgifconf, SyscallClass::kReplicated, ArgUse::inout(16)},  // SIOCGIFCONF (see below)
    {0x8913, SyscallClass::kReplicated, ArgUse::inout(kIfreq)},    // SIOCGIFFLAGS
    {0x8915, SyscallClass::kReplicated, ArgUse::inout(kIfreq)},    // SIOCGIFADDR
    {0x8917, SyscallClass::kReplicated, ArgUse::inout(kIfreq)},    // SIOCGIFDSTADDR
    {0x8919, SyscallClass::kReplicated, ArgUse::inout(kIfreq)},    // SIOCGIFBRDADDR
    {0x891b, SyscallClass::kReplicated, ArgUse::inout(kIfreq)},    // SIOCGIFNETMASK
    {0x891d, SyscallClass::kReplicated, ArgUse::inout(kIfreq)},    // SIOCGIFMETRIC
    {0x8921, SyscallClass::kReplicated, ArgUse::inout(kIfreq)},    // SIOCGIFMTU
    {0x8927, SyscallClass::kReplicated, ArgUse::inout(kIfreq)},    // SIOCGIFHWADDR
    {0x8933, SyscallClass::kReplicated, ArgUse::inout(kIfreq)},    // SIOCGIFINDEX
    {0x8942, SyscallClass::kReplicated, ArgUse::inout(kIfreq)},    // SIOCGIFTXQLEN
    // Network configuration is authority over the machine.
    {0x8914, SyscallClass::kLockstep, ArgUse::in(kIfreq)},      // SIOCSIFFLAGS
    {0x8916, SyscallClass::kLockstep, ArgUse::in(kIfreq)},      // SIOCSIFADDR
    {0x8922, SyscallClass::kLockstep, ArgUse::in(kIfreq)},      // SIOCSIFMTU
    {0x8923, SyscallClass::kLockstep, ArgUse::in(kIfreq)},      // SIOCSIFNAME
    {0x8924, SyscallClass::kLockstep, ArgUse::in(kIfreq)},      // SIOCSIFHWADDR
    {0x40049409, SyscallClass::kReplicated, ArgUse::value(4)},  // FICLONE (source fd)
};

// Types of unencoded requests: terminals 'T', sockets 0x89, block 0x12, FIBMAP/FIGETBSZ 0,
// console 'K', VT 'V', cdrom 'S', loop 'L', wireless 0x8B.
bool legacy_type(uint32_t type) {
  switch (type) {
    case 0x00:
    case 0x12:
    case 0x4b:
    case 0x4c:
    case 0x53:
    case 0x54:
    case 0x56:
    case 0x89:
    case 0x8b:
      return true;
    default:
      return false;
  }
}

const Request* find_request(uint32_t req) {
  for (const Request& r : kRequests)
    if (r.req == req) return &r;
  return nullptr;
}

bool unencoded(uint32_t req) {
  return ioc_dir(req) == kIocNone && ioc_size(req) == 0;
}

// struct ifconf {int ifc_len; (pad) union {char *ifc_buf; struct ifreq *ifc_req;}}: the only
// common unencoded request with a pointer inside its argument.
constexpr int kIfconfLenPart = 0, kIfconfBufPart = 1;

class IoctlFamily final : public UseFamily {
 public:
  std::string_view name() const override { return "ioctl"; }

  std::optional<Refinement> classify(const SyscallCall& call, const SyscallInfo&,
                                     const RemoteMemory*) const override {
    uint32_t req = arg_u32(call, 1);
    if (const Request* r = find_request(req)) return Refinement{r->cls};
    if (unencoded(req) && legacy_type(ioc_type(req)))
      return Refinement{SyscallClass::kRefused, "unencoded ioctl request the model does not know"};
    return Refinement{SyscallClass::kReplicated};
  }

  std::optional<ArgUse> use(const SyscallCall& call, int arg, const RemoteMemory*) const override {
    if (arg != 2) return std::nullopt;
    uint32_t req = arg_u32(call, 1);
    if (const Request* r = find_request(req)) return r->arg;
    if (unencoded(req)) return legacy_type(ioc_type(req)) ? ArgUse::unused() : ArgUse::value(8);
    switch (ioc_dir(req)) {
      case kIocWrite:
        return ArgUse::in(ioc_size(req));
      case kIocRead:
        return ArgUse::out(ioc_size(req));
      case kIocWrite | kIocRead:
        return ArgUse::inout(ioc_size(req));
      default:
        return ArgUse::value(8);
    }
  }

  Result<bool> sign(const SyscallCall& call, int arg, const RemoteMemory& mem,
                    SigWriter& w) const override {
    if (arg == 2 && arg_u32(call, 1) == kSiocgifconf) {
      auto ifc = read_ifconf(call, mem);
      if (!ifc) return ifc.error();
      w.u32(ifc->first);
      if (ifc->second == 0) {
        w.null();
      } else {
        w.present();
      }
      return true;
    }
    return UseFamily::sign(call, arg, mem, w);
  }

  Result<bool> capture(const SyscallCall& call, int arg, int64_t ret, const RemoteMemory& mem,
                       Outputs& out) const override {
    if (arg == 2 && arg_u32(call, 1) == kSiocgifconf) {
      if (ret < 0) return true;
      auto ifc = read_ifconf(call, mem);
      if (!ifc) return ifc.error();
      std::vector<uint8_t> len;
      put_u32(len, ifc->first);
      add_blob(out, 2, kIfconfLenPart, std::move(len));
      if (auto r = capture_bytes(mem, remote_addr(ifc->second), ifc->first, out, 2, kIfconfBufPart);
          !r)
        return r.error();
      return true;
    }
    if (arg == 2 && arg_u32(call, 1) == kTiocgptpeer && ret >= 0)
      out.new_fds.push_back(static_cast<int>(ret));
    return UseFamily::capture(call, arg, ret, mem, out);
  }

  Result<bool> apply(const SyscallCall& call, int arg, int64_t ret, const Outputs& outputs,
                     const RemoteMemory& mem) const override {
    if (arg == 2 && arg_u32(call, 1) == kSiocgifconf) {
      auto ifc = read_ifconf(call, mem);
      if (!ifc) return ifc.error();
      if (auto r =
              apply_bytes(mem, remote_addr(ifc->second), ifc->first, outputs, 2, kIfconfBufPart);
          !r)
        return r.error();
      if (auto r = apply_bytes(mem, arg_ptr(call, 2), 4, outputs, 2, kIfconfLenPart); !r)
        return r.error();
      return true;
    }
    return UseFamily::apply(call, arg, ret, outputs, mem);
  }

  bool format(const SyscallCall& call, int arg, const RemoteMemory* mem,
              std::string& out) const override {
    uint32_t req = arg_u32(call, 1);
    if (arg == 1) {
      if (const char* name = enum_name("ioctl_request", req)) {
        out = name;
      } else if (unencoded(req)) {
        out = fmt::format("{:#x}", req);
      } else {
        static constexpr const char* kDirs[] = {"_IOC_NONE", "_IOC_WRITE", "_IOC_READ",
                                                "_IOC_READ|_IOC_WRITE"};
        out = fmt::format("_IOC({}, {:#x}, {:#x}, {:#x})", kDirs[ioc_dir(req)], ioc_type(req),
                          ioc_nr(req), ioc_size(req));
      }
      return true;
    }
    if (arg == 2 && (req == 0x5413 || req == 0x5414) && mem != nullptr) {
      auto ws = mem->read_bytes(arg_ptr(call, 2), 8);
      if (ws && req == 0x5414) {
        out = fmt::format("{{ws_row={}, ws_col={}}}", (*ws)[0] | ((*ws)[1] << 8),
                          (*ws)[2] | ((*ws)[3] << 8));
        return true;
      }
    }
    return UseFamily::format(call, arg, mem, out);
  }

 private:
  static Result<std::pair<uint32_t, uint64_t>> read_ifconf(const SyscallCall& call,
                                                           const RemoteMemory& mem) {
    auto b = mem.read_bytes(arg_ptr(call, 2), 16);
    if (!b) return b.error();
    return std::pair<uint32_t, uint64_t>{get_u32(*b, 0), get_u64(*b, 8)};
  }
};

}  // namespace

const Family& ioctl_family() {
  static const IoctlFamily f;
  return f;
}

}  // namespace tandem
