// A parent with a SIGCHLD handler without SA_RESTART (as dash has) reaps its two children with
// waitpid(-1), making the call again on EINTR, and prints what it reaped. The first child
// closes a pipe and exits; the second exits when it reads the end of that pipe. In VERSION 1
// the first child has touched 256 MiB, so that its exit takes a while after its close and its
// second child ends first: the wait of version 1 for the child that version 2 reaped at once
// is interrupted by the other child's SIGCHLD. Natively it prints "reaped 2, statuses 7".
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t chld;

static void on_chld(int sig) {
  (void)sig;
  chld++;
}

// In the program's image (no call maps it), so that both versions make the same calls.
static char big[VERSION == 1 ? 256 << 20 : 4096];

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_chld;
  sigaction(SIGCHLD, &sa, NULL);
  for (int round = 0; round < 3; round++) {
    int fds[2];
    if (pipe(fds) != 0) return 1;
    if (fork() == 0) {
      for (size_t i = 0; i < sizeof big; i += 4096) big[i] = 1;
      close(fds[1]);
      _exit(3);
    }
    if (fork() == 0) {
      char c;
      close(fds[1]);
      while (read(fds[0], &c, 1) > 0) {
      }
      _exit(4);
    }
    close(fds[0]);
    close(fds[1]);
    int reaped = 0, sum = 0;
    for (;;) {
      int st = 0;
      pid_t p = waitpid(-1, &st, 0);
      if (p < 0 && errno == EINTR) continue;
      if (p < 0) break;
      reaped++;
      sum += WEXITSTATUS(st);
    }
    printf("reaped %d, statuses %d\n", reaped, sum);
  }
  return 0;
}
