// An event loop as servers write them, in one process: an epoll instance watching a TCP
// listener (SO_REUSEPORT, accept4), a non-blocking client connected to it, a Unix socket pair,
// an eventfd, a timerfd and a signalfd. The client sends requests; the server answers each
// with sendfile (a file's content) or splice (through a pipe). Prints a transcript that does
// not depend on timing, the same natively and in every version.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/sendfile.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define CHECK(x)                                                     \
  do {                                                               \
    if (!(x)) {                                                      \
      printf("FAILED: %s (line %d): %s\n", #x, __LINE__, strerror(errno)); \
      exit(1);                                                       \
    }                                                                \
  } while (0)

enum { kListen = 1, kServer, kClient, kUnix, kEvent, kTimer, kSignal };

static void watch(int ep, int fd, uint32_t events, uint64_t tag) {
  struct epoll_event ev = {.events = events, .data.u64 = tag};
  CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0);
}

// epoll_pwait2 (5.11), with a timeout of 2 s so that a lost event fails instead of hanging.
static int wait_events(int ep, struct epoll_event* evs, int n) {
  struct timespec ts = {2, 0};
  int r = (int)syscall(SYS_epoll_pwait2, ep, evs, n, &ts, NULL, 0);
  CHECK(r > 0);
  return r;
}

int main(int argc, char** argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  const char* dir = argc > 1 ? argv[1] : "/tmp";
  char path[4096];
  snprintf(path, sizeof path, "%s/evloop-body.txt", dir);
  int body = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  CHECK(body >= 0);
  const char text[] = "body sent with sendfile\n";
  CHECK(write(body, text, sizeof text - 1) == (ssize_t)(sizeof text - 1));

  int ep = epoll_create1(EPOLL_CLOEXEC);
  CHECK(ep >= 0);
  int one = 1;
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  CHECK(lfd >= 0);
  CHECK(setsockopt(lfd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) == 0);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  CHECK(bind(lfd, (struct sockaddr*)&addr, sizeof addr) == 0);
  socklen_t len = sizeof addr;
  CHECK(getsockname(lfd, (struct sockaddr*)&addr, &len) == 0);
  CHECK(listen(lfd, 8) == 0);
  watch(ep, lfd, EPOLLIN, kListen);

  int cfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  CHECK(cfd >= 0);
  int r = connect(cfd, (struct sockaddr*)&addr, sizeof addr);
  CHECK(r == 0 || errno == EINPROGRESS);
  printf("connect: %s\n", r == 0 ? "done" : "in progress");

  int sv[2];
  CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
  watch(ep, sv[1], EPOLLIN, kUnix);
  int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  CHECK(efd >= 0);
  watch(ep, efd, EPOLLIN, kEvent);
  int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  CHECK(tfd >= 0);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGUSR1);
  CHECK(sigprocmask(SIG_BLOCK, &mask, NULL) == 0);
  int sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  CHECK(sfd >= 0);
  watch(ep, sfd, EPOLLIN, kSignal);

  int sfd_conn = -1;
  int requests = 0, answers = 0, ticks = 0, unix_msgs = 0, events = 0, signals = 0;
  char got[256];
  size_t got_len = 0;
  struct epoll_event evs[8];
  // Phases: accept and exchange 4 requests; then Unix messages, eventfd, timerfd, signalfd.
  while (answers < 4) {
    int n = wait_events(ep, evs, 8);
    for (int i = 0; i < n; i++) {
      if (evs[i].data.u64 == kListen) {
        sfd_conn = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        CHECK(sfd_conn >= 0);
        printf("accepted\n");
        watch(ep, sfd_conn, EPOLLIN | EPOLLRDHUP, kServer);
        watch(ep, cfd, EPOLLIN, kClient);
        CHECK(write(cfd, "GET 0\n", 6) == 6);
        requests++;
      } else if (evs[i].data.u64 == kServer) {
        char req[64];
        ssize_t k = read(sfd_conn, req, sizeof req);
        if (k < 0 && errno == EAGAIN) continue;
        CHECK(k > 0);
        if (requests % 2 == 1) {
          off_t off = 0;
          CHECK(sendfile(sfd_conn, body, &off, sizeof text - 1) == (ssize_t)(sizeof text - 1));
        } else {
          int p[2];
          CHECK(pipe2(p, O_CLOEXEC) == 0);
          const char s[] = "body sent with splice\n";
          CHECK(write(p[1], s, sizeof s - 1) == (ssize_t)(sizeof s - 1));
          CHECK(splice(p[0], NULL, sfd_conn, NULL, sizeof s - 1, 0) == (ssize_t)(sizeof s - 1));
          close(p[0]);
          close(p[1]);
        }
      } else if (evs[i].data.u64 == kClient) {
        ssize_t k = read(cfd, got + got_len, sizeof got - got_len);
        if (k < 0 && errno == EAGAIN) continue;
        CHECK(k > 0);
        got_len += (size_t)k;
        char* nl;
        while ((nl = memchr(got, '\n', got_len)) != NULL) {
          size_t line = (size_t)(nl - got) + 1;
          printf("answer %d: %.*s", answers, (int)line, got);
          memmove(got, got + line, got_len - line);
          got_len -= line;
          answers++;
          if (requests < 4) {
            char req[16];
            int m = snprintf(req, sizeof req, "GET %d\n", requests);
            CHECK(write(cfd, req, (size_t)m) == m);
            requests++;
          }
        }
      }
    }
  }
  CHECK(send(sv[0], "first", 5, 0) == 5);
  CHECK(send(sv[0], "second", 6, 0) == 6);
  uint64_t add = 3;
  CHECK(write(efd, &add, sizeof add) == sizeof add);
  struct itimerspec its = {{0, 5 * 1000 * 1000}, {0, 5 * 1000 * 1000}};
  CHECK(timerfd_settime(tfd, 0, &its, NULL) == 0);
  watch(ep, tfd, EPOLLIN, kTimer);
  CHECK(kill(getpid(), SIGUSR1) == 0);
  while (unix_msgs < 2 || events == 0 || ticks < 3 || signals == 0) {
    int n = wait_events(ep, evs, 8);
    for (int i = 0; i < n; i++) {
      if (evs[i].data.u64 == kUnix) {
        char m[16];
        ssize_t k;
        while ((k = recv(sv[1], m, sizeof m, 0)) > 0) {
          printf("unix message: %.*s\n", (int)k, m);
          unix_msgs++;
        }
      } else if (evs[i].data.u64 == kEvent) {
        uint64_t v;
        CHECK(read(efd, &v, sizeof v) == sizeof v);
        printf("eventfd: %llu\n", (unsigned long long)v);
        events++;
      } else if (evs[i].data.u64 == kTimer) {
        uint64_t expirations;
        CHECK(read(tfd, &expirations, sizeof expirations) == sizeof expirations);
        ticks += (int)expirations;
      } else if (evs[i].data.u64 == kSignal) {
        struct signalfd_siginfo si;
        CHECK(read(sfd, &si, sizeof si) == sizeof si);
        printf("signalfd: signal %u\n", si.ssi_signo);
        signals++;
      }
    }
  }
  printf("timerfd: at least 3 ticks\n");
  CHECK(shutdown(cfd, SHUT_WR) == 0);
  for (;;) {
    int n = wait_events(ep, evs, 8);
    int closed = 0;
    for (int i = 0; i < n; i++) {
      if (evs[i].data.u64 == kServer && (evs[i].events & (EPOLLRDHUP | EPOLLIN))) {
        char b[8];
        if (read(sfd_conn, b, sizeof b) == 0) closed = 1;
      }
    }
    if (closed) break;
  }
  printf("peer closed\n");
  unlink(path);
  return 0;
}
