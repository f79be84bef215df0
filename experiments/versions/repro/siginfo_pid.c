// Root cause of tandem bug 5 of ../results.md: a signal that a thread sends to another thread of
// its own process (pthread_kill, pthread_cancel) reaches a follower with the *real* sender pid in
// siginfo, while getpid() returns the virtual (leader's) pid. Exits 0 when si_pid == getpid()
// in the handler, as natively; under tandem --copies 2 the follower exits 1.
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
static volatile sig_atomic_t got, same;
static void on_usr1(int s, siginfo_t* si, void* c) { (void)s; (void)c; same = si->si_pid == getpid(); got = 1; }
static void* worker(void* a) { (void)a; while (!got) pause(); return NULL; }
int main(void) {
  struct sigaction sa; memset(&sa, 0, sizeof sa); sa.sa_sigaction = on_usr1; sa.sa_flags = SA_SIGINFO;
  sigaction(SIGUSR1, &sa, NULL);
  pthread_t t; pthread_create(&t, NULL, worker, NULL);
  usleep(100000);
  pthread_kill(t, SIGUSR1);
  pthread_join(t, NULL);
  _exit(same ? 0 : 1);
}
