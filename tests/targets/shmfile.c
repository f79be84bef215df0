// Memory shared through a file (argv[1]), as databases use it: the file is mapped MAP_SHARED
// read-write and a counter in it is incremented 10 times through the mapping, then read back
// with read(2). Natively the file ends at 10, whatever ran before: the effect happens once.
// Also anonymous shared memory with a child process (MAP_SHARED|MAP_ANONYMOUS): the child
// writes, the parent reads after waiting for it.
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || ftruncate(fd, 4096) != 0) return 3;
  volatile int* counter = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (counter == MAP_FAILED) return 4;
  for (int i = 0; i < 10; i++) {
    ++*counter;
    printf("counter %d\n", *counter);
  }
  if (msync((void*)counter, 4096, MS_SYNC) != 0) return 5;
  int stored = 0;
  if (pread(fd, &stored, sizeof stored, 0) != sizeof stored) return 6;
  printf("stored %d\n", stored);

  char* shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (shared == MAP_FAILED) return 7;
  pid_t child = fork();
  if (child == 0) {
    strcpy(shared, "written by the child");
    _exit(0);
  }
  int status;
  waitpid(child, &status, 0);
  printf("parent reads: %s\n", shared);
  return 0;
}
