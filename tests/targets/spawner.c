// fork+exec and a shell pipeline inside the versions.
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  pid_t p = fork();
  if (p == 0) {
    execl("/bin/echo", "echo", "from an exec'd child", (char*)NULL);
    _exit(127);
  }
  int st = 0;
  waitpid(p, &st, 0);
  printf("child status %d\n", WEXITSTATUS(st));
  int r = system("printf 'b\\na\\nc\\n' | sort | tr a-z A-Z");
  printf("pipeline status %d\n", WEXITSTATUS(r));
  return 0;
}
