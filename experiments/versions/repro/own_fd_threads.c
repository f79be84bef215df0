// Minimal reproduction of two tandem bugs seen with memcached 1.6.18 -> 1.6.38 (see
// ../results.md): the new version opens one more descriptor (an eventfd) before its worker
// threads, as memcached 1.6.38 does; then, like memcached, each worker thread is created and
// named with pthread_setname_np, which opens /proc/self/task/TID/comm (a version's own /proc
// file, opened by each version) and writes the name into it.
//
// Build: cc -O1 -pthread -o old own_fd_threads.c && cc -O1 -pthread -DNEW -o new own_fd_threads.c
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

static void* worker(void* arg) {
  const char* msg = arg;
  if (write(1, msg, strlen(msg)) < 0) return NULL;
  return NULL;
}

int main(void) {
#ifdef NEW
  int notify = eventfd(0, EFD_NONBLOCK);  // the new version's extra descriptor
  (void)notify;
#endif
  int ep = epoll_create1(EPOLL_CLOEXEC);
  (void)ep;
  pthread_t t[2];
  static char* msgs[2] = {"worker 0\n", "worker 1\n"};
  for (int i = 0; i < 2; ++i) {
    pthread_create(&t[i], NULL, worker, msgs[i]);
    pthread_setname_np(t[i], "worker");
  }
  for (int i = 0; i < 2; ++i) pthread_join(t[i], NULL);
  printf("done\n");
  return 0;
}
