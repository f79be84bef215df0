// A small event-loop file server with the habits of lighttpd and nginx, for Rx (recovery from a
// deterministic crash by withholding the input that caused it, docs/architecture.md "Restart").
//
//   rx_server PORT DIR LOG CONNS
//
// Serves CONNS connections on 127.0.0.1:PORT, several at a time (epoll, non-blocking). A client
// sends lines "GET NAME\n"; for each the server looks the file up in DIR (fstatat), reads it
// (openat, pread64, close) and writes it back, and appends "NAME SIZE\n" to a log kept in a
// buffer and written to LOG when it is over 200 bytes (lighttpd's access log). A connection
// that ends or fails (a reset) is shut down, removed from epoll and closed, as lighttpd does.
// Prints "listening" once it accepts connections, "served CONNS" at the end.
// VERSION 2 crashes every time it reads "boom": a deterministic bug. Its copy then replays
// without that connection's input: the leader's calls for that connection that do not name
// it (the lookups, the log) are not its, and its own shutdown of the connection must not
// reach the client.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

enum { kMaxFd = 256 };

static char pending[kMaxFd][512];
static size_t pending_len[kMaxFd];
static char logbuf[4096];
static size_t loglen;
static int logfd;

static void flush_log(int force) {
  if (loglen == 0 || (!force && loglen <= 200)) return;
  if (write(logfd, logbuf, loglen) != (ssize_t)loglen) exit(6);
  loglen = 0;
}

// Answers one request line; returns -1 when the connection is to be closed.
static int answer(int dfd, int c, const char* line) {
  if (strncmp(line, "GET ", 4) != 0) return -1;
  const char* name = line + 4;
  struct stat st;
  char data[4096];
  if (fstatat(dfd, name, &st, 0) != 0 || st.st_size > (off_t)sizeof data) return -1;
  int f = openat(dfd, name, O_RDONLY | O_CLOEXEC);
  if (f < 0) return -1;
  ssize_t got = pread(f, data, (size_t)st.st_size, 0);
  close(f);
  if (got != st.st_size || write(c, data, (size_t)got) != got) return -1;
  loglen += (size_t)snprintf(logbuf + loglen, sizeof logbuf - loglen, "%s %zd\n", name, got);
  flush_log(0);
  return 0;
}

static void end_connection(int ep, int c, int* open_conns) {
  shutdown(c, SHUT_WR);
  epoll_ctl(ep, EPOLL_CTL_DEL, c, NULL);
  close(c);
  pending_len[c] = 0;
  (*open_conns)--;
}

int main(int argc, char** argv) {
  if (argc < 5) return 1;
  int port = atoi(argv[1]);
  int conns = atoi(argv[4]);
  int dfd = open(argv[2], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  logfd = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (dfd < 0 || logfd < 0 || bind(s, (struct sockaddr*)&a, sizeof a) || listen(s, 16)) {
    perror("rx_server");
    return 2;
  }
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = s};
  epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev);
  printf("listening\n");
  fflush(stdout);
  int accepted = 0, open_conns = 0;
  while (accepted < conns || open_conns > 0) {
    struct epoll_event ready[16];
    int n = epoll_wait(ep, ready, 16, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return 3;
    for (int i = 0; i < n; i++) {
      int fd = ready[i].data.fd;
      if (fd == s) {
        int c = accept4(s, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c < 0 || c >= kMaxFd) continue;
        struct epoll_event cev = {.events = EPOLLIN, .data.fd = c};
        epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
        accepted++;
        open_conns++;
        continue;
      }
      ssize_t r = read(fd, pending[fd] + pending_len[fd], sizeof pending[fd] - 1 - pending_len[fd]);
      if (r < 0 && errno == EAGAIN) continue;
      if (r <= 0) {
        end_connection(ep, fd, &open_conns);
        continue;
      }
#if VERSION == 2
      if (memmem(pending[fd] + pending_len[fd], (size_t)r, "boom", 4) != NULL)
        *(volatile int*)0 = 1;
#endif
      pending_len[fd] += (size_t)r;
      pending[fd][pending_len[fd]] = '\0';
      char* start = pending[fd];
      char* nl;
      int failed = 0;
      while (!failed && (nl = strchr(start, '\n')) != NULL) {
        *nl = '\0';
        failed = answer(dfd, fd, start) != 0;
        start = nl + 1;
      }
      if (failed) {
        end_connection(ep, fd, &open_conns);
        continue;
      }
      pending_len[fd] = strlen(start);
      memmove(pending[fd], start, pending_len[fd] + 1);
    }
  }
  flush_log(1);
  printf("served %d\n", accepted);
  return 0;
}
