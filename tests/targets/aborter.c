// Prints lines from stdin; VERSION 2 calls abort() on the line "abort" (an assertion failure).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
  char line[256];
  setvbuf(stdout, NULL, _IOLBF, 0);
  while (fgets(line, sizeof line, stdin)) {
#if VERSION == 2
    if (strcmp(line, "abort\n") == 0) abort();
#endif
    printf("echo: %s", line);
  }
  printf("done\n");
  return 0;
}
