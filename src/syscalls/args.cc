#include "syscalls/args.h"

#include <algorithm>
#include <cstring>

namespace tandem {

const SyscallInfo& info_of(const SyscallCall& call) {
  const SyscallInfo* info = syscall_info(call.nr);
  TANDEM_CHECK(info != nullptr) << "syscall " << call.nr << " is not in the model";
  return *info;
}

Result<uint64_t> length_value(const SyscallCall& call, const Length& len, int arg, int64_t ret,
                              const RemoteMemory& mem) {
  uint64_t base = 0;
  switch (len.from) {
    case LenFrom::kNone:
      return uint64_t{0};
    case LenFrom::kArg: {
      const ArgSpec& spec = info_of(call).args[len.value];
      base = arg_u(call, spec, static_cast<int>(len.value));
      break;
    }
    case LenFrom::kArgPtr: {
      remote_ptr<uint32_t> p(call.args[len.value]);
      if (p.is_null()) return Errno{EFAULT};
      auto v = mem.read_value(p);
      if (!v) return v.error();
      base = *v;
      break;
    }
    case LenFrom::kRet:
      if (ret < 0) return uint64_t{0};
      base = static_cast<uint64_t>(ret);
      break;
    case LenFrom::kFixed:
      base = len.value;
      break;
    case LenFrom::kField: {
      remote_ptr<uint32_t> p(call.args[static_cast<size_t>(arg)] + len.value);
      auto v = mem.read_value(p);
      if (!v) return v.error();
      base = *v == 0 ? len.if_zero : *v;
      break;
    }
  }
  uint64_t n = base * len.scale;
  if (len.bias < 0 && n < static_cast<uint64_t>(-static_cast<int64_t>(len.bias)))
    return uint64_t{0};
  n += static_cast<uint64_t>(static_cast<int64_t>(len.bias));
  return std::min(n, abi::kMaxBuffer);
}

Result<std::vector<abi::Iovec>> read_iovecs(const RemoteMemory& mem, remote_addr addr,
                                            uint64_t count) {
  if (count > abi::kUioMaxIov) return Errno{EINVAL};
  std::vector<abi::Iovec> iov(count);
  if (count == 0) return iov;
  auto r = mem.read(addr, {reinterpret_cast<uint8_t*>(iov.data()), count * sizeof(abi::Iovec)});
  if (!r) return r.error();
  return iov;
}

Result<std::vector<uint8_t>> gather(const RemoteMemory& mem, const std::vector<abi::Iovec>& iov,
                                    uint64_t total) {
  std::vector<uint8_t> out;
  out.reserve(std::min(total, abi::kMaxBuffer));
  for (const abi::Iovec& v : iov) {
    if (out.size() >= total) break;
    uint64_t n = std::min<uint64_t>(v.len, total - out.size());
    if (n == 0) continue;
    auto bytes = mem.read_bytes(remote_addr(v.base), n);
    if (!bytes) return bytes.error();
    out.insert(out.end(), bytes->begin(), bytes->end());
  }
  return out;
}

Result<void> scatter(const RemoteMemory& mem, const std::vector<abi::Iovec>& iov,
                     std::span<const uint8_t> bytes) {
  size_t done = 0;
  for (const abi::Iovec& v : iov) {
    if (done >= bytes.size()) break;
    size_t n = static_cast<size_t>(std::min<uint64_t>(v.len, bytes.size() - done));
    if (n == 0) continue;
    if (auto r = mem.write(remote_addr(v.base), bytes.subspan(done, n)); !r) return r;
    done += n;
  }
  // More bytes than the follower's buffers hold means the calls were not equivalent; what fits
  // was written, the rest is dropped rather than written anywhere else.
  return {};
}

Result<std::vector<std::string>> read_string_array(const RemoteMemory& mem, remote_addr addr) {
  std::vector<std::string> out;
  for (uint64_t i = 0; i < abi::kMaxArgStrings; ++i) {
    auto p = mem.read_value(remote_ptr<uint64_t>(addr.addr() + i * 8));
    if (!p) return p.error();
    if (*p == 0) return out;
    // MAX_ARG_STRLEN: the kernel refuses longer strings with E2BIG.
    auto s = mem.read_cstring(remote_addr(*p), 32 * 4096);
    if (!s) return s.error();
    out.push_back(std::move(*s));
  }
  return Errno{E2BIG};
}

void put_u32(std::vector<uint8_t>& out, uint32_t v) {
  uint8_t b[4];
  std::memcpy(b, &v, 4);
  out.insert(out.end(), b, b + 4);
}

void put_u64(std::vector<uint8_t>& out, uint64_t v) {
  uint8_t b[8];
  std::memcpy(b, &v, 8);
  out.insert(out.end(), b, b + 8);
}

uint32_t get_u32(std::span<const uint8_t> bytes, size_t offset) {
  uint32_t v = 0;
  if (offset + 4 <= bytes.size()) std::memcpy(&v, bytes.data() + offset, 4);
  return v;
}

uint64_t get_u64(std::span<const uint8_t> bytes, size_t offset) {
  uint64_t v = 0;
  if (offset + 8 <= bytes.size()) std::memcpy(&v, bytes.data() + offset, 8);
  return v;
}

}  // namespace tandem
