// Sources of non-determinism, printed: every version must see the leader's values, so that the
// versions do not diverge (the test checks the events) and the output is a single one.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/random.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

int main(void) {
  unsigned char r[16];
  if (getrandom(r, sizeof r, 0) != sizeof r) return 2;
  unsigned char u[16];
  int fd = open("/dev/urandom", O_RDONLY);
  if (fd < 0 || read(fd, u, sizeof u) != sizeof u) return 3;
  close(fd);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct timeval tv;
  gettimeofday(&tv, NULL);
  time_t t = time(NULL);
  unsigned long long tsc = __rdtsc();
  struct utsname un;
  uname(&un);
  printf("getrandom %02x%02x%02x%02x urandom %02x%02x%02x%02x\n", r[0], r[1], r[2], r[3], u[0],
         u[1], u[2], u[3]);
  printf("clock %ld.%09ld tod %ld.%06ld time %ld\n", (long)ts.tv_sec, ts.tv_nsec,
         (long)tv.tv_sec, (long)tv.tv_usec, (long)t);
  printf("rdtsc %llu pid %d ppid %d host %s\n", tsc, getpid(), getppid(), un.nodename);
  return 0;
}
