// A parent that forks an echo server (one connection on 127.0.0.1:PORT, argv[1]; the child
// exits with status 7 once it closed) and reaps it in the way argv[2] names:
//   sigchld    (default) as servers reap their workers: a SIGCHLD handler, then
//              waitpid(-1, WNOHANG) until it is found
//   wait4      blocks in waitpid(child, &status, 0)
//   wait4any   blocks in wait(&status)                       (wait4(-1, ..., 0))
//   waitid     blocks in waitid(P_PID, child, &info, WEXITED)
//   waitidany  blocks in waitid(P_ALL, 0, &info, WEXITED)
// The parent checks that the wait reported that child (its pid, exited, 7) and that no other
// child is left (ECHILD), and prints "child exited 7: ok"; anything else prints what it got and
// exits 1. The child prints "listening".
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
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
  return 7;
}

// SIGCHLD, then waitpid(-1, WNOHANG) until `pid` is found: its wait status.
static int reap_on_sigchld(pid_t pid, const sigset_t* old) {
  for (;;) {
    while (!child_changed) sigsuspend(old);
    child_changed = 0;
    int status = 0;
    pid_t r;
    while ((r = waitpid(-1, &status, WNOHANG)) > 0) {
      if (r == pid) return status;
    }
  }
}

int main(int argc, char** argv) {
  int port = argc > 1 ? atoi(argv[1]) : 7777;
  const char* how = argc > 2 ? argv[2] : "sigchld";
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
    _exit(serve(port));
  }
  pid_t got = -1;
  int exited = 0, code = -1;
  if (strcmp(how, "sigchld") == 0 || strcmp(how, "wait4") == 0 || strcmp(how, "wait4any") == 0) {
    int status = 0;
    if (strcmp(how, "sigchld") == 0) {
      status = reap_on_sigchld(pid, &old);
      got = pid;
    } else {
      got = strcmp(how, "wait4") == 0 ? waitpid(pid, &status, 0) : wait(&status);
    }
    exited = got > 0 && WIFEXITED(status);
    code = exited ? WEXITSTATUS(status) : -1;
  } else {
    siginfo_t info;
    memset(&info, 0, sizeof info);
    int r = strcmp(how, "waitid") == 0 ? waitid(P_PID, (id_t)pid, &info, WEXITED)
                                       : waitid(P_ALL, 0, &info, WEXITED);
    got = r == 0 ? info.si_pid : -1;
    exited = r == 0 && info.si_code == CLD_EXITED;
    code = exited ? info.si_status : -1;
  }
  int left = wait(NULL) < 0 && errno == ECHILD;
  if (got != pid || !exited || code != 7 || !left) {
    printf("%s: got pid %s, exited %d, status %d, no child left %d\n", how,
           got == pid ? "of the child" : "other", exited, code, left);
    return 1;
  }
  printf("child exited %d: ok\n", code);
  return 0;
}
