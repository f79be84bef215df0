// format_call / format_result: strace-like decoding for events and divergence reports.
//
// Reading memory is best effort here: a decoder never fails, it prints the address instead of
// the contents it could not read.
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <string_view>

#include "syscalls/args.h"
#include "syscalls/families/family.h"
#include "syscalls/flags.h"
#include "syscalls/format_util.h"

namespace tandem {

// --- shared pieces ---

std::string fmt_pointer(uint64_t addr) {
  return addr == 0 ? "NULL" : fmt::format("{:#x}", addr);
}

std::string fmt_quoted(std::span<const uint8_t> bytes, uint64_t total) {
  std::string out = "\"";
  size_t n = std::min(bytes.size(), kFormatMaxBytes);
  for (size_t i = 0; i < n; ++i) {
    uint8_t c = bytes[i];
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\0':
        out += "\\0";
        break;
      default:
        if (c >= 0x20 && c < 0x7f) {
          out += static_cast<char>(c);
        } else {
          out += fmt::format("\\x{:02x}", c);
        }
    }
  }
  out += '"';
  if (total > n) out += "...";
  return out;
}

std::string fmt_remote_buffer(const RemoteMemory* mem, remote_addr addr, uint64_t len) {
  if (addr.is_null() || mem == nullptr) return fmt_pointer(addr.addr());
  auto bytes = mem->read_bytes(addr, std::min<uint64_t>(len, kFormatMaxBytes));
  if (!bytes) return fmt_pointer(addr.addr());
  return fmt_quoted(*bytes, len);
}

std::string fmt_remote_string(const RemoteMemory* mem, remote_addr addr) {
  if (addr.is_null() || mem == nullptr) return fmt_pointer(addr.addr());
  // One byte more than shown tells whether the string goes on.
  auto s = mem->read_cstring(addr, 4096);
  if (!s) return fmt_pointer(addr.addr());
  return fmt_quoted({reinterpret_cast<const uint8_t*>(s->data()), s->size()}, s->size());
}

std::string fmt_remote_struct(const RemoteMemory* mem, remote_addr addr, uint64_t len) {
  if (addr.is_null() || mem == nullptr) return fmt_pointer(addr.addr());
  auto bytes = mem->read_bytes(addr, std::min<uint64_t>(len, kFormatMaxBytes));
  if (!bytes) return fmt_pointer(addr.addr());
  std::string out = "{";
  for (size_t i = 0; i < bytes->size(); ++i) {
    if (i > 0) out += ' ';
    out += fmt::format("{:02x}", (*bytes)[i]);
  }
  if (len > bytes->size()) out += " ...";
  return out + "}";
}

std::string fmt_sigset(uint64_t mask) {
  std::string out = "[";
  for (int sig = 1; sig <= 64; ++sig) {
    if ((mask & (uint64_t{1} << (sig - 1))) == 0) continue;
    if (out.size() > 1) out += ' ';
    std::string name = signal_name(sig);
    out += std::string_view(name).starts_with("SIG") ? name.substr(3) : name;
  }
  return out + "]";
}

std::string fmt_remote_sigset(const RemoteMemory* mem, remote_addr addr, uint64_t len) {
  if (addr.is_null() || mem == nullptr) return fmt_pointer(addr.addr());
  auto bytes = mem->read_bytes(addr, std::min<uint64_t>(len, 8));
  if (!bytes) return fmt_pointer(addr.addr());
  uint64_t mask = 0;
  std::memcpy(&mask, bytes->data(), bytes->size());
  return fmt_sigset(mask);
}

std::string fmt_sockaddr(std::span<const uint8_t> b) {
  if (b.size() < 2) return "{}";
  uint16_t family = static_cast<uint16_t>(b[0] | (b[1] << 8));
  const char* fname = enum_name("socket_domain", family);
  std::string out = fmt::format("{{sa_family={}", fname ? fname : std::to_string(family));
  constexpr uint16_t kAfUnix = 1, kAfInet = 2, kAfInet6 = 10;
  if (family == kAfInet && b.size() >= 8) {
    out += fmt::format(", sin_port=htons({}), sin_addr=inet_addr(\"{}.{}.{}.{}\")",
                       (b[2] << 8) | b[3], b[4], b[5], b[6], b[7]);
  } else if (family == kAfInet6 && b.size() >= 24) {
    std::string addr;
    for (int i = 0; i < 8; ++i)
      addr += fmt::format("{}{:x}", i ? ":" : "", (b[8 + 2 * i] << 8) | b[9 + 2 * i]);
    out += fmt::format(", sin6_port=htons({}), sin6_addr=\"{}\"", (b[2] << 8) | b[3], addr);
  } else if (family == kAfUnix && b.size() > 2) {
    auto path = b.subspan(2);
    if (path[0] == 0) {
      // Abstract socket: the name is every byte after the leading NUL.
      out += ", sun_path=@" + fmt_quoted(path.subspan(1), path.size() - 1);
    } else {
      auto end = std::find(path.begin(), path.end(), 0);
      size_t n = static_cast<size_t>(end - path.begin());
      out += ", sun_path=" + fmt_quoted(path.first(n), n);
    }
  }
  return out + "}";
}

std::string fmt_remote_timespec(const RemoteMemory* mem, remote_addr addr, const char* sub) {
  if (addr.is_null() || mem == nullptr) return fmt_pointer(addr.addr());
  auto ts = mem->read_value(remote_ptr<abi::Timespec>(addr.addr()));
  if (!ts) return fmt_pointer(addr.addr());
  return fmt::format("{{tv_sec={}, tv_{}={}}}", ts->sec, sub, ts->nsec);
}

namespace {

// Struct arguments worth decoding without a family: the time values (by argument name, which
// the model uses consistently for timespec/timeval).
const char* time_struct_unit(const SyscallInfo& info, const ArgSpec& spec) {
  if (spec.len.from != LenFrom::kFixed || spec.len.value != 16) return nullptr;
  std::string_view n = spec.name;
  if (n == "tv") return "usec";
  for (std::string_view t : {"req", "request", "rem", "remain", "tp", "res", "timeout",
                             "abs_timeout", "tsp", "interval"})
    if (n == t) return "nsec";
  return nullptr;
}

std::string fmt_in_iovec(const RemoteMemory* mem, remote_addr addr, uint64_t count) {
  if (addr.is_null() || mem == nullptr) return fmt_pointer(addr.addr());
  auto iov = read_iovecs(*mem, addr, std::min<uint64_t>(count, 4));
  if (!iov) return fmt_pointer(addr.addr());
  std::string out = "[";
  for (size_t i = 0; i < iov->size(); ++i) {
    const abi::Iovec& v = (*iov)[i];
    out += fmt::format("{}{{iov_base={}, iov_len={}}}", i ? ", " : "",
                       fmt_remote_buffer(mem, remote_addr(v.base), v.len), v.len);
  }
  if (count > iov->size()) out += ", ...";
  return out + "]";
}

std::string fmt_in_msghdr(const RemoteMemory* mem, remote_addr addr) {
  if (addr.is_null() || mem == nullptr) return fmt_pointer(addr.addr());
  auto m = mem->read_value(remote_ptr<abi::Msghdr>(addr.addr()));
  if (!m) return fmt_pointer(addr.addr());
  std::string name = "NULL";
  if (m->name != 0) {
    auto b = mem->read_bytes(remote_addr(m->name), std::min<uint64_t>(m->namelen, 128));
    name = b ? fmt_sockaddr(*b) : fmt_pointer(m->name);
  }
  return fmt::format(
      "{{msg_name={}, msg_namelen={}, msg_iov={}, msg_iovlen={}, "
      "msg_controllen={}, msg_flags={}}}",
      name, m->namelen, fmt_in_iovec(mem, remote_addr(m->iov), m->iovlen), m->iovlen, m->controllen,
      format_flags("msg_flags", m->flags));
}

std::string fmt_string_array(const RemoteMemory* mem, remote_addr addr) {
  if (addr.is_null() || mem == nullptr) return fmt_pointer(addr.addr());
  constexpr uint64_t kShown = 8;
  std::string out = "[";
  for (uint64_t i = 0; i <= kShown; ++i) {
    auto p = mem->read_value(remote_ptr<uint64_t>(addr.addr() + i * 8));
    if (!p) return fmt_pointer(addr.addr());
    if (*p == 0) break;
    if (i == kShown) {
      out += ", ...";
      break;
    }
    out += (i ? ", " : "") + fmt_remote_string(mem, remote_addr(*p));
  }
  return out + "]";
}

std::string format_generic(const SyscallCall& call, const SyscallInfo& info, int i,
                           const RemoteMemory* mem) {
  const ArgSpec& spec = info.args[i];
  remote_addr ptr = arg_ptr(call, i);
  auto len = [&]() -> uint64_t {
    if (mem == nullptr) return 0;
    auto n = length_value(call, spec.len, i, 0, *mem);
    return n ? *n : 0;
  };
  switch (spec.kind) {
    case ArgKind::kNone:
      return "";
    case ArgKind::kValue:
    case ArgKind::kFd:
    case ArgKind::kPid:
      return std::to_string(arg_s(call, spec, i));
    case ArgKind::kDirFd:
      return arg_s(call, spec, i) == abi::kAtFdcwd ? "AT_FDCWD"
                                                   : std::to_string(arg_s(call, spec, i));
    case ArgKind::kSignal:
      return signal_name(static_cast<int>(arg_s(call, spec, i)));
    case ArgKind::kFlags:
      return format_flags(spec.flagset, arg_u(call, spec, i));
    case ArgKind::kPath:
    case ArgKind::kString:
      return fmt_remote_string(mem, ptr);
    case ArgKind::kStringArray:
      return fmt_string_array(mem, ptr);
    case ArgKind::kInBuf:
      return fmt_remote_buffer(mem, ptr, len());
    case ArgKind::kInStruct:
    case ArgKind::kInOutStruct:
      if (const char* unit = time_struct_unit(info, spec))
        return fmt_remote_timespec(mem, ptr, unit);
      return fmt_remote_struct(mem, ptr, len());
    case ArgKind::kInIovec:
      return fmt_in_iovec(mem, ptr, arg_u(call, info.args[spec.len.value], spec.len.value));
    case ArgKind::kInMsghdr:
      return fmt_in_msghdr(mem, ptr);
    case ArgKind::kInSockaddr: {
      if (ptr.is_null() || mem == nullptr) return fmt_pointer(ptr.addr());
      auto b = mem->read_bytes(ptr, std::min<uint64_t>(len(), abi::kMaxSockaddr));
      return b ? fmt_sockaddr(*b) : fmt_pointer(ptr.addr());
    }
    case ArgKind::kInSigset:
      return fmt_remote_sigset(mem, ptr, len());
    case ArgKind::kOutBuf:
    case ArgKind::kOutStruct:
    case ArgKind::kOutIovec:
    case ArgKind::kOutMsghdr:
    case ArgKind::kOutSockaddr:
    case ArgKind::kSockLenPtr:
    case ArgKind::kOutSigset:
    case ArgKind::kOutFdPair:
    case ArgKind::kIgnored:
      return fmt_pointer(ptr.addr());
    case ArgKind::kSpecial:
      return fmt::format("{:#x}", call.args[static_cast<size_t>(i)]);
  }
  return "?";
}

const char* restart_text(int err) {
  switch (err) {
    case 512:
      return "To be restarted if SA_RESTART is set";
    case 513:
      return "To be restarted";
    case 514:
      return "To be restarted if no handler";
    case 516:
      return "Interrupted by signal";
    default:
      return nullptr;
  }
}

}  // namespace

std::string format_call(const SyscallCall& call, const RemoteMemory* mem) {
  const SyscallInfo* info = syscall_info(call.nr);
  if (info == nullptr)
    return fmt::format("syscall_{}({:#x}, {:#x}, {:#x}, {:#x}, {:#x}, {:#x})", call.nr,
                       call.args[0], call.args[1], call.args[2], call.args[3], call.args[4],
                       call.args[5]);
  const Family* family = family_of(*info);
  std::string out = std::string(info->name) + "(";
  bool first = true;
  for (int i = 0; i < info->nargs; ++i) {
    std::string text;
    if (family == nullptr || !family->format(call, i, mem, text)) {
      text = format_generic(call, *info, i, mem);
    } else if (text.empty()) {
      continue;  // the family omits this argument
    }
    if (!first) out += ", ";
    out += text;
    first = false;
  }
  return out + ")";
}

std::string format_result(const SyscallCall& call, int64_t ret) {
  if (is_error(ret)) {
    int err = static_cast<int>(-ret);
    const char* name = errno_name(err);
    if (const char* restart = restart_text(err)) return fmt::format("? {} ({})", name, restart);
    if (name == nullptr) return fmt::format("-1 errno {}", err);
    return fmt::format("-1 {} ({})", name, std::strerror(err));
  }
  const SyscallInfo* info = syscall_info(call.nr);
  if (info != nullptr && info->ret == RetKind::kAddress) return fmt::format("{:#x}", ret);
  return std::to_string(ret);
}

}  // namespace tandem
