// Creates a thread: not supported yet by `tandem run`, which must refuse it clearly (an event
// and an error from pthread_create), never hang.
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static void* work(void* arg) { return arg; }

int main(void) {
  pthread_t t;
  int rc = pthread_create(&t, NULL, work, NULL);
  if (rc != 0) {
    printf("pthread_create: %s\n", strerror(rc));
    return 0;
  }
  pthread_join(t, NULL);
  printf("thread ran\n");
  return 0;
}
