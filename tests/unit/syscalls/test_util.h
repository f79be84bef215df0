// Helpers for the syscall model tests: calls made of local pointers, read through RemoteMemory
// on the test's own process (process_vm_readv on oneself needs no ptrace permission).
#pragma once

#include <unistd.h>

#include <cstdint>
#include <initializer_list>

#include "base/remote_mem.h"
#include "syscalls/call.h"

namespace tandem::testing {

inline RemoteMemory self() {
  return RemoteMemory(getpid());
}

inline uint64_t a(const void* p) {
  return reinterpret_cast<uint64_t>(p);
}

inline SyscallCall make_call(int nr, std::initializer_list<uint64_t> args) {
  SyscallCall c;
  c.nr = nr;
  size_t i = 0;
  for (uint64_t v : args) c.args[i++] = v;
  return c;
}

}  // namespace tandem::testing
