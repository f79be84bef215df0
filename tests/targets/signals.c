// Signal paths, one per mode (argv[1]); each prints what a native run prints, so that every
// version of a tandem run must agree with it (and with each other) at the same calls.
//   timers     an interval timer armed and cancelled around a sleep of the same length, many
//              times: the timer fires just before or just after the cancel, differently in each
//              version; its SIGALRM must reach every version or none. Prints the count parity
//              check only (the count itself varies natively).
//   sigchld    children exit; a SIGCHLD handler reaps them with waitpid(WNOHANG).
//   sigpipe    a write to a pipe without reader: the handler runs and write fails with EPIPE.
//   altstack   a handler on an alternate stack (sigaltstack) sees its own address on that stack.
//   eintr      a blocking read interrupted by a timer: EINTR without SA_RESTART; with
//              SA_RESTART the read goes on and gets the byte the second timer's handler writes.
//   signalfd   a blocked signal sent to itself is read from a signalfd.
//   hup        waits for SIGHUP from outside (sent to tandem's pid), then SIGTERM ends it.
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t count;
static volatile sig_atomic_t reaped;
static volatile uintptr_t handler_sp;
static int self_pipe[2];

static void on_signal(int sig) {
  (void)sig;
  count++;
}

static void on_sigchld(int sig) {
  (void)sig;
  int saved = errno;
  while (waitpid(-1, NULL, WNOHANG) > 0) reaped++;
  errno = saved;
}

static void on_altstack(int sig) {
  (void)sig;
  int local = 0;
  handler_sp = (uintptr_t)&local;
}

static void on_alarm_write(int sig) {
  (void)sig;
  count++;
  if (count == 2) {
    char c = 'x';
    if (write(self_pipe[1], &c, 1) != 1) _exit(3);
  }
}

static void handle(int sig, void (*fn)(int), int flags) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = fn;
  sa.sa_flags = flags;
  sigemptyset(&sa.sa_mask);
  if (sigaction(sig, &sa, NULL) != 0) exit(2);
}

static void arm(long usec, long interval_usec) {
  struct itimerval it = {{0, interval_usec}, {0, usec}};
  if (setitimer(ITIMER_REAL, &it, NULL) != 0) exit(2);
}

static int timers(void) {
  handle(SIGALRM, on_signal, SA_RESTART);
  struct timespec ts = {0, 300 * 1000};
  int rounds = 300;
  for (int i = 0; i < rounds; i++) {
    arm(300, 0);
    nanosleep(&ts, NULL);  // interrupted (EINTR) when the timer fires first
    arm(0, 0);
  }
  // Natively the count varies from run to run; under tandem every version must have seen the
  // same signals, so the outputs agree.
  printf("timers: %d rounds, %s\n", rounds, count <= rounds ? "ok" : "too many signals");
  return 0;
}

static int sigchld(void) {
  handle(SIGCHLD, on_sigchld, SA_RESTART);
  for (int i = 0; i < 5; i++) {
    pid_t pid = fork();
    if (pid < 0) return 2;
    if (pid == 0) _exit(i);
    struct timespec ts = {0, 10 * 1000 * 1000};
    for (int waited = 0; reaped <= i && waited < 1000; waited++) nanosleep(&ts, NULL);
  }
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGCHLD);
  sigprocmask(SIG_BLOCK, &block, &old);
  int left = reaped;
  sigprocmask(SIG_SETMASK, &old, NULL);
  printf("sigchld: reaped %d children\n", left);
  return 0;
}

static int sigpipe(void) {
  handle(SIGPIPE, on_signal, 0);
  int p[2];
  if (pipe(p) != 0) return 2;
  close(p[0]);
  ssize_t n = write(p[1], "x", 1);
  printf("sigpipe: write %zd (%s), handler ran %d time(s)\n", n, n < 0 ? strerror(errno) : "-",
         (int)count);
  return 0;
}

static int altstack(void) {
  static char stack[64 * 1024];
  stack_t ss = {.ss_sp = stack, .ss_size = sizeof stack, .ss_flags = 0};
  if (sigaltstack(&ss, NULL) != 0) return 2;
  handle(SIGUSR1, on_altstack, SA_ONSTACK);
  kill(getpid(), SIGUSR1);
  int on = handler_sp >= (uintptr_t)stack && handler_sp < (uintptr_t)stack + sizeof stack;
  printf("altstack: handler %s the alternate stack\n", on ? "ran on" : "did NOT run on");
  return 0;
}

static int eintr(void) {
  if (pipe(self_pipe) != 0) return 2;
  char c;
  // Without SA_RESTART: the blocking read fails with EINTR.
  handle(SIGALRM, on_signal, 0);
  arm(50 * 1000, 0);
  ssize_t n = read(self_pipe[0], &c, 1);
  printf("eintr: without SA_RESTART read %zd (%s)\n", n, n < 0 ? strerror(errno) : "data");
  // With SA_RESTART: the read is restarted after the first signal; the second writes a byte.
  count = 0;
  handle(SIGALRM, on_alarm_write, SA_RESTART);
  arm(50 * 1000, 50 * 1000);
  n = read(self_pipe[0], &c, 1);
  arm(0, 0);
  printf("eintr: with SA_RESTART read %zd (%c) after %d signals\n", n, n == 1 ? c : '?',
         (int)count);
  return 0;
}

static int sigfd(void) {
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGUSR2);
  if (sigprocmask(SIG_BLOCK, &mask, NULL) != 0) return 2;
  int fd = signalfd(-1, &mask, SFD_CLOEXEC);
  if (fd < 0) return 2;
  kill(getpid(), SIGUSR2);
  struct signalfd_siginfo si;
  ssize_t n = read(fd, &si, sizeof si);
  printf("signalfd: read %zd bytes, signal %u, from %s\n", n, n == sizeof si ? si.ssi_signo : 0,
         n == sizeof si && (pid_t)si.ssi_pid == getpid() ? "itself" : "elsewhere");
  return 0;
}

static _Noreturn void hup(void) {
  handle(SIGHUP, on_signal, 0);
  printf("hup: ready\n");
  fflush(stdout);
  while (count == 0) pause();
  printf("hup: got SIGHUP\n");
  fflush(stdout);
  for (;;) pause();  // SIGTERM (default action) ends it
}

int main(int argc, char** argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  const char* mode = argc > 1 ? argv[1] : "";
  if (strcmp(mode, "timers") == 0) return timers();
  if (strcmp(mode, "sigchld") == 0) return sigchld();
  if (strcmp(mode, "sigpipe") == 0) return sigpipe();
  if (strcmp(mode, "altstack") == 0) return altstack();
  if (strcmp(mode, "eintr") == 0) return eintr();
  if (strcmp(mode, "signalfd") == 0) return sigfd();
  if (strcmp(mode, "hup") == 0) hup();
  fprintf(stderr, "usage: signals timers|sigchld|sigpipe|altstack|eintr|signalfd|hup\n");
  return 2;
}
