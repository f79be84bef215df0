/* Crash injection for `tandem run` experiments: LD_PRELOAD'ed into every version, it makes one
 * version fault with a real SIGSEGV right after it reads a chosen request.
 *
 * Configuration (environment, read once by the constructor):
 *   TANDEM_CRASH_VERSION_MATCH  substring of argv[0] that selects the version that crashes.
 *                               tandem passes each version's path as given on its command line
 *                               as argv[0], so two differently named paths (e.g. symlinks
 *                               a/server and b/server to one binary) tell the versions apart.
 *                               Unset or empty: no process crashes.
 *   TANDEM_CRASH_PATTERN        bytes: data returned by read/readv/recv/recvfrom/recvmsg that
 *                               contains them makes the selected version crash.
 *   TANDEM_CRASH_NTH            N > 0: the N-th successful read from a socket crashes it.
 *   TANDEM_CRASH_ONCE           1: a transient fault, it crashes the first time only; the flag
 *                               lives in anonymous shared memory, so the frozen copies tandem
 *                               restarts from (forked checkpoints) see it too. Otherwise the
 *                               crash is deterministic: it happens again when the version
 *                               reads the same input again (as in tandem's replay).
 *
 * Rule for this file: the versions are compared call by call, so every version must make the
 * same system calls whether or not it is the one that crashes. The constructor does the same
 * in every process (one anonymous mmap, which tandem runs locally); the wrappers make no system
 * call except, in NTH mode only, one fstat per read/readv to know whether it is a socket (made
 * by every version alike). The crash itself is a store to address 0: a genuine fault, not a
 * signal sent with a system call. A program that handles SIGSEGV itself (redis with its crash
 * log) runs its handler first. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

typedef ssize_t (*read_fn)(int, void *, size_t);
typedef ssize_t (*readv_fn)(int, const struct iovec *, int);
typedef ssize_t (*recv_fn)(int, void *, size_t, int);
typedef ssize_t (*recvfrom_fn)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
typedef ssize_t (*recvmsg_fn)(int, struct msghdr *, int);

static read_fn real_read;
static readv_fn real_readv;
static recv_fn real_recv;
static recvfrom_fn real_recvfrom;
static recvmsg_fn real_recvmsg;

static int armed;              /* this process belongs to the version that crashes */
static const char *pattern;    /* NULL: no pattern; else points at pattern_copy */
/* The environment's own strings may not last: nginx (setproctitle) writes its process title
 * over the memory where argv and the environment were. */
static char pattern_copy[256];
static size_t pattern_len;
static long nth;               /* 0: no count */
static long socket_reads;      /* successful reads from sockets so far (private memory) */
static int once;
static int *crashed_before;    /* shared with forked checkpoint copies (TANDEM_CRASH_ONCE) */

/* A volatile null pointer: the compiler cannot turn the store into a trap instruction. */
static int *volatile crash_address;

static void crash(void) {
  if (once) {
    if (crashed_before == NULL || __atomic_exchange_n(crashed_before, 1, __ATOMIC_SEQ_CST))
      return;
  }
  *crash_address = 0x7a;
}

/* glibc passes argc, argv and envp to ELF constructors. */
__attribute__((constructor)) static void crashinject_init(int argc, char **argv, char **envp) {
  (void)envp;
  real_read = (read_fn)dlsym(RTLD_NEXT, "read");
  real_readv = (readv_fn)dlsym(RTLD_NEXT, "readv");
  real_recv = (recv_fn)dlsym(RTLD_NEXT, "recv");
  real_recvfrom = (recvfrom_fn)dlsym(RTLD_NEXT, "recvfrom");
  real_recvmsg = (recvmsg_fn)dlsym(RTLD_NEXT, "recvmsg");
  const char *match = getenv("TANDEM_CRASH_VERSION_MATCH");
  const char *p = getenv("TANDEM_CRASH_PATTERN");
  const char *n = getenv("TANDEM_CRASH_NTH");
  const char *o = getenv("TANDEM_CRASH_ONCE");
  if (p != NULL && *p != '\0' && strlen(p) < sizeof pattern_copy) {
    pattern_len = strlen(p);
    memcpy(pattern_copy, p, pattern_len + 1);
    pattern = pattern_copy;
  }
  if (n != NULL) nth = atol(n);
  once = o != NULL && strcmp(o, "1") == 0;
  /* Every process maps the flag page, crashing or not, so that the versions stay alike. */
  void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (page != MAP_FAILED) crashed_before = page;
  armed = match != NULL && *match != '\0' && argc > 0 && argv != NULL && argv[0] != NULL &&
          strstr(argv[0], match) != NULL;
}

static int is_socket(int fd) {
  struct stat st;
  int saved = errno;
  int r = fstat(fd, &st);
  errno = saved;
  return r == 0 && S_ISSOCK(st.st_mode);
}

/* Called after every successful read with the bytes it returned (one piece at a time). */
static void inspect(const void *data, size_t len, int from_socket, int last_piece) {
  if (pattern != NULL && len >= pattern_len && memmem(data, len, pattern, pattern_len) != NULL &&
      armed)
    crash();
  if (nth > 0 && from_socket && last_piece) {
    long count = __atomic_add_fetch(&socket_reads, 1, __ATOMIC_SEQ_CST);
    if (count == nth && armed) crash();
  }
}

static void inspect_iov(const struct iovec *iov, int count, ssize_t got, int from_socket) {
  size_t left = (size_t)got;
  for (int i = 0; i < count && left > 0; ++i) {
    size_t len = iov[i].iov_len < left ? iov[i].iov_len : left;
    left -= len;
    inspect(iov[i].iov_base, len, from_socket, left == 0);
  }
}

ssize_t read(int fd, void *buf, size_t count) {
  if (real_read == NULL) real_read = (read_fn)dlsym(RTLD_NEXT, "read");
  ssize_t r = real_read(fd, buf, count);
  if (r > 0) inspect(buf, (size_t)r, nth > 0 && is_socket(fd), 1);
  return r;
}

ssize_t __read_chk(int fd, void *buf, size_t count, size_t buflen) {
  if (count > buflen) abort();
  return read(fd, buf, count);
}

ssize_t readv(int fd, const struct iovec *iov, int iovcnt) {
  if (real_readv == NULL) real_readv = (readv_fn)dlsym(RTLD_NEXT, "readv");
  ssize_t r = real_readv(fd, iov, iovcnt);
  if (r > 0) inspect_iov(iov, iovcnt, r, nth > 0 && is_socket(fd));
  return r;
}

ssize_t recv(int fd, void *buf, size_t len, int flags) {
  if (real_recv == NULL) real_recv = (recv_fn)dlsym(RTLD_NEXT, "recv");
  ssize_t r = real_recv(fd, buf, len, flags);
  /* A peek does not consume the data: the read that follows does. */
  if (r > 0 && !(flags & MSG_PEEK)) inspect(buf, (size_t)r, 1, 1);
  return r;
}

ssize_t __recv_chk(int fd, void *buf, size_t len, size_t buflen, int flags) {
  if (len > buflen) abort();
  return recv(fd, buf, len, flags);
}

ssize_t recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *addr,
                 socklen_t *addrlen) {
  if (real_recvfrom == NULL) real_recvfrom = (recvfrom_fn)dlsym(RTLD_NEXT, "recvfrom");
  ssize_t r = real_recvfrom(fd, buf, len, flags, addr, addrlen);
  if (r > 0 && !(flags & MSG_PEEK)) inspect(buf, (size_t)r, 1, 1);
  return r;
}

ssize_t __recvfrom_chk(int fd, void *buf, size_t len, size_t buflen, int flags,
                       struct sockaddr *addr, socklen_t *addrlen) {
  if (len > buflen) abort();
  return recvfrom(fd, buf, len, flags, addr, addrlen);
}

ssize_t recvmsg(int fd, struct msghdr *msg, int flags) {
  if (real_recvmsg == NULL) real_recvmsg = (recvmsg_fn)dlsym(RTLD_NEXT, "recvmsg");
  ssize_t r = real_recvmsg(fd, msg, flags);
  if (r > 0 && !(flags & MSG_PEEK)) inspect_iov(msg->msg_iov, (int)msg->msg_iovlen, r, 1);
  return r;
}
