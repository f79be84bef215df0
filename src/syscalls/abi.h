// Kernel structures of the x86-64 ABI that the generic code walks through (iovec, msghdr,
// cmsghdr, ...), written out here rather than taken from the build host's headers: the layout
// that matters is the one of the *traced* program's kernel, and these never change on x86-64.
// Only the monitor side uses them, to interpret bytes read with RemoteMemory.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tandem::abi {

struct Iovec {
  uint64_t base;
  uint64_t len;
};
static_assert(sizeof(Iovec) == 16);

struct Msghdr {
  uint64_t name;
  uint32_t namelen;
  uint32_t pad0;
  uint64_t iov;
  uint64_t iovlen;
  uint64_t control;
  uint64_t controllen;
  uint32_t flags;
  uint32_t pad1;
};
static_assert(sizeof(Msghdr) == 56);
static_assert(offsetof(Msghdr, namelen) == 8 && offsetof(Msghdr, controllen) == 40 &&
              offsetof(Msghdr, flags) == 48);

struct Mmsghdr {
  Msghdr hdr;
  uint32_t len;
  uint32_t pad;
};
static_assert(sizeof(Mmsghdr) == 64);

struct Cmsghdr {
  uint64_t len;
  int32_t level;
  int32_t type;
};
static_assert(sizeof(Cmsghdr) == 16);
constexpr uint64_t cmsg_align(uint64_t n) {
  return (n + 7) & ~uint64_t{7};
}
constexpr int kSolSocket = 1;
constexpr int kScmRights = 1;

// Kernel struct sigaction (not glibc's): handler, flags, restorer, mask.
struct KernelSigaction {
  uint64_t handler;
  uint64_t flags;
  uint64_t restorer;
  uint64_t mask;
};
static_assert(sizeof(KernelSigaction) == 32);

struct StackT {
  uint64_t sp;
  int32_t flags;
  int32_t pad;
  uint64_t size;
};
static_assert(sizeof(StackT) == 24);

#pragma pack(push, 1)
struct EpollEvent {
  uint32_t events;
  uint64_t data;
};
#pragma pack(pop)
static_assert(sizeof(EpollEvent) == 12, "x86-64 packs struct epoll_event");

struct Pollfd {
  int32_t fd;
  int16_t events;
  int16_t revents;
};
static_assert(sizeof(Pollfd) == 8);

struct Timespec {
  int64_t sec;
  int64_t nsec;
};

struct SockFprog {
  uint16_t len;
  uint16_t pad[3];
  uint64_t filter;  // struct sock_filter[len], 8 bytes each
};
static_assert(sizeof(SockFprog) == 16);
constexpr size_t kSockFilterSize = 8;

// struct clone_args (clone3), up to CLONE_ARGS_SIZE_VER2.
struct CloneArgs {
  uint64_t flags;
  uint64_t pidfd;
  uint64_t child_tid;
  uint64_t parent_tid;
  uint64_t exit_signal;
  uint64_t stack;
  uint64_t stack_size;
  uint64_t tls;
  uint64_t set_tid;
  uint64_t set_tid_size;
  uint64_t cgroup;
};
static_assert(sizeof(CloneArgs) == 88);

struct Flock {
  int16_t type;
  int16_t whence;
  int32_t pad0;
  int64_t start;
  int64_t len;
  int32_t pid;
  int32_t pad1;
};
static_assert(sizeof(Flock) == 32);

// struct sigevent: value, signo, notify, then a union (thread id, or function + attributes).
struct Sigevent {
  uint64_t value;
  int32_t signo;
  int32_t notify;
  int32_t tid;
  int32_t pad[11];
};
static_assert(sizeof(Sigevent) == 64);

// Limits the kernel enforces itself; larger values fail in the kernel (EINVAL/EMSGSIZE), so the
// model never needs to read more, and a garbage length cannot make the monitor allocate
// gigabytes.
constexpr uint64_t kUioMaxIov = 1024;
constexpr uint64_t kMaxArgStrings = 65536;  // argv/envp entries read for one execve
constexpr uint64_t kMaxBuffer = uint64_t{1} << 30;
// sizeof(struct sockaddr_storage): longer socket addresses fail with EINVAL.
constexpr uint64_t kMaxSockaddr = 128;
// net.core.optmem_max bounds ancillary data far below this.
constexpr uint64_t kMaxControl = uint64_t{1} << 20;

// Values that several families test.
constexpr uint64_t kCloneVm = 0x100;
constexpr uint64_t kCloneVfork = 0x4000;
constexpr uint64_t kCloneThread = 0x10000;
constexpr uint64_t kProtWrite = 0x2;
constexpr uint64_t kProtExec = 0x4;
constexpr uint64_t kMapSharedBit = 0x1;
constexpr uint64_t kMapAnonymous = 0x20;
constexpr int kAtFdcwd = -100;

}  // namespace tandem::abi
