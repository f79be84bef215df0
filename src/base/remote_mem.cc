#include "base/remote_mem.h"

#include <sys/uio.h>

#include <algorithm>

namespace tandem {

namespace {
constexpr size_t kPage = 4096;
}

Result<void> RemoteMemory::read(remote_addr addr, std::span<uint8_t> out) const {
  size_t done = 0;
  while (done < out.size()) {
    iovec local{out.data() + done, out.size() - done};
    iovec remote{reinterpret_cast<void*>(addr.addr() + done), out.size() - done};
    ssize_t n = process_vm_readv(pid_, &local, 1, &remote, 1, 0);
    if (n < 0) return last_errno();
    if (n == 0) return Errno{EFAULT};
    done += static_cast<size_t>(n);
  }
  return {};
}

Result<void> RemoteMemory::write(remote_addr addr, std::span<const uint8_t> data) const {
  size_t done = 0;
  while (done < data.size()) {
    iovec local{const_cast<uint8_t*>(data.data()) + done, data.size() - done};
    iovec remote{reinterpret_cast<void*>(addr.addr() + done), data.size() - done};
    ssize_t n = process_vm_writev(pid_, &local, 1, &remote, 1, 0);
    if (n < 0) return last_errno();
    if (n == 0) return Errno{EFAULT};
    done += static_cast<size_t>(n);
  }
  return {};
}

Result<std::vector<uint8_t>> RemoteMemory::read_bytes(remote_addr addr, size_t len) const {
  std::vector<uint8_t> bytes(len);
  if (auto r = read(addr, bytes); !r) return r.error();
  return bytes;
}

Result<std::string> RemoteMemory::read_cstring(remote_addr addr, size_t max_len) const {
  std::string s;
  uint64_t cur = addr.addr();
  while (s.size() < max_len) {
    // Read up to the end of the current page so that a string near an unmapped page still works.
    size_t chunk = std::min(kPage - (cur % kPage), max_len - s.size());
    std::vector<uint8_t> buf(chunk);
    iovec local{buf.data(), chunk};
    iovec remote{reinterpret_cast<void*>(cur), chunk};
    ssize_t n = process_vm_readv(pid_, &local, 1, &remote, 1, 0);
    if (n <= 0) return n < 0 ? last_errno() : Errno{EFAULT};
    auto end = std::find(buf.begin(), buf.begin() + n, 0);
    s.append(buf.begin(), end);
    if (end != buf.begin() + n) return s;
    cur += static_cast<uint64_t>(n);
  }
  return Errno{ENAMETOOLONG};
}

}  // namespace tandem
