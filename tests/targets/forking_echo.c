// A parent that forks an echo server (one connection on 127.0.0.1:PORT, argv[1]) and reaps it
// as servers reap their workers: a SIGCHLD handler, then waitpid(-1, WNOHANG) until it is
// found. Prints "listening" (the child) and "child exited N" (the parent).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t child_changed;

static void on_child(int sig) {
  (void)sig;
  child_changed = 1;
}

static int serve(int port) {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(s, (struct sockaddr*)&a, sizeof a) || listen(s, 8)) return 2;
  printf("listening\n");
  fflush(stdout);
  int c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
  if (c < 0) return 3;
  char buf[512];
  ssize_t n;
  while ((n = read(c, buf, sizeof buf)) > 0) {
    if (write(c, buf, (size_t)n) != n) break;
  }
  close(c);
  return 0;
}

int main(int argc, char** argv) {
  int port = argc > 1 ? atoi(argv[1]) : 7777;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_child;
  sigaction(SIGCHLD, &sa, NULL);
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGCHLD);
  sigprocmask(SIG_BLOCK, &block, &old);
  pid_t pid = fork();
  if (pid < 0) return 1;
  if (pid == 0) {
    sigprocmask(SIG_SETMASK, &old, NULL);
    return serve(port);
  }
  for (;;) {
    while (!child_changed) sigsuspend(&old);
    child_changed = 0;
    int status = 0;
    pid_t r;
    while ((r = waitpid(-1, &status, WNOHANG)) > 0) {
      if (r != pid) continue;
      printf("child exited %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
      return 0;
    }
  }
}
