/* A program that reaches its update point only between lines it reads from stdin, and blocks in
 * read() without watching tandem_update_fd(): while it waits, it is not quiescent. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tandem/live.h"

TANDEM_PROGRAM("stuck");

long lines;

int main(void) {
  char buf[256];
  for (;;) {
    tandem_update_point();
    ssize_t n = read(0, buf, sizeof buf);
    if (n <= 0) return 0;
    lines++;
    printf("alive %ld\n", lines);
    fflush(stdout);
  }
}
