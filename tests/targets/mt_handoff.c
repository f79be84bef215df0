// A multi-threaded echo server that hands connections over as memcached does: the main thread
// accepts a connection, does some bookkeeping (intercepted calls), puts the descriptor in a
// worker's queue (memory under a mutex: no system call) and wakes the worker through its
// eventfd; each worker blocks in epoll_wait on its eventfd and its connections, reads the
// eventfd, takes the connection from its queue, asks getpeername, adds it to its epoll set and
// echoes it until end-of-file. Only the eventfd's count travels through a system call: what
// the worker does next depends on what the main thread wrote into memory before it.
//
//   mt_handoff PORT CONNECTIONS
//
// With -DCRASH, version 2 faults once, in the worker that reads "boom" (the flag is in shared
// anonymous memory mapped before any checkpoint: the restored copy does not fault again).
// Prints what each worker did at the end; the output is the same natively.
#define _GNU_SOURCE
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define WORKERS 2
#define QUEUE 64
#define BOOKKEEPING 40  // intercepted calls of the main thread between accept and hand-over

struct worker {
  pthread_t thread;
  int efd;  // eventfd: one count per queued connection
  int epfd;
  pthread_mutex_t mu;
  int queue[QUEUE];
  int head, tail;
  long connections;
  long bytes;
  unsigned long sum;
  long peers;  // connections whose peer getpeername found
  int open;    // connections it serves now
  int quit;    // told to end once they are closed
};

static struct worker workers[WORKERS];
static volatile int* crashed;

static void push(struct worker* w, int fd) {
  pthread_mutex_lock(&w->mu);
  w->queue[w->tail++ % QUEUE] = fd;
  pthread_mutex_unlock(&w->mu);
  uint64_t one = 1;
  if (write(w->efd, &one, sizeof one) != sizeof one) abort();
}

static int pop(struct worker* w) {
  int fd = -2;  // empty
  pthread_mutex_lock(&w->mu);
  if (w->head != w->tail) fd = w->queue[w->head++ % QUEUE];
  pthread_mutex_unlock(&w->mu);
  return fd;
}

static void end_connection(struct worker* w, int fd) {
  epoll_ctl(w->epfd, EPOLL_CTL_DEL, fd, NULL);
  close(fd);
  w->connections++;
  w->open--;
}

static void* work(void* arg) {
  struct worker* w = arg;
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = w->efd};
  epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->efd, &ev);
  while (!w->quit || w->open > 0) {
    struct epoll_event events[8];
    int n = epoll_wait(w->epfd, events, 8, -1);
    for (int i = 0; i < n; i++) {
      int fd = events[i].data.fd;
      if (fd == w->efd) {
        uint64_t count = 0;
        if (read(w->efd, &count, sizeof count) != sizeof count) continue;
        // What the main thread queued: an empty queue here is a bug (the count said not).
        for (uint64_t k = 0; k < count; k++) {
          int c = pop(w);
          if (c == -2) {
            fprintf(stderr, "worker %ld: woken for a connection, queue empty\n",
                    (long)(w - workers) + 1);
            continue;
          }
          if (c == -1) {
            w->quit = 1;
            continue;
          }
          w->open++;
          struct sockaddr_in peer;
          socklen_t len = sizeof peer;
          if (getpeername(c, (struct sockaddr*)&peer, &len) == 0) w->peers++;
          struct epoll_event cev = {.events = EPOLLIN, .data.fd = c};
          epoll_ctl(w->epfd, EPOLL_CTL_ADD, c, &cev);
        }
        continue;
      }
      char buf[4096];
      ssize_t got = read(fd, buf, sizeof buf);
      if (got <= 0) {
        end_connection(w, fd);
        continue;
      }
#if defined(CRASH) && VERSION == 2
      if (memmem(buf, (size_t)got, "boom", 4) != NULL && !*crashed) {
        *crashed = 1;
        *(volatile int*)0 = 0;
      }
#endif
      for (ssize_t k = 0; k < got; k++) w->sum = w->sum * 31 + (unsigned char)buf[k];
      w->bytes += got;
      if (write(fd, buf, (size_t)got) != got) end_connection(w, fd);
    }
  }
  return NULL;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: mt_handoff PORT CONNECTIONS\n");
    return 2;
  }
  crashed = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (crashed == MAP_FAILED) return 1;
  int port = atoi(argv[1]);
  int connections = atoi(argv[2]);
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                          .sin_addr.s_addr = htonl(0x7f000001)};
  if (bind(s, (struct sockaddr*)&a, sizeof a) < 0 || listen(s, 16) < 0) {
    perror("bind");
    return 1;
  }
  for (int i = 0; i < WORKERS; i++) {
    struct worker* w = &workers[i];
    pthread_mutex_init(&w->mu, NULL);
    w->efd = eventfd(0, EFD_CLOEXEC);
    w->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (w->efd < 0 || w->epfd < 0) return 1;
    pthread_create(&w->thread, NULL, work, w);
  }
  printf("listening\n");
  fflush(stdout);
  long ticks = 0;
  for (int i = 0; i < connections; i++) {
    int c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0) {
      perror("accept");
      return 1;
    }
    // Bookkeeping between accept and the hand-over (memcached's main thread reads the clock
    // and runs its own events): a restored copy's main thread replays these first.
    for (int k = 0; k < BOOKKEEPING; k++) {
      struct timespec ts;
      clock_gettime(CLOCK_MONOTONIC, &ts);
      ticks += ts.tv_nsec != 0;
    }
    push(&workers[i % WORKERS], c);
  }
  for (int i = 0; i < WORKERS; i++) {
    push(&workers[i], -1);
    pthread_join(workers[i].thread, NULL);
  }
  for (int i = 0; i < WORKERS; i++)
    printf("worker %d: %ld connections (%ld peers), %ld bytes, sum %lu\n", i + 1,
           workers[i].connections, workers[i].peers, workers[i].bytes, workers[i].sum);
  printf("main: %s\n", ticks > 0 ? "clock ran" : "no clock");
  return 0;
}
