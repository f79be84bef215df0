// The same bytes written with different chunking: VERSION 1 in one write, VERSION 2 in three.
#include <string.h>
#include <unistd.h>

static void put(const char* s) {
  if (write(1, s, strlen(s)) < 0) _exit(3);
}

int main(void) {
#if VERSION == 1
  put("hello, chunked world\n");
#else
  put("hello, ");
  put("chunked ");
  put("world\n");
#endif
  put("second line\n");
  return 0;
}
