// Reads and writes in a loop: calls tandem's leader makes before the followers arrive (early
// execution of effects). argv[1]: iterations (default 2000). Each iteration reads 16 bytes of a
// file it wrote first and writes one line with their sum to standard output.
// At iteration AT (if defined) VERSION 1 computes a while first, so that the other version (the
// leader) surely made its call before this one arrives, then, by CASE:
//   CASE_CHUNKS   writes that iteration's line in three writes (the leader in one);
//   CASE_EXTRA    makes an extra fstat (a benign call) before its write;
//   CASE_DIVERGE  writes another line ("line N: other");
//   CASE_LEADER_EXTRA  (VERSION 2) writes one extra line to standard error first.
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void put(int fd, const char* s, size_t n) {
  if (write(fd, s, n) != (ssize_t)n) _exit(3);
}

#if defined(AT) && VERSION == 1
static void late(void) {
  for (volatile long k = 0; k < 20000000; k++) {
  }
}
#endif

int main(int argc, char** argv) {
  long n = argc > 1 ? atol(argv[1]) : 2000;
  // (Not mkstemp: its name mixes in the stack's address, which differs between builds.)
  char path[64];
  snprintf(path, sizeof path, "/tmp/tandem-effects-%d", (int)getpid());
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return 2;
  unlink(path);
  unsigned char data[256];
  for (int i = 0; i < 256; i++) data[i] = (unsigned char)(i * 7 + 1);
  put(fd, (const char*)data, sizeof data);
  if (lseek(fd, 0, SEEK_SET) != 0) return 2;
  long total = 0;
  for (long i = 0; i < n; i++) {
    unsigned char b[16];
    ssize_t got = read(fd, b, sizeof b);
    if (got == 0) {
      if (lseek(fd, 0, SEEK_SET) != 0) return 2;
      got = read(fd, b, sizeof b);
    }
    if (got != (ssize_t)sizeof b) return 4;
    int sum = 0;
    for (int k = 0; k < 16; k++) sum += b[k];
    total += sum;
    char line[64];
    int len = snprintf(line, sizeof line, "line %ld: %d\n", i, sum);
#ifdef AT
    if (i == AT) {
#if VERSION == 1
      late();
#if defined(CASE_CHUNKS)
      put(1, line, 4);
      put(1, line + 4, 3);
      put(1, line + 7, (size_t)len - 7);
      continue;
#elif defined(CASE_EXTRA)
      struct stat st;
      fstat(1, &st);
#elif defined(CASE_DIVERGE)
      len = snprintf(line, sizeof line, "line %ld: other\n", i);
#endif
#elif defined(CASE_LEADER_EXTRA)
      put(2, "extra\n", 6);
#endif
    }
#endif
    put(1, line, (size_t)len);
  }
  printf("total %ld\n", total);
  return 0;
}
