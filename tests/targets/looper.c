// An endless loop in one version: both echo the lines of standard input; on "loop" VERSION 2
// computes forever without a system call (a hang bug), VERSION 1 answers "no loop".
#include <stdio.h>
#include <string.h>

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  char line[128];
  while (fgets(line, sizeof line, stdin) != NULL) {
    if (strcmp(line, "loop\n") == 0) {
#if VERSION == 2
      for (volatile unsigned long i = 0;; i++) {
      }
#endif
      printf("no loop\n");
    } else {
      printf("echo: %s", line);
    }
  }
  return 0;
}
