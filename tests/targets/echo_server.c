// A TCP echo server on 127.0.0.1:PORT (argv[1]) serving N connections (argv[2]) one at a time.
// Prints "listening" once it accepts connections. VERSION 2 crashes when a client sends "boom"
// (then version 1 must keep the connection alive and answer).
// With FD_SETUP it first points its standard input and output at /dev/null, as daemons do
// (lighttpd), and gives up if the descriptor calls fail. With CHECK_CLOSE it gives up when
// closing a connection fails (lighttpd logs it). With WHICH it answers "which?" with its
// version's number instead of echoing it: a real divergence, which prefer-new resolves with
// version 2's answer.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char** argv) {
  int port = argc > 1 ? atoi(argv[1]) : 7777;
  int conns = argc > 2 ? atoi(argv[2]) : 1;
#ifdef FD_SETUP
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0 || dup2(null, 0) != 0 || fcntl(null, F_SETFD, FD_CLOEXEC) != 0 || close(null)) {
    perror("setting default fds");
    return 4;
  }
#endif
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(s, (struct sockaddr*)&a, sizeof a) || listen(s, 8)) {
    perror("bind");
    return 2;
  }
  printf("listening\n");
  fflush(stdout);
  for (int i = 0; i < conns; i++) {
    int c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0) return 3;
    char buf[512];
    ssize_t n;
    while ((n = read(c, buf, sizeof buf)) > 0) {
#if VERSION == 2
      if (n >= 4 && memcmp(buf, "boom", 4) == 0) *(volatile int*)0 = 1;
#endif
#ifdef WHICH
      if (n == 6 && memcmp(buf, "which?", 6) == 0) {
        char answer[6] = {'v', 'e', 'r', 's', ' ', (char)('0' + VERSION)};
        memcpy(buf, answer, sizeof answer);
      }
#endif
      if (write(c, buf, (size_t)n) != n) break;
    }
#ifdef CHECK_CLOSE
    if (close(c) != 0) {
      perror("close");
      return 5;
    }
#else
    close(c);
#endif
  }
  printf("served %d\n", conns);
  return 0;
}
