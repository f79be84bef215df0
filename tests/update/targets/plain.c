/* A program built with debug info but without the tandem-live runtime (bad-input tests). */
#include <stdio.h>
#include <unistd.h>

int counter;

int main(void) {
  for (;;) {
    counter++;
    pause();
  }
}
