// A multi-threaded echo server shaped like memcached and redis: the main thread accepts
// connections and hands each to one of two worker threads through the worker's pipe (round
// robin); a worker echoes its connection until end-of-file, then hands a job to a background
// thread that waits on a condition variable (a futex wait, not an intercepted call; with
// -DTIMED_WAIT, mt_timed, with a deadline after a clock reading, which is intercepted). At the
// end the main thread joins them all and prints what each did; the output is the same natively.
//
//   mt_echo PORT CONNECTIONS
//
// With -DCRASH, version 2 faults once, in the worker that reads "boom": the flag that says it
// did is in shared anonymous memory mapped before any checkpoint, so the copy restored from a
// checkpoint sees it and does not fault again when it replays that read.
#define _GNU_SOURCE
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define WORKERS 2

struct worker {
  pthread_t thread;
  int pipe[2];
  long connections;
  long bytes;
  unsigned long sum;
};

static struct worker workers[WORKERS];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int jobs_queued, jobs_done, quit;
static long job_bytes;
static volatile int* crashed;

static void* background(void* arg) {
  (void)arg;
  pthread_mutex_lock(&mu);
  for (;;) {
    while (jobs_queued == 0 && !quit) {
#ifdef TIMED_WAIT
      // Reads the clock, then waits with a deadline, as jemalloc's background thread in redis
      // does: the futex wait is not intercepted, and a checkpoint's freeze interrupting it
      // makes the kernel continue it with restart_syscall.
      struct timespec deadline;
      clock_gettime(CLOCK_REALTIME, &deadline);
      deadline.tv_sec += 600;
      pthread_cond_timedwait(&cv, &mu, &deadline);
#else
      pthread_cond_wait(&cv, &mu);
#endif
    }
    if (jobs_queued == 0 && quit) break;
    jobs_queued--;
    jobs_done++;
  }
  pthread_mutex_unlock(&mu);
  return NULL;
}

static void* work(void* arg) {
  struct worker* w = arg;
  for (;;) {
    int fd;
    if (read(w->pipe[0], &fd, sizeof fd) != sizeof fd || fd < 0) break;
    char buf[4096];
    long bytes = 0;
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) {
#if defined(CRASH) && VERSION == 2
      if (memmem(buf, (size_t)n, "boom", 4) != NULL && !*crashed) {
        *crashed = 1;
        *(volatile int*)0 = 0;
      }
#endif
      for (ssize_t i = 0; i < n; i++) w->sum = w->sum * 31 + (unsigned char)buf[i];
      if (write(fd, buf, (size_t)n) != n) break;
      bytes += n;
    }
    close(fd);
    w->connections++;
    w->bytes += bytes;
    pthread_mutex_lock(&mu);
    jobs_queued++;
    job_bytes += bytes;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
  }
  return NULL;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: mt_echo PORT CONNECTIONS\n");
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
  pthread_t bg;
  pthread_create(&bg, NULL, background, NULL);
  for (int i = 0; i < WORKERS; i++) {
    if (pipe(workers[i].pipe) < 0) return 1;
    pthread_create(&workers[i].thread, NULL, work, &workers[i]);
  }
  printf("listening\n");
  fflush(stdout);
  for (int i = 0; i < connections; i++) {
    int c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0) {
      perror("accept");
      return 1;
    }
    if (write(workers[i % WORKERS].pipe[1], &c, sizeof c) != sizeof c) return 1;
  }
  for (int i = 0; i < WORKERS; i++) {
    int end = -1;
    if (write(workers[i].pipe[1], &end, sizeof end) != sizeof end) return 1;
    pthread_join(workers[i].thread, NULL);
  }
  pthread_mutex_lock(&mu);
  quit = 1;
  pthread_cond_signal(&cv);
  pthread_mutex_unlock(&mu);
  pthread_join(bg, NULL);
  for (int i = 0; i < WORKERS; i++)
    printf("worker %d: %ld connections, %ld bytes, sum %lu\n", i + 1, workers[i].connections,
           workers[i].bytes, workers[i].sum);
  printf("background: %d jobs, %ld bytes\n", jobs_done, job_bytes);
  return 0;
}
