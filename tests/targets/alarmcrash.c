// alarm under restart: the program sets a timer, echoes lines from standard input, and on
// "crash" asks how long the timer has left. VERSION 2 crashes there once (a flag in shared
// memory survives into the copy restored from a checkpoint, which has no timer: fork does not
// copy it), then answers like VERSION 1.
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  int* crashed = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (crashed == MAP_FAILED) return 2;
  alarm(1000);
  char line[128];
  while (fgets(line, sizeof line, stdin) != NULL) {
    if (strcmp(line, "crash\n") == 0) {
#if VERSION == 2
      if (!*crashed) {
        *crashed = 1;
        *(volatile int*)0 = 1;
      }
#endif
      unsigned left = alarm(1000);
      printf("timer set: %s\n", left >= 990 && left <= 1000 ? "yes" : "no");
    } else {
      printf("echo: %s", line);
    }
  }
  return 0;
}
