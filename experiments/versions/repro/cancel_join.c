// Minimal reproduction of tandem bug 5 of ../results.md, the hang of redis 7.0.15's crash report
// under tandem (bioKillThreads: pthread_cancel of a thread blocked in pthread_cond_wait, then
// pthread_join). glibc's SIGCANCEL handler ignores the signal unless si_pid == getpid() and
// si_code == SI_TKILL; in a follower si_pid is the real pid and getpid() the virtual one (see
// siginfo_pid.c), so the follower's thread is never cancelled, its pthread_join never returns,
// and the leader's cancelled thread waits at exit for its partner: the program hangs.
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;

static void* worker(void* arg) {
  (void)arg;
  pthread_mutex_lock(&mu);
  for (;;) pthread_cond_wait(&cv, &mu);  // like redis's bio threads: wait for jobs
  return NULL;
}

int main(void) {
  pthread_t t;
  pthread_create(&t, NULL, worker, NULL);
  usleep(100000);
  printf("cancelling\n");
  fflush(stdout);
  pthread_cancel(t);
  pthread_join(t, NULL);
  printf("joined\n");
  return 0;
}
