/* Raw system calls for the code that runs while a reversed copy of the process exists.
 *
 * From the fork of the reversed copy to the verdict, neither the old process (the past) nor the
 * reversed copy may change a byte of the program's memory: the past compares its memory with the
 * reversed copy's word by word. glibc's wrappers write errno (thread-local, compared) on any
 * failure, and fork() rewrites the child's thread descriptor; these do neither. Each returns the
 * kernel's result: >= 0, or -errno. x86-64 only.
 */
#ifndef TANDEM_LIVE_SYS_H
#define TANDEM_LIVE_SYS_H

#include <stdint.h>
#include <sys/syscall.h>

static inline long tl_sys6(long n, long a, long b, long c, long d, long e, long f) {
  long ret;
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;
}

#define tl_sys0(n) tl_sys6((n), 0, 0, 0, 0, 0, 0)
#define tl_sys1(n, a) tl_sys6((n), (long)(a), 0, 0, 0, 0, 0)
#define tl_sys2(n, a, b) tl_sys6((n), (long)(a), (long)(b), 0, 0, 0, 0)
#define tl_sys3(n, a, b, c) tl_sys6((n), (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define tl_sys4(n, a, b, c, d) tl_sys6((n), (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
#define tl_sys5(n, a, b, c, d, e) \
  tl_sys6((n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), 0)

/* Small helpers with no library calls: usable on the private stack after the fork. */
static inline void tl_bzero(void* p, uint64_t n) {
  volatile unsigned char* c = (volatile unsigned char*)p;
  while (n--) *c++ = 0;
}

static inline int64_t tl_raw_now_ms(void) {
  struct {
    long sec, nsec;
  } ts = {0, 0};
  tl_sys2(SYS_clock_gettime, 1 /* CLOCK_MONOTONIC */, &ts);
  return (int64_t)ts.sec * 1000 + ts.nsec / 1000000;
}

#endif /* TANDEM_LIVE_SYS_H */
