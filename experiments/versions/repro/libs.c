// Minimal reproduction of tandem bug 2 of ../results.md: the old version links one more shared
// library (zlib) than the new one, as redis 7.0.15 (libjemalloc) vs 8.0.2 does. Each version's
// dynamic loader opens its own libraries (absorbed: read-only opens) and maps their code with
// mmap(..., PROT_EXEC, ..., fd, ...) on those version-local descriptors; tandem compares these
// mmaps between versions (the local-descriptor check looks at argument 0 only, mmap's fd is
// argument 4), so the versions diverge before main and the old one is dropped.
#include <stdio.h>
#ifdef OLD
#include <zlib.h>
#endif

int main(void) {
#ifdef OLD
  if (zlibVersion() == NULL) return 1;
#endif
  printf("hello\n");
  return 0;
}
