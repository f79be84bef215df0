// Probe: registers (orig_rax, rax) of a thread at PTRACE_EVENT_EXIT when its process dies by
// SIGKILL (group exit) while the thread is (a) blocked in read, (b) at a syscall-exit stop after a
// completed write, (c) at a seccomp-like stop before the call (we use PTRACE_SYSCALL entry),
// (d) in epoll_wait, (e) running user code, (f) a write to a full pipe that wrote part.
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>
#include <fcntl.h>

static int mode;
static int p[2];
static char big[1 << 20];

static void* thr(void* a) {
  (void)a;
  switch (mode) {
    case 'a': { char c; read(p[0], &c, 1); break; }
    case 'b': case 'c': write(p[1], "x", 1); for (;;) pause(); break;
    case 'd': { int e = epoll_create1(0); struct epoll_event ev; epoll_wait(e, &ev, 1, -1); break; }
    case 'e': for (volatile long i = 0;; i++) {} break;
    case 'f': { fcntl(p[1], F_SETPIPE_SZ, 4096); long n = write(p[1], big, sizeof big); (void)n; break; }
  }
  return NULL;
}

int main(int argc, char** argv) {
  mode = argv[1][0];
  pipe(p);
  pid_t child = fork();
  if (child == 0) {
    raise(SIGSTOP);
    pthread_t t;
    pthread_create(&t, NULL, thr, NULL);
    for (;;) pause();
  }
  ptrace(PTRACE_SEIZE, child, 0, PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXIT | PTRACE_O_TRACESYSGOOD);
  int st;
  waitpid(child, &st, 0);
  ptrace(PTRACE_CONT, child, 0, 0);
  pid_t tid = 0;
  // wait for clone event
  for (;;) {
    pid_t w = waitpid(-1, &st, __WALL);
    if (w == child && (st >> 16) == PTRACE_EVENT_CLONE) { unsigned long m; ptrace(PTRACE_GETEVENTMSG, child, 0, &m); tid = m; ptrace(PTRACE_CONT, child, 0, 0); continue; }
    if (w == tid) break;  // first stop of thread
    ptrace(PTRACE_CONT, w, 0, 0);
  }
  // Thread first stop: resume it; for b/c trace syscalls.
  int target_nr = mode == 'b' || mode == 'c' ? SYS_write : -1;
  int entries = 0;
  ptrace(target_nr >= 0 ? PTRACE_SYSCALL : PTRACE_CONT, tid, 0, 0);
  if (target_nr >= 0) {
    for (;;) {
      waitpid(tid, &st, __WALL);
      struct user_regs_struct r; ptrace(PTRACE_GETREGS, tid, 0, &r);
      if (WSTOPSIG(st) == (SIGTRAP|0x80)) {
        if ((long)r.orig_rax == target_nr) {
          entries++;
          if (mode == 'c' && entries == 1) break;  // at entry, not run
          if (mode == 'b' && entries == 2) break;  // at exit, completed
        }
      }
      ptrace(PTRACE_SYSCALL, tid, 0, 0);
    }
  } else {
    usleep(200000);
  }
  kill(child, SIGKILL);
  for (;;) {
    pid_t w = waitpid(-1, &st, __WALL);
    if (w < 0) break;
    if (WIFSTOPPED(st) && (st >> 16) == PTRACE_EVENT_EXIT) {
      struct user_regs_struct r; ptrace(PTRACE_GETREGS, w, 0, &r);
      unsigned long msg; ptrace(PTRACE_GETEVENTMSG, w, 0, &msg);
      printf("mode %c %s: exit stop status %#lx orig_rax %ld rax %ld\n", mode, w == tid ? "thread" : "main", msg, (long)r.orig_rax, (long)r.rax);
      ptrace(PTRACE_CONT, w, 0, 0);
    } else if (WIFSTOPPED(st)) ptrace(PTRACE_CONT, w, 0, 0);
  }
  return 0;
}
