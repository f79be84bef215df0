// The guard in front of a program's own seccomp filter (program_filters.h), run by the kernel:
// a child installs "kill everything but exit" behind the guard and makes calls.
#include "intercept/ptrace/program_filters.h"

#include <gtest/gtest.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "intercept/ptrace/install_marker.h"

namespace tandem {
namespace {

// Runs `body` in a child under guard(kill all but exit_group/exit); returns its wait status.
template <typename F>
int run_guarded(F body) {
  std::vector<sock_filter> program = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_exit_group, 2, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_exit, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  std::vector<sock_filter> guarded = guard_filter(program, injection_secret());
  pid_t child = fork();
  if (child == 0) {
    sock_fprog prog{static_cast<unsigned short>(guarded.size()), guarded.data()};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(90);
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) _exit(91);
    _exit(body());
  }
  int status = 0;
  waitpid(child, &status, 0);
  return status;
}

TEST(ProgramFilters, ProgramDecidesOrdinaryCalls) {
  int status = run_guarded([] { return static_cast<int>(syscall(SYS_getppid) > 0); });
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGSYS);
}

TEST(ProgramFilters, CallsWithTheSecretPass) {
  int status = run_guarded([] {
    long r = syscall(SYS_getppid, 0, 0, 0, 0, 0, injection_secret());
    return r > 0 ? 7 : 1;
  });
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 7);
}

TEST(ProgramFilters, AnotherSixthArgumentDoesNot) {
  int status = run_guarded([] {
    return static_cast<int>(syscall(SYS_getppid, 0, 0, 0, 0, 0, injection_secret() ^ 1));
  });
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGSYS);
}

TEST(ProgramFilters, TheInstallMarkerPasses) {
  // Without tandem's notification filter the marker is just an unknown call: ENOSYS.
  int status = run_guarded([] {
    long r = syscall(kInstallMarkerNr, kInstallMarkerMagic, 0, 0, 0, 0, 0);
    return r == -1 && errno == ENOSYS ? 7 : 1;
  });
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 7);
}

TEST(ProgramFilters, RecognisesFilterInstalls) {
  EXPECT_EQ(filter_install_arg({SYS_seccomp, {SECCOMP_SET_MODE_FILTER, 0, 0x1000}}), 2);
  EXPECT_EQ(filter_install_arg({SYS_seccomp, {SECCOMP_GET_ACTION_AVAIL, 0, 0x1000}}), -1);
  EXPECT_EQ(filter_install_arg({SYS_prctl, {PR_SET_SECCOMP, SECCOMP_MODE_FILTER, 0x1000}}), 2);
  EXPECT_EQ(filter_install_arg({SYS_prctl, {PR_SET_SECCOMP, SECCOMP_MODE_STRICT}}), -1);
}

}  // namespace
}  // namespace tandem
