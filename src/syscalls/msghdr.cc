#include "syscalls/msghdr.h"

#include <algorithm>

#include "syscalls/args.h"

namespace tandem {

Result<void> sign_iovec_contents(const RemoteMemory& mem, remote_addr addr, uint64_t count,
                                 SigWriter& w) {
  if (addr.is_null()) {
    w.null();
    return {};
  }
  auto iov = read_iovecs(mem, addr, count);
  if (!iov) return iov.error();
  w.u32(static_cast<uint32_t>(iov->size()));
  for (const abi::Iovec& v : *iov)
    if (auto r = w.remote_bytes(mem, remote_addr(v.base), std::min(v.len, abi::kMaxBuffer)); !r)
      return r;
  return {};
}

Result<void> sign_iovec_capacities(const RemoteMemory& mem, remote_addr addr, uint64_t count,
                                   SigWriter& w) {
  if (addr.is_null()) {
    w.null();
    return {};
  }
  auto iov = read_iovecs(mem, addr, count);
  if (!iov) return iov.error();
  w.u32(static_cast<uint32_t>(iov->size()));
  for (const abi::Iovec& v : *iov) w.u64(v.len);
  return {};
}

// --- signatures ---

Result<void> sign_in_msghdr(const RemoteMemory& mem, remote_addr addr, SigWriter& w) {
  if (addr.is_null()) {
    w.null();
    return {};
  }
  auto m = mem.read_value(remote_ptr<abi::Msghdr>(addr.addr()));
  if (!m) return m.error();
  w.present();
  if (m->name == 0 || m->namelen == 0) {
    w.null();
  } else if (m->namelen > abi::kMaxSockaddr) {
    w.u64(m->namelen);  // EINVAL in the kernel; compared by length alone
  } else if (auto r = w.remote_sockaddr(mem, remote_addr(m->name), m->namelen); !r) {
    return r;
  }
  if (auto r = sign_iovec_contents(mem, remote_addr(m->iov), m->iovlen, w); !r) return r;
  // Ancillary data: SCM_RIGHTS fd numbers compare as numbers (descriptor tables are identical),
  // SCM_CREDENTIALS carry virtual pids; both are plain bytes here.
  if (m->control == 0 || m->controllen == 0) {
    w.null();
  } else if (auto r = w.remote_bytes(mem, remote_addr(m->control),
                                     std::min<uint64_t>(m->controllen, abi::kMaxControl));
             !r) {
    return r;
  }
  return {};
}

Result<void> sign_out_msghdr(const RemoteMemory& mem, remote_addr addr, SigWriter& w) {
  if (addr.is_null()) {
    w.null();
    return {};
  }
  auto m = mem.read_value(remote_ptr<abi::Msghdr>(addr.addr()));
  if (!m) return m.error();
  w.present();
  if (m->name == 0) {
    w.null();
  } else {
    w.present();
    w.u32(m->namelen);
  }
  if (auto r = sign_iovec_capacities(mem, remote_addr(m->iov), m->iovlen, w); !r) return r;
  if (m->control == 0) {
    w.null();
  } else {
    w.present();
    w.u64(m->controllen);
  }
  return {};
}

// --- outputs ---

std::vector<int> scm_rights_fds(std::span<const uint8_t> control) {
  std::vector<int> fds;
  size_t off = 0;
  while (off + sizeof(abi::Cmsghdr) <= control.size()) {
    uint64_t len = get_u64(control, off);
    int32_t level = static_cast<int32_t>(get_u32(control, off + 8));
    int32_t type = static_cast<int32_t>(get_u32(control, off + 12));
    if (len < sizeof(abi::Cmsghdr) || off + len > control.size()) break;
    if (level == abi::kSolSocket && type == abi::kScmRights) {
      for (size_t p = off + sizeof(abi::Cmsghdr); p + 4 <= off + len; p += 4)
        fds.push_back(static_cast<int>(get_u32(control, p)));
    }
    off += abi::cmsg_align(len);
  }
  return fds;
}

Result<void> capture_msghdr(const RemoteMemory& mem, remote_addr addr, uint64_t data_len,
                            Outputs& out, int arg, int part_base) {
  if (addr.is_null()) return {};
  auto m = mem.read_value(remote_ptr<abi::Msghdr>(addr.addr()));
  if (!m) return m.error();
  // The kernel rewrote msg_namelen, msg_controllen and msg_flags: keep them as written.
  std::vector<uint8_t> header;
  put_u32(header, m->namelen);
  put_u32(header, 0);
  put_u64(header, m->controllen);
  put_u32(header, m->flags);
  put_u32(header, 0);
  add_blob(out, arg, part_base + Outputs::kMsgHeader, std::move(header));
  // msg_namelen is the real address length, which may exceed what fit in the buffer.
  if (m->name != 0)
    if (auto r = capture_bytes(mem, remote_addr(m->name),
                               std::min<uint64_t>(m->namelen, abi::kMaxSockaddr), out, arg,
                               part_base + Outputs::kMsgName);
        !r)
      return r;
  auto iov = read_iovecs(mem, remote_addr(m->iov), m->iovlen);
  if (!iov) return iov.error();
  auto data = gather(mem, *iov, data_len);
  if (!data) return data.error();
  add_blob(out, arg, part_base + Outputs::kMsgData, std::move(*data));
  if (m->control != 0 && m->controllen != 0) {
    auto control = mem.read_bytes(remote_addr(m->control),
                                  std::min<uint64_t>(m->controllen, abi::kMaxControl));
    if (!control) return control.error();
    for (int fd : scm_rights_fds(*control)) out.new_fds.push_back(fd);
    add_blob(out, arg, part_base + Outputs::kMsgControl, std::move(*control));
  }
  return {};
}

Result<void> apply_msghdr(const RemoteMemory& mem, remote_addr addr, const Outputs& out, int arg,
                          int part_base) {
  if (addr.is_null()) return {};
  const Outputs::Blob* header = find_blob(out, arg, part_base + Outputs::kMsgHeader);
  if (header == nullptr) return {};
  auto m = mem.read_value(remote_ptr<abi::Msghdr>(addr.addr()));
  if (!m) return m.error();
  // Capacities are the follower's own (its struct still holds what it passed in).
  if (m->name != 0)
    if (auto r = apply_bytes(mem, remote_addr(m->name), m->namelen, out, arg,
                             part_base + Outputs::kMsgName);
        !r)
      return r;
  if (const Outputs::Blob* data = find_blob(out, arg, part_base + Outputs::kMsgData)) {
    auto iov = read_iovecs(mem, remote_addr(m->iov), m->iovlen);
    if (!iov) return iov.error();
    if (auto r = scatter(mem, *iov, data->bytes); !r) return r;
  }
  uint64_t controllen = get_u64(header->bytes, 8);
  if (m->control != 0) {
    if (auto r = apply_bytes(mem, remote_addr(m->control), m->controllen, out, arg,
                             part_base + Outputs::kMsgControl);
        !r)
      return r;
    controllen = std::min(controllen, m->controllen);
  } else {
    controllen = 0;
  }
  abi::Msghdr updated = *m;
  updated.namelen = get_u32(header->bytes, 0);
  updated.controllen = controllen;
  updated.flags = get_u32(header->bytes, 16);
  return mem.write_value(remote_ptr<abi::Msghdr>(addr.addr()), updated);
}

}  // namespace tandem
