/* The control channel: one SOCK_SEQPACKET socket per process in the abstract namespace
 * ("tandem-live/<pid>"), served by one control thread.
 *
 * Threading: the control thread only accepts connections, checks the peer (SO_PEERCRED: root or
 * our effective uid, anyone else is refused before a byte is read), validates the request and
 * queues it (tl_queue_request). It never touches program state and never allocates: it blocks all
 * signals and lives on a small stack of its own. Once a program thread starts the update
 * (TL_PENDING -> TL_RUNNING) the connection belongs to that thread; before that, the control
 * thread watches it and cancels the request if the tool goes away (TL_PENDING -> TL_IDLE).
 *
 * After fork() the child has no control thread: the atfork handler in update.c flags it and the
 * child's next tandem_update_point() starts one for the child's own pid (tl_control_start).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "internal.h"

struct tl_request tl_req = {.conn_fd = -1, .new_fd = -1};

static int tl_listen_fd = -1;
static int tl_event_fd = -1;
static pid_t tl_control_pid;
static pthread_mutex_t tl_control_lock = PTHREAD_MUTEX_INITIALIZER;
uint64_t tl_control_stack, tl_control_stack_size;

int tl_is_runtime_fd(int fd) {
  return fd >= 0 && (fd == tl_listen_fd || fd == tl_event_fd || fd == tl_req.conn_fd);
}

int tandem_update_fd(void) {
  tl_control_start();
  return tl_event_fd;
}

void tl_control_drain_event(void) {
  uint64_t v;
  if (tl_event_fd >= 0) (void)!read(tl_event_fd, &v, sizeof v);
}

int tl_send(int fd, uint32_t type, int64_t a, int64_t b) {
  struct tl_msg m;
  memset(&m, 0, offsetof(struct tl_msg, path) + 1);
  m.type = type;
  m.abi = TL_ABI_VERSION;
  m.a = a;
  m.b = b;
  ssize_t n;
  do {
    n = send(fd, &m, offsetof(struct tl_msg, path) + 1, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return n < 0 ? -errno : 0;
}

int tl_recv(int fd, struct tl_msg* msg, int timeout_ms) {
  struct pollfd p = {.fd = fd, .events = POLLIN};
  int r;
  do {
    r = poll(&p, 1, timeout_ms);
  } while (r < 0 && errno == EINTR);
  if (r < 0) return -errno;
  if (r == 0) return -ETIMEDOUT;
  memset(msg, 0, sizeof *msg);
  ssize_t n;
  do {
    n = recv(fd, msg, sizeof *msg, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return errno == ECONNRESET ? 0 : -errno;
  if (n == 0) return 0;
  if ((size_t)n < offsetof(struct tl_msg, path) || msg->abi != TL_ABI_VERSION) return -EPROTO;
  msg->path[TL_PATH_MAX - 1] = 0;
  return 1;
}

static int tl_peer_allowed(int fd) {
  struct ucred cred;
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return 0;
  return cred.uid == 0 || cred.uid == geteuid();
}

/* Reads the UPDATE request and its descriptor from a freshly accepted connection. */
/* Refuses a peer. Its request is read and dropped first: closing a socket with unread data
 * resets the connection, and the peer would see ECONNRESET instead of the refusal. */
static void tl_refuse(int fd, int err) {
  tl_send(fd, TL_MSG_REFUSED, err, 0);
  struct timeval tv = {.tv_usec = 200000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char drop[64];
  (void)!recv(fd, drop, sizeof drop, MSG_TRUNC);
  close(fd);
}

static void tl_handle_client(int fd) {
  if (!tl_peer_allowed(fd)) {
    tl_refuse(fd, EPERM);
    return;
  }
  /* A client that connects and sends nothing must not block the control thread. */
  struct timeval tv = {.tv_sec = 2};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  struct tl_msg* m = &(struct tl_msg){0};
  char control[CMSG_SPACE(sizeof(int))];
  struct iovec iov = {.iov_base = m, .iov_len = sizeof *m};
  struct msghdr mh = {
      .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
  ssize_t n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
  int new_fd = -1;
  for (struct cmsghdr* c = n > 0 ? CMSG_FIRSTHDR(&mh) : NULL; c; c = CMSG_NXTHDR(&mh, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
        c->cmsg_len == CMSG_LEN(sizeof(int)))
      memcpy(&new_fd, CMSG_DATA(c), sizeof(int));
  }
  if (n < (ssize_t)offsetof(struct tl_msg, path) || m->abi != TL_ABI_VERSION ||
      m->type != TL_MSG_UPDATE || new_fd < 0 || m->path[0] != '/') {
    if (new_fd >= 0) close(new_fd);
    tl_refuse(fd, EINVAL);
    return;
  }
  m->path[TL_PATH_MAX - 1] = 0;
  /* Only this thread moves TL_IDLE -> TL_PENDING, so tl_req is free to fill when idle. */
  if (atomic_load(&tl_state) != TL_IDLE) {
    tl_send(fd, TL_MSG_BUSY, EBUSY, 0);
    close(new_fd);
    close(fd);
    return;
  }
  tv.tv_sec = 0;
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  tl_req.conn_fd = fd;
  tl_req.new_fd = new_fd;
  tl_req.timeout_ms = m->a > 0 ? m->a : 5000;
  tl_req.flags = (uint32_t)m->b;
  memcpy(tl_req.path, m->path, TL_PATH_MAX);
  if (tl_send(fd, TL_MSG_QUEUED, getpid(), 0) != 0) {
    close(new_fd);
    close(fd);
    tl_req.conn_fd = tl_req.new_fd = -1;
    return;
  }
  tl_queue_request();
  uint64_t one = 1;
  (void)!write(tl_event_fd, &one, sizeof one);
}

static void* tl_control_main(void* arg) {
  (void)arg;
  for (;;) {
    int watching = atomic_load(&tl_state) == TL_PENDING ? tl_req.conn_fd : -1;
    struct pollfd p[2] = {{.fd = tl_listen_fd, .events = POLLIN},
                          {.fd = watching, .events = POLLIN | POLLRDHUP}};
    if (poll(p, 2, -1) < 0) continue;
    if (watching >= 0 && (p[1].revents & (POLLHUP | POLLRDHUP | POLLERR))) tl_cancel_request();
    if (p[0].revents & POLLIN) {
      int fd = accept4(tl_listen_fd, NULL, NULL, SOCK_CLOEXEC);
      if (fd >= 0) tl_handle_client(fd);
    }
  }
  return NULL;
}

void tl_control_start(void) {
  pid_t pid = getpid();
  if (__atomic_load_n(&tl_control_pid, __ATOMIC_ACQUIRE) == pid) return;
  pthread_mutex_lock(&tl_control_lock);
  if (tl_control_pid != pid) {
    /* After a fork the parent's listening socket and eventfd are shared: make our own. */
    if (tl_listen_fd >= 0) close(tl_listen_fd);
    if (tl_event_fd >= 0) close(tl_event_fd);
    tl_listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    tl_event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    int len = snprintf(addr.sun_path + 1, sizeof addr.sun_path - 1, TL_SOCKET_PREFIX "%d", pid);
    socklen_t alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + len);
    pthread_t thread;
    pthread_attr_t attr;
    sigset_t all, old;
    if (tl_listen_fd >= 0 && tl_event_fd >= 0 &&
        bind(tl_listen_fd, (struct sockaddr*)&addr, alen) == 0 && listen(tl_listen_fd, 8) == 0) {
      pthread_attr_init(&attr);
      /* A stack of our own, so that the diff of a validated update knows where it is. */
      size_t stack_size = 128 * 1024;
      void* stack = mmap(NULL, stack_size, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
      if (stack != MAP_FAILED) {
        pthread_attr_setstack(&attr, stack, stack_size);
        tl_control_stack = (uint64_t)(uintptr_t)stack;
        tl_control_stack_size = stack_size;
      } else {
        pthread_attr_setstacksize(&attr, 64 * 1024);
      }
      pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
      /* The thread inherits a full signal mask: signals stay with the program's threads. */
      sigfillset(&all);
      pthread_sigmask(SIG_SETMASK, &all, &old);
      if (pthread_create(&thread, &attr, tl_control_main, NULL) == 0) tl_control_pid = pid;
      pthread_sigmask(SIG_SETMASK, &old, NULL);
      pthread_attr_destroy(&attr);
    }
    if (tl_control_pid != pid) {
      tl_write_str(2, "tandem-live: cannot create the control socket; live update disabled\n");
      tl_control_pid = pid; /* do not retry at every update point */
    }
  }
  pthread_mutex_unlock(&tl_control_lock);
}
