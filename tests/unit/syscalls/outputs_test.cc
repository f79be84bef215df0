// capture_outputs / apply_outputs round trips: a real call in the test process plays the
// leader; a second set of buffers at other addresses plays the follower whose call was skipped.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "base/scoped_fd.h"
#include "syscalls/abi.h"
#include "syscalls/call.h"
#include "syscalls/families/epoll.h"
#include "test_util.h"

namespace tandem {
namespace {

using testing::a;
using testing::make_call;

struct Done {
  SyscallCall call;
  int64_t ret;
};

// Makes the call for real, like the leader would.
Done call_for_real(int nr, std::initializer_list<uint64_t> args) {
  SyscallCall c = make_call(nr, args);
  long r = syscall(nr, c.args[0], c.args[1], c.args[2], c.args[3], c.args[4], c.args[5]);
  return {c, r < 0 ? -errno : r};
}

Outputs capture(const Done& r) {
  auto out = capture_outputs(r.call, r.ret, testing::self());
  EXPECT_TRUE(out.ok()) << (out.ok() ? "" : out.error().describe());
  return out.ok() ? *out : Outputs{};
}

void apply(const SyscallCall& follower, int64_t ret, const Outputs& out) {
  auto r = apply_outputs(follower, ret, out, testing::self());
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().describe());
}

TEST(Outputs, ReadCopiesExactlyTheBytesRead) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  ScopedFd r(p[0]), w(p[1]);
  ASSERT_EQ(write(w.get(), "hello", 5), 5);
  char leader[16], follower[16];
  std::memset(follower, 'x', sizeof follower);
  Done done = call_for_real(SYS_read, {uint64_t(r.get()), a(leader), sizeof leader});
  ASSERT_EQ(done.ret, 5);
  Outputs out = capture(done);
  ASSERT_EQ(out.blobs.size(), 1u);
  EXPECT_EQ(out.blobs[0].bytes.size(), 5u);
  apply(make_call(SYS_read, {uint64_t(r.get()), a(follower), sizeof follower}), done.ret, out);
  EXPECT_EQ(std::string(follower, 5), "hello");
  EXPECT_EQ(follower[5], 'x');  // nothing past what was read
}

TEST(Outputs, ApplyNeverWritesPastTheFollowersBuffer) {
  std::string data(50, 'd');
  Outputs out;
  out.blobs.push_back({1, 0, std::vector<uint8_t>(data.begin(), data.end())});
  char follower[16];
  std::memset(follower, 'x', sizeof follower);
  apply(make_call(SYS_read, {0, a(follower), 10}), 50, out);
  EXPECT_EQ(std::string(follower, 10), std::string(10, 'd'));
  EXPECT_EQ(follower[10], 'x');
}

TEST(Outputs, FailedCallsWriteNothing) {
  char buf[8];
  Done r = call_for_real(SYS_read, {uint64_t(-1), a(buf), sizeof buf});
  ASSERT_EQ(r.ret, -EBADF);
  EXPECT_TRUE(capture(r).blobs.empty());
}

TEST(Outputs, ReadvScattersIntoTheFollowersIovec) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  ScopedFd r(p[0]), w(p[1]);
  ASSERT_EQ(write(w.get(), "abcdefghij", 10), 10);
  char l1[3], l2[20], f1[3], f2[20];
  iovec lv[] = {{l1, 3}, {l2, 20}};
  iovec fv[] = {{f1, 3}, {f2, 20}};
  Done done = call_for_real(SYS_readv, {uint64_t(r.get()), a(lv), 2});
  ASSERT_EQ(done.ret, 10);
  apply(make_call(SYS_readv, {uint64_t(r.get()), a(fv), 2}), done.ret, capture(done));
  EXPECT_EQ(std::string(f1, 3), "abc");
  EXPECT_EQ(std::string(f2, 7), "defghij");
}

TEST(Outputs, RecvmsgWithScmRights) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  ScopedFd s0(sv[0]), s1(sv[1]);
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  ScopedFd pr(p[0]), pw(p[1]);
  // Send "data" with the pipe's read end attached.
  char payload[] = "data";
  iovec siov{payload, 4};
  alignas(cmsghdr) char scontrol[CMSG_SPACE(sizeof(int))] = {};
  msghdr sm{};
  sm.msg_iov = &siov;
  sm.msg_iovlen = 1;
  sm.msg_control = scontrol;
  sm.msg_controllen = sizeof scontrol;
  cmsghdr* cm = CMSG_FIRSTHDR(&sm);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(cm), &p[0], sizeof(int));
  ASSERT_EQ(sendmsg(s1.get(), &sm, 0), 4);

  char lbuf[16], fbuf[16];
  alignas(cmsghdr) char lcontrol[64], fcontrol[64];
  std::memset(fcontrol, 0, sizeof fcontrol);
  iovec liov{lbuf, sizeof lbuf}, fiov{fbuf, sizeof fbuf};
  msghdr lm{}, fm{};
  lm.msg_iov = &liov;
  fm.msg_iov = &fiov;
  lm.msg_iovlen = fm.msg_iovlen = 1;
  lm.msg_control = lcontrol;
  fm.msg_control = fcontrol;
  lm.msg_controllen = fm.msg_controllen = sizeof lcontrol;
  fm.msg_flags = 0x7777;  // stale: must be replaced by the leader's flags
  Done r = call_for_real(SYS_recvmsg, {uint64_t(s0.get()), a(&lm), 0});
  ASSERT_EQ(r.ret, 4);
  Outputs out = capture(r);
  ASSERT_EQ(out.new_fds.size(), 1u);
  int received = out.new_fds[0];
  ScopedFd received_fd(received);
  EXPECT_NE(received, p[0]);  // a new descriptor in the "leader"
  apply(make_call(SYS_recvmsg, {uint64_t(s0.get()), a(&fm), 0}), r.ret, out);
  EXPECT_EQ(std::string(fbuf, 4), "data");
  EXPECT_EQ(fm.msg_controllen, lm.msg_controllen);
  EXPECT_EQ(fm.msg_flags, lm.msg_flags);
  EXPECT_EQ(std::memcmp(fcontrol, lcontrol, lm.msg_controllen), 0);
  cmsghdr* fcm = CMSG_FIRSTHDR(&fm);
  ASSERT_NE(fcm, nullptr);
  EXPECT_EQ(fcm->cmsg_type, SCM_RIGHTS);
  int fd_in_follower;
  std::memcpy(&fd_in_follower, CMSG_DATA(fcm), sizeof(int));
  EXPECT_EQ(fd_in_follower, received);  // same number: the monitor installs the same file there
}

TEST(Outputs, RecvmmsgTwoDatagrams) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
  ScopedFd s0(sv[0]), s1(sv[1]);
  ASSERT_EQ(send(s1.get(), "one", 3, 0), 3);
  ASSERT_EQ(send(s1.get(), "three", 5, 0), 5);
  char l[2][8], f[2][8] = {};
  iovec liov[2] = {{l[0], 8}, {l[1], 8}}, fiov[2] = {{f[0], 8}, {f[1], 8}};
  mmsghdr lm[2] = {}, fm[2] = {};
  for (int i = 0; i < 2; ++i) {
    lm[i].msg_hdr.msg_iov = &liov[i];
    fm[i].msg_hdr.msg_iov = &fiov[i];
    lm[i].msg_hdr.msg_iovlen = fm[i].msg_hdr.msg_iovlen = 1;
  }
  Done r = call_for_real(SYS_recvmmsg, {uint64_t(s0.get()), a(lm), 2, MSG_DONTWAIT, 0});
  ASSERT_EQ(r.ret, 2);
  apply(make_call(SYS_recvmmsg, {uint64_t(s0.get()), a(fm), 2, MSG_DONTWAIT, 0}), r.ret,
        capture(r));
  EXPECT_EQ(fm[0].msg_len, 3u);
  EXPECT_EQ(fm[1].msg_len, 5u);
  EXPECT_EQ(std::string(f[0], 3), "one");
  EXPECT_EQ(std::string(f[1], 5), "three");
}

TEST(Outputs, FstatFixedStruct) {
  struct stat leader {
  }, follower{};
  ScopedFd fd(open("/proc/self/exe", O_RDONLY));
  ASSERT_TRUE(fd.valid());
  Done r = call_for_real(SYS_fstat, {uint64_t(fd.get()), a(&leader)});
  ASSERT_EQ(r.ret, 0);
  apply(make_call(SYS_fstat, {uint64_t(fd.get()), a(&follower)}), 0, capture(r));
  EXPECT_EQ(std::memcmp(&leader, &follower, sizeof leader), 0);
  EXPECT_EQ(follower.st_ino, leader.st_ino);
}

TEST(Outputs, EpollWaitEventsWithTranslatedCookies) {
  ScopedFd ep(epoll_create1(EPOLL_CLOEXEC));
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  ScopedFd r(p[0]), w(p[1]);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = 0x1234;
  ASSERT_EQ(epoll_ctl(ep.get(), EPOLL_CTL_ADD, r.get(), &ev), 0);
  ASSERT_EQ(write(w.get(), "x", 1), 1);
  epoll_event leader[4], follower[4];
  std::memset(follower, 0xee, sizeof follower);
  Done done = call_for_real(SYS_epoll_wait, {uint64_t(ep.get()), a(leader), 4, 0});
  ASSERT_EQ(done.ret, 1);
  Outputs out = capture(done);
  auto ready = epoll_ready_events(out);
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(ready[0].cookie, 0x1234u);
  EXPECT_EQ(ready[0].events, uint32_t(EPOLLIN));
  // The follower registered its own cookie for the same fd.
  ASSERT_TRUE(translate_epoll_cookies(out, [](uint64_t c) -> std::optional<uint64_t> {
                if (c == 0x1234) return 0x5678;
                return std::nullopt;
              }).ok());
  apply(make_call(SYS_epoll_wait, {uint64_t(ep.get()), a(follower), 4, 0}), done.ret, out);
  EXPECT_EQ(follower[0].events, uint32_t(EPOLLIN));
  EXPECT_EQ(follower[0].data.u64, 0x5678u);
  EXPECT_EQ(follower[1].events, 0xeeeeeeeeu);  // only `ret` events written
  // A cookie the follower never registered: an error, outputs untouched.
  Outputs out2 = capture(done);
  EXPECT_FALSE(
      translate_epoll_cookies(out2, [](uint64_t) { return std::optional<uint64_t>(); }).ok());
  EXPECT_EQ(epoll_ready_events(out2)[0].cookie, 0x1234u);
}

TEST(Outputs, Pipe2ReportsBothDescriptors) {
  int leader[2], follower[2] = {-1, -1};
  Done r = call_for_real(SYS_pipe2, {a(leader), O_CLOEXEC});
  ASSERT_EQ(r.ret, 0);
  ScopedFd l0(leader[0]), l1(leader[1]);
  Outputs out = capture(r);
  EXPECT_EQ(out.new_fds, (std::vector<int>{leader[0], leader[1]}));
  apply(make_call(SYS_pipe2, {a(follower), O_CLOEXEC}), 0, out);
  EXPECT_EQ(follower[0], leader[0]);
  EXPECT_EQ(follower[1], leader[1]);
}

TEST(Outputs, ReturnedDescriptorIsANewFd) {
  Done r =
      call_for_real(SYS_openat, {uint64_t(AT_FDCWD), a("/proc/self/exe"), O_RDONLY | O_CLOEXEC, 0});
  ASSERT_GE(r.ret, 0);
  ScopedFd fd(static_cast<int>(r.ret));
  EXPECT_EQ(capture(r).new_fds, (std::vector<int>{static_cast<int>(r.ret)}));
}

TEST(Outputs, AcceptAddressAndLength) {
  ScopedFd lst(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(lst.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    GTEST_SKIP() << "no loopback in this environment";
  ASSERT_EQ(listen(lst.get(), 1), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(getsockname(lst.get(), reinterpret_cast<sockaddr*>(&addr), &len), 0);
  ScopedFd client(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_EQ(connect(client.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  sockaddr_in leader{}, follower{};
  socklen_t llen = sizeof leader, flen = sizeof follower;
  Done r = call_for_real(SYS_accept4, {uint64_t(lst.get()), a(&leader), a(&llen), SOCK_CLOEXEC});
  ASSERT_GE(r.ret, 0);
  ScopedFd conn(static_cast<int>(r.ret));
  Outputs out = capture(r);
  EXPECT_EQ(out.new_fds, (std::vector<int>{static_cast<int>(r.ret)}));
  apply(make_call(SYS_accept4, {uint64_t(lst.get()), a(&follower), a(&flen), SOCK_CLOEXEC}), r.ret,
        out);
  EXPECT_EQ(flen, llen);
  EXPECT_EQ(std::memcmp(&follower, &leader, llen), 0);
  EXPECT_EQ(follower.sin_family, AF_INET);
}

TEST(Outputs, GetsockoptValueAndLength) {
  ScopedFd s(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  int leader = 0, follower = -1;
  socklen_t llen = sizeof leader, flen = sizeof follower;
  Done r =
      call_for_real(SYS_getsockopt, {uint64_t(s.get()), SOL_SOCKET, SO_TYPE, a(&leader), a(&llen)});
  ASSERT_EQ(r.ret, 0);
  apply(make_call(SYS_getsockopt, {uint64_t(s.get()), SOL_SOCKET, SO_TYPE, a(&follower), a(&flen)}),
        0, capture(r));
  EXPECT_EQ(follower, SOCK_DGRAM);
  EXPECT_EQ(flen, sizeof(int));
}

TEST(Outputs, SelectSetsAndTimeout) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  ScopedFd r(p[0]), w(p[1]);
  ASSERT_EQ(write(w.get(), "x", 1), 1);
  fd_set lread, fread_;
  FD_ZERO(&lread);
  FD_ZERO(&fread_);
  FD_SET(r.get(), &lread);
  FD_SET(r.get(), &fread_);
  FD_SET(w.get(), &lread);  // not readable: cleared by the kernel
  FD_SET(w.get(), &fread_);
  timeval lt{1, 0}, ft{1, 0};
  int nfds = std::max(r.get(), w.get()) + 1;
  Done done = call_for_real(SYS_select, {uint64_t(nfds), a(&lread), 0, 0, a(&lt)});
  ASSERT_EQ(done.ret, 1);
  apply(make_call(SYS_select, {uint64_t(nfds), a(&fread_), 0, 0, a(&ft)}), done.ret, capture(done));
  EXPECT_TRUE(FD_ISSET(r.get(), &fread_));
  EXPECT_FALSE(FD_ISSET(w.get(), &fread_));
  EXPECT_EQ(ft.tv_sec, lt.tv_sec);
  EXPECT_EQ(ft.tv_usec, lt.tv_usec);
}

TEST(Outputs, Wait4StatusAndRusage) {
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) _exit(7);
  int lstatus = 0, fstatus = 0;
  rusage lru{}, fru{};
  Done r = call_for_real(SYS_wait4, {uint64_t(child), a(&lstatus), 0, a(&lru)});
  ASSERT_EQ(r.ret, child);
  apply(make_call(SYS_wait4, {uint64_t(child), a(&fstatus), 0, a(&fru)}), r.ret, capture(r));
  EXPECT_TRUE(WIFEXITED(fstatus));
  EXPECT_EQ(WEXITSTATUS(fstatus), 7);
  EXPECT_EQ(std::memcmp(&fru, &lru, sizeof lru), 0);
}

TEST(Outputs, RemainingTimeOnInterruptionOnly) {
  timespec req{1, 0}, lrem{0, 123}, frem{};
  SyscallCall leader = make_call(SYS_nanosleep, {a(&req), a(&lrem)});
  // Interrupted (the tracer sees -ERESTART_RESTARTBLOCK): the remaining time was written.
  auto interrupted = capture_outputs(leader, -516, testing::self());
  ASSERT_TRUE(interrupted.ok());
  ASSERT_EQ(interrupted->blobs.size(), 1u);
  apply(make_call(SYS_nanosleep, {a(&req), a(&frem)}), -EINTR, *interrupted);
  EXPECT_EQ(frem.tv_nsec, 123);
  // Any other failure writes nothing.
  auto failed = capture_outputs(leader, -EINVAL, testing::self());
  ASSERT_TRUE(failed.ok());
  EXPECT_TRUE(failed->blobs.empty());
}

TEST(Outputs, ReadlinkAndGetrandomByResult) {
  char l[64], f[64];
  std::memset(f, 'z', sizeof f);
  Done r = call_for_real(SYS_readlink, {a("/proc/self/exe"), a(l), sizeof l});
  ASSERT_GT(r.ret, 0);
  apply(make_call(SYS_readlink, {a("/proc/self/exe"), a(f), sizeof f}), r.ret, capture(r));
  EXPECT_EQ(std::string(f, r.ret), std::string(l, r.ret));
  uint8_t lr[32], fr[32] = {};
  Done g = call_for_real(SYS_getrandom, {a(lr), sizeof lr, 0});
  ASSERT_EQ(g.ret, 32);
  apply(make_call(SYS_getrandom, {a(fr), sizeof fr, 0}), g.ret, capture(g));
  EXPECT_EQ(std::memcmp(lr, fr, sizeof lr), 0);  // HAZARDS 3: the leader's bytes everywhere
}

TEST(Outputs, IoctlOutputByRequest) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  ScopedFd r(p[0]), w(p[1]);
  ASSERT_EQ(write(w.get(), "12345", 5), 5);
  int lcount = 0, fcount = 0;
  Done done = call_for_real(SYS_ioctl, {uint64_t(r.get()), 0x541b /* FIONREAD */, a(&lcount)});
  ASSERT_EQ(done.ret, 0);
  apply(make_call(SYS_ioctl, {uint64_t(r.get()), 0x541b, a(&fcount)}), 0, capture(done));
  EXPECT_EQ(fcount, 5);
}

}  // namespace
}  // namespace tandem
