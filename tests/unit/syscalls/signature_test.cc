// make_signature: different pointers to the same contents give equal signatures; different
// contents give different ones; out-buffers compare by capacity only.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include <cstring>
#include <string>
#include <vector>

#include "syscalls/abi.h"
#include "syscalls/call.h"
#include "test_util.h"

namespace tandem {
namespace {

using testing::a;
using testing::make_call;

Signature sig(const SyscallCall& call) {
  RemoteMemory mem = testing::self();
  auto s = make_signature(call, mem);
  EXPECT_TRUE(s.ok());
  return s.ok() ? *s : Signature{};
}

TEST(Signature, InBuffersCompareByContentNotAddress) {
  std::string b1 = "hello world", b2 = "hello world", b3 = "hello WORLD";
  Signature s1 = sig(make_call(SYS_write, {1, a(b1.data()), b1.size()}));
  Signature s2 = sig(make_call(SYS_write, {1, a(b2.data()), b2.size()}));
  Signature s3 = sig(make_call(SYS_write, {1, a(b3.data()), b3.size()}));
  ASSERT_NE(b1.data(), b2.data());
  EXPECT_EQ(s1, s2);
  EXPECT_EQ(s1.first_difference(s2), -1);
  EXPECT_FALSE(s1 == s3);
  EXPECT_EQ(s1.first_difference(s3), 1);
  EXPECT_EQ(s1.first_difference(sig(make_call(SYS_write, {2, a(b1.data()), b1.size()}))), 0);
  EXPECT_EQ(s1.fields.size(), 3u);
}

TEST(Signature, OutBuffersCompareByCapacity) {
  char buf1[64], buf2[64];
  std::memset(buf1, 'a', sizeof buf1);
  std::memset(buf2, 'b', sizeof buf2);  // stale contents never matter
  Signature s1 = sig(make_call(SYS_read, {0, a(buf1), 64}));
  EXPECT_EQ(s1, sig(make_call(SYS_read, {0, a(buf2), 64})));
  EXPECT_FALSE(s1 == sig(make_call(SYS_read, {0, a(buf2), 32})));
  EXPECT_FALSE(s1 == sig(make_call(SYS_read, {0, 0, 64})));  // NULL differs from a buffer
}

TEST(Signature, IntArgumentsIgnoreUpperRegisterHalves) {
  char buf[8];
  EXPECT_EQ(sig(make_call(SYS_read, {3, a(buf), 8})),
            sig(make_call(SYS_read, {0xdeadbeef00000003, a(buf), 8})));
  // size_t is 64 bits: all of it matters.
  EXPECT_FALSE(sig(make_call(SYS_read, {3, a(buf), 8})) ==
               sig(make_call(SYS_read, {3, a(buf), 0x100000008})));
}

TEST(Signature, PathsAndModeOnlyWhenCreating) {
  std::string p1 = "/etc/passwd", p2 = "/etc/passwd", p3 = "/etc/shadow";
  uint64_t at = uint64_t(AT_FDCWD);
  Signature ro1 = sig(make_call(SYS_openat, {at, a(p1.c_str()), O_RDONLY, 0x1234}));
  // The mode register holds garbage when not creating: not compared.
  EXPECT_EQ(ro1, sig(make_call(SYS_openat, {at, a(p2.c_str()), O_RDONLY, 0777})));
  EXPECT_EQ(ro1.first_difference(sig(make_call(SYS_openat, {at, a(p3.c_str()), O_RDONLY, 0}))), 1);
  Signature c1 = sig(make_call(SYS_openat, {at, a(p1.c_str()), O_CREAT | O_WRONLY, 0644}));
  Signature c2 = sig(make_call(SYS_openat, {at, a(p1.c_str()), O_CREAT | O_WRONLY, 0600}));
  EXPECT_EQ(c1.first_difference(c2), 3);
}

TEST(Signature, IovecsCompareByContentAndChunking) {
  char x1[] = "abc", y1[] = "defg", x2[] = "abc", y2[] = "defg", xy[] = "abcdefg";
  iovec v1[] = {{x1, 3}, {y1, 4}};
  iovec v2[] = {{x2, 3}, {y2, 4}};
  iovec v3[] = {{xy, 7}};
  Signature s1 = sig(make_call(SYS_writev, {1, a(v1), 2}));
  EXPECT_EQ(s1, sig(make_call(SYS_writev, {1, a(v2), 2})));
  // Same bytes in other chunks: a different call (the monitor's rules may still accept it).
  EXPECT_EQ(s1.first_difference(sig(make_call(SYS_writev, {1, a(v3), 1}))), 1);
  // readv: capacities only.
  char r1[3], r2[4], q1[3], q2[4];
  iovec o1[] = {{r1, 3}, {r2, 4}};
  iovec o2[] = {{q1, 3}, {q2, 4}};
  EXPECT_EQ(sig(make_call(SYS_readv, {0, a(o1), 2})), sig(make_call(SYS_readv, {0, a(o2), 2})));
}

TEST(Signature, SockaddrsAndMessages) {
  sockaddr_in s1{}, s2{};
  s1.sin_family = s2.sin_family = AF_INET;
  s1.sin_port = s2.sin_port = htons(80);
  s1.sin_addr.s_addr = s2.sin_addr.s_addr = htonl(0x7f000001);
  EXPECT_EQ(sig(make_call(SYS_connect, {3, a(&s1), sizeof s1})),
            sig(make_call(SYS_connect, {3, a(&s2), sizeof s2})));
  s2.sin_port = htons(81);
  EXPECT_EQ(sig(make_call(SYS_connect, {3, a(&s1), sizeof s1}))
                .first_difference(sig(make_call(SYS_connect, {3, a(&s2), sizeof s2}))),
            1);

  char d1[] = "payload", d2[] = "payload";
  iovec i1{d1, 7}, i2{d2, 7};
  alignas(8) uint8_t c1[24] = {}, c2[24] = {};
  msghdr m1{}, m2{};
  m1.msg_iov = &i1;
  m2.msg_iov = &i2;
  m1.msg_iovlen = m2.msg_iovlen = 1;
  m1.msg_control = c1;
  m2.msg_control = c2;
  m1.msg_controllen = m2.msg_controllen = sizeof c1;
  m1.msg_flags = 0x1234;  // ignored on send
  EXPECT_EQ(sig(make_call(SYS_sendmsg, {3, a(&m1), 0})),
            sig(make_call(SYS_sendmsg, {3, a(&m2), 0})));
  c2[16] = 5;  // a different descriptor in SCM_RIGHTS
  EXPECT_FALSE(sig(make_call(SYS_sendmsg, {3, a(&m1), 0})) ==
               sig(make_call(SYS_sendmsg, {3, a(&m2), 0})));
}

TEST(Signature, ArgvAndEnvpByContent) {
  std::string ls = "/bin/ls", a0 = "ls", a1 = "-l", e0 = "HOME=/root";
  const char* argv1[] = {a0.c_str(), a1.c_str(), nullptr};
  std::string b0 = "ls", b1 = "-l", f0 = "HOME=/root";
  const char* argv2[] = {b0.c_str(), b1.c_str(), nullptr};
  const char* env1[] = {e0.c_str(), nullptr};
  const char* env2[] = {f0.c_str(), nullptr};
  Signature s1 = sig(make_call(SYS_execve, {a(ls.c_str()), a(argv1), a(env1)}));
  EXPECT_EQ(s1, sig(make_call(SYS_execve, {a(ls.c_str()), a(argv2), a(env2)})));
  const char* argv3[] = {b0.c_str(), nullptr};
  EXPECT_EQ(s1.first_difference(sig(make_call(SYS_execve, {a(ls.c_str()), a(argv3), a(env2)}))), 1);
}

TEST(Signature, PollIgnoresRevents) {
  pollfd p1[] = {{3, POLLIN, 0}, {4, POLLOUT, POLLHUP}};
  pollfd p2[] = {{3, POLLIN, POLLERR}, {4, POLLOUT, 0}};
  EXPECT_EQ(sig(make_call(SYS_poll, {a(p1), 2, 1000})), sig(make_call(SYS_poll, {a(p2), 2, 1000})));
  p2[1].events = POLLIN;
  EXPECT_FALSE(sig(make_call(SYS_poll, {a(p1), 2, 1000})) ==
               sig(make_call(SYS_poll, {a(p2), 2, 1000})));
}

TEST(Signature, EpollCookiesAreNotCompared) {
  abi::EpollEvent e1{EPOLLIN | EPOLLET, 0x7fff0001}, e2{EPOLLIN | EPOLLET, 0x5555aaaa};
  Signature s1 = sig(make_call(SYS_epoll_ctl, {5, EPOLL_CTL_ADD, 6, a(&e1)}));
  EXPECT_EQ(s1, sig(make_call(SYS_epoll_ctl, {5, EPOLL_CTL_ADD, 6, a(&e2)})));
  e2.events = EPOLLOUT;
  EXPECT_EQ(s1.first_difference(sig(make_call(SYS_epoll_ctl, {5, EPOLL_CTL_ADD, 6, a(&e2)}))), 3);
  // epoll_wait: capacity only.
  abi::EpollEvent out1[4], out2[4];
  EXPECT_EQ(sig(make_call(SYS_epoll_wait, {5, a(out1), 4, -1ULL})),
            sig(make_call(SYS_epoll_wait, {5, a(out2), 4, -1ULL})));
}

TEST(Signature, SigactionComparesDispositionNotHandlerAddress) {
  abi::KernelSigaction h1{0x401000, 0x04000000 | 0x10000000, 0x402000, 0};
  abi::KernelSigaction h2{0x555000, 0x04000000 | 0x10000000, 0x556000, 0};
  abi::KernelSigaction ign{1, 0x04000000 | 0x10000000, 0x556000, 0};
  Signature s1 = sig(make_call(SYS_rt_sigaction, {SIGINT, a(&h1), 0, 8}));
  EXPECT_EQ(s1, sig(make_call(SYS_rt_sigaction, {SIGINT, a(&h2), 0, 8})));
  EXPECT_EQ(s1.first_difference(sig(make_call(SYS_rt_sigaction, {SIGINT, a(&ign), 0, 8}))), 1);
}

TEST(Signature, Clone3IgnoresStacksAndTls) {
  abi::CloneArgs c1{}, c2{};
  c1.flags = c2.flags = CLONE_VM | CLONE_VFORK;
  c1.exit_signal = c2.exit_signal = SIGCHLD;
  c1.stack = 0x7f0000000000;
  c2.stack = 0x7e0000000000;
  c1.stack_size = c2.stack_size = 0x9000;
  EXPECT_EQ(sig(make_call(SYS_clone3, {a(&c1), sizeof c1})),
            sig(make_call(SYS_clone3, {a(&c2), sizeof c2})));
  c2.flags |= CLONE_NEWNS;
  EXPECT_FALSE(sig(make_call(SYS_clone3, {a(&c1), sizeof c1})) ==
               sig(make_call(SYS_clone3, {a(&c2), sizeof c2})));
}

TEST(Signature, DifferentCallsAndNonSyscalls) {
  char buf[4];
  Signature r = sig(make_call(SYS_read, {0, a(buf), 4}));
  Signature w = sig(make_call(SYS_write, {0, a(buf), 4}));
  EXPECT_EQ(r.first_difference(w), Signature::kDifferentCall);
  // Not syscalls: the kernel ignores the arguments, so they are not compared.
  EXPECT_EQ(sig(make_call(400, {1, 2})), sig(make_call(400, {3, 4})));
}

TEST(Signature, BadPointerIsAnError) {
  RemoteMemory mem = testing::self();
  auto s = make_signature(make_call(SYS_write, {1, 0x10, 5}), mem);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().value, EFAULT);
}

TEST(Signature, SendtoAddrlenIgnoredWithoutAddress) {
  char d[] = "x";
  EXPECT_EQ(sig(make_call(SYS_sendto, {3, a(d), 1, 0, 0, 0})),
            sig(make_call(SYS_sendto, {3, a(d), 1, 0, 0, 99})));
}

TEST(Signature, FirstDifferenceCanIgnoreOneArgument) {
  // Rx: a version whose connection was withheld waits with another timeout (nginx has no
  // keep-alive timer for it); the waits are otherwise the same.
  epoll_event buf1[4], buf2[4];
  Signature w1 = sig(make_call(SYS_epoll_wait, {5, a(buf1), 4, 75000}));
  Signature w2 = sig(make_call(SYS_epoll_wait, {5, a(buf2), 4, uint64_t(-1)}));
  EXPECT_EQ(w1.first_difference(w2), 3);
  EXPECT_EQ(w1.first_difference(w2, 3), -1);
  Signature other_fd = sig(make_call(SYS_epoll_wait, {6, a(buf2), 4, uint64_t(-1)}));
  EXPECT_EQ(w1.first_difference(other_fd, 3), 0);
  Signature fewer = sig(make_call(SYS_epoll_wait, {5, a(buf2), 2, uint64_t(-1)}));
  EXPECT_NE(w1.first_difference(fewer, 3), -1);
}

}  // namespace
}  // namespace tandem
