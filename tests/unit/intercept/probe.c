// A small program for the backend tests: each mode exercises one kind of stop.
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

static volatile int thread_started;

static void* idle_thread(void* arg) {
  thread_started = 1;
  for (;;) pause();
  return arg;
}

// Threads of this process, counted in /proc/self/task.
static int count_threads(void) {
  DIR* d = opendir("/proc/self/task");
  if (d == NULL) return -1;
  int n = 0;
  for (struct dirent* e; (e = readdir(d)) != NULL;) n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "";
  if (strcmp(mode, "getppid") == 0) {
    int n = argc > 2 ? atoi(argv[2]) : 10;
    long sum = 0;
    for (int i = 0; i < n; i++) sum += syscall(SYS_getppid);
    printf("%ld\n", sum);
  } else if (strcmp(mode, "clock") == 0) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    printf("%ld\n", (long)ts.tv_sec);
  } else if (strcmp(mode, "rdtsc") == 0) {
    unsigned aux = 0;
    unsigned long long a = __rdtsc();
    unsigned long long b = __rdtscp(&aux);
    printf("%llu %llu %u\n", a, b, aux);
  } else if (strcmp(mode, "fork") == 0) {
    pid_t p = fork();
    if (p == 0) _exit(3);
    int st = 0;
    waitpid(p, &st, 0);
    printf("child %d\n", WEXITSTATUS(st));
  } else if (strcmp(mode, "open") == 0) {
    int fd = open("/dev/null", O_RDONLY);
    printf("fd %d\n", fd);
    // Under the test, fd is a copy of the test's pipe: the test reads this.
    if (write(fd, "through the installed fd\n", 25) != 25) return 5;
  } else if (strcmp(mode, "count") == 0) {
    for (int i = 0; i < 6; i++) {
      syscall(SYS_getppid);
      printf("%d\n", i);
      fflush(stdout);
    }
  } else if (strcmp(mode, "thread") == 0) {
    // A second thread idle in pause(), then one trapped call (the test checkpoints here).
    pthread_t th;
    if (pthread_create(&th, NULL, idle_thread, NULL) != 0) return 6;
    while (!thread_started) sched_yield();
    long got = syscall(SYS_getppid);
    printf("%ld %d\n", got, count_threads());
  } else if (strcmp(mode, "segv") == 0) {
    *(volatile int*)16 = 1;
  }
  fflush(stdout);
  return 0;
}
