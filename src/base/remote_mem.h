// RemoteMemory: the one place where tandem reads and writes another process's memory.
//
// Uses process_vm_readv/process_vm_writev, which need no ptrace stop and may be called from any
// thread of the monitor (unlike ptrace requests, which belong to the tracer thread). Partial
// transfers (a range that crosses into an unmapped page) are reported as EFAULT.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/remote_ptr.h"
#include "base/result.h"

namespace tandem {

class RemoteMemory {
 public:
  explicit RemoteMemory(pid_t pid) : pid_(pid) {}
  pid_t pid() const { return pid_; }

  Result<void> read(remote_addr addr, std::span<uint8_t> out) const;
  Result<void> write(remote_addr addr, std::span<const uint8_t> data) const;
  Result<std::vector<uint8_t>> read_bytes(remote_addr addr, size_t len) const;
  // Reads a NUL-terminated string of at most max_len bytes (without the NUL).
  Result<std::string> read_cstring(remote_addr addr, size_t max_len = 4096) const;

  template <typename T>
  Result<T> read_value(remote_ptr<T> p) const {
    T value{};
    auto r = read(remote_addr(p.addr()), {reinterpret_cast<uint8_t*>(&value), sizeof(T)});
    if (!r) return r.error();
    return value;
  }
  template <typename T>
  Result<void> write_value(remote_ptr<T> p, const T& value) const {
    return write(remote_addr(p.addr()), {reinterpret_cast<const uint8_t*>(&value), sizeof(T)});
  }

 private:
  pid_t pid_;
};

}  // namespace tandem
