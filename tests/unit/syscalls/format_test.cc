// format_call / format_result: strace-like lines for events and divergence reports.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/futex.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include <string>

#include "syscalls/abi.h"
#include "syscalls/call.h"
#include "test_util.h"

namespace tandem {
namespace {

using testing::a;
using testing::make_call;

std::string fmt(int nr, std::initializer_list<uint64_t> args) {
  RemoteMemory mem = testing::self();
  return format_call(make_call(nr, args), &mem);
}

TEST(Format, OpenFlagsAndModes) {
  EXPECT_EQ(fmt(SYS_openat, {uint64_t(AT_FDCWD), a("/etc/passwd"), O_RDONLY | O_CLOEXEC, 0}),
            "openat(AT_FDCWD, \"/etc/passwd\", O_RDONLY|O_CLOEXEC)");
  EXPECT_EQ(fmt(SYS_openat, {3, a("log"), O_WRONLY | O_CREAT | O_APPEND, 0644}),
            "openat(3, \"log\", O_WRONLY|O_CREAT|O_APPEND, 0644)");
  EXPECT_EQ(fmt(SYS_open, {a("/tmp"), O_RDWR | O_TMPFILE, 0600}),
            "open(\"/tmp\", O_RDWR|O_TMPFILE, 0600)");
}

TEST(Format, BuffersAreQuotedAndAbbreviated) {
  EXPECT_EQ(fmt(SYS_write, {1, a("hello\n"), 6}), "write(1, \"hello\\n\", 6)");
  std::string longer(40, 'a');
  EXPECT_EQ(fmt(SYS_write, {2, a(longer.data()), 40}),
            "write(2, \"" + std::string(32, 'a') + "\"..., 40)");
  char out[8];
  EXPECT_EQ(fmt(SYS_read, {0, a(out), 8}), "read(0, " + fmt::format("{:#x}", a(out)) + ", 8)");
}

TEST(Format, MemoryCalls) {
  EXPECT_EQ(fmt(SYS_mmap,
                {0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, uint64_t(-1), 0}),
            "mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)");
  EXPECT_EQ(fmt(SYS_mprotect, {0x7f0000001000, 8192, PROT_NONE}),
            "mprotect(0x7f0000001000, 8192, PROT_NONE)");
  EXPECT_EQ(fmt(SYS_futex, {0x1000, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1, 0, 0, 0}),
            "futex(0x1000, FUTEX_WAKE|FUTEX_PRIVATE_FLAG, 1, 0, NULL, 0)");
}

TEST(Format, ProcessesAndSignals) {
  EXPECT_EQ(fmt(SYS_clone, {CLONE_VM | CLONE_VFORK | SIGCHLD, 0x7000, 0, 0, 0}),
            "clone(CLONE_VM|CLONE_VFORK|SIGCHLD, 0x7000, NULL, NULL, NULL)");
  EXPECT_EQ(fmt(SYS_kill, {1234, SIGTERM}), "kill(1234, SIGTERM)");
  EXPECT_EQ(fmt(SYS_kill, {1234, 0}), "kill(1234, 0)");
  EXPECT_EQ(fmt(SYS_tgkill, {10, 11, 40}), "tgkill(10, 11, SIGRTMIN+8)");
  abi::KernelSigaction ign{1, 0x04000000, 0x401000, uint64_t{1} << (SIGCHLD - 1)};
  EXPECT_EQ(fmt(SYS_rt_sigaction, {SIGINT, a(&ign), 0, 8}),
            "rt_sigaction(SIGINT, {sa_handler=SIG_IGN, sa_mask=[CHLD], sa_flags=SA_RESTORER, "
            "sa_restorer=0x401000}, NULL, 8)");
  std::string ls = "ls", l = "-l";
  const char* argv[] = {ls.c_str(), l.c_str(), nullptr};
  const char* envp[] = {nullptr};
  EXPECT_EQ(fmt(SYS_execve, {a("/bin/ls"), a(argv), a(envp)}),
            "execve(\"/bin/ls\", [\"ls\", \"-l\"], [])");
  EXPECT_EQ(fmt(SYS_wait4, {uint64_t(-1), 0, WNOHANG, 0}), "wait4(-1, NULL, WNOHANG, NULL)");
}

TEST(Format, Sockets) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(8080);
  sin.sin_addr.s_addr = htonl(0x7f000001);
  EXPECT_EQ(fmt(SYS_connect, {3, a(&sin), sizeof sin}),
            "connect(3, {sa_family=AF_INET, sin_port=htons(8080), "
            "sin_addr=inet_addr(\"127.0.0.1\")}, 16)");
  EXPECT_EQ(fmt(SYS_socket, {AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0}),
            "socket(AF_INET6, SOCK_STREAM|SOCK_CLOEXEC, 0)");
  int one = 1;
  EXPECT_EQ(fmt(SYS_setsockopt, {3, SOL_SOCKET, SO_REUSEADDR, a(&one), 4}),
            "setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4)");
  char d[] = "hi";
  iovec v{d, 2};
  EXPECT_EQ(fmt(SYS_writev, {1, a(&v), 1}), "writev(1, [{iov_base=\"hi\", iov_len=2}], 1)");
}

TEST(Format, FcntlIoctlPoll) {
  EXPECT_EQ(fmt(SYS_fcntl, {3, F_SETFD, FD_CLOEXEC}), "fcntl(3, F_SETFD, FD_CLOEXEC)");
  EXPECT_EQ(fmt(SYS_fcntl, {3, F_GETFL, 0xdead}), "fcntl(3, F_GETFL)");
  EXPECT_EQ(fmt(SYS_fcntl, {3, F_SETFL, O_RDWR | O_NONBLOCK}),
            "fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK)");
  EXPECT_EQ(fmt(SYS_ioctl, {1, TIOCGWINSZ, 0x1000}), "ioctl(1, TIOCGWINSZ, 0x1000)");
  EXPECT_EQ(fmt(SYS_ioctl, {3, 0xc0186201, 0x1000}),
            "ioctl(3, _IOC(_IOC_READ|_IOC_WRITE, 0x62, "
            "0x1, 0x18), 0x1000)");
  pollfd fds[] = {{3, POLLIN, 0}, {4, POLLIN | POLLPRI, 0}};
  EXPECT_EQ(fmt(SYS_poll, {a(fds), 2, uint64_t(-1)}),
            "poll([{fd=3, events=POLLIN}, {fd=4, events=POLLIN|POLLPRI}], 2, -1)");
}

TEST(Format, WithoutMemoryPointersArePrinted) {
  EXPECT_EQ(format_call(make_call(SYS_openat, {uint64_t(AT_FDCWD), 0x1000, O_RDONLY, 0}), nullptr),
            "openat(AT_FDCWD, 0x1000, O_RDONLY)");
  EXPECT_EQ(format_call(make_call(400, {1, 2, 3, 4, 5, 6}), nullptr),
            "syscall_400(0x1, 0x2, 0x3, 0x4, 0x5, 0x6)");
}

TEST(Format, Results) {
  SyscallCall open = make_call(SYS_openat, {});
  EXPECT_EQ(format_result(open, 3), "3");
  EXPECT_EQ(format_result(open, -ENOENT), "-1 ENOENT (No such file or directory)");
  EXPECT_EQ(format_result(make_call(SYS_mmap, {}), 0x7f1234560000), "0x7f1234560000");
  EXPECT_EQ(format_result(make_call(SYS_read, {}), -512),
            "? ERESTARTSYS (To be restarted if SA_RESTART is set)");
  EXPECT_EQ(format_result(make_call(SYS_read, {}), 0), "0");
}

}  // namespace
}  // namespace tandem
