// effective_class / classify: classes refined by arguments.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/openat2.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "syscalls/abi.h"
#include "syscalls/call.h"
#include "test_util.h"

namespace tandem {
namespace {

using testing::a;
using testing::make_call;
using testing::self;

SyscallClass cls(int nr, std::initializer_list<uint64_t> args) {
  return effective_class(make_call(nr, args));
}

TEST(Classify, OpenByFlags) {
  const char* p = "/tmp/x";
  EXPECT_EQ(cls(SYS_openat, {uint64_t(AT_FDCWD), a(p), O_RDONLY | O_CLOEXEC}),
            SyscallClass::kReplicated);
  EXPECT_EQ(cls(SYS_openat, {uint64_t(AT_FDCWD), a(p), O_RDONLY | O_DIRECTORY | O_NOFOLLOW}),
            SyscallClass::kReplicated);
  for (int f : {O_WRONLY, O_RDWR, O_RDONLY | O_CREAT, O_RDONLY | O_TRUNC, O_RDONLY | O_APPEND,
                O_TMPFILE | O_RDWR, O_WRONLY | O_CREAT | O_EXCL})
    EXPECT_EQ(cls(SYS_openat, {uint64_t(AT_FDCWD), a(p), uint64_t(f)}), SyscallClass::kLockstep)
        << std::oct << f;
  EXPECT_EQ(cls(SYS_open, {a(p), O_RDONLY}), SyscallClass::kReplicated);
  EXPECT_EQ(cls(SYS_open, {a(p), O_WRONLY | O_CREAT, 0644}), SyscallClass::kLockstep);
  // Garbage in the upper half of the int flags register is ignored, as by the kernel.
  EXPECT_EQ(cls(SYS_open, {a(p), 0xffffffff00000000 | O_RDONLY}), SyscallClass::kReplicated);
  EXPECT_EQ(cls(SYS_creat, {a(p), 0644}), SyscallClass::kLockstep);
  EXPECT_EQ(cls(SYS_mq_open, {a(p), O_RDONLY}), SyscallClass::kReplicated);
  EXPECT_EQ(cls(SYS_mq_open, {a(p), O_RDWR | O_CREAT}), SyscallClass::kLockstep);
}

TEST(Classify, Openat2ReadsStructOpenHow) {
  RemoteMemory mem = self();
  open_how ro{.flags = O_RDONLY | O_CLOEXEC, .mode = 0, .resolve = 0};
  open_how rw{.flags = O_RDWR | O_CREAT, .mode = 0600, .resolve = 0};
  const char* p = "/tmp/x";
  auto c_ro = make_call(SYS_openat2, {uint64_t(AT_FDCWD), a(p), a(&ro), sizeof ro});
  auto c_rw = make_call(SYS_openat2, {uint64_t(AT_FDCWD), a(p), a(&rw), sizeof rw});
  EXPECT_EQ(effective_class(c_ro, &mem), SyscallClass::kReplicated);
  EXPECT_EQ(effective_class(c_rw, &mem), SyscallClass::kLockstep);
  // Without memory: the cautious class.
  EXPECT_EQ(effective_class(c_ro), SyscallClass::kLockstep);
}

TEST(Classify, FcntlByCommand) {
  EXPECT_EQ(cls(SYS_fcntl, {3, F_GETFL}), SyscallClass::kReplicated);
  EXPECT_EQ(cls(SYS_fcntl, {3, F_SETFL, O_NONBLOCK}), SyscallClass::kReplicated);
  EXPECT_EQ(cls(SYS_fcntl, {3, F_SETFD, FD_CLOEXEC}), SyscallClass::kEveryone);
  EXPECT_EQ(cls(SYS_fcntl, {3, F_GETFD}), SyscallClass::kEveryone);
  EXPECT_EQ(cls(SYS_fcntl, {3, F_DUPFD, 10}), SyscallClass::kEveryone);
  EXPECT_EQ(cls(SYS_fcntl, {3, F_DUPFD_CLOEXEC, 10}), SyscallClass::kEveryone);
  EXPECT_EQ(cls(SYS_fcntl, {3, F_SETLKW, 0x1000}), SyscallClass::kReplicated);
  Classification c = classify(make_call(SYS_fcntl, {3, 999}));
  EXPECT_EQ(c.cls, SyscallClass::kRefused);
  EXPECT_EQ(c.refuse_errno, EINVAL);
  EXPECT_NE(c.why, nullptr);
}

TEST(Classify, ThreadsAndProcessesRunInEveryVersion) {
  uint64_t thread = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
                    CLONE_SYSVSEM | CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
  Classification t = classify(make_call(SYS_clone, {thread}));
  EXPECT_EQ(t.cls, SyscallClass::kEveryone);
  EXPECT_TRUE(t.every_version_runs);
  // fork() as glibc does it, and posix_spawn's vfork-style clone: processes.
  EXPECT_EQ(cls(SYS_clone, {CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | SIGCHLD}),
            SyscallClass::kEveryone);
  EXPECT_EQ(cls(SYS_clone, {CLONE_VM | CLONE_VFORK | SIGCHLD}), SyscallClass::kEveryone);
  // Shared memory without CLONE_THREAD or vfork's suspension: refused.
  EXPECT_EQ(cls(SYS_clone, {CLONE_VM | SIGCHLD}), SyscallClass::kRefused);
  EXPECT_EQ(classify(make_call(SYS_clone, {CLONE_VM | SIGCHLD})).refuse_errno, EAGAIN);
  EXPECT_EQ(cls(SYS_fork, {}), SyscallClass::kEveryone);
  EXPECT_EQ(cls(SYS_vfork, {}), SyscallClass::kEveryone);
}

TEST(Classify, Clone3ReadsItsFlags) {
  RemoteMemory mem = self();
  abi::CloneArgs thread{};
  thread.flags = CLONE_VM | CLONE_THREAD | CLONE_SIGHAND;
  abi::CloneArgs spawn{};
  spawn.flags = CLONE_VM | CLONE_VFORK;
  spawn.exit_signal = SIGCHLD;
  EXPECT_EQ(effective_class(make_call(SYS_clone3, {a(&thread), sizeof thread}), &mem),
            SyscallClass::kEveryone);
  abi::CloneArgs shared{};
  shared.flags = CLONE_VM;
  EXPECT_EQ(effective_class(make_call(SYS_clone3, {a(&shared), sizeof shared}), &mem),
            SyscallClass::kRefused);
  EXPECT_EQ(effective_class(make_call(SYS_clone3, {a(&spawn), sizeof spawn}), &mem),
            SyscallClass::kEveryone);
  // Without memory, clone3 might be a thread: refused.
  EXPECT_EQ(effective_class(make_call(SYS_clone3, {a(&spawn), sizeof spawn})),
            SyscallClass::kRefused);
}

TEST(Classify, MemoryProtections) {
  int rw = PROT_READ | PROT_WRITE;
  EXPECT_EQ(cls(SYS_mmap, {0, 4096, uint64_t(rw), MAP_PRIVATE | MAP_ANONYMOUS, uint64_t(-1), 0}),
            SyscallClass::kLocal);
  EXPECT_EQ(cls(SYS_mmap, {0, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, 3, 0}),
            SyscallClass::kLockstep);
  EXPECT_EQ(cls(SYS_mmap, {0, 4096, uint64_t(rw), MAP_SHARED, 3, 0}), SyscallClass::kLockstep);
  EXPECT_EQ(cls(SYS_mmap, {0, 4096, PROT_READ, MAP_SHARED, 3, 0}), SyscallClass::kEveryone);
  EXPECT_EQ(cls(SYS_mmap, {0, 4096, uint64_t(rw), MAP_SHARED | MAP_ANONYMOUS, uint64_t(-1), 0}),
            SyscallClass::kLocal);
  EXPECT_EQ(cls(SYS_mprotect, {0x1000, 4096, PROT_READ}), SyscallClass::kLocal);
  Classification exec = classify(make_call(SYS_mprotect, {0x1000, 4096, PROT_READ | PROT_EXEC}));
  EXPECT_EQ(exec.cls, SyscallClass::kLockstep);
  // mprotect acts on the caller's own memory: after agreement every version runs its own.
  EXPECT_TRUE(exec.every_version_runs);
}

TEST(Classify, EveryVersionRunsFollowsOwnProcess) {
  Classification setuid = classify(make_call(SYS_setuid, {1000}));
  EXPECT_EQ(setuid.cls, SyscallClass::kLockstep);
  EXPECT_TRUE(setuid.every_version_runs);
  Classification unlink = classify(make_call(SYS_unlink, {0x1000}));
  EXPECT_EQ(unlink.cls, SyscallClass::kLockstep);
  EXPECT_FALSE(unlink.every_version_runs);
  EXPECT_TRUE(classify(make_call(SYS_close, {3})).every_version_runs);
  EXPECT_FALSE(classify(make_call(SYS_read, {3, 0x1000, 10})).every_version_runs);
}

TEST(Classify, PrctlByOption) {
  EXPECT_EQ(cls(SYS_prctl, {PR_SET_NAME, 0x1000}), SyscallClass::kEveryone);
  EXPECT_EQ(cls(SYS_prctl, {PR_SET_PDEATHSIG, SIGTERM}), SyscallClass::kEveryone);
  EXPECT_EQ(cls(SYS_prctl, {PR_SET_NO_NEW_PRIVS, 1}), SyscallClass::kLockstep);
  EXPECT_EQ(cls(SYS_prctl, {PR_SET_SECCOMP, 2, 0x1000}), SyscallClass::kLockstep);
  EXPECT_EQ(cls(SYS_prctl, {PR_CAPBSET_DROP, 5}), SyscallClass::kLockstep);
  EXPECT_EQ(cls(SYS_prctl, {PR_SET_TSC, PR_TSC_ENABLE}), SyscallClass::kEmulated);
  EXPECT_EQ(cls(SYS_prctl, {PR_GET_TSC, 0x1000}), SyscallClass::kEmulated);
  EXPECT_TRUE(classify(make_call(SYS_prctl, {PR_SET_SECCOMP, 2, 0x1000})).every_version_runs);
}

TEST(Classify, IoctlByRequest) {
  EXPECT_EQ(cls(SYS_ioctl, {0, TCGETS, 0x1000}), SyscallClass::kReplicated);
  EXPECT_EQ(cls(SYS_ioctl, {3, FIOCLEX}), SyscallClass::kEveryone);
  EXPECT_EQ(cls(SYS_ioctl, {0, TIOCSTI, 0x1000}), SyscallClass::kLockstep);
  EXPECT_EQ(cls(SYS_ioctl, {0, TIOCGWINSZ, 0x1000}), SyscallClass::kReplicated);
  EXPECT_EQ(cls(SYS_ioctl, {3, 0x80086601, 0x1000}), SyscallClass::kReplicated);  // encoded
  Classification unknown = classify(make_call(SYS_ioctl, {0, 0x5499, 0x1000}));
  EXPECT_EQ(unknown.cls, SyscallClass::kRefused);
  EXPECT_EQ(unknown.refuse_errno, ENOTTY);
}

TEST(Classify, SignalsAndTargets) {
  EXPECT_EQ(cls(SYS_kill, {1234, SIGTERM}), SyscallClass::kLockstep);
  EXPECT_EQ(cls(SYS_kill, {1234, 0}), SyscallClass::kReplicated);
  EXPECT_EQ(cls(SYS_tgkill, {1234, 1235, 0}), SyscallClass::kReplicated);
  EXPECT_EQ(cls(SYS_setpriority, {PRIO_PROCESS, 0, 5}), SyscallClass::kEveryone);
  EXPECT_EQ(cls(SYS_setpriority, {PRIO_PROCESS, 4321, 5}), SyscallClass::kLockstep);
  EXPECT_EQ(cls(SYS_setpriority, {PRIO_USER, 0, 5}), SyscallClass::kLockstep);
  EXPECT_EQ(cls(SYS_sched_setscheduler, {0, 0, 0x1000}), SyscallClass::kEveryone);
  EXPECT_EQ(cls(SYS_prlimit64, {0, RLIMIT_NOFILE, 0, 0x1000}), SyscallClass::kReplicated);
  EXPECT_EQ(cls(SYS_prlimit64, {0, RLIMIT_NOFILE, 0x1000, 0}), SyscallClass::kEveryone);
  EXPECT_EQ(cls(SYS_prlimit64, {777, RLIMIT_NOFILE, 0x1000, 0}), SyscallClass::kLockstep);
}

TEST(Classify, SendWithAnAddressIsLockstep) {
  RemoteMemory mem = self();
  sockaddr_in to{};
  EXPECT_EQ(cls(SYS_sendto, {3, 0x1000, 5, 0, 0, 0}), SyscallClass::kReplicated);
  EXPECT_EQ(cls(SYS_sendto, {3, 0x1000, 5, 0, a(&to), sizeof to}), SyscallClass::kLockstep);
  msghdr connected{};
  msghdr addressed{};
  addressed.msg_name = &to;
  addressed.msg_namelen = sizeof to;
  EXPECT_EQ(effective_class(make_call(SYS_sendmsg, {3, a(&connected), 0}), &mem),
            SyscallClass::kReplicated);
  EXPECT_EQ(effective_class(make_call(SYS_sendmsg, {3, a(&addressed), 0}), &mem),
            SyscallClass::kLockstep);
}

TEST(Classify, RefusalsCarryErrnoAndReason) {
  Classification uring = classify(make_call(SYS_io_uring_setup, {8, 0x1000}));
  EXPECT_EQ(uring.cls, SyscallClass::kRefused);
  EXPECT_EQ(uring.refuse_errno, ENOSYS);
  EXPECT_NE(uring.why, nullptr);
  EXPECT_EQ(classify(make_call(SYS_process_vm_writev, {1, 0, 0, 0, 0, 0})).refuse_errno, EPERM);
  // Not a syscall: local (the kernel answers ENOSYS itself).
  EXPECT_EQ(cls(400, {}), SyscallClass::kLocal);
}

}  // namespace
}  // namespace tandem
