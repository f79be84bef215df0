/* Threads at update points: two workers count in a loop around tandem_update_point(), a third
 * withdraws with tandem_thread_done() and blocks for good. An update must wait for the main
 * thread and both workers, ignore the blocked one, and carry the counts over; the new version
 * starts its own workers (threads are not transferred, their state in globals is).
 * stdin: "counts" -> "counts A B generation G". */
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tandem/live.h"

TANDEM_PROGRAM("threads");

_Atomic long counts[2];
long generation; /* incremented by every version that resumes */
static int blocker[2];

static void* worker(void* arg) {
  long i = (long)arg;
  for (;;) {
    tandem_update_point();
    atomic_fetch_add(&counts[i], 1);
    usleep(500);
  }
  return NULL;
}

static void* withdrawn(void* arg) {
  (void)arg;
  tandem_update_point();
  tandem_thread_done(); /* about to block outside any update point */
  char c;
  (void)!read(blocker[0], &c, 1);
  return NULL;
}

int main(void) {
  pthread_t t;
  int resumed = tandem_resumed();
  if (pipe(blocker) != 0) return 1;
  for (long i = 0; i < 2; i++) pthread_create(&t, NULL, worker, (void*)i);
  pthread_create(&t, NULL, withdrawn, NULL);
  char line[64];
  for (;;) {
    tandem_update_point();
    if (resumed) { /* state is there only after the first update point */
      generation++;
      resumed = 0;
    }
    struct pollfd p[2] = {{0, POLLIN, 0}, {tandem_update_fd(), POLLIN, 0}};
    if (poll(p, 2, 100) <= 0 || !(p[0].revents & (POLLIN | POLLHUP))) continue;
    if (!fgets(line, sizeof line, stdin)) return 0;
    printf("counts %ld %ld generation %ld\n", atomic_load(&counts[0]), atomic_load(&counts[1]),
           generation);
    fflush(stdout);
  }
}
