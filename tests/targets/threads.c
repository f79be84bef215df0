// Threads that make system calls concurrently: each opens, writes, reads back and closes its
// own file many times (descriptor numbers are reused across threads all the time), then main
// joins them and prints what each computed. VERSION 2 computes the same in a different way.
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define THREADS 3
#define ROUNDS 40

static const char* dir;

static void* work(void* arg) {
  long id = (long)arg;
  unsigned long sum = 0;
  char path[4096], buf[64];
  snprintf(path, sizeof path, "%s/thread%ld.txt", dir, id);
  for (int i = 0; i < ROUNDS; i++) {
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return (void*)-1;
    int n = snprintf(buf, sizeof buf, "%ld:%d\n", id, i * (int)id);
    if (write(fd, buf, (size_t)n) != n) return (void*)-2;
    if (lseek(fd, 0, SEEK_SET) != 0) return (void*)-3;
    char back[64] = {0};
    if (read(fd, back, sizeof back - 1) != n) return (void*)-4;
#if VERSION == 2
    for (int k = 0; k < n; k++) sum = sum * 31 + (unsigned char)back[k];
#else
    for (char* p = back; *p; p++) sum = sum * 31 + (unsigned char)*p;
#endif
    close(fd);
  }
  unlink(path);
  return (void*)sum;
}

int main(int argc, char** argv) {
  dir = argc > 1 ? argv[1] : "/tmp";
  pthread_t t[THREADS];
  for (long i = 0; i < THREADS; i++) {
    int rc = pthread_create(&t[i], NULL, work, (void*)(i + 1));
    if (rc != 0) {
      printf("pthread_create: %s\n", strerror(rc));
      return 1;
    }
  }
  for (int i = 0; i < THREADS; i++) {
    void* r;
    pthread_join(t[i], &r);
    printf("thread %d: %lu\n", i + 1, (unsigned long)r);
  }
  return 0;
}
