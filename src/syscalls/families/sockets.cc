// Families of socket calls: send (an explicit destination makes a send LOCKSTEP), mmsg
// (sendmmsg/recvmmsg arrays of msghdr), sockopt (option names by level; socket filters).
#include <fmt/format.h>

#include <string_view>

#include "syscalls/args.h"
#include "syscalls/families/family.h"
#include "syscalls/families/registry.h"
#include "syscalls/flags.h"
#include "syscalls/format_util.h"
#include "syscalls/msghdr.h"

namespace tandem {

namespace {

bool is(const SyscallInfo& info, std::string_view name) {
  return name == info.name;
}

// ------------------------------------------------------------------------------------------
// sendto with dest_addr, sendmsg with msg_name: the program chooses where data goes, like
// connect; on a connected socket a send is a write.

class SendFamily final : public Family {
 public:
  std::string_view name() const override { return "send"; }

  std::optional<Refinement> classify(const SyscallCall& call, const SyscallInfo& info,
                                     const RemoteMemory* mem) const override {
    if (is(info, "sendto"))
      return call.args[4] != 0 ? std::optional(Refinement{SyscallClass::kLockstep}) : std::nullopt;
    if (call.args[1] == 0) return std::nullopt;  // EFAULT in every version
    if (mem == nullptr) return Refinement{SyscallClass::kLockstep};
    auto name = mem->read_value(remote_ptr<uint64_t>(call.args[1]));
    if (!name) return std::nullopt;
    return *name != 0 ? std::optional(Refinement{SyscallClass::kLockstep}) : std::nullopt;
  }

  Result<bool> sign(const SyscallCall& call, int arg, const RemoteMemory&,
                    SigWriter&) const override {
    // sendto's addrlen means nothing without an address.
    return is(info_of(call), "sendto") && arg == 5 && call.args[4] == 0;
  }
};

// ------------------------------------------------------------------------------------------
// sendmmsg/recvmmsg: struct mmsghdr {struct msghdr msg_hdr; unsigned msg_len} x vlen. The
// kernel silently caps vlen at UIO_MAXIOV; the result is the number of messages done, and
// msg_len of each is written (bytes sent or received).

class MmsgFamily final : public Family {
 public:
  std::string_view name() const override { return "mmsg"; }

  Result<bool> sign(const SyscallCall& call, int arg, const RemoteMemory& mem,
                    SigWriter& w) const override {
    if (arg != 1) return false;
    if (call.args[1] == 0) {
      w.null();
      return true;
    }
    uint64_t n = count(call);
    bool send = sending(call);
    w.present();
    w.u32(static_cast<uint32_t>(n));
    for (uint64_t i = 0; i < n; ++i) {
      remote_addr hdr = message(call, i);
      auto r = send ? sign_in_msghdr(mem, hdr, w) : sign_out_msghdr(mem, hdr, w);
      if (!r) return r.error();
    }
    return true;
  }

  Result<bool> capture(const SyscallCall& call, int arg, int64_t ret, const RemoteMemory& mem,
                       Outputs& out) const override {
    if (arg != 1) return false;
    if (ret <= 0) return true;
    uint64_t done = std::min<uint64_t>(static_cast<uint64_t>(ret), count(call));
    for (uint64_t i = 0; i < done; ++i) {
      int base = static_cast<int>(i * 8);
      auto len = mem.read_value(
          remote_ptr<uint32_t>(message(call, i).addr() + offsetof(abi::Mmsghdr, len)));
      if (!len) return len.error();
      std::vector<uint8_t> b;
      put_u32(b, *len);
      add_blob(out, 1, base + Outputs::kMmsgLen, std::move(b));
      if (!sending(call))
        if (auto r = capture_msghdr(mem, message(call, i), *len, out, 1, base); !r)
          return r.error();
    }
    return true;
  }

  Result<bool> apply(const SyscallCall& call, int arg, int64_t, const Outputs& outputs,
                     const RemoteMemory& mem) const override {
    if (arg != 1) return false;
    for (uint64_t i = 0; i < count(call); ++i) {
      int base = static_cast<int>(i * 8);
      if (find_blob(outputs, 1, base + Outputs::kMmsgLen) == nullptr) break;
      if (!sending(call))
        if (auto r = apply_msghdr(mem, message(call, i), outputs, 1, base); !r) return r.error();
      remote_addr len(message(call, i).addr() + offsetof(abi::Mmsghdr, len));
      if (auto r = apply_bytes(mem, len, 4, outputs, 1, base + Outputs::kMmsgLen); !r)
        return r.error();
    }
    return true;
  }

 private:
  static bool sending(const SyscallCall& call) { return is(info_of(call), "sendmmsg"); }
  static uint64_t count(const SyscallCall& call) {
    return std::min<uint64_t>(arg_u32(call, 2), abi::kUioMaxIov);
  }
  static remote_addr message(const SyscallCall& call, uint64_t i) {
    return remote_addr(call.args[1] + i * sizeof(abi::Mmsghdr));
  }
};

// ------------------------------------------------------------------------------------------
// setsockopt/getsockopt: names by level; SO_ATTACH_FILTER and SO_ATTACH_REUSEPORT_CBPF pass a
// struct sock_fprog whose program is behind a pointer.

constexpr uint32_t kSolSocket = 1, kIpprotoIp = 0, kIpprotoTcp = 6, kIpprotoIpv6 = 41;
constexpr uint32_t kSoAttachFilter = 26, kSoAttachReuseportCbpf = 51;

const char* option_set(uint32_t level) {
  switch (level) {
    case kSolSocket:
      return "sockopt_socket";
    case kIpprotoIp:
      return "sockopt_ip";
    case kIpprotoTcp:
      return "sockopt_tcp";
    case kIpprotoIpv6:
      return "sockopt_ipv6";
    default:
      return nullptr;
  }
}

class SockoptFamily final : public Family {
 public:
  std::string_view name() const override { return "sockopt"; }

  Result<bool> sign(const SyscallCall& call, int arg, const RemoteMemory& mem,
                    SigWriter& w) const override {
    if (arg != 3 || !is(info_of(call), "setsockopt") || arg_u32(call, 1) != kSolSocket)
      return false;
    uint32_t opt = arg_u32(call, 2);
    if (opt != kSoAttachFilter && opt != kSoAttachReuseportCbpf) return false;
    if (auto r = sign_sock_fprog(mem, arg_ptr(call, 3), w); !r) return r.error();
    return true;
  }

  bool format(const SyscallCall& call, int arg, const RemoteMemory* mem,
              std::string& out) const override {
    if (arg == 2) {
      const char* set = option_set(arg_u32(call, 1));
      const char* n = set ? enum_name(set, arg_u32(call, 2)) : nullptr;
      out = n ? n : std::to_string(arg_i32(call, 2));
      return true;
    }
    // An int option, as strace shows it: [1].
    if (arg == 3 && is(info_of(call), "setsockopt") && arg_i32(call, 4) == 4 && mem != nullptr) {
      auto v = mem->read_value(remote_ptr<int32_t>(call.args[3]));
      if (!v) return false;
      out = fmt::format("[{}]", *v);
      return true;
    }
    return false;
  }
};

}  // namespace

const Family& send_family() {
  static const SendFamily f;
  return f;
}
const Family& mmsg_family() {
  static const MmsgFamily f;
  return f;
}
const Family& sockopt_family() {
  static const SockoptFamily f;
  return f;
}

}  // namespace tandem
