// Pieces of strace-like formatting shared by format.cc and the families. Internal.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "base/remote_mem.h"

namespace tandem {

// Strings and buffers are shown up to this many bytes, then "...".
constexpr size_t kFormatMaxBytes = 32;

// "NULL" or "0x7ffd1234".
std::string fmt_pointer(uint64_t addr);
// A C-escaped quoted string of the first kFormatMaxBytes of `bytes`; "..." follows when the
// whole object (`total` bytes) is longer.
std::string fmt_quoted(std::span<const uint8_t> bytes, uint64_t total);
// Reads and quotes a buffer / NUL-terminated string of the caller; without memory (or when the
// read fails) the address is printed instead.
std::string fmt_remote_buffer(const RemoteMemory* mem, remote_addr addr, uint64_t len);
std::string fmt_remote_string(const RemoteMemory* mem, remote_addr addr);
// "{01 00 00 00 ...}" for a struct that has no decoder.
std::string fmt_remote_struct(const RemoteMemory* mem, remote_addr addr, uint64_t len);
// "[INT TERM]" for a signal mask (bit n-1 is signal n).
std::string fmt_sigset(uint64_t mask);
std::string fmt_remote_sigset(const RemoteMemory* mem, remote_addr addr, uint64_t len);
// {sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr("127.0.0.1")}, AF_INET6, AF_UNIX.
std::string fmt_sockaddr(std::span<const uint8_t> bytes);
// {tv_sec=1, tv_nsec=500}
std::string fmt_remote_timespec(const RemoteMemory* mem, remote_addr addr, const char* sub);

}  // namespace tandem
