// Registers one descriptor (a pipe that stays readable) in an epoll instance again with a new
// cookie at every step (argv[1] steps) and checks that the next wait reports that cookie.
// VERSION 2 crashes every CRASH_EVERY steps, once at each such step (a flag in shared memory,
// which its restored copies share, tells a copy that replays that step that it crashed there
// already), so that its copy catches up with the leader many times, often while the leader
// makes an epoll_ctl. Prints "epoll_rejoin: N steps" when every wait had its step's cookie.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>

#define CRASH_EVERY 100

int main(int argc, char** argv) {
  int steps = argc > 1 ? atoi(argv[1]) : 1000;
  volatile int* crashed_at =
      mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  int p[2];
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (crashed_at == MAP_FAILED || ep < 0 || pipe(p) != 0 || write(p[1], "x", 1) != 1) {
    perror("setup");
    return 2;
  }
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev) != 0) {
    perror("epoll_ctl add");
    return 2;
  }
  for (int i = 1; i <= steps; i++) {
    ev.events = EPOLLIN;
    ev.data.u64 = (uint64_t)i;
    if (epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev) != 0) {
      perror("epoll_ctl mod");
      return 2;
    }
    struct epoll_event got = {0};
    int n = epoll_wait(ep, &got, 1, 0);
    if (n != 1 || got.data.u64 != (uint64_t)i) {
      printf("step %d: %d events, cookie %llu\n", i, n, (unsigned long long)got.data.u64);
      return 1;
    }
#if VERSION == 2
    if (i % CRASH_EVERY == CRASH_EVERY / 2 && *crashed_at < i) {
      *crashed_at = i;
      *(volatile int*)0 = 1;
    }
#endif
  }
  printf("epoll_rejoin: %d steps\n", steps);
  return 0;
}
