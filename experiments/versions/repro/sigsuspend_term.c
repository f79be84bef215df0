// Minimal reproduction of tandem bug 4 of ../results.md: like nginx's master process, the
// program blocks SIGTERM and waits for it in sigsuspend. `kill -TERM <tandem>` should make it
// print "got SIGTERM" and exit 0, as it does natively.
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t got;
static void on_term(int sig) { got = sig; }

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_term;
  sigaction(SIGTERM, &sa, NULL);
  sigset_t block, empty;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  sigprocmask(SIG_BLOCK, &block, NULL);
  sigemptyset(&empty);
  printf("waiting\n");
  fflush(stdout);
  while (!got) sigsuspend(&empty);
  printf("got SIGTERM\n");
  return 0;
}
