// A real output divergence: the versions disagree on the answer.
#include <stdio.h>
#include <unistd.h>

int main(void) {
  if (write(1, "computing\n", 10) != 10) return 3;
  printf("answer: %d\n", ANSWER);
  fflush(stdout);
  if (write(1, "bye\n", 4) != 4) return 3;
  return 0;
}
