/* Update points, quiescence, and the two sides of an update inside the processes.
 *
 * Old side (a request is queued): when every participating thread is in tandem_update_point(),
 * the last one to arrive (the performer) flushes stdio, tells the tool it is parked, clears
 * O_CLOEXEC on the descriptors to keep, starts the new binary with posix_spawn (same argv, same
 * environment plus TANDEM_LIVE_*), restores the flags, and hands over to the transaction
 * (ttst.c: on a private stack, raw system calls only; it forks the reversed copy of a validated
 * update, watches the child, the copy and the tool, and compares memory on VALIDATE). COMMIT:
 * rewrite the registered pidfile, send MAINPID to systemd, _exit (no atexit handlers: they belong
 * to the program's shutdown, not to an update). ROLLBACK, tool gone, or deadline: kill and reap
 * the child and return to the program, whose memory nothing wrote.
 *
 * New side (started with TANDEM_LIVE_FD): the first update point sends READY and serves the
 * tool's requests (MAP scratch memory, ALLOC and FREE heap objects, CALL user callbacks) until
 * RESUME; on SANDBOX it forks a disposable copy that serves backward callbacks.
 *
 * Threading: tl_q_lock guards the participating-thread table, the parked count, the generation
 * and tl_state transitions other than the control thread's TL_IDLE -> TL_PENDING. Each thread's
 * attention word is written under tl_q_lock and read without it in the fast path (a stale 0 only
 * delays the update to that thread's next update point). Parked threads block every signal, so no
 * program handler runs (and reaps the child) while the tool reads the process.
 * Nothing here calls malloc during an update: lists and strings live in a private mapping.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "tandem/live.h"

extern char** environ;

#define TL_MAX_THREADS 1024
#define TL_MAX_LOCALS 64
#define TL_MAX_DROPPED 256

_Atomic int tl_state = TL_IDLE;

static pthread_mutex_t tl_q_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t tl_q_cond = PTHREAD_COND_INITIALIZER;
static int* tl_threads[TL_MAX_THREADS];
static uint64_t tl_thread_rseq[TL_MAX_THREADS]; /* rseq area of each participating thread */
static int tl_nthreads;
static int tl_parked;
static unsigned tl_gen;
static pthread_key_t tl_exit_key;
static pthread_once_t tl_exit_key_once = PTHREAD_ONCE_INIT;

static __thread __attribute__((tls_model("initial-exec"))) int tl_attention = 1;
static __thread __attribute__((tls_model("initial-exec"))) int tl_registered;

static struct tl_local tl_locals[TL_MAX_LOCALS];
static _Atomic uint64_t tl_nlocals;
static const char* tl_pidfile;
static int tl_dropped[TL_MAX_DROPPED];
static int tl_ndropped;

static int tl_resumed_flag;
static int tl_resume_fd = -1;
static int tl_commit_fd = -1;
static _Atomic int tl_resume_claimed;

/* The signal mask the program had when this thread entered its update point. */
static __thread sigset_t tl_program_mask;

static struct tl_block tl_block_data = {.magic = TL_BLOCK_MAGIC, .abi = TL_ABI_VERSION};

/* ---- small raw helpers ---- */

void tl_write_str(int fd, const char* s) {
  (void)!write(fd, s, strlen(s));
}

size_t tl_fmt_u64(char* out, uint64_t v) {
  char tmp[24];
  size_t n = 0;
  do {
    tmp[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  for (size_t i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
  out[n] = 0;
  return n;
}

static int64_t tl_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t tl_thread_pointer(void) {
  uint64_t tp;
  __asm__ volatile("mov %%fs:0, %0" : "=r"(tp));
  return tp;
}

static void tl_fill_block(uint64_t arena, uint64_t arena_size) {
  struct tl_block* b = &tl_block_data;
  tl_heap_describe(b);
  b->locals = (uint64_t)(uintptr_t)tl_locals;
  b->local_count = atomic_load(&tl_nlocals);
  b->thread_pointer = tl_thread_pointer();
  b->pidfile = (uint64_t)(uintptr_t)tl_pidfile;
  b->arena = arena;
  b->arena_size = arena_size;
}

/* ---- public API ---- */

static void tl_env_init(void);

int tandem_resumed(void) {
  tl_env_init();
  return tl_resumed_flag;
}

void tandem_register_local(const char* function, const char* name, void* addr, size_t size) {
  uint64_t i = atomic_load(&tl_nlocals);
  for (uint64_t k = 0; k < i; k++) {
    if (tl_locals[k].addr == (uint64_t)(uintptr_t)addr) return;
  }
  if (i >= TL_MAX_LOCALS) {
    tl_write_str(2, "tandem-live: too many registered locals; ignoring one\n");
    return;
  }
  tl_locals[i] = (struct tl_local){(uint64_t)(uintptr_t)addr, size, (uint64_t)(uintptr_t)function,
                                   (uint64_t)(uintptr_t)name};
  atomic_store(&tl_nlocals, i + 1);
}

void tandem_set_pidfile(const char* path) {
  tl_pidfile = path;
}

void tandem_keep_fd(int fd, int keep) {
  for (int i = 0; i < tl_ndropped; i++) {
    if (tl_dropped[i] == fd) {
      if (keep) tl_dropped[i] = tl_dropped[--tl_ndropped];
      return;
    }
  }
  if (!keep && tl_ndropped < TL_MAX_DROPPED) tl_dropped[tl_ndropped++] = fd;
}

/* ---- participating threads ---- */

/* glibc (2.35+) registers an rseq area per thread at thread pointer + __rseq_offset; the kernel
 * writes the current CPU into it whenever the thread returns to user space. */
extern const ptrdiff_t __rseq_offset __attribute__((weak));
extern const unsigned int __rseq_size __attribute__((weak));

static uint64_t tl_rseq_area(void) {
  if (&__rseq_size == NULL || __rseq_size == 0) return 0;
  uint64_t tp;
  __asm__ volatile("mov %%fs:0, %0" : "=r"(tp));
  return tp + (uint64_t)__rseq_offset;
}

static void tl_unregister(void) {
  if (!tl_registered) return;
  pthread_mutex_lock(&tl_q_lock);
  for (int i = 0; i < tl_nthreads; i++) {
    if (tl_threads[i] == &tl_attention) {
      tl_nthreads--;
      tl_threads[i] = tl_threads[tl_nthreads];
      tl_thread_rseq[i] = tl_thread_rseq[tl_nthreads];
      break;
    }
  }
  tl_registered = 0;
  tl_attention = 1;
  pthread_cond_broadcast(&tl_q_cond); /* a parked thread may now be the last one */
  pthread_mutex_unlock(&tl_q_lock);
}

static void tl_thread_exit(void* unused) {
  (void)unused;
  tl_unregister();
}

static void tl_make_exit_key(void) {
  pthread_key_create(&tl_exit_key, tl_thread_exit);
}

static void tl_register(void) {
  pthread_once(&tl_exit_key_once, tl_make_exit_key);
  pthread_setspecific(tl_exit_key, (void*)1);
  pthread_mutex_lock(&tl_q_lock);
  if (tl_nthreads < TL_MAX_THREADS) {
    tl_thread_rseq[tl_nthreads] = tl_rseq_area();
    tl_threads[tl_nthreads++] = &tl_attention;
    tl_registered = 1;
  }
  pthread_mutex_unlock(&tl_q_lock);
  if (!tl_registered) tl_write_str(2, "tandem-live: too many threads at update points\n");
}

void tandem_thread_done(void) {
  tl_unregister();
}

void tl_queue_request(void) {
  pthread_mutex_lock(&tl_q_lock);
  atomic_store(&tl_state, TL_PENDING);
  for (int i = 0; i < tl_nthreads; i++) __atomic_store_n(tl_threads[i], 1, __ATOMIC_RELEASE);
  pthread_cond_broadcast(&tl_q_cond);
  pthread_mutex_unlock(&tl_q_lock);
}

void tl_cancel_request(void) {
  pthread_mutex_lock(&tl_q_lock);
  if (atomic_load(&tl_state) == TL_PENDING) {
    atomic_store(&tl_state, TL_IDLE);
    close(tl_req.conn_fd);
    close(tl_req.new_fd);
    tl_req.conn_fd = tl_req.new_fd = -1;
    tl_control_drain_event();
    tl_gen++;
    pthread_cond_broadcast(&tl_q_cond);
  }
  pthread_mutex_unlock(&tl_q_lock);
}

/* ---- the old side ---- */

/* The update's private memory: fd lists, environment and argv of the new version. */
struct tl_arena {
  char* base;
  size_t size;
  size_t used;
};

static void* tl_arena_take(struct tl_arena* a, size_t bytes) {
  bytes = (bytes + 15) & ~(size_t)15;
  if (a->used + bytes > a->size) return NULL;
  void* p = a->base + a->used;
  a->used += bytes;
  return p;
}

/* Appends "name=fd,fd,...". */
static char* tl_fd_list_env(struct tl_arena* a, const char* name, const int* fds, int n) {
  char* s = tl_arena_take(a, strlen(name) + 2 + (size_t)n * 12);
  if (s == NULL) return NULL;
  size_t len = strlen(name);
  memcpy(s, name, len);
  s[len++] = '=';
  for (int i = 0; i < n; i++) {
    if (i) s[len++] = ',';
    len += tl_fmt_u64(s + len, (uint64_t)fds[i]);
  }
  s[len] = 0;
  return s;
}

static char* tl_num_env(struct tl_arena* a, const char* name, uint64_t v) {
  char* s = tl_arena_take(a, strlen(name) + 24);
  if (s == NULL) return NULL;
  size_t len = strlen(name);
  memcpy(s, name, len);
  s[len++] = '=';
  tl_fmt_u64(s + len, v);
  return s;
}

struct tl_dirent64 {
  uint64_t ino;
  int64_t off;
  unsigned short reclen;
  unsigned char type;
  char name[];
};

/* Lists open descriptors into the arena (raw getdents64: no opendir, no malloc). */
static int tl_list_fds(struct tl_arena* a, int** out) {
  int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return -errno;
  int* fds = (int*)(void*)(a->base + a->used);
  int n = 0;
  char buf[4096];
  for (;;) {
    long got = syscall(SYS_getdents64, dir, buf, sizeof buf);
    if (got <= 0) break;
    for (long off = 0; off < got;) {
      struct tl_dirent64* d = (struct tl_dirent64*)(void*)(buf + off);
      off += d->reclen;
      if (d->name[0] < '0' || d->name[0] > '9') continue;
      int fd = atoi(d->name);
      if (fd == dir) continue;
      if ((size_t)(n + 1) * sizeof(int) > a->size - a->used) break;
      fds[n++] = fd;
    }
  }
  close(dir);
  a->used += ((size_t)n * sizeof(int) + 15) & ~(size_t)15;
  *out = fds;
  return n;
}

/* Reads /proc/self/cmdline into an argv array in the arena. */
static char** tl_read_argv(struct tl_arena* a) {
  int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  char* text = a->base + a->used;
  size_t room = a->size - a->used, len = 0;
  ssize_t n;
  while (len + 1 < room && (n = read(fd, text + len, room - len - 1)) > 0) len += (size_t)n;
  close(fd);
  if (len == 0 || len + 1 >= room) return NULL;
  text[len] = 0;
  a->used += (len + 16) & ~(size_t)15;
  int argc = 0;
  for (size_t i = 0; i < len; i++) argc += text[i] == 0;
  if (text[len - 1] != 0) argc++;
  char** argv = tl_arena_take(a, ((size_t)argc + 1) * sizeof(char*));
  if (argv == NULL) return NULL;
  int k = 0;
  for (size_t i = 0; i < len && k < argc; i += strlen(text + i) + 1) argv[k++] = text + i;
  argv[k] = NULL;
  return argv;
}

static int tl_is_dropped(int fd) {
  for (int i = 0; i < tl_ndropped; i++)
    if (tl_dropped[i] == fd) return 1;
  return 0;
}

static void tl_write_pidfile(const char* path, pid_t pid) {
  char tmp[4096 + 16];
  size_t len = strlen(path);
  if (len + 13 > sizeof tmp) return;
  memcpy(tmp, path, len);
  memcpy(tmp + len, ".tandem-tmp", 12);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return;
  char line[24];
  size_t n = tl_fmt_u64(line, (uint64_t)pid);
  line[n++] = '\n';
  int ok = write(fd, line, n) == (ssize_t)n;
  close(fd);
  if (ok)
    rename(tmp, path);
  else
    unlink(tmp);
}

/* Tells systemd the main PID changed. Sent by the old process, which is the main PID systemd
 * knows, so that NotifyAccess=main accepts it. */
static void tl_notify_mainpid(pid_t pid) {
  const char* path = getenv("NOTIFY_SOCKET");
  if (path == NULL || (path[0] != '/' && path[0] != '@')) return;
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  size_t len = strlen(path);
  if (len >= sizeof addr.sun_path) return;
  memcpy(addr.sun_path, path, len);
  if (path[0] == '@') addr.sun_path[0] = 0;
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  char msg[40] = "MAINPID=";
  size_t n = 8 + tl_fmt_u64(msg + 8, (uint64_t)pid);
  (void)!sendto(fd, msg, n, MSG_NOSIGNAL, (struct sockaddr*)&addr,
                (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len));
  close(fd);
}

/* The private mapping of an update: the spawn arena, then the transaction record and diff
 * report, the diff's buffer, and the private stack the transaction runs on. */
#define TL_TXN_BYTES (64u << 10)
#define TL_DIFF_BUF_BYTES (4u << 20)
#define TL_STACK_BYTES (256u << 10)

static void tl_old_side(void) {
  int conn = tl_req.conn_fd;
  /* Each side gets --timeout to reach its update point and take its state; the rest of the
   * transaction (backward transfer, diff) gets as much again. */
  int64_t deadline = tl_now_ms() + 2 * tl_req.timeout_ms + 2000;
  fflush(NULL); /* stdio buffers are libc state the transfer cannot carry */

  struct tl_arena arena = {0};
  size_t env_bytes = 0, env_count = 0;
  for (char** e = environ; e && *e; e++) env_bytes += strlen(*e) + 1, env_count++;
  arena.size = ((env_bytes + (env_count + 8) * sizeof(char*) + (1u << 20)) + 4095) & ~(size_t)4095;
  size_t total = arena.size + TL_TXN_BYTES + TL_DIFF_BUF_BYTES + TL_STACK_BYTES;
  void* m = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) {
    tl_send(conn, TL_MSG_SPAWN_FAILED, ENOMEM, 0);
    goto out;
  }
  arena.base = m;
  tl_fill_block((uint64_t)(uintptr_t)arena.base, total);
  if (tl_send(conn, TL_MSG_PARKED, (int64_t)(uintptr_t)&tl_block_data, getpid()) != 0) goto out;

  int* fds = NULL;
  int nfds = tl_list_fds(&arena, &fds);
  if (nfds < 0) nfds = 0;
  int* cleared = tl_arena_take(&arena, (size_t)nfds * sizeof(int) + 16);
  int* closed = tl_arena_take(&arena, (size_t)nfds * sizeof(int) + 16);
  int ncleared = 0, nclosed = 0;
  for (int i = 0; cleared && closed && i < nfds; i++) {
    int fd = fds[i];
    if (tl_is_runtime_fd(fd) || fd == tl_req.new_fd) continue;
    if (tl_is_dropped(fd)) {
      closed[nclosed++] = fd;
      continue;
    }
    int flags = fcntl(fd, F_GETFD);
    if (flags >= 0 && (flags & FD_CLOEXEC) && fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC) == 0)
      cleared[ncleared++] = fd;
  }
  fcntl(tl_req.new_fd, F_SETFD, 0);
  /* The commit mark: the child inherits the read end; we write one byte before exiting on
   * COMMIT. If we die instead, the child reads EOF and knows the update did not commit. */
  int mark[2] = {-1, -1};
  if (pipe2(mark, O_CLOEXEC) == 0) fcntl(mark[0], F_SETFD, 0);

  char** argv = tl_read_argv(&arena);
  char** envp = tl_arena_take(&arena, (env_count + 5) * sizeof(char*));
  size_t k = 0;
  for (char** e = environ; envp && e && *e; e++)
    if (strncmp(*e, "TANDEM_LIVE_", 12) != 0) envp[k++] = *e;
  if (envp) {
    envp[k++] = tl_num_env(&arena, TL_ENV_FD, (uint64_t)tl_req.new_fd);
    envp[k++] = tl_fd_list_env(&arena, TL_ENV_CLOEXEC, cleared, ncleared);
    envp[k++] = tl_fd_list_env(&arena, TL_ENV_CLOSE, closed, nclosed);
    envp[k++] = tl_num_env(&arena, TL_ENV_COMMIT, (uint64_t)mark[0]);
    envp[k] = NULL;
  }
  int err = ENOMEM;
  pid_t child = -1;
  if (argv && envp && mark[0] >= 0 && envp[k - 1] && envp[k - 2] && envp[k - 3] && envp[k - 4]) {
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    /* Parked threads block every signal; the new version starts with the program's mask. */
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
    posix_spawnattr_setsigmask(&attr, &tl_program_mask);
    err = posix_spawn(&child, tl_req.path, NULL, &attr, argv, envp);
    posix_spawnattr_destroy(&attr);
  }
  for (int i = 0; i < ncleared; i++) fcntl(cleared[i], F_SETFD, FD_CLOEXEC);
  close(tl_req.new_fd);
  tl_req.new_fd = -1;
  if (mark[0] >= 0) close(mark[0]);
  if (err != 0) {
    tl_send(conn, TL_MSG_SPAWN_FAILED, err, 0);
    child = -1;
  } else if (tl_send(conn, TL_MSG_SPAWNED, child, 0) != 0) {
    goto rollback;
  }

  {
    /* The transaction: from here to the verdict, the program's memory is not written (ttst.c). */
    struct tl_txn* t = (struct tl_txn*)(void*)(arena.base + arena.size);
    memset(t, 0, sizeof *t);
    t->conn = conn;
    t->child = child;
    t->child_alive = child > 0;
    t->validate = (tl_req.flags & TL_UPDATE_VALIDATE) != 0;
    t->deadline_ms = deadline;
    t->priv = (uint64_t)(uintptr_t)arena.base;
    t->priv_size = total;
    t->ctl = tl_control_stack;
    t->ctl_size = tl_control_stack_size;
    pthread_mutex_lock(&tl_q_lock);
    for (int i = 0; i < tl_nthreads && t->nrseq < TL_MAX_RSEQ; i++)
      if (tl_thread_rseq[i]) t->rseq[t->nrseq++] = tl_thread_rseq[i];
    pthread_mutex_unlock(&tl_q_lock);
    t->report = (struct tl_diff_report*)(void*)((uint8_t*)t + ((sizeof *t + 63) & ~(size_t)63));
    t->buf = (uint8_t*)arena.base + arena.size + TL_TXN_BYTES;
    t->buf_size = TL_DIFF_BUF_BYTES;
    if (child > 0) tl_transaction_on_stack(t, t->buf + TL_DIFF_BUF_BYTES + TL_STACK_BYTES);
    if (t->verdict == TL_VERDICT_COMMIT) {
      if (tl_pidfile) tl_write_pidfile(tl_pidfile, child);
      tl_notify_mainpid(child);
      (void)!write(mark[1], "C", 1);
      tl_send(conn, TL_MSG_COMMITTED, child, 0);
      _exit(0);
    }
  }
rollback:
  if (child > 0) {
    kill(child, SIGKILL);
    siginfo_t info;
    while (waitid(P_PID, (id_t)child, &info, WEXITED) != 0 && errno == EINTR) {
    }
  }
  tl_send(conn, TL_MSG_ROLLED_BACK, 0, 0);
  if (mark[1] >= 0) close(mark[1]);
out:
  if (tl_req.new_fd >= 0) close(tl_req.new_fd);
  close(conn);
  tl_req.conn_fd = tl_req.new_fd = -1;
  tl_control_drain_event();
  if (arena.base) munmap(arena.base, total);
}

/* Parks this thread until the pending update ends; the last thread to arrive performs it. */
static void tl_quiesce(void) {
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &tl_program_mask);
  pthread_mutex_lock(&tl_q_lock);
  if (atomic_load(&tl_state) == TL_PENDING) {
    unsigned gen = tl_gen;
    tl_parked++;
    while (tl_gen == gen) {
      if (atomic_load(&tl_state) == TL_PENDING && tl_parked >= tl_nthreads) {
        atomic_store(&tl_state, TL_RUNNING);
        pthread_mutex_unlock(&tl_q_lock);
        tl_old_side(); /* returns only when the update did not commit */
        pthread_mutex_lock(&tl_q_lock);
        atomic_store(&tl_state, TL_IDLE);
        tl_gen++;
        pthread_cond_broadcast(&tl_q_cond);
        break;
      }
      pthread_cond_wait(&tl_q_cond, &tl_q_lock);
    }
    tl_parked--;
  }
  if (atomic_load(&tl_state) == TL_IDLE) tl_attention = 0;
  pthread_mutex_unlock(&tl_q_lock);
  pthread_sigmask(SIG_SETMASK, &tl_program_mask, NULL);
}

/* ---- the new side ---- */

/* Serves one request of the tool that needs this process's memory or code (MAP, UNMAP, ALLOC,
 * FREE, CALL). Returns 0 if the message was none of them. Used by a new version and by the
 * disposable copies that run callbacks (sandboxes, of a new version or of an old one). */
static int tl_serve_request(int fd, const struct tl_msg* m) {
  if (m->type == TL_MSG_MAP) {
    /* Populated at once: the tool fills it right away, faulting page by page costs more. */
    void* p = mmap(NULL, (size_t)m->a, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    tl_send(fd, TL_MSG_MAPPED, p == MAP_FAILED ? -errno : (int64_t)(uintptr_t)p, 0);
  } else if (m->type == TL_MSG_UNMAP) {
    munmap((void*)(uintptr_t)m->a, (size_t)m->b);
    tl_send(fd, TL_MSG_UNMAPPED, 0, 0);
  } else if (m->type == TL_MSG_ALLOC) {
    struct tl_alloc_req* req = (struct tl_alloc_req*)(uintptr_t)m->a;
    int64_t i = 0;
    for (; i < m->b; i++) {
      void* p = tl_alloc_with_site(req[i].size, req[i].site);
      req[i].size = (uint64_t)(uintptr_t)p;
      if (p == NULL) break;
    }
    tl_heap_describe(&tl_block_data); /* the registry grew: its extent, for the tool */
    tl_send(fd, TL_MSG_ALLOCATED, i, 0);
  } else if (m->type == TL_MSG_FREE) {
    const uint64_t* addrs = (const uint64_t*)(uintptr_t)m->a;
    for (int64_t i = 0; i < m->b; i++) free((void*)(uintptr_t)addrs[i]);
    tl_heap_describe(&tl_block_data); /* the registry grew: its extent, for the tool */
    tl_send(fd, TL_MSG_FREED, m->b, 0);
  } else if (m->type == TL_MSG_CALL) {
    struct tl_call_req* req = (struct tl_call_req*)(uintptr_t)m->a;
    int64_t failed = -1, rc = 0;
    for (int64_t i = 0; i < m->b; i++) {
      tandem_transform_fn fn = (tandem_transform_fn)(uintptr_t)req[i].fn;
      rc = fn((void*)(uintptr_t)req[i].new_obj, (const void*)(uintptr_t)req[i].old_obj,
              (const struct tandem_xfer*)(uintptr_t)req[i].xfer);
      if (rc != 0) {
        failed = i;
        break;
      }
    }
    tl_heap_describe(&tl_block_data); /* the registry grew: its extent, for the tool */
    tl_send(fd, TL_MSG_CALLED, failed, rc);
  } else {
    return 0;
  }
  return 1;
}

/* A sandbox's life: a copy of this process serving the tool's requests on fd until SANDBOX_END
 * (or the tool's disappearance), then it exits. Whatever the callbacks it runs write stays in it. */
__attribute__((noreturn)) void tl_sandbox_serve(int fd) {
  tl_send(fd, TL_MSG_SANDBOXED, getpid(), 0);
  for (;;) {
    struct tl_msg m;
    if (tl_recv(fd, &m, -1) <= 0) _exit(0);
    if (m.type == TL_MSG_SANDBOX_END) {
      tl_send(fd, TL_MSG_SANDBOX_ENDED, 0, 0);
      _exit(0);
    }
    tl_serve_request(fd, &m);
  }
}

/* In a new version, every thread that reaches an update point before the transfer is complete
 * waits for it: the first one serves the tool, the others block until it is done. */
static int tl_resume_done;

static void tl_new_side(void) {
  int expected = 0;
  if (!atomic_compare_exchange_strong(&tl_resume_claimed, &expected, 1)) {
    pthread_mutex_lock(&tl_q_lock);
    while (!tl_resume_done) pthread_cond_wait(&tl_q_cond, &tl_q_lock);
    pthread_mutex_unlock(&tl_q_lock);
    return;
  }
  int fd = tl_resume_fd;
  int sandboxed = 0; /* this process is a disposable copy serving backward callbacks */
  tl_fill_block(0, 0);
  if (tl_send(fd, TL_MSG_READY, (int64_t)(uintptr_t)&tl_block_data, getpid()) != 0) _exit(75);
  for (;;) {
    struct tl_msg m;
    int got = tl_recv(fd, &m, -1);
    if (got <= 0 && sandboxed) _exit(0);
    if (got <= 0) {
      /* The tool is gone. Carry on only if the old version committed (it wrote its mark before
       * exiting); otherwise the update was rolled back, or the old version died during it. */
      char c = 0;
      struct pollfd p = {.fd = tl_commit_fd, .events = POLLIN};
      if (tl_commit_fd >= 0 && poll(&p, 1, 5000) > 0 && read(tl_commit_fd, &c, 1) == 1 && c == 'C')
        break;
      _exit(75);
    }
    if (tl_serve_request(fd, &m)) {
      /* served */
    } else if (m.type == TL_MSG_SANDBOX && !sandboxed) {
      /* Backward callbacks run in a copy of this process: whatever they write (even by mistake)
       * cannot reach the state this version resumes with. The copy serves the tool until
       * SANDBOX_END while this process waits for it. */
      pid_t pid = fork();
      if (pid == 0) {
        sandboxed = 1;
        tl_send(fd, TL_MSG_SANDBOXED, getpid(), 0);
        continue;
      }
      if (pid < 0) {
        tl_send(fd, TL_MSG_SANDBOX_DIED, 0, errno);
        continue;
      }
      int status = 0;
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      if (WIFSIGNALED(status))
        tl_send(fd, TL_MSG_SANDBOX_DIED, CLD_KILLED, WTERMSIG(status));
      else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        tl_send(fd, TL_MSG_SANDBOX_DIED, CLD_EXITED, WEXITSTATUS(status));
      else
        tl_send(fd, TL_MSG_SANDBOX_ENDED, 0, 0);
    } else if (m.type == TL_MSG_SANDBOX_END && sandboxed) {
      /* This process answers once it reaped the copy: when the copy answered, the tool could
       * go on and the old version kill this process before it reaped the copy, which then
       * went to the nearest subreaper (live_ttst found it there, 1 run in 30-40). */
      _exit(0);
    } else if (m.type == TL_MSG_RESUME && !sandboxed) {
      tl_send(fd, TL_MSG_RESUMED, 0, 0);
      break;
    }
  }
  close(fd);
  if (tl_commit_fd >= 0) close(tl_commit_fd);
  tl_commit_fd = -1;
  pthread_mutex_lock(&tl_q_lock);
  tl_resume_fd = -1;
  tl_resume_done = 1;
  pthread_cond_broadcast(&tl_q_cond);
  pthread_mutex_unlock(&tl_q_lock);
}

/* ---- start-up ---- */

static void tl_apply_fd_list(const char* list, int close_them) {
  for (const char* s = list; s && *s;) {
    char* end;
    long fd = strtol(s, &end, 10);
    if (end == s) break;
    if (close_them)
      close((int)fd);
    else
      fcntl((int)fd, F_SETFD, FD_CLOEXEC);
    s = *end == ',' ? end + 1 : end;
  }
}

static void tl_atfork_child(void) {
  /* Only the forking thread exists in the child; the parent's request is not the child's. */
  pthread_mutex_init(&tl_q_lock, NULL);
  pthread_cond_init(&tl_q_cond, NULL);
  tl_nthreads = 0;
  if (tl_registered) {
    tl_thread_rseq[tl_nthreads] = tl_rseq_area();
    tl_threads[tl_nthreads++] = &tl_attention;
  }
  tl_parked = 0;
  if (atomic_load(&tl_state) != TL_IDLE) {
    if (tl_req.conn_fd >= 0) close(tl_req.conn_fd);
    if (tl_req.new_fd >= 0) close(tl_req.new_fd);
    tl_req.conn_fd = tl_req.new_fd = -1;
    atomic_store(&tl_state, TL_IDLE);
  }
  tl_attention = 1; /* the next update point starts the child's control thread */
}

static void tl_env_init(void) {
  static _Atomic int done;
  int expected = 0;
  if (!atomic_compare_exchange_strong(&done, &expected, 1)) return;
  const char* fd = getenv(TL_ENV_FD);
  if (fd != NULL) {
    tl_resume_fd = atoi(fd);
    const char* commit = getenv(TL_ENV_COMMIT);
    tl_commit_fd = commit ? atoi(commit) : -1;
    if (tl_commit_fd >= 0) fcntl(tl_commit_fd, F_SETFD, FD_CLOEXEC);
    tl_apply_fd_list(getenv(TL_ENV_CLOEXEC), 0);
    tl_apply_fd_list(getenv(TL_ENV_CLOSE), 1);
    fcntl(tl_resume_fd, F_SETFD, FD_CLOEXEC);
    tl_resumed_flag = 1;
  }
  /* Children of this version must not believe they are resumed. */
  unsetenv(TL_ENV_FD);
  unsetenv(TL_ENV_CLOEXEC);
  unsetenv(TL_ENV_CLOSE);
  unsetenv(TL_ENV_COMMIT);
}

__attribute__((constructor(101))) static void tl_init(void) {
  tl_env_init();
  pthread_atfork(NULL, NULL, tl_atfork_child);
  tl_control_start();
}

/* ---- the update point ---- */

__attribute__((noinline)) static void tl_update_slow(void) {
  if (!tl_registered) tl_register();
  tl_control_start(); /* no-op unless this is a forked child */
  if (tl_resumed_flag && !tl_resume_done) tl_new_side();
  tl_quiesce();
}

void tandem_update_point(void) {
  if (__builtin_expect(__atomic_load_n(&tl_attention, __ATOMIC_RELAXED) == 0, 1)) return;
  tl_update_slow();
}
