// A line calculator in two versions. Reads "a op b" lines, prints results.
// VERSION 2 adds the '%' operator but crashes (SIGSEGV) on the input "0 % 0";
// VERSION 1 answers "error: unknown operator" for '%'. With CRASH_OLD, version 1 crashes on
// "crash" instead and version 2 handles it.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
  char line[256];
  long a, b;
  char op;
  setvbuf(stdout, NULL, _IOLBF, 0);
  while (fgets(line, sizeof line, stdin)) {
#if defined(CRASH_OLD) && VERSION == 1
    if (strncmp(line, "crash", 5) == 0) *(volatile int*)0 = 1;
#endif
#if defined(CRASH_OLD) && VERSION == 2
    if (strncmp(line, "crash", 5) == 0) {
      printf("crash: ignored\n");
      continue;
    }
#endif
    if (sscanf(line, "%ld %c %ld", &a, &op, &b) != 3) {
      printf("error: bad input\n");
      continue;
    }
    switch (op) {
      case '+': printf("%ld\n", a + b); break;
      case '-': printf("%ld\n", a - b); break;
      case '*': printf("%ld\n", a * b); break;
#if VERSION >= 2
      case '%': {
        long* volatile table = b == 0 ? NULL : &b;  // the new version's bug: no check for 0 % 0
        if (a == 0 && b == 0) printf("%ld\n", *table);
        else printf("%ld\n", a % (b ? b : 1));
        break;
      }
#endif
      default: printf("error: unknown operator\n");
    }
  }
  return 0;
}
