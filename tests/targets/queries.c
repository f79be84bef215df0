// Queries in a loop (getppid, clock_gettime, stat, uname): the calls tandem's leader makes
// before the followers arrive (early execution). argv[1]: iterations (default 2000).
// EXTRA_AT: at that iteration VERSION 2 makes one extra uname, a query the other version does
// not make. Prints what every version computes alike from the answers it got: a line that
// native runs and tandem runs share.
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char** argv) {
  long n = argc > 1 ? atol(argv[1]) : 2000;
  long ppid = syscall(SYS_getppid);
  long same_ppid = 0, monotonic = 0, stats = 0;
  struct timespec last = {0, 0};
  for (long i = 0; i < n; i++) {
    if (syscall(SYS_getppid) == ppid) same_ppid++;
    struct timespec now;
    // The raw call: tandem hides the vDSO anyway, this keeps the target honest without it.
    if (syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &now) == 0 &&
        (now.tv_sec > last.tv_sec || (now.tv_sec == last.tv_sec && now.tv_nsec >= last.tv_nsec)))
      monotonic++;
    last = now;
    struct stat st;
    if (i % 10 == 0 && stat("/", &st) == 0 && S_ISDIR(st.st_mode)) stats++;
#ifdef EXTRA_AT
    if (i == EXTRA_AT) {
#if VERSION == 2
      struct utsname u;
      uname(&u);
#else
      // Computes a while first: the other version surely makes its uname before this one
      // arrives at its next call.
      for (volatile long k = 0; k < 20000000; k++) {
      }
#endif
      // A call both make that is never absorbed: the extra uname can only be version 2's own.
      close(-1);
    }
#endif
  }
  printf("queries: %ld iterations, getppid stable %ld, clock monotonic %ld, stat %ld\n", n,
         same_ppid, monotonic, stats);
  return same_ppid == n && monotonic == n ? 0 : 1;
}
