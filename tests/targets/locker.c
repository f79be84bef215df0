// A parent holds a POSIX record lock on a file (argv[1]) while its child's VERSION 2 crashes
// once (a flag in shared memory, which the child's restored copy shares, keeps the copy from
// crashing again); then the parent unlocks and the child takes the lock. Under tandem the
// crash makes version 1 the leader while version 2's parent, which took the lock as the
// leader, still holds it: only that process can release it (vsftpd's sessions waited for
// good for their log file's lock). Prints "child locked after the parent" and exits 0.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int set_lock(int fd, short type) {
  struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
  return fcntl(fd, F_SETLKW, &fl);
}

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  volatile int* crashed = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                               -1, 0);
  int fd = open(argv[1], O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  int p[2];
  if (crashed == MAP_FAILED || fd < 0 || pipe(p) != 0) return 2;
  pid_t child = fork();
  if (child < 0) return 2;
  if (child == 0) {
    char c;
    if (read(p[0], &c, 1) != 1) return 3;  // the parent holds the lock
#if VERSION == 2
    if (!*crashed) {
      *crashed = 1;
      *(volatile int*)0 = 1;
    }
#endif
    if (read(p[0], &c, 1) != 1) return 3;  // the parent released it
    if (set_lock(fd, F_WRLCK) != 0) return 4;
    if (set_lock(fd, F_UNLCK) != 0) return 4;
    return 0;
  }
  if (set_lock(fd, F_WRLCK) != 0 || write(p[1], "L", 1) != 1) return 5;
  struct timespec pause = {0, 300 * 1000 * 1000};  // the child crashes and comes back
  nanosleep(&pause, NULL);
  if (set_lock(fd, F_UNLCK) != 0 || write(p[1], "U", 1) != 1) return 5;
  int status = 0;
  if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return 6;
  printf("child locked after the parent\n");
  return 0;
}
