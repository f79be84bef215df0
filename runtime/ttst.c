/* The trusted core of a validated live update (time-traveling state transfer), in the old
 * process (the past).
 *
 * The past is the oracle: its memory is never written during an update. When the tool asks for
 * a validated update, the past forks a reversed copy of itself, frozen in a parked loop; the tool
 * transfers the state forward into the new version (the future), then backward from the future
 * into the reversed copy (every transferred object written back at its original address, after
 * zeroing it). On VALIDATE the past compares its writable memory with the reversed copy's, word by
 * word; COMMIT is accepted only after an equal comparison. Anything else - the tool gone, a
 * death, the deadline - rolls back: the past kills the others and returns to its program.
 *
 * This file is all the code that decides (with update.c's update timing): control, timeout,
 * crash detection and the diff. It runs on a private stack inside the runtime's private mapping
 * and makes raw system calls only (sys.h), so that between the fork and the verdict neither the
 * past nor the reversed copy changes a byte of the program's memory (no stack frames, no errno,
 * no malloc). What the comparison excludes: the private mapping itself, the rseq areas of the
 * parked threads (the kernel writes the current CPU there on every return to user space), the
 * runtime's control thread's stack (it keeps answering other clients), and shared mappings (the
 * same pages in both processes).
 *
 * Threading: runs on the thread performing the update; every other program thread is parked
 * (blocked in a futex wait, all signals blocked). The reversed copy has that one thread.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "internal.h"
#include "sys.h"

/* PAGEMAP_SCAN (Linux 6.7): the present pages of a range, as runs. Not in bookworm's headers. */
struct tl_page_region {
  uint64_t start, end, categories;
};
struct tl_pm_scan_arg {
  uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages, category_inverted,
      category_mask, category_anyof_mask, return_mask;
};
#define TL_PAGEMAP_SCAN _IOWR('f', 16, struct tl_pm_scan_arg)
#define TL_PAGE_IS_PRESENT (1u << 3)
#define TL_PAGE_IS_SWAPPED (1u << 4)
#define TL_PAGE 4096ull
#define TL_DIFF_CHUNK (256ull << 10)

/* ---- messages (raw) ---- */

static void tl_raw_send(int fd, uint32_t type, int64_t a, int64_t b) {
  struct tl_msg m;
  tl_bzero(&m, offsetof(struct tl_msg, path) + 1);
  m.type = type;
  m.abi = TL_ABI_VERSION;
  m.a = a;
  m.b = b;
  long n;
  do {
    n = tl_sys6(SYS_sendto, fd, (long)&m, offsetof(struct tl_msg, path) + 1, MSG_NOSIGNAL, 0, 0);
  } while (n == -EINTR);
}

/* 1: a message, 0: EOF or error (the tool is gone). */
static int tl_raw_recv(int fd, struct tl_msg* m) {
  long n;
  do {
    n = tl_sys6(SYS_recvfrom, fd, (long)m, sizeof *m, MSG_DONTWAIT, 0, 0);
  } while (n == -EINTR);
  if (n == -EAGAIN) return -1;
  if (n < (long)offsetof(struct tl_msg, path) || m->abi != TL_ABI_VERSION) return 0;
  return 1;
}

/* Reaps pid if it ended; reports it to the tool as `type`. Returns 1 if it ended. */
static int tl_raw_reap(int conn, int pid, uint32_t type, siginfo_t* info) {
  tl_bzero(info, sizeof *info);
  long r = tl_sys5(SYS_waitid, P_PID, pid, (long)info, WEXITED | WNOHANG, 0);
  if (r < 0 || info->si_pid == 0) return r == -ECHILD;
  tl_raw_send(conn, type, info->si_code, info->si_status);
  return 1;
}

static void tl_raw_kill_reap(int pid) {
  siginfo_t info;
  tl_sys2(SYS_kill, pid, SIGKILL);
  while (tl_sys5(SYS_waitid, P_PID, pid, (long)&info, WEXITED, 0) == -EINTR) {
  }
}

/* ---- the reversed copy ---- */

/* The reversed copy's whole life: nothing but this loop runs in it, and it writes nothing. The
 * tool writes the backward transfer into it with process_vm_writev; the past kills it. */
__attribute__((noreturn)) static void tl_reversed_loop(int parent) {
  tl_sys2(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL);
  if (tl_sys0(SYS_getppid) != parent) tl_sys1(SYS_exit_group, 0);
  for (;;) tl_sys0(SYS_pause); /* every signal is blocked: only SIGKILL ends it */
}

/* ---- the diff ---- */

struct tl_range {
  uint64_t start, end;
};

static uint64_t tl_parse_hex(const char** s) {
  uint64_t v = 0;
  for (;; (*s)++) {
    char c = **s;
    if (c >= '0' && c <= '9')
      v = v * 16 + (uint64_t)(c - '0');
    else if (c >= 'a' && c <= 'f')
      v = v * 16 + (uint64_t)(c - 'a' + 10);
    else
      return v;
  }
}

/* Reads a whole /proc file into buf (NUL-terminated). Returns its length or -errno. */
static long tl_read_file(const char* path, uint8_t* buf, uint64_t size) {
  long fd = tl_sys4(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) return fd;
  uint64_t len = 0;
  for (;;) {
    long n = tl_sys3(SYS_read, fd, buf + len, size - 1 - len);
    if (n == -EINTR) continue;
    if (n <= 0) break;
    len += (uint64_t)n;
    if (len + 1 >= size) {
      tl_sys1(SYS_close, fd);
      return -E2BIG;
    }
  }
  tl_sys1(SYS_close, fd);
  buf[len] = 0;
  return (long)len;
}

/* Present (or swapped) runs of [start, end) in the process behind pagemap fd `pm`, appended to
 * out[*n..max). Returns 0, or -errno (then the caller compares the whole range). */
static long tl_present(long pm, uint64_t start, uint64_t end, struct tl_range* out, uint64_t* n,
                       uint64_t max) {
  struct tl_page_region vec[64];
  while (start < end) {
    struct tl_pm_scan_arg a;
    tl_bzero(&a, sizeof a);
    a.size = sizeof a;
    a.start = start;
    a.end = end;
    a.vec = (uint64_t)(uintptr_t)vec;
    a.vec_len = 64;
    a.category_anyof_mask = TL_PAGE_IS_PRESENT | TL_PAGE_IS_SWAPPED;
    a.return_mask = TL_PAGE_IS_PRESENT | TL_PAGE_IS_SWAPPED;
    long got = tl_sys3(SYS_ioctl, pm, TL_PAGEMAP_SCAN, &a);
    if (got < 0) return got;
    for (long i = 0; i < got; i++) {
      if (*n > 0 && out[*n - 1].end == vec[i].start) {
        out[*n - 1].end = vec[i].end;
      } else {
        if (*n >= max) return -E2BIG;
        out[(*n)++] = (struct tl_range){vec[i].start, vec[i].end};
      }
    }
    if (a.walk_end <= start) break;
    start = a.walk_end;
  }
  return 0;
}

static int tl_excluded(const struct tl_txn* t, uint64_t addr) {
  if (addr >= t->priv && addr < t->priv + t->priv_size) return 1;
  if (addr >= t->ctl && addr < t->ctl + t->ctl_size) return 1;
  for (int i = 0; i < t->nrseq; i++)
    if (addr >= t->rseq[i] && addr < t->rseq[i] + 32) return 1;
  return 0;
}

static void tl_record(struct tl_txn* t, uint64_t addr, uint64_t past, uint64_t rev, int* in_run) {
  struct tl_diff_report* r = t->report;
  r->words++;
  if (*in_run && r->count > 0 && r->first[r->count - 1].addr + 8 * r->first[r->count - 1].words ==
                                     addr) {
    r->first[r->count - 1].words++;
    return;
  }
  *in_run = 1;
  r->runs++;
  if (r->count < TL_DIFF_FIRST) r->first[r->count++] = (struct tl_diff_entry){addr, past, rev, 1};
}

/* Compares [start, end) of this process with the same range of the reversed copy. */
static void tl_compare(struct tl_txn* t, uint64_t start, uint64_t end, uint8_t* buf,
                       uint64_t chunk) {
  for (uint64_t at = start; at < end; at += chunk) {
    uint64_t len = end - at < chunk ? end - at : chunk;
    struct iovec local = {buf, len}, remote = {(void*)(uintptr_t)at, len};
    long n = tl_sys6(SYS_process_vm_readv, t->reversed, (long)&local, 1, (long)&remote, 1, 0);
    t->report->bytes_compared += len;
    if (n != (long)len) {
      /* The copy has no memory there: every word of the range differs. */
      int in_run = 0;
      for (uint64_t w = at; w < at + len; w += 8) tl_record(t, w, *(const uint64_t*)w, 0, &in_run);
      continue;
    }
    /* No memcmp: a first call through the PLT would make the dynamic linker write its GOT
     * entry (and its statistics) into the past after the fork. */
    const uint64_t* a = (const uint64_t*)(uintptr_t)at;
    const uint64_t* b = (const uint64_t*)(void*)buf;
    uint64_t words = len / 8, w = 0;
    /* Equal memory first, eight words at a time without a branch per word (the compiler makes
     * it vector code); the first block that differs is searched word by word below. */
    for (; w + 8 <= words; w += 8) {
      uint64_t d = 0;
      for (int k = 0; k < 8; k++) d |= a[w + k] ^ b[w + k];
      if (d) break;
    }
    while (w < words && a[w] == b[w]) w++;
    if (w == words) continue;
    int in_run = 0;
    for (uint64_t off = w * 8; off < len; off += 8) {
      uint64_t mine = a[off / 8];
      uint64_t theirs = b[off / 8];
      if (mine == theirs || tl_excluded(t, at + off)) {
        in_run = 0;
        continue;
      }
      tl_record(t, at + off, mine, theirs, &in_run);
    }
  }
}

static void tl_fmt_pid_path(char* out, int pid, const char* leaf) {
  const char* p = "/proc/";
  size_t n = 0;
  while (*p) out[n++] = *p++;
  n += tl_fmt_u64(out + n, (uint64_t)pid);
  out[n++] = '/';
  while (*leaf) out[n++] = *leaf++;
  out[n] = 0;
}

/* The past's writable private memory against the reversed copy's. Fills t->report. */
static void tl_diff(struct tl_txn* t) {
  struct tl_diff_report* r = t->report;
  tl_bzero(r, sizeof *r);
  /* Buffer layout: maps text | present runs (two lists) | comparison chunk. */
  uint64_t maps_size = t->buf_size / 4, runs_max = (t->buf_size / 4) / sizeof(struct tl_range) / 2;
  uint8_t* maps = t->buf;
  struct tl_range* mine = (struct tl_range*)(void*)(t->buf + maps_size);
  struct tl_range* theirs = mine + runs_max;
  uint8_t* chunk = t->buf + t->buf_size / 2;
  /* A chunk that stays in the L2 cache between the copy and the comparison. */
  uint64_t chunk_size = t->buf_size / 2 < TL_DIFF_CHUNK ? t->buf_size / 2 : TL_DIFF_CHUNK;
  long len = tl_read_file("/proc/self/maps", maps, maps_size);
  char path[64];
  tl_fmt_pid_path(path, t->reversed, "pagemap");
  long pm_self = tl_sys4(SYS_openat, AT_FDCWD, "/proc/self/pagemap", O_RDONLY | O_CLOEXEC, 0);
  long pm_rev = tl_sys4(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
  if (len < 0 || pm_self < 0 || pm_rev < 0) {
    r->error = (uint64_t)-(len < 0 ? len : pm_self < 0 ? pm_self : pm_rev);
    goto out;
  }
  for (const char* s = (const char*)maps; *s;) {
    uint64_t start = tl_parse_hex(&s);
    s++; /* '-' */
    uint64_t end = tl_parse_hex(&s);
    s++; /* ' ' */
    int ok = s[0] == 'r' && s[1] == 'w' && s[3] == 'p';
    while (*s && *s != '\n') s++;
    if (*s) s++;
    if (!ok || (start >= t->priv && end <= t->priv + t->priv_size) ||
        (start >= t->ctl && end <= t->ctl + t->ctl_size))
      continue;
    r->mappings++;
    /* Pages present in neither process read the same (zeros, or the same file). */
    uint64_t nm = 0, nt = 0;
    if (tl_present(pm_self, start, end, mine, &nm, runs_max) != 0 ||
        tl_present(pm_rev, start, end, theirs, &nt, runs_max) != 0) {
      nm = 1, nt = 0;
      mine[0] = (struct tl_range){start, end};
    }
    /* The union of both lists, in address order. */
    uint64_t i = 0, j = 0;
    while (i < nm || j < nt) {
      struct tl_range cur = (j >= nt || (i < nm && mine[i].start <= theirs[j].start)) ? mine[i++]
                                                                                      : theirs[j++];
      for (;;) {
        if (i < nm && mine[i].start <= cur.end) {
          if (mine[i].end > cur.end) cur.end = mine[i].end;
          i++;
        } else if (j < nt && theirs[j].start <= cur.end) {
          if (theirs[j].end > cur.end) cur.end = theirs[j].end;
          j++;
        } else {
          break;
        }
      }
      /* The kernel may have merged an excluded mapping with a neighbour: its words are then
       * compared and their differences ignored (tl_excluded). */
      tl_compare(t, cur.start, cur.end, chunk, chunk_size);
    }
  }
out:
  if (pm_self >= 0) tl_sys1(SYS_close, pm_self);
  if (pm_rev >= 0) tl_sys1(SYS_close, pm_rev);
}

/* ---- the transaction ---- */

static void tl_transaction(struct tl_txn* t) {
  int conn = t->conn;
  int validated = 0, reversed_alive = 0;
  siginfo_t info;
  struct tl_msg msg;
  t->verdict = TL_VERDICT_ROLLBACK;
  t->reversed = -1;
  if (t->validate) {
    int parent = (int)tl_sys0(SYS_getpid);
    long pid = tl_sys5(SYS_clone, SIGCHLD, 0, 0, 0, 0);
    if (pid == 0) tl_reversed_loop(parent);
    if (pid < 0) {
      tl_raw_send(conn, TL_MSG_REVERSED_EXITED, 0, -pid);
      return;
    }
    t->reversed = (int)pid;
    reversed_alive = 1;
    tl_raw_send(conn, TL_MSG_REVERSED, pid, 0);
  }
  for (;;) {
    int64_t left = t->deadline_ms - tl_raw_now_ms();
    if (left <= 0) break;
    /* Deaths are noticed within 100 ms: pidfds of non-children cannot be waited on, and
     * SIGCHLD is blocked in parked threads. */
    struct pollfd p = {.fd = conn, .events = POLLIN};
    long r = tl_sys3(SYS_poll, &p, 1, left > 100 ? 100 : left);
    if (r < 0 && r != -EINTR) break;
    if (t->child_alive && tl_raw_reap(conn, t->child, TL_MSG_CHILD_EXITED, &info))
      t->child_alive = 0;
    if (reversed_alive && tl_raw_reap(conn, t->reversed, TL_MSG_REVERSED_EXITED, &info)) {
      reversed_alive = 0;
      validated = 0;
      t->reversed = -1;
    }
    if (r <= 0 || !(p.revents & (POLLIN | POLLHUP | POLLERR))) continue;
    int got = tl_raw_recv(conn, &msg);
    if (got < 0) continue;
    if (got == 0 || msg.type == TL_MSG_ROLLBACK) break; /* the tool is gone, or gave up */
    if (msg.type == TL_MSG_VALIDATE) {
      validated = 0;
      if (!t->validate || !reversed_alive) {
        tl_raw_send(conn, TL_MSG_VALIDATED, -1, 0);
        continue;
      }
      tl_diff(t);
      validated = t->report->words == 0 && t->report->error == 0;
      tl_raw_send(conn, TL_MSG_VALIDATED,
                  t->report->error ? -1 : (int64_t)t->report->words,
                  (int64_t)(uintptr_t)t->report);
    } else if (msg.type == TL_MSG_SANDBOX) {
      /* Undoing an update (the new binary is this one's predecessor): the conversions are this
       * version's backward callbacks, run in a disposable copy of this process that serves the
       * tool on this connection until SANDBOX_END; meanwhile this process does not read it. */
      int parent = (int)tl_sys0(SYS_getpid);
      long pid = tl_sys5(SYS_clone, SIGCHLD, 0, 0, 0, 0);
      if (pid == 0) {
        tl_sys2(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL);
        if (tl_sys0(SYS_getppid) != parent) tl_sys1(SYS_exit_group, 0);
        tl_sandbox_serve(conn);
      }
      if (pid < 0) {
        tl_raw_send(conn, TL_MSG_SANDBOX_DIED, 0, -pid);
        continue;
      }
      for (;;) {
        tl_bzero(&info, sizeof info);
        long w = tl_sys5(SYS_waitid, P_PID, pid, (long)&info, WEXITED | WNOHANG, 0);
        if (w == 0 && info.si_pid != 0) break;
        if (w < 0 && w != -EINTR) break;
        if (tl_raw_now_ms() >= t->deadline_ms) {
          tl_raw_kill_reap((int)pid);
          break;
        }
        struct {
          long sec, nsec;
        } pause_for = {0, 2000000};
        tl_sys2(SYS_nanosleep, &pause_for, 0);
      }
      if (info.si_code != CLD_EXITED || info.si_status != 0)
        tl_raw_send(conn, TL_MSG_SANDBOX_DIED, info.si_code, info.si_status);
    } else if (msg.type == TL_MSG_COMMIT) {
      /* The verdict is ours: without an equal diff, a commit request is a rollback. */
      if (t->child_alive && (!t->validate || validated)) t->verdict = TL_VERDICT_COMMIT;
      break;
    }
  }
  if (t->reversed > 0) tl_raw_kill_reap(t->reversed);
  t->reversed = -1;
}

/* Switches to the private stack for the transaction and back. */
void tl_transaction_on_stack(struct tl_txn* t, void* stack_hi) {
  uintptr_t top = (uintptr_t)stack_hi & ~(uintptr_t)15;
  __asm__ volatile(
      "mov %%rsp, %%rbx\n\t"
      "mov %1, %%rsp\n\t"
      "mov %0, %%rdi\n\t"
      "call tl_transaction_entry\n\t"
      "mov %%rbx, %%rsp\n\t"
      :
      : "r"(t), "r"(top)
      : "rbx", "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "memory", "cc",
        "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
        "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
}

/* The entry point the stack switch calls (by name, from the asm above). */
__attribute__((used, visibility("hidden"))) void tl_transaction_entry(struct tl_txn* t) {
  tl_transaction(t);
}
