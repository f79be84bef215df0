// make_signature: a pointer-free encoding of what a call gives the kernel.
//
// Each argument becomes one field (Signature::Field) encoded by its kind, or by the call's
// family for irregular arguments. Integers are compared at their C width; pointers by what they
// point to (in-kinds) or by their capacity (out-kinds), never by address (HAZARDS 4).
#include <algorithm>

#include <sys/socket.h>

#include <algorithm>

#include "syscalls/args.h"
#include "syscalls/families/family.h"
#include "syscalls/msghdr.h"

namespace tandem {

namespace {

constexpr uint8_t kTagNull = 0;
constexpr uint8_t kTagPresent = 1;
// The kernel copies at most PATH_MAX (with the NUL) for a path; other strings (mount data,
// key descriptions, xattr names) are bounded by their own limits, all below this.
constexpr size_t kMaxPath = 4096;
constexpr size_t kMaxString = 1 << 20;

}  // namespace

// --- SigWriter ---

void SigWriter::u32(uint32_t v) {
  put_u32(sig_.bytes, v);
}
void SigWriter::u64(uint64_t v) {
  put_u64(sig_.bytes, v);
}
void SigWriter::null() {
  sig_.bytes.push_back(kTagNull);
}
void SigWriter::present() {
  sig_.bytes.push_back(kTagPresent);
}
void SigWriter::bytes(std::span<const uint8_t> b) {
  present();
  u64(b.size());
  sig_.bytes.insert(sig_.bytes.end(), b.begin(), b.end());
}
void SigWriter::text(std::string_view s) {
  bytes({reinterpret_cast<const uint8_t*>(s.data()), s.size()});
}
Result<void> SigWriter::remote_sockaddr(const RemoteMemory& mem, remote_addr addr,
                                        uint64_t len) {
  if (addr.is_null() || len < 2) return remote_bytes(mem, addr, len);
  auto b = mem.read_bytes(addr, len);
  if (!b) return b.error();
  uint16_t family = static_cast<uint16_t>((*b)[0] | ((*b)[1] << 8));
  if (family == AF_UNIX && b->size() > 2 && (*b)[2] != 0) {
    // A path name: the kernel stops at the first NUL.
    auto nul = std::find(b->begin() + 2, b->end(), 0);
    b->erase(nul, b->end());
  } else if (family == AF_INET && b->size() >= 16) {
    std::fill(b->begin() + 8, b->begin() + 16, 0);  // sin_zero
  }
  bytes(*b);
  return {};
}

Result<void> SigWriter::remote_bytes(const RemoteMemory& mem, remote_addr addr, uint64_t len) {
  if (addr.is_null()) {
    // A NULL buffer of length 0 is valid (write(fd, NULL, 0)); otherwise the kernel faults.
    null();
    u64(len);
    return {};
  }
  auto b = mem.read_bytes(addr, len);
  if (!b) return b.error();
  bytes(*b);
  return {};
}

namespace {

Result<void> sign_generic(const SyscallCall& call, const SyscallInfo& info, int i,
                          const RemoteMemory& mem, SigWriter& w) {
  const ArgSpec& spec = info.args[i];
  remote_addr ptr = arg_ptr(call, i);
  switch (spec.kind) {
    case ArgKind::kNone:
    case ArgKind::kIgnored:
      return {};
    case ArgKind::kValue:
    case ArgKind::kFlags:
    case ArgKind::kFd:
    case ArgKind::kDirFd:
    case ArgKind::kPid:
    case ArgKind::kSignal:
      w.u64(arg_u(call, spec, i));
      return {};
    case ArgKind::kPath:
    case ArgKind::kString: {
      if (ptr.is_null()) {
        w.null();
        return {};
      }
      auto s = mem.read_cstring(ptr, spec.kind == ArgKind::kPath ? kMaxPath : kMaxString);
      if (!s) return s.error();
      w.text(*s);
      return {};
    }
    case ArgKind::kStringArray: {
      if (ptr.is_null()) {
        w.null();
        return {};
      }
      auto v = read_string_array(mem, ptr);
      if (!v) return v.error();
      w.present();
      w.u32(static_cast<uint32_t>(v->size()));
      for (const std::string& s : *v) w.text(s);
      return {};
    }
    case ArgKind::kInBuf:
    case ArgKind::kInStruct:
    case ArgKind::kInOutStruct:
    case ArgKind::kInSigset:
    case ArgKind::kInSockaddr: {
      if (ptr.is_null()) {
        w.null();
        return {};
      }
      auto n = length_value(call, spec.len, i, 0, mem);
      if (!n) return n.error();
      if (spec.kind == ArgKind::kInSockaddr && *n > abi::kMaxSockaddr) {
        w.present();
        w.u64(*n);
        return {};
      }
      if (spec.kind == ArgKind::kInSockaddr) return w.remote_sockaddr(mem, ptr, *n);
      return w.remote_bytes(mem, ptr, *n);
    }
    case ArgKind::kOutBuf:
    case ArgKind::kOutStruct:
    case ArgKind::kOutSigset:
    case ArgKind::kOutSockaddr: {
      if (ptr.is_null()) {
        w.null();
        return {};
      }
      w.present();
      auto n = length_value(call, spec.len, i, 0, mem);
      if (!n) {
        if (n.error().value != EFAULT) return n.error();
        w.null();  // NULL or bad length pointer: the kernel fails the call with EFAULT
        return {};
      }
      w.u64(*n);
      return {};
    }
    case ArgKind::kSockLenPtr:
    case ArgKind::kOutFdPair:
      if (ptr.is_null()) {
        w.null();
      } else {
        w.present();
      }
      return {};
    case ArgKind::kInIovec: {
      auto n = length_value(call, spec.len, i, 0, mem);
      if (!n) return n.error();
      return sign_iovec_contents(mem, ptr, *n, w);
    }
    case ArgKind::kOutIovec: {
      auto n = length_value(call, spec.len, i, 0, mem);
      if (!n) return n.error();
      return sign_iovec_capacities(mem, ptr, *n, w);
    }
    case ArgKind::kInMsghdr:
      return sign_in_msghdr(mem, ptr, w);
    case ArgKind::kOutMsghdr:
      return sign_out_msghdr(mem, ptr, w);
    case ArgKind::kSpecial:
      break;
  }
  TANDEM_FATAL() << "no family encodes argument " << i << " (" << spec.name << ") of " << info.name;
}

}  // namespace

Result<Signature> make_signature(const SyscallCall& call, const RemoteMemory& mem) {
  Signature sig;
  sig.nr = call.nr;
  const SyscallInfo* info = syscall_info(call.nr);
  // Not a syscall: the kernel answers ENOSYS whatever the arguments, so none is compared.
  if (info == nullptr) return sig;
  const Family* family = family_of(*info);
  SigWriter w(sig);
  for (int i = 0; i < info->nargs; ++i) {
    uint32_t start = static_cast<uint32_t>(sig.bytes.size());
    bool handled = false;
    if (family != nullptr) {
      auto r = family->sign(call, i, mem, w);
      if (!r) return r.error();
      handled = *r;
    }
    if (!handled)
      if (auto r = sign_generic(call, *info, i, mem, w); !r) return r.error();
    sig.fields.push_back(
        {static_cast<uint8_t>(i), start, static_cast<uint32_t>(sig.bytes.size()) - start});
  }
  return sig;
}

int Signature::first_difference(const Signature& other, int ignored) const {
  if (nr != other.nr) return kDifferentCall;
  size_t n = std::min(fields.size(), other.fields.size());
  for (size_t i = 0; i < n; ++i) {
    const Field& a = fields[i];
    const Field& b = other.fields[i];
    if (a.arg == ignored && b.arg == ignored) continue;
    if (a.arg != b.arg || a.length != b.length ||
        !std::equal(bytes.begin() + a.offset, bytes.begin() + a.offset + a.length,
                    other.bytes.begin() + b.offset))
      return a.arg;
  }
  if (fields.size() != other.fields.size())
    return n < fields.size() ? fields[n].arg : other.fields[n].arg;
  return -1;
}

}  // namespace tandem
