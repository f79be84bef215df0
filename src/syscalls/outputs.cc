// capture_outputs / apply_outputs: what the kernel wrote into the leader, replayed into
// followers.
//
// Capture runs on the leader after its call returned, apply on a follower whose own call was
// skipped (HAZARDS 6): the follower's memory still holds what it passed in, so every capacity
// used by apply is the follower's own, read before anything is written.
#include <algorithm>
#include <map>

#include "syscalls/args.h"
#include "syscalls/families/family.h"
#include "syscalls/msghdr.h"

namespace tandem {

void add_blob(Outputs& out, int arg, int part, std::vector<uint8_t> bytes) {
  out.blobs.push_back({static_cast<uint8_t>(arg), static_cast<uint16_t>(part), std::move(bytes)});
}

const Outputs::Blob* find_blob(const Outputs& out, int arg, int part) {
  for (const Outputs::Blob& b : out.blobs)
    if (b.arg == arg && b.part == part) return &b;
  return nullptr;
}

Result<void> capture_bytes(const RemoteMemory& mem, remote_addr addr, uint64_t len, Outputs& out,
                           int arg, int part) {
  if (addr.is_null()) return {};
  auto bytes = mem.read_bytes(addr, len);
  if (!bytes) return bytes.error();
  add_blob(out, arg, part, std::move(*bytes));
  return {};
}

Result<void> apply_bytes(const RemoteMemory& mem, remote_addr addr, uint64_t capacity,
                         const Outputs& out, int arg, int part) {
  const Outputs::Blob* blob = find_blob(out, arg, part);
  if (blob == nullptr || addr.is_null()) return {};
  size_t n = static_cast<size_t>(std::min<uint64_t>(blob->bytes.size(), capacity));
  return mem.write(addr, std::span(blob->bytes).first(n));
}

namespace {

// Reads up to `len` bytes, fewer if the range runs into an unmapped page: the kernel may report
// a sockaddr longer than the buffer it filled (it writes min(real length, capacity)), and the
// real length is all that is known after the call.
std::vector<uint8_t> read_prefix(const RemoteMemory& mem, remote_addr addr, uint64_t len) {
  constexpr uint64_t kPage = 4096;
  std::vector<uint8_t> out;
  uint64_t cur = addr.addr();
  while (out.size() < len) {
    uint64_t chunk = std::min(kPage - cur % kPage, len - out.size());
    auto b = mem.read_bytes(remote_addr(cur), chunk);
    if (!b) break;
    out.insert(out.end(), b->begin(), b->end());
    cur += chunk;
  }
  return out;
}

bool writes_output(ArgKind kind) {
  switch (kind) {
    case ArgKind::kOutBuf:
    case ArgKind::kOutStruct:
    case ArgKind::kInOutStruct:
    case ArgKind::kOutIovec:
    case ArgKind::kOutMsghdr:
    case ArgKind::kOutSockaddr:
    case ArgKind::kSockLenPtr:
    case ArgKind::kOutSigset:
    case ArgKind::kOutFdPair:
      return true;
    default:
      return false;
  }
}

Result<void> capture_generic(const SyscallCall& call, const SyscallInfo& info, int i, int64_t ret,
                             const RemoteMemory& mem, Outputs& out) {
  const ArgSpec& spec = info.args[i];
  remote_addr ptr = arg_ptr(call, i);
  if (!writes_output(spec.kind) || ptr.is_null()) return {};
  if (is_error(ret) && !(spec.on_eintr && is_interrupted(ret))) return {};
  switch (spec.kind) {
    case ArgKind::kOutBuf:
    case ArgKind::kOutStruct:
    case ArgKind::kInOutStruct:
    case ArgKind::kOutSigset: {
      const Length& how_much = spec.written.from != LenFrom::kNone ? spec.written : spec.len;
      auto n = length_value(call, how_much, i, ret, mem);
      if (!n) return n.error();
      uint64_t count = *n;
      // The capacity bounds what was written, when it survives the call (a kArgPtr capacity
      // was overwritten by the kernel with the written length, which is then what we have).
      if (spec.len.from == LenFrom::kArg || spec.len.from == LenFrom::kFixed) {
        auto cap = length_value(call, spec.len, i, ret, mem);
        if (!cap) return cap.error();
        count = std::min(count, *cap);
      }
      return capture_bytes(mem, ptr, count, out, i);
    }
    case ArgKind::kOutIovec: {
      auto count = length_value(call, spec.len, i, ret, mem);
      if (!count) return count.error();
      auto iov = read_iovecs(mem, ptr, *count);
      if (!iov) return iov.error();
      auto data = gather(mem, *iov, ret < 0 ? 0 : static_cast<uint64_t>(ret));
      if (!data) return data.error();
      add_blob(out, i, 0, std::move(*data));
      return {};
    }
    case ArgKind::kOutMsghdr:
      return capture_msghdr(mem, ptr, ret < 0 ? 0 : static_cast<uint64_t>(ret), out, i, 0);
    case ArgKind::kOutSockaddr: {
      remote_ptr<uint32_t> lenp(call.args[spec.len.value]);
      if (lenp.is_null()) return {};
      auto real = mem.read_value(lenp);
      if (!real) return real.error();
      add_blob(out, i, 0, read_prefix(mem, ptr, std::min<uint64_t>(*real, abi::kMaxSockaddr)));
      return {};
    }
    case ArgKind::kSockLenPtr:
      return capture_bytes(mem, ptr, 4, out, i);
    case ArgKind::kOutFdPair: {
      auto fds = mem.read_bytes(ptr, 8);
      if (!fds) return fds.error();
      out.new_fds.push_back(static_cast<int>(get_u32(*fds, 0)));
      out.new_fds.push_back(static_cast<int>(get_u32(*fds, 4)));
      add_blob(out, i, 0, std::move(*fds));
      return {};
    }
    default:
      return {};
  }
}

// Capacities of the follower's buffers whose length is behind a pointer (sockaddrs, getsockopt):
// read before any write, since applying the length pointer's blob overwrites them.
using Capacities = std::map<int, uint64_t>;

Result<Capacities> follower_capacities(const SyscallCall& call, const SyscallInfo& info,
                                       const RemoteMemory& mem) {
  Capacities caps;
  for (int i = 0; i < info.nargs; ++i) {
    const ArgSpec& spec = info.args[i];
    if (!writes_output(spec.kind) || spec.len.from != LenFrom::kArgPtr) continue;
    remote_ptr<uint32_t> lenp(call.args[spec.len.value]);
    if (lenp.is_null() || arg_ptr(call, i).is_null()) continue;
    auto v = mem.read_value(lenp);
    if (!v) return v.error();
    caps[i] = *v;
  }
  return caps;
}

Result<void> apply_generic(const SyscallCall& call, const SyscallInfo& info, int i, int64_t ret,
                           const Outputs& outputs, const Capacities& caps,
                           const RemoteMemory& mem) {
  const ArgSpec& spec = info.args[i];
  remote_addr ptr = arg_ptr(call, i);
  if (!writes_output(spec.kind) || ptr.is_null()) return {};
  switch (spec.kind) {
    case ArgKind::kOutBuf:
    case ArgKind::kOutStruct:
    case ArgKind::kInOutStruct:
    case ArgKind::kOutSigset:
    case ArgKind::kOutSockaddr: {
      uint64_t capacity = 0;
      if (auto it = caps.find(i); it != caps.end()) {
        capacity = it->second;
      } else {
        auto n = length_value(call, spec.len, i, ret, mem);
        if (!n) return n.error();
        capacity = *n;
      }
      return apply_bytes(mem, ptr, capacity, outputs, i);
    }
    case ArgKind::kOutIovec: {
      const Outputs::Blob* blob = find_blob(outputs, i);
      if (blob == nullptr) return {};
      auto count = length_value(call, spec.len, i, ret, mem);
      if (!count) return count.error();
      auto iov = read_iovecs(mem, ptr, *count);
      if (!iov) return iov.error();
      return scatter(mem, *iov, blob->bytes);
    }
    case ArgKind::kOutMsghdr:
      return apply_msghdr(mem, ptr, outputs, i, 0);
    case ArgKind::kSockLenPtr:
      return apply_bytes(mem, ptr, 4, outputs, i);
    case ArgKind::kOutFdPair:
      return apply_bytes(mem, ptr, 8, outputs, i);
    default:
      return {};
  }
}

}  // namespace

Result<Outputs> capture_outputs(const SyscallCall& call, int64_t ret, const RemoteMemory& mem) {
  Outputs out;
  const SyscallInfo* info = syscall_info(call.nr);
  if (info == nullptr) return out;
  if (info->ret == RetKind::kFd && ret >= 0) out.new_fds.push_back(static_cast<int>(ret));
  const Family* family = family_of(*info);
  for (int i = 0; i < info->nargs; ++i) {
    if (family != nullptr) {
      auto handled = family->capture(call, i, ret, mem, out);
      if (!handled) return handled.error();
      if (*handled) continue;
    }
    if (auto r = capture_generic(call, *info, i, ret, mem, out); !r) return r.error();
  }
  return out;
}

Result<void> apply_outputs(const SyscallCall& call, int64_t ret, const Outputs& outputs,
                           const RemoteMemory& mem) {
  const SyscallInfo* info = syscall_info(call.nr);
  if (info == nullptr) return {};
  auto caps = follower_capacities(call, *info, mem);
  if (!caps) return caps.error();
  const Family* family = family_of(*info);
  for (int i = 0; i < info->nargs; ++i) {
    if (family != nullptr) {
      auto handled = family->apply(call, i, ret, outputs, mem);
      if (!handled) return handled.error();
      if (*handled) continue;
    }
    if (auto r = apply_generic(call, *info, i, ret, outputs, *caps, mem); !r) return r;
  }
  return {};
}

}  // namespace tandem
