#include "intercept/ptrace/spawn_child.h"

#include <linux/filter.h>

#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstddef>

#include <cerrno>

#include "intercept/ptrace/install_marker.h"

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
  // The monitor's descriptors must not leak into the version: mark all but 0-2 close-on-exec
  // (the pipes to the monitor must stay open until execve).
  syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);

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
  if (s.install_marker) {
    // syscall(kInstallMarkerNr, kInstallMarkerMagic) -> user notification; all else allowed.
    sock_filter marker[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kInstallMarkerNr, 0, 5),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, args[0])),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(kInstallMarkerMagic), 0, 3),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, args[0]) + 4),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(kInstallMarkerMagic >> 32), 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    sock_fprog prog{static_cast<unsigned short>(sizeof marker / sizeof marker[0]), marker};
    // WAIT_KILLABLE_RECV (5.19): once tandem received the notification, only a fatal signal
    // interrupts the task's wait, so a descriptor is never lost to a signal in between.
    int listener = static_cast<int>(
        syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, &prog));
    if (listener < 0 && errno == EINVAL)
      listener = static_cast<int>(
          syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog));
    if (listener < 0) fail(s, errno);
    fcntl(listener, F_SETFD, FD_CLOEXEC);
    if (write(s.info_fd, &listener, sizeof listener) != sizeof listener) fail(s, errno);
  }
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &s.filter) < 0) fail(s, errno);
  // Stop once so that the tracer takes its copy of the listener before execve closes ours.
  if (s.install_marker) kill(getpid(), SIGSTOP);
  execve(s.path, s.argv, s.envp);
  fail(s, errno);
}

}  // namespace tandem
