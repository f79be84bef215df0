// Families of readiness calls: poll/ppoll (revents is output only), select/pselect6 (fd_set
// sizes from nfds), epoll (cookies are not compared; see epoll.h).
#include <fmt/format.h>

#include <cstring>
#include <string_view>

#include "syscalls/args.h"
#include "syscalls/families/epoll.h"
#include "syscalls/families/family.h"
#include "syscalls/families/registry.h"
#include "syscalls/flags.h"
#include "syscalls/format_util.h"

namespace tandem {

namespace {

bool is(const SyscallInfo& info, std::string_view name) {
  return name == info.name;
}

// ------------------------------------------------------------------------------------------
// poll, ppoll: struct pollfd {int fd; short events; short revents}. The kernel ignores revents
// on input, and programs reuse arrays, so revents holds stale values that differ between
// versions: only fd and events are compared. RLIMIT_NOFILE bounds nfds in the kernel.

constexpr uint64_t kMaxPollFds = 1 << 20;

class PollFamily final : public Family {
 public:
  std::string_view name() const override { return "poll"; }

  Result<bool> sign(const SyscallCall& call, int arg, const RemoteMemory& mem,
                    SigWriter& w) const override {
    if (arg != 0) return false;
    uint64_t nfds = arg_u32(call, 1);
    if (call.args[0] == 0 || nfds > kMaxPollFds) {
      w.null();
      w.u64(nfds);
      return true;
    }
    std::vector<abi::Pollfd> fds(nfds);
    if (nfds > 0) {
      auto r = mem.read(arg_ptr(call, 0),
                        {reinterpret_cast<uint8_t*>(fds.data()), nfds * sizeof(abi::Pollfd)});
      if (!r) return r.error();
    }
    w.present();
    w.u32(static_cast<uint32_t>(nfds));
    for (const abi::Pollfd& p : fds) {
      w.u32(static_cast<uint32_t>(p.fd));
      w.u32(static_cast<uint16_t>(p.events));
    }
    return true;
  }

  bool format(const SyscallCall& call, int arg, const RemoteMemory* mem,
              std::string& out) const override {
    if (arg != 0 || mem == nullptr || call.args[0] == 0) return false;
    uint64_t nfds = std::min<uint64_t>(arg_u32(call, 1), 8);
    std::string s = "[";
    for (uint64_t i = 0; i < nfds; ++i) {
      auto p = mem->read_value(remote_ptr<abi::Pollfd>(call.args[0] + i * sizeof(abi::Pollfd)));
      if (!p) return false;
      s += fmt::format("{}{{fd={}, events={}}}", i ? ", " : "", p->fd,
                       format_flags("poll_events", static_cast<uint16_t>(p->events)));
    }
    if (arg_u32(call, 1) > nfds) s += ", ...";
    out = s + "]";
    return true;
  }
};

// ------------------------------------------------------------------------------------------
// select, pselect6: fd_sets of nfds bits, rounded up to longs as the kernel copies them; the
// timeout is rewritten with the time left (also when interrupted); pselect6's sixth argument is
// {const sigset_t *ss; size_t ss_len}.

constexpr int64_t kMaxSelectFds = 1 << 20;

uint64_t fdset_bytes(const SyscallCall& call) {
  int64_t n = arg_i32(call, 0);
  if (n <= 0 || n > kMaxSelectFds) return 0;
  return (static_cast<uint64_t>(n) + 63) / 64 * 8;
}

class SelectFamily final : public Family {
 public:
  std::string_view name() const override { return "select"; }

  Result<bool> sign(const SyscallCall& call, int arg, const RemoteMemory& mem,
                    SigWriter& w) const override {
    if (arg >= 1 && arg <= 3) {
      if (auto r = w.remote_bytes(mem, arg_ptr(call, arg), fdset_bytes(call)); !r) return r.error();
      return true;
    }
    if (arg == 4) {
      if (auto r = w.remote_bytes(mem, arg_ptr(call, 4), 16); !r) return r.error();
      return true;
    }
    if (arg == 5) {
      if (call.args[5] == 0) {
        w.null();
        return true;
      }
      auto ss = mem.read_bytes(arg_ptr(call, 5), 16);
      if (!ss) return ss.error();
      w.present();
      uint64_t len = get_u64(*ss, 8);
      if (auto r = w.remote_bytes(mem, remote_addr(get_u64(*ss, 0)), std::min<uint64_t>(len, 8));
          !r)
        return r.error();
      w.u64(len);
      return true;
    }
    return false;
  }

  Result<bool> capture(const SyscallCall& call, int arg, int64_t ret, const RemoteMemory& mem,
                       Outputs& out) const override {
    if (arg >= 1 && arg <= 3) {
      if (ret >= 0)
        if (auto r = capture_bytes(mem, arg_ptr(call, arg), fdset_bytes(call), out, arg); !r)
          return r.error();
      return true;
    }
    if (arg == 4) {
      if (ret >= 0 || is_interrupted(ret))
        if (auto r = capture_bytes(mem, arg_ptr(call, 4), 16, out, 4); !r) return r.error();
      return true;
    }
    return arg == 5;
  }

  Result<bool> apply(const SyscallCall& call, int arg, int64_t, const Outputs& outputs,
                     const RemoteMemory& mem) const override {
    if (arg >= 1 && arg <= 3) {
      if (auto r = apply_bytes(mem, arg_ptr(call, arg), fdset_bytes(call), outputs, arg); !r)
        return r.error();
      return true;
    }
    if (arg == 4) {
      if (auto r = apply_bytes(mem, arg_ptr(call, 4), 16, outputs, 4); !r) return r.error();
      return true;
    }
    return arg == 5;
  }

  bool format(const SyscallCall& call, int arg, const RemoteMemory* mem,
              std::string& out) const override {
    if (arg >= 1 && arg <= 3) {
      if (mem == nullptr || call.args[arg] == 0) return false;
      auto set = mem->read_bytes(arg_ptr(call, arg), fdset_bytes(call));
      if (!set) return false;
      out = "[";
      for (size_t bit = 0; bit < set->size() * 8 && bit < static_cast<size_t>(arg_i32(call, 0));
           ++bit)
        if ((*set)[bit / 8] & (1u << (bit % 8)))
          out += (out.size() > 1 ? " " : "") + std::to_string(bit);
      out += "]";
      return true;
    }
    if (arg == 4) {
      out =
          fmt_remote_timespec(mem, arg_ptr(call, 4), is(info_of(call), "select") ? "usec" : "nsec");
      return true;
    }
    return false;
  }
};

// ------------------------------------------------------------------------------------------
// epoll

constexpr uint32_t kEpollCtlDel = 2;

class EpollFamily final : public Family {
 public:
  std::string_view name() const override { return "epoll"; }

  Result<bool> sign(const SyscallCall& call, int arg, const RemoteMemory& mem,
                    SigWriter& w) const override {
    if (!is(info_of(call), "epoll_ctl") || arg != 3) return false;
    // EPOLL_CTL_DEL ignores the event (older kernels required it non-NULL: still not read).
    if (arg_u32(call, 1) == kEpollCtlDel) return true;
    if (call.args[3] == 0) {
      w.null();
      return true;
    }
    auto ev = mem.read_value(remote_ptr<abi::EpollEvent>(call.args[3]));
    if (!ev) return ev.error();
    w.present();
    w.u32(ev->events);  // the cookie (data) is the program's own: see epoll.h
    return true;
  }

  bool format(const SyscallCall& call, int arg, const RemoteMemory* mem,
              std::string& out) const override {
    if (!is(info_of(call), "epoll_ctl") || arg != 3 || mem == nullptr || call.args[3] == 0)
      return false;
    auto ev = mem->read_value(remote_ptr<abi::EpollEvent>(call.args[3]));
    if (!ev) return false;
    out = fmt::format("{{events={}, data={:#x}}}", format_flags("epoll_events", ev->events),
                      ev->data);
    return true;
  }
};

}  // namespace

std::vector<EpollReady> epoll_ready_events(const Outputs& outputs) {
  std::vector<EpollReady> out;
  const Outputs::Blob* blob = find_blob(outputs, 1);
  if (blob == nullptr) return out;
  for (size_t off = 0; off + sizeof(abi::EpollEvent) <= blob->bytes.size();
       off += sizeof(abi::EpollEvent))
    out.push_back({get_u32(blob->bytes, off), get_u64(blob->bytes, off + 4)});
  return out;
}

Result<std::optional<EpollReady>> epoll_ctl_event(const SyscallCall& call,
                                                  const RemoteMemory& mem) {
  if (arg_u32(call, 1) == kEpollCtlDel || call.args[3] == 0) return std::optional<EpollReady>{};
  auto ev = mem.read_value(remote_ptr<abi::EpollEvent>(call.args[3]));
  if (!ev) return ev.error();
  return std::optional<EpollReady>{EpollReady{ev->events, ev->data}};
}

Result<void> translate_epoll_cookies(Outputs& outputs,
                                     const std::function<std::optional<uint64_t>(uint64_t)>& map) {
  Outputs::Blob* blob = nullptr;
  for (Outputs::Blob& b : outputs.blobs)
    if (b.arg == 1 && b.part == 0) blob = &b;
  if (blob == nullptr) return {};
  std::vector<uint8_t> translated = blob->bytes;
  for (size_t off = 0; off + sizeof(abi::EpollEvent) <= translated.size();
       off += sizeof(abi::EpollEvent)) {
    auto cookie = map(get_u64(translated, off + 4));
    if (!cookie) return Errno{ENOENT};
    std::memcpy(translated.data() + off + 4, &*cookie, 8);
  }
  blob->bytes = std::move(translated);
  return {};
}

const Family& poll_family() {
  static const PollFamily f;
  return f;
}
const Family& select_family() {
  static const SelectFamily f;
  return f;
}
const Family& epoll_family() {
  static const EpollFamily f;
  return f;
}

}  // namespace tandem
