#include "intercept/ptrace/spawn_child.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace tandem {

namespace {

[[noreturn]] void fail(const ChildSetup& s, int err) {
  [[maybe_unused]] ssize_t n = write(s.error_fd, &err, sizeof err);
  _exit(127);
}

}  // namespace

void run_spawned_child(const ChildSetup& s) {
  // Wait until the tracer has seized us: everything from here on is traced.
  char go = 0;
  while (read(s.release_fd, &go, 1) < 0 && errno == EINTR) {
  }
  close(s.release_fd);

  if (s.cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(s.cpu, &set);
    sched_setaffinity(0, sizeof set, &set);
  }
  if (s.hidden_fd >= 0) {
    // A pidfd of the monitor, through which the monitor's copies of another version's
    // descriptors are installed with pidfd_getfd (see PtraceTask::install_fd).
    int pidfd = static_cast<int>(syscall(SYS_pidfd_open, getppid(), 0));
    if (pidfd < 0) fail(s, errno);
    if (dup2(pidfd, s.hidden_fd) < 0) fail(s, errno);
    close(pidfd);
  }
  // The monitor's descriptors must not leak into the version: mark all but 0-2 close-on-exec
  // (the error pipe must stay open until execve), then keep the hidden descriptor open.
  syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);
  if (s.hidden_fd >= 0) fcntl(s.hidden_fd, F_SETFD, 0);

  if (s.disable_aslr) {
    // Same address layout in every version: programs that mix addresses into names or hash
    // seeds (glibc's mkstemp mixes a stack address) then behave the same.
    int persona = personality(0xffffffff);
    if (persona >= 0) personality(static_cast<unsigned long>(persona) | ADDR_NO_RANDOMIZE);
  }
  // rdtsc/rdtscp fault with SIGSEGV so that the monitor can give every version the same value.
  prctl(PR_SET_TSC, PR_TSC_SIGSEGV, 0, 0, 0);
  sigprocmask(SIG_SETMASK, &s.original_mask, nullptr);
  if (s.set_no_new_privs) {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) fail(s, errno);
  }
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &s.filter) < 0) fail(s, errno);
  execve(s.path, s.argv, s.envp);
  fail(s, errno);
}

}  // namespace tandem
