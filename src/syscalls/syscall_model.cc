// The generated table and lookups over it.
#include "syscalls/syscall_model.h"

#include <algorithm>
#include <array>

namespace tandem {

namespace {

// The generated table names only the fields that differ from their defaults (designated
// initializers); -Wextra would warn about every omitted one.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#include "syscall_table.inc"
#pragma GCC diagnostic pop

static_assert(kHighestDescribed == kMaxSyscall, "kMaxSyscall must match syscalls.py");

// Number -> entry, built once at compile time: the table has gaps (335..423).
constexpr std::array<int16_t, kMaxSyscall + 1> make_index() {
  std::array<int16_t, kMaxSyscall + 1> index{};
  index.fill(-1);
  for (int i = 0; i < kDescribedSyscalls; ++i) index[kSyscallTable[i].nr] = static_cast<int16_t>(i);
  return index;
}
constexpr auto kIndex = make_index();

constexpr bool sorted_by_number() {
  for (int i = 1; i < kDescribedSyscalls; ++i)
    if (kSyscallTable[i - 1].nr >= kSyscallTable[i].nr) return false;
  return true;
}
static_assert(sorted_by_number(), "the generator emits the table in number order");

}  // namespace

const SyscallInfo* syscall_info(int nr) {
  if (nr < 0 || nr > kMaxSyscall) return nullptr;
  int i = kIndex[static_cast<size_t>(nr)];
  return i < 0 ? nullptr : &kSyscallTable[i];
}

const SyscallInfo* syscall_by_name(std::string_view name) {
  // ~380 entries, called for decoding and rules files only: a linear scan is enough.
  for (const SyscallInfo& info : kSyscallTable)
    if (name == info.name) return &info;
  return nullptr;
}

std::span<const SyscallInfo> all_syscalls() {
  return kSyscallTable;
}

const char* to_string(SyscallClass cls) {
  switch (cls) {
    case SyscallClass::kLocal:
      return "local";
    case SyscallClass::kReplicated:
      return "replicated";
    case SyscallClass::kLockstep:
      return "lockstep";
    case SyscallClass::kEveryone:
      return "everyone";
    case SyscallClass::kEmulated:
      return "emulated";
    case SyscallClass::kRefused:
      return "refused";
  }
  return "?";
}

const char* to_string(ArgKind kind) {
  switch (kind) {
    case ArgKind::kNone:
      return "none";
    case ArgKind::kValue:
      return "value";
    case ArgKind::kFlags:
      return "flags";
    case ArgKind::kFd:
      return "fd";
    case ArgKind::kDirFd:
      return "dirfd";
    case ArgKind::kPid:
      return "pid";
    case ArgKind::kSignal:
      return "signal";
    case ArgKind::kPath:
      return "path";
    case ArgKind::kString:
      return "string";
    case ArgKind::kStringArray:
      return "string-array";
    case ArgKind::kInBuf:
      return "in-buf";
    case ArgKind::kOutBuf:
      return "out-buf";
    case ArgKind::kInStruct:
      return "in-struct";
    case ArgKind::kOutStruct:
      return "out-struct";
    case ArgKind::kInOutStruct:
      return "inout-struct";
    case ArgKind::kInIovec:
      return "in-iovec";
    case ArgKind::kOutIovec:
      return "out-iovec";
    case ArgKind::kInMsghdr:
      return "in-msghdr";
    case ArgKind::kOutMsghdr:
      return "out-msghdr";
    case ArgKind::kInSockaddr:
      return "in-sockaddr";
    case ArgKind::kOutSockaddr:
      return "out-sockaddr";
    case ArgKind::kSockLenPtr:
      return "socklen-ptr";
    case ArgKind::kInSigset:
      return "in-sigset";
    case ArgKind::kOutSigset:
      return "out-sigset";
    case ArgKind::kOutFdPair:
      return "out-fd-pair";
    case ArgKind::kIgnored:
      return "ignored";
    case ArgKind::kSpecial:
      return "special";
  }
  return "?";
}

const char* to_string(LenFrom from) {
  switch (from) {
    case LenFrom::kNone:
      return "none";
    case LenFrom::kArg:
      return "arg";
    case LenFrom::kArgPtr:
      return "arg-ptr";
    case LenFrom::kRet:
      return "ret";
    case LenFrom::kFixed:
      return "fixed";
    case LenFrom::kField:
      return "field";
  }
  return "?";
}

const char* to_string(RetKind ret) {
  switch (ret) {
    case RetKind::kValue:
      return "value";
    case RetKind::kFd:
      return "fd";
    case RetKind::kPid:
      return "pid";
    case RetKind::kAddress:
      return "address";
    case RetKind::kNoReturn:
      return "noreturn";
  }
  return "?";
}

}  // namespace tandem
