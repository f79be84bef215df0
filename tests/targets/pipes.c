// A pipe between a parent and a forked child: the child upper-cases what the parent sends.
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
  int down[2], up[2];
  if (pipe(down) || pipe(up)) return 2;
  pid_t p = fork();
  if (p == 0) {
    close(down[1]);
    close(up[0]);
    char buf[256];
    ssize_t n;
    while ((n = read(down[0], buf, sizeof buf)) > 0) {
      for (ssize_t i = 0; i < n; i++) buf[i] = (char)toupper((unsigned char)buf[i]);
      if (write(up[1], buf, (size_t)n) != n) _exit(3);
    }
    _exit(0);
  }
  close(down[0]);
  close(up[1]);
  const char* msg = "through the pipe and back\n";
  if (write(down[1], msg, strlen(msg)) < 0) return 3;
  close(down[1]);
  char buf[256];
  ssize_t n, total = 0;
  while ((n = read(up[0], buf + total, sizeof buf - 1 - (size_t)total)) > 0) total += n;
  buf[total] = 0;
  int st = 0;
  waitpid(p, &st, 0);
  printf("parent got: %s", buf);
  printf("child exit: %d\n", WEXITSTATUS(st));
  return 0;
}
