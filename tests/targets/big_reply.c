// A server whose replies can be big: for each connection, one thread (or, with THREADS 0, the
// main thread itself) reads requests, one per read, and answers:
//   "big N"  -> N bytes, byte i being 'a' + i % 26, written with write() until all are out
//              (a partial write is continued, as servers do);
//              (with -DCHUNKED, version 1 writes the first and the second half separately);
//   "crash"  -> with -DCRASH, version 2 faults once (the flag is in shared anonymous memory
//              mapped before any checkpoint, so a restored copy does not fault again);
//   else     -> "ok " followed by the request.
// The accepted socket's send buffer is small, so that a big reply blocks in write until the
// client reads it. At the end it prints how many requests and reply bytes each connection had.
//
//   big_reply PORT CONNECTIONS THREADS(0|1)
#define _GNU_SOURCE
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_CONNECTIONS 8

struct conn {
  pthread_t thread;
  int fd;
  long requests;
  long bytes;
};

static struct conn conns[MAX_CONNECTIONS];
static volatile int* crashed;
// A new connection's thread says it runs before the main thread accepts the next one (a
// futex wait, not an intercepted call): tandem checkpoints the process at the main thread's
// calls only when every thread stands at a known point, which a thread not started yet does not.
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int started;

static int write_all(int fd, const char* p, size_t n, long* bytes) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w <= 0) return -1;
    p += w;
    n -= (size_t)w;
    *bytes += w;
  }
  return 0;
}

static void* serve(void* arg) {
  struct conn* c = arg;
  pthread_mutex_lock(&mu);
  started++;
  pthread_cond_signal(&cv);
  pthread_mutex_unlock(&mu);
  char req[256];
  ssize_t n;
  while ((n = read(c->fd, req, sizeof req - 1)) > 0) {
    req[n] = 0;
    c->requests++;
    if (strncmp(req, "big ", 4) == 0) {
      size_t size = strtoul(req + 4, NULL, 10);
      char* reply = malloc(size);
      if (reply == NULL) break;
      for (size_t i = 0; i < size; i++) reply[i] = (char)('a' + i % 26);
#if defined(CHUNKED) && VERSION == 1
      // The same bytes in two writes: tandem merges them with the other version's one write.
      int ok = write_all(c->fd, reply, size / 2, &c->bytes);
      if (ok == 0) ok = write_all(c->fd, reply + size / 2, size - size / 2, &c->bytes);
#else
      int ok = write_all(c->fd, reply, size, &c->bytes);
#endif
      free(reply);
      if (ok < 0) break;
      continue;
    }
#if defined(CRASH) && VERSION == 2
    if (strcmp(req, "crash") == 0 && !*crashed) {
      *crashed = 1;
      *(volatile int*)0 = 0;
    }
#endif
    char reply[300];
    int len = snprintf(reply, sizeof reply, "ok %s", req);
    if (write_all(c->fd, reply, (size_t)len, &c->bytes) < 0) break;
  }
  close(c->fd);
  return NULL;
}

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: big_reply PORT CONNECTIONS THREADS\n");
    return 2;
  }
  crashed = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (crashed == MAP_FAILED) return 1;
  int port = atoi(argv[1]);
  int connections = atoi(argv[2]);
  int threads = atoi(argv[3]);
  if (connections > MAX_CONNECTIONS) return 2;
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                          .sin_addr.s_addr = htonl(0x7f000001)};
  if (bind(s, (struct sockaddr*)&a, sizeof a) < 0 || listen(s, 16) < 0) {
    perror("bind");
    return 1;
  }
  printf("listening\n");
  fflush(stdout);
  for (int i = 0; i < connections; i++) {
    int c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0) {
      perror("accept");
      return 1;
    }
    int small = 16384;
    setsockopt(c, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    conns[i].fd = c;
    if (threads) {
      pthread_create(&conns[i].thread, NULL, serve, &conns[i]);
      pthread_mutex_lock(&mu);
      while (started <= i) pthread_cond_wait(&cv, &mu);
      pthread_mutex_unlock(&mu);
    } else {
      serve(&conns[i]);
    }
  }
  for (int i = 0; i < connections; i++) {
    if (threads) pthread_join(conns[i].thread, NULL);
    printf("connection %d: %ld requests, %ld bytes\n", i + 1, conns[i].requests, conns[i].bytes);
  }
  return 0;
}
