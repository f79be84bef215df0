// Helpers shared by the generic code (signature.cc, outputs.cc, format.cc, classify.cc) and the
// family handlers: argument values at their C width, lengths from the model, result tests, and
// bounded remote reads. Internal to the syscalls library.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/remote_mem.h"
#include "base/result.h"
#include "syscalls/abi.h"
#include "syscalls/call.h"
#include "syscalls/syscall_model.h"

namespace tandem {

// The argument at its C width, zero-extended (what the kernel sees of an unsigned type).
inline uint64_t arg_u(const SyscallCall& call, const ArgSpec& spec, int i) {
  uint64_t v = call.args[static_cast<size_t>(i)];
  return spec.width == 4 ? (v & 0xffffffffu) : v;
}
// The argument at its C width, sign-extended (ints: fds, pids, AT_FDCWD, -1).
inline int64_t arg_s(const SyscallCall& call, const ArgSpec& spec, int i) {
  uint64_t v = call.args[static_cast<size_t>(i)];
  return spec.width == 4 ? static_cast<int64_t>(static_cast<int32_t>(v)) : static_cast<int64_t>(v);
}
// Raw helpers for family code that knows the C type.
inline uint32_t arg_u32(const SyscallCall& call, int i) {
  return static_cast<uint32_t>(call.args[static_cast<size_t>(i)]);
}
inline int32_t arg_i32(const SyscallCall& call, int i) {
  return static_cast<int32_t>(call.args[static_cast<size_t>(i)]);
}
inline remote_addr arg_ptr(const SyscallCall& call, int i) {
  return remote_addr(call.args[static_cast<size_t>(i)]);
}

// A result in [-4095, -1] is -errno (the kernel's convention at the syscall boundary).
inline bool is_error(int64_t ret) {
  return ret < 0 && ret >= -4095;
}
// Interrupted by a signal: EINTR, or one of the kernel-internal restart codes a tracer sees.
inline bool is_interrupted(int64_t ret) {
  return ret == -EINTR || ret == -512 || ret == -513 || ret == -514 || ret == -516;
}

const SyscallInfo& info_of(const SyscallCall& call);

// The value of a Length for `call`. kArgPtr and kField read the caller's memory *now* (before
// the call: a capacity; after it: what the kernel wrote). `ret` is used by kRet. The result is
// clamped to abi::kMaxBuffer (a larger length fails in the kernel anyway).
Result<uint64_t> length_value(const SyscallCall& call, const Length& len, int arg, int64_t ret,
                              const RemoteMemory& mem);
// True if the length can be computed before the call without the result (not kRet).
inline bool known_before_call(const Length& len) {
  return len.from != LenFrom::kRet;
}

// Reads `count` iovecs (count above UIO_MAXIOV: EINVAL, as the kernel).
Result<std::vector<abi::Iovec>> read_iovecs(const RemoteMemory& mem, remote_addr addr,
                                            uint64_t count);
// Gathers `total` bytes from the buffers of an iovec array (the kernel fills them in order).
Result<std::vector<uint8_t>> gather(const RemoteMemory& mem, const std::vector<abi::Iovec>& iov,
                                    uint64_t total);
// Scatters `bytes` into the buffers of an iovec array, in order.
Result<void> scatter(const RemoteMemory& mem, const std::vector<abi::Iovec>& iov,
                     std::span<const uint8_t> bytes);
// Reads a NULL-terminated array of string pointers (argv, envp).
Result<std::vector<std::string>> read_string_array(const RemoteMemory& mem, remote_addr addr);

// Appends little-endian integers to a byte vector (signatures and blobs are byte strings).
void put_u32(std::vector<uint8_t>& out, uint32_t v);
void put_u64(std::vector<uint8_t>& out, uint64_t v);
uint32_t get_u32(std::span<const uint8_t> bytes, size_t offset);
uint64_t get_u64(std::span<const uint8_t> bytes, size_t offset);

}  // namespace tandem
