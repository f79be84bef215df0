// Both versions print the same; VERSION 2 makes extra calls without external effects first
// (fstat, getuid, an extra read of /dev/urandom, fcntl FD_CLOEXEC, an extra open+close).
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void) {
#if VERSION == 2
  struct stat st;
  fstat(1, &st);
  (void)getuid();
  int r = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  unsigned char b[8];
  if (r >= 0) {
    if (read(r, b, sizeof b) < 0) return 3;
    close(r);
  }
  fcntl(1, F_SETFD, 0);
  int e = open("/etc/hostname", O_RDONLY);
  if (e >= 0) close(e);
#endif
  printf("benign: same output\n");
  return 0;
}
