// The values written in syscalls.py against the build host's headers, where those define them
// (the host's headers may be older than 6.18: newer values are only checked by the kernel table
// and by reading the uapi sources).
#include <asm/prctl.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/close_range.h>
#include <linux/fs.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <mqueue.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/sem.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysinfo.h>
#include <sys/time.h>
#include <sys/times.h>
#include <sys/timex.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include <cerrno>

#include "syscalls/flags.h"
#include "syscalls/syscall_model.h"

namespace tandem {
namespace {

// The value named `name` in flag set `set` (its items or its enumerated field).
uint64_t value_of(const char* set, const char* name) {
  const FlagSet* s = flag_set(set);
  EXPECT_NE(s, nullptr) << set;
  if (s == nullptr) return ~uint64_t{0};
  for (const FlagItem& i : s->items)
    if (std::string_view(i.name) == name) return i.value;
  for (const FlagItem& i : s->enum_items)
    if (std::string_view(i.name) == name) return i.value;
  ADD_FAILURE() << name << " not in " << set;
  return ~uint64_t{0};
}

#define EXPECT_FLAG(set, NAME) EXPECT_EQ(value_of(set, #NAME), static_cast<uint64_t>(NAME)) << #NAME

TEST(AbiValues, FlagSetsMatchHostHeaders) {
  EXPECT_FLAG("open_flags", O_RDONLY);
  EXPECT_FLAG("open_flags", O_WRONLY);
  EXPECT_FLAG("open_flags", O_RDWR);
  EXPECT_FLAG("open_flags", O_CREAT);
  EXPECT_FLAG("open_flags", O_EXCL);
  EXPECT_FLAG("open_flags", O_TRUNC);
  EXPECT_FLAG("open_flags", O_APPEND);
  EXPECT_FLAG("open_flags", O_NONBLOCK);
  EXPECT_FLAG("open_flags", O_DIRECTORY);
  EXPECT_FLAG("open_flags", O_NOFOLLOW);
  EXPECT_FLAG("open_flags", O_CLOEXEC);
  EXPECT_FLAG("open_flags", O_PATH);
  EXPECT_FLAG("open_flags", O_TMPFILE);
  EXPECT_FLAG("open_flags", O_SYNC);
  EXPECT_FLAG("open_flags", O_DSYNC);
  EXPECT_FLAG("open_flags", O_DIRECT);
  EXPECT_FLAG("open_flags", O_NOATIME);
  EXPECT_FLAG("at_flags", AT_EMPTY_PATH);
  EXPECT_FLAG("at_flags", AT_SYMLINK_NOFOLLOW);
  EXPECT_FLAG("at_flags", AT_SYMLINK_FOLLOW);
  EXPECT_FLAG("at_flags", AT_NO_AUTOMOUNT);
  EXPECT_FLAG("at_flags", AT_RECURSIVE);
  EXPECT_FLAG("unlinkat_flags", AT_REMOVEDIR);
  EXPECT_FLAG("faccessat_flags", AT_EACCESS);
  EXPECT_FLAG("whence", SEEK_DATA);
  EXPECT_FLAG("whence", SEEK_HOLE);
  EXPECT_FLAG("fcntl_cmd", F_DUPFD_CLOEXEC);
  EXPECT_FLAG("fcntl_cmd", F_OFD_SETLK);
  EXPECT_FLAG("fcntl_cmd", F_OFD_GETLK);
  EXPECT_FLAG("fcntl_cmd", F_SETOWN_EX);
  EXPECT_FLAG("fcntl_cmd", F_ADD_SEALS);
  EXPECT_FLAG("fcntl_cmd", F_GET_SEALS);
  EXPECT_FLAG("fcntl_cmd", F_SETPIPE_SZ);
  EXPECT_FLAG("fcntl_cmd", F_NOTIFY);
  EXPECT_FLAG("fcntl_cmd", F_SET_FILE_RW_HINT);
  EXPECT_FLAG("mmap_prot", PROT_EXEC);
  EXPECT_FLAG("mmap_prot", PROT_WRITE);
  EXPECT_FLAG("mmap_prot", PROT_GROWSDOWN);
  EXPECT_FLAG("mmap_flags", MAP_SHARED);
  EXPECT_FLAG("mmap_flags", MAP_PRIVATE);
  EXPECT_FLAG("mmap_flags", MAP_SHARED_VALIDATE);
  EXPECT_FLAG("mmap_flags", MAP_ANONYMOUS);
  EXPECT_FLAG("mmap_flags", MAP_FIXED);
  EXPECT_FLAG("mmap_flags", MAP_FIXED_NOREPLACE);
  EXPECT_FLAG("mmap_flags", MAP_STACK);
  EXPECT_FLAG("mmap_flags", MAP_HUGETLB);
  EXPECT_FLAG("mmap_flags", MAP_SYNC);
  EXPECT_FLAG("mmap_flags", MAP_NORESERVE);
  EXPECT_FLAG("mremap_flags", MREMAP_MAYMOVE);
  EXPECT_FLAG("mremap_flags", MREMAP_DONTUNMAP);
  EXPECT_FLAG("madvise_advice", MADV_DONTNEED);
  EXPECT_FLAG("madvise_advice", MADV_FREE);
  EXPECT_FLAG("madvise_advice", MADV_WIPEONFORK);
#ifdef MADV_COLLAPSE  // glibc 2.37
  EXPECT_FLAG("madvise_advice", MADV_COLLAPSE);
#endif
  EXPECT_FLAG("madvise_advice", MADV_HWPOISON);
  EXPECT_FLAG("mlock_flags", MLOCK_ONFAULT);
  EXPECT_FLAG("mlockall_flags", MCL_ONFAULT);
  EXPECT_FLAG("memfd_flags", MFD_CLOEXEC);
  EXPECT_FLAG("memfd_flags", MFD_ALLOW_SEALING);
  EXPECT_FLAG("clone_flags", CLONE_VM);
  EXPECT_FLAG("clone_flags", CLONE_VFORK);
  EXPECT_FLAG("clone_flags", CLONE_THREAD);
  EXPECT_FLAG("clone_flags", CLONE_SETTLS);
  EXPECT_FLAG("clone_flags", CLONE_CHILD_CLEARTID);
  EXPECT_FLAG("clone_flags", CLONE_NEWUSER);
  EXPECT_FLAG("clone_flags", CLONE_NEWNET);
  EXPECT_FLAG("clone_flags", CLONE_PIDFD);
  EXPECT_FLAG("clone_flags", CLONE_IO);
  EXPECT_FLAG("wait_options", WNOHANG);
  EXPECT_FLAG("wait_options", WUNTRACED);
  EXPECT_FLAG("wait_options", WEXITED);
  EXPECT_FLAG("wait_options", WCONTINUED);
  EXPECT_FLAG("wait_options", WNOWAIT);
  EXPECT_FLAG("wait_options", __WALL);
  EXPECT_FLAG("idtype", P_PIDFD);
  EXPECT_FLAG("sigprocmask_how", SIG_SETMASK);
  EXPECT_FLAG("sa_flags", SA_RESTART);
  EXPECT_FLAG("sa_flags", SA_SIGINFO);
  EXPECT_FLAG("sa_flags", SA_ONSTACK);
  EXPECT_FLAG("sa_flags", SA_NODEFER);
  EXPECT_FLAG("sa_flags", SA_RESETHAND);
  EXPECT_FLAG("sa_flags", SA_NOCLDSTOP);
  EXPECT_FLAG("futex_op", FUTEX_WAIT_BITSET);
  EXPECT_FLAG("futex_op", FUTEX_CMP_REQUEUE_PI);
  EXPECT_FLAG("futex_op", FUTEX_PRIVATE_FLAG);
  EXPECT_FLAG("futex_op", FUTEX_CLOCK_REALTIME);
  EXPECT_FLAG("rlimit_resource", RLIMIT_NOFILE);
  EXPECT_FLAG("rlimit_resource", RLIMIT_RTTIME);
  EXPECT_FLAG("clock_id", CLOCK_BOOTTIME);
  EXPECT_FLAG("clock_id", CLOCK_TAI);
  EXPECT_FLAG("poll_events", POLLRDHUP);
  EXPECT_FLAG("poll_events", POLLNVAL);
  EXPECT_FLAG("epoll_events", EPOLLET);
  EXPECT_FLAG("epoll_events", EPOLLONESHOT);
  EXPECT_FLAG("epoll_events", EPOLLEXCLUSIVE);
  EXPECT_FLAG("epoll_events", EPOLLRDHUP);
  EXPECT_FLAG("epoll_op", EPOLL_CTL_MOD);
  EXPECT_FLAG("socket_domain", AF_INET6);
  EXPECT_FLAG("socket_domain", AF_NETLINK);
  EXPECT_FLAG("socket_domain", AF_VSOCK);
  EXPECT_FLAG("socket_type", SOCK_SEQPACKET);
  EXPECT_FLAG("socket_type", SOCK_CLOEXEC);
  EXPECT_FLAG("socket_type", SOCK_NONBLOCK);
  EXPECT_FLAG("msg_flags", MSG_NOSIGNAL);
  EXPECT_FLAG("msg_flags", MSG_CMSG_CLOEXEC);
  EXPECT_FLAG("msg_flags", MSG_WAITFORONE);
  EXPECT_FLAG("msg_flags", MSG_ZEROCOPY);
  EXPECT_FLAG("msg_flags", MSG_FASTOPEN);
  EXPECT_FLAG("sockopt_level", SOL_SOCKET);
  EXPECT_FLAG("sockopt_level", IPPROTO_TCP);
  EXPECT_FLAG("sockopt_level", IPPROTO_IPV6);
  EXPECT_FLAG("sockopt_socket", SO_REUSEPORT);
  EXPECT_FLAG("sockopt_socket", SO_ATTACH_FILTER);
  EXPECT_FLAG("sockopt_socket", SO_PEERCRED);
  EXPECT_FLAG("sockopt_socket", SO_INCOMING_CPU);
  EXPECT_FLAG("sockopt_tcp", TCP_NODELAY);
  EXPECT_FLAG("sockopt_tcp", TCP_CONGESTION);
  EXPECT_FLAG("sockopt_tcp", TCP_ULP);
  EXPECT_FLAG("sockopt_ip", IP_TTL);
  EXPECT_FLAG("sockopt_ip", IP_ADD_MEMBERSHIP);
  EXPECT_FLAG("sockopt_ipv6", IPV6_V6ONLY);
  EXPECT_FLAG("ipc_flags", IPC_CREAT);
  EXPECT_FLAG("ipc_flags", IPC_NOWAIT);
  EXPECT_FLAG("semctl_cmd", GETALL);
  EXPECT_FLAG("semctl_cmd", SETALL);
  EXPECT_FLAG("semctl_cmd", SEM_STAT_ANY);
  EXPECT_FLAG("inotify_mask", IN_CLOSE_WRITE);
  EXPECT_FLAG("inotify_mask", IN_ONESHOT);
  EXPECT_FLAG("inotify_mask", IN_MASK_CREATE);
  EXPECT_FLAG("statx_mask", STATX_BASIC_STATS);
  EXPECT_FLAG("statx_mask", STATX_BTIME);
  EXPECT_FLAG("renameat2_flags", RENAME_NOREPLACE);
  EXPECT_FLAG("renameat2_flags", RENAME_WHITEOUT);
  EXPECT_FLAG("getrandom_flags", GRND_NONBLOCK);
  EXPECT_FLAG("getrandom_flags", GRND_INSECURE);
  EXPECT_FLAG("close_range_flags", CLOSE_RANGE_CLOEXEC);
  EXPECT_FLAG("close_range_flags", CLOSE_RANGE_UNSHARE);
  EXPECT_FLAG("seccomp_op", SECCOMP_SET_MODE_FILTER);
  EXPECT_FLAG("seccomp_op", SECCOMP_GET_NOTIF_SIZES);
  EXPECT_FLAG("prctl_option", PR_SET_NAME);
  EXPECT_FLAG("prctl_option", PR_SET_SECCOMP);
  EXPECT_FLAG("prctl_option", PR_SET_NO_NEW_PRIVS);
  EXPECT_FLAG("prctl_option", PR_SET_TSC);
  EXPECT_FLAG("prctl_option", PR_SET_MM);
  EXPECT_FLAG("prctl_option", PR_CAP_AMBIENT);
  EXPECT_FLAG("prctl_option", PR_SET_SYSCALL_USER_DISPATCH);
  EXPECT_FLAG("prctl_option", PR_SCHED_CORE);
  EXPECT_FLAG("prctl_option", PR_SET_VMA);
  EXPECT_FLAG("prctl_option", PR_SET_PTRACER);
  EXPECT_FLAG("arch_prctl_code", ARCH_SET_FS);
  EXPECT_FLAG("arch_prctl_code", ARCH_GET_CPUID);
  EXPECT_FLAG("arch_prctl_code", ARCH_REQ_XCOMP_PERM);
  EXPECT_FLAG("ioctl_request", TCGETS);
  EXPECT_FLAG("ioctl_request", TCSETSW);
  EXPECT_FLAG("ioctl_request", TIOCGWINSZ);
  EXPECT_FLAG("ioctl_request", TIOCSWINSZ);
  EXPECT_FLAG("ioctl_request", TIOCGPGRP);
  EXPECT_FLAG("ioctl_request", TIOCSPGRP);
  EXPECT_FLAG("ioctl_request", TIOCSCTTY);
  EXPECT_FLAG("ioctl_request", TIOCSTI);
  EXPECT_FLAG("ioctl_request", FIONREAD);
  EXPECT_FLAG("ioctl_request", FIONBIO);
  EXPECT_FLAG("ioctl_request", FIOCLEX);
  EXPECT_FLAG("ioctl_request", FIONCLEX);
  EXPECT_FLAG("ioctl_request", FIOASYNC);
  EXPECT_FLAG("ioctl_request", TIOCGPTN);
  EXPECT_FLAG("ioctl_request", TIOCSPTLCK);
  EXPECT_FLAG("ioctl_request", TIOCGPTPEER);
  EXPECT_FLAG("ioctl_request", SIOCGIFINDEX);
  EXPECT_FLAG("ioctl_request", SIOCGIFCONF);
  EXPECT_FLAG("ioctl_request", SIOCSIFFLAGS);
  EXPECT_FLAG("ioctl_request", FICLONE);
  EXPECT_FLAG("ioctl_request", FS_IOC_GETFLAGS);
  EXPECT_FLAG("ioctl_request", BLKGETSIZE64);
  EXPECT_FLAG("ioctl_request", FIBMAP);
  EXPECT_FLAG("ioctl_request", FIGETBSZ);
}

TEST(AbiValues, SignalsAndErrnosMatchHostHeaders) {
  EXPECT_EQ(signal_name(SIGHUP), "SIGHUP");
  EXPECT_EQ(signal_name(SIGCHLD), "SIGCHLD");
  EXPECT_EQ(signal_name(SIGSYS), "SIGSYS");
  EXPECT_EQ(signal_name(SIGSTKFLT), "SIGSTKFLT");
  EXPECT_EQ(signal_name(SIGRTMIN), "SIGRTMIN+2");  // glibc reserves the first two
  // Every errno name in the model is the host's errno of that number.
  const FlagSet* errnos = flag_set("errno");
  ASSERT_NE(errnos, nullptr);
  int checked = 0;
  for (const FlagItem& e : errnos->items) {
    if (e.value >= 512) continue;  // kernel-internal restart codes: not in <errno.h>
    EXPECT_STRNE(strerrorname_np(static_cast<int>(e.value)), nullptr) << e.name;
    EXPECT_STREQ(strerrorname_np(static_cast<int>(e.value)), e.name) << e.value;
    ++checked;
  }
  EXPECT_EQ(checked, 131);  // 1..133 without the two unused numbers 41 and 58
  EXPECT_STREQ(errno_name(ERESTART), "ERESTART");
  EXPECT_STREQ(errno_name(512), "ERESTARTSYS");
}

// Fixed struct sizes in syscalls.py against the host's definitions (x86-64 kernel and glibc
// agree on these).
uint32_t fixed_size(const char* call, int arg) {
  const SyscallInfo* s = syscall_by_name(call);
  EXPECT_NE(s, nullptr) << call;
  EXPECT_EQ(s->args[arg].len.from, LenFrom::kFixed) << call << " arg " << arg;
  return s->args[arg].len.value;
}

TEST(AbiValues, FixedStructSizesMatchHostHeaders) {
  EXPECT_EQ(fixed_size("stat", 1), sizeof(struct stat));
  EXPECT_EQ(fixed_size("fstat", 1), sizeof(struct stat));
  EXPECT_EQ(fixed_size("newfstatat", 2), sizeof(struct stat));
  EXPECT_EQ(fixed_size("statx", 4), sizeof(struct statx));
  EXPECT_EQ(fixed_size("uname", 0), sizeof(struct utsname));
  EXPECT_EQ(fixed_size("sysinfo", 0), sizeof(struct sysinfo));
  EXPECT_EQ(fixed_size("times", 0), sizeof(struct tms));
  EXPECT_EQ(fixed_size("getrusage", 1), sizeof(struct rusage));
  EXPECT_EQ(fixed_size("wait4", 3), sizeof(struct rusage));
  EXPECT_EQ(fixed_size("wait4", 1), sizeof(int));
  EXPECT_EQ(fixed_size("waitid", 2), sizeof(siginfo_t));
  EXPECT_EQ(fixed_size("getrlimit", 1), sizeof(struct rlimit));
  EXPECT_EQ(fixed_size("prlimit64", 2), sizeof(struct rlimit));
  EXPECT_EQ(fixed_size("clock_gettime", 1), sizeof(struct timespec));
  EXPECT_EQ(fixed_size("gettimeofday", 0), sizeof(struct timeval));
  EXPECT_EQ(fixed_size("gettimeofday", 1), sizeof(struct timezone));
  EXPECT_EQ(fixed_size("getitimer", 1), sizeof(struct itimerval));
  EXPECT_EQ(fixed_size("timer_settime", 2), sizeof(struct itimerspec));
  EXPECT_EQ(fixed_size("rt_sigtimedwait", 1), sizeof(siginfo_t));
  EXPECT_EQ(fixed_size("mq_getsetattr", 1), sizeof(struct mq_attr));
  EXPECT_EQ(fixed_size("statfs", 1), sizeof(struct statfs));
  EXPECT_EQ(fixed_size("adjtimex", 0), sizeof(struct timex));
  EXPECT_EQ(fixed_size("sched_getparam", 1), sizeof(struct sched_param));
  const SyscallInfo* poll = syscall_by_name("poll");
  EXPECT_EQ(poll->args[0].len.scale, sizeof(struct pollfd));
  const SyscallInfo* ew = syscall_by_name("epoll_wait");
  EXPECT_EQ(ew->args[1].len.scale, sizeof(struct epoll_event));
  EXPECT_EQ(ew->args[1].written.scale, sizeof(struct epoll_event));
  EXPECT_EQ(syscall_by_name("semop")->args[1].len.scale, sizeof(struct sembuf));
}

}  // namespace
}  // namespace tandem
