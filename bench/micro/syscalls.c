// Microbenchmark: the cost of one system call of a kind, measured inside the program.
// Usage: syscalls OP ITERATIONS   (prints "OP NS_PER_CALL")
// OP: getppid, write512, read512, openclose, clock_gettime, pipe_pingpong
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s OP ITERATIONS\n", argv[0]);
    return 2;
  }
  const char* op = argv[1];
  long n = atol(argv[2]);
  char buf[512];
  memset(buf, 'x', sizeof buf);
  char path[] = "/tmp/tandem-bench-XXXXXX";
  int tmp = mkstemp(path);
  if (tmp < 0 || write(tmp, buf, sizeof buf) != sizeof buf) return 3;
  int null = open("/dev/null", O_WRONLY);
  int ping[2], pong[2];
  if (pipe(ping) || pipe(pong)) return 3;
  pid_t child = -1;
  if (strcmp(op, "pipe_pingpong") == 0) {
    child = fork();
    if (child == 0) {
      char c;
      for (long i = 0; i < n; i++) {
        if (read(ping[0], &c, 1) != 1 || write(pong[1], &c, 1) != 1) _exit(1);
      }
      _exit(0);
    }
  }
  volatile long sink = 0;
  double t0 = now();
  if (strcmp(op, "getppid") == 0) {
    for (long i = 0; i < n; i++) sink += syscall(SYS_getppid);
  } else if (strcmp(op, "write512") == 0) {
    for (long i = 0; i < n; i++) sink += write(null, buf, sizeof buf);
  } else if (strcmp(op, "read512") == 0) {
    for (long i = 0; i < n; i++) sink += pread(tmp, buf, sizeof buf, 0);
  } else if (strcmp(op, "openclose") == 0) {
    for (long i = 0; i < n; i++) {
      int fd = open(path, O_RDONLY);
      sink += close(fd);
    }
  } else if (strcmp(op, "clock_gettime") == 0) {
    struct timespec ts;
    for (long i = 0; i < n; i++) sink += clock_gettime(CLOCK_REALTIME, &ts);
  } else if (strcmp(op, "pipe_pingpong") == 0) {
    char c = 'p';
    for (long i = 0; i < n; i++) {
      if (write(ping[1], &c, 1) != 1 || read(pong[0], &c, 1) != 1) return 4;
    }
    waitpid(child, NULL, 0);
  } else {
    fprintf(stderr, "unknown op %s\n", op);
    return 2;
  }
  double t1 = now();
  unlink(path);
  // A round trip of the ping-pong counts as one "call" of the benchmark.
  printf("%s %.1f\n", op, (t1 - t0) / (double)n);
  return (int)(sink & 0);
}
