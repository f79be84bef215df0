// /proc readers of one thread: state, pending SIGKILL, CPU time; a gone thread reads as gone.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/proc_thread.h"

namespace tandem {
namespace {

TEST(ProcThread, ARunningThreadAndAGoneOne) {
  EXPECT_EQ(thread_state(gettid()), 'R');  // reading its own stat: it runs
  EXPECT_FALSE(sigkill_pending(gettid()));
  auto before = thread_cpu_ticks(gettid());
  ASSERT_TRUE(before.has_value());
  volatile uint64_t x = 0;
  for (uint64_t i = 0; i < 400'000'000; ++i) x = x + i;  // ~0.1-0.5 s: some ticks
  EXPECT_GT(*thread_cpu_ticks(gettid()), *before);
  EXPECT_EQ(thread_state(0x3fffffff), std::nullopt);
  EXPECT_FALSE(sigkill_pending(0x3fffffff));
  EXPECT_EQ(thread_cpu_ticks(0x3fffffff), std::nullopt);
}

TEST(ProcThread, AStoppedAZombieAndAPendingKill) {
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ptrace(PTRACE_TRACEME, 0, nullptr, nullptr);
    raise(SIGSTOP);  // a ptrace stop: 't'
    pause();
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSTOPPED(status));
  EXPECT_EQ(thread_state(child), 't');
  EXPECT_FALSE(sigkill_pending(child));
  // Killed while stopped: SIGKILL is pending until it runs (the kernel wakes it to die, so
  // this is seen only when it has not run yet; either way it ends a zombie).
  kill(child, SIGKILL);
  for (int i = 0; i < 1000 && thread_state(child) != 'Z'; ++i) usleep(1000);
  EXPECT_EQ(thread_state(child), 'Z');
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_EQ(thread_state(child), std::nullopt);
}

}  // namespace
}  // namespace tandem
