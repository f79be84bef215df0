// The monitor's bookkeeping that needs no traced process: epoll registrations (the cookies
// followers get translated) and the call families of Rx (recovery from a deterministic crash
// by withholding its input).
#include <gtest/gtest.h>
#include <sys/syscall.h>

#include "monitor/group_util.h"
#include "base/tsc.h"
#include "monitor/process.h"
#include "monitor/rules.h"

namespace tandem {
namespace {

TEST(EpollRegistry, ReplacingARegistrationKeepsACookieAnotherDescriptorTookOver) {
  EpollRegistry r;
  constexpr int kEp = 10;
  r.set(kEp, 7, 0x1000);  // connection 7 with its structure at 0x1000
  // 7 is closed (the kernel drops it from the instance, no epoll_ctl), and the structure is
  // reused for the next connection, at 8 (nginx).
  r.set(kEp, 8, 0x1000);
  EXPECT_EQ(r.fd_of_cookie.at({kEp, 0x1000}), 8);
  // A new connection at number 7 with another structure: 8's cookie must stay 8's.
  r.set(kEp, 7, 0x2000);
  ASSERT_EQ(r.fd_of_cookie.count({kEp, 0x1000}), 1u);
  EXPECT_EQ(r.fd_of_cookie.at({kEp, 0x1000}), 8);
  EXPECT_EQ(r.fd_of_cookie.at({kEp, 0x2000}), 7);
  EXPECT_EQ(r.cookie.at({kEp, 7}), 0x2000u);
  // Removing (EPOLL_CTL_DEL) 8 forgets its cookie.
  r.set(kEp, 8, std::nullopt);
  EXPECT_EQ(r.fd_of_cookie.count({kEp, 0x1000}), 0u);
  EXPECT_EQ(r.cookie.count({kEp, 8}), 0u);
}

TEST(RxCalls, TheLeaderAloneOnlyForFilesAndTheClock) {
  using detail::rx_leader_alone_call;
  using detail::rx_version_alone_call;
  EXPECT_TRUE(rx_leader_alone_call(SYS_newfstatat, false));
  EXPECT_TRUE(rx_leader_alone_call(SYS_pread64, false));
  EXPECT_TRUE(rx_leader_alone_call(SYS_write, false));
  EXPECT_TRUE(rx_leader_alone_call(SYS_clock_gettime, false));
  // Output to a connection, input, events, new connections: never.
  EXPECT_FALSE(rx_leader_alone_call(SYS_write, true));
  EXPECT_FALSE(rx_leader_alone_call(SYS_read, true));
  EXPECT_FALSE(rx_leader_alone_call(SYS_accept4, false));
  EXPECT_FALSE(rx_leader_alone_call(SYS_epoll_wait, false));
  EXPECT_FALSE(rx_leader_alone_call(SYS_sendto, false));
  // The version's own: nothing that moves an offset it shares with the leader.
  EXPECT_TRUE(rx_version_alone_call(SYS_pread64, false));
  EXPECT_FALSE(rx_version_alone_call(SYS_read, false));
  EXPECT_FALSE(rx_version_alone_call(SYS_lseek, false));
  EXPECT_FALSE(rx_version_alone_call(SYS_write, false));
  EXPECT_EQ(detail::event_wait_timeout_arg(SYS_epoll_wait), 3);
  EXPECT_EQ(detail::event_wait_timeout_arg(SYS_poll), 2);
  EXPECT_EQ(detail::event_wait_timeout_arg(SYS_read), -1);
}

TEST(ReplayOrder, AStampNewerThanTheWatchdogsClockIsNoStall) {
  // The watchdog reads the clock once per pass; a restored thread's step stamped after that
  // read is newer than its `now`. That is no stall (it was taken for one ~584 years long, and
  // the order was released 12 ms after the restore).
  Process p(2);
  p.replay_parked[1][nullptr] = TaskId{};
  p.replay_progress_ns[1] = 5'000'000'000;
  EXPECT_TRUE(p.release_stalled_replay(1, 4'999'000'000).empty());
  EXPECT_FALSE(p.replay_order_off[1]);
  EXPECT_TRUE(p.release_stalled_replay(1, 5'000'000'000 + Process::kReplayStallNs / 2).empty());
  // A real stall releases the parked thread and turns the order off.
  auto turns = p.release_stalled_replay(1, 5'000'000'000 + Process::kReplayStallNs + 1);
  EXPECT_EQ(turns.size(), 1u);
  EXPECT_TRUE(p.replay_order_off[1]);
  EXPECT_EQ(elapsed_ns(10, 4), 0u);
  EXPECT_EQ(elapsed_ns(4, 10), 6u);
}

TEST(BuiltinRules, TimeoutsOfEventWaitsAndSleepsAreNotCompared) {
  Rules r = Rules::builtin();
  EXPECT_TRUE(r.ignored_arg(SYS_epoll_wait, 3));
  EXPECT_TRUE(r.ignored_arg(SYS_epoll_pwait, 3));
  EXPECT_TRUE(r.ignored_arg(SYS_poll, 2));
  EXPECT_TRUE(r.ignored_arg(SYS_select, 4));
  EXPECT_TRUE(r.ignored_arg(SYS_nanosleep, 0));
  // What is waited for still is.
  EXPECT_FALSE(r.ignored_arg(SYS_epoll_wait, 0));
  EXPECT_FALSE(r.ignored_arg(SYS_epoll_wait, 2));
  EXPECT_FALSE(r.ignored_arg(SYS_poll, 1));
}

}  // namespace
}  // namespace tandem
