/* Declarations shared by the files of the tandem-live runtime (not installed).
 *
 * The runtime is three small parts: alloc.c (heap registry behind malloc), control.c (the control
 * socket and its thread), update.c (update points, quiescence, the old and new sides of an update).
 */
#ifndef TANDEM_LIVE_INTERNAL_H
#define TANDEM_LIVE_INTERNAL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "live_abi.h"

#define TL_HIDDEN __attribute__((visibility("hidden")))
#define TL_MAX_RSEQ 64

/* Marks the runtime's compilation units in DWARF: `tandem update` never transfers the runtime's
 * own variables when the runtime is linked statically into a program. */
__attribute__((used)) static const char tandem_live_runtime_unit = 1;

/* ---- alloc.c ---- */
/* Allocates like malloc but records `site` as the allocation site (used for objects the tool
 * re-creates in a new version, which keep the site of their original allocation). */
TL_HIDDEN void* tl_alloc_with_site(size_t size, uint64_t site);
/* Fills the heap part of the block the tool reads. */
TL_HIDDEN void tl_heap_describe(struct tl_block* block);

/* ---- control.c ---- */
enum tl_state { TL_IDLE = 0, TL_PENDING = 1, TL_RUNNING = 2 };

/* The queued request, valid while tl_state != TL_IDLE. Written by the control thread before it
 * moves the state to TL_PENDING; owned by the performing thread once it moves it to TL_RUNNING. */
struct tl_request {
  int conn_fd; /* connection to the tool */
  int new_fd;  /* socket end for the new version */
  int64_t timeout_ms;
  uint32_t flags; /* TL_UPDATE_* */
  char path[TL_PATH_MAX];
};
TL_HIDDEN extern struct tl_request tl_req;

/* The control thread runs during updates (it refuses other requests): its stack mapping, which
 * holds its TLS and thread descriptor, is the runtime's own and is left out of the diff. */
TL_HIDDEN extern uint64_t tl_control_stack, tl_control_stack_size;
/* Starts the control thread for the current process (again after a fork). Idempotent. */
TL_HIDDEN void tl_control_start(void);
/* True if fd belongs to the runtime (never inherited by a new version). */
TL_HIDDEN int tl_is_runtime_fd(int fd);
/* Drains the update eventfd once the request it announced has been handled. */
TL_HIDDEN void tl_control_drain_event(void);
/* Sends one message; returns 0 or -errno. Never raises SIGPIPE. */
TL_HIDDEN int tl_send(int fd, uint32_t type, int64_t a, int64_t b);
/* Receives one message, waiting at most timeout_ms (-1: forever). Returns 1 on a message, 0 on
 * EOF, -errno on error (-ETIMEDOUT on timeout). */
TL_HIDDEN int tl_recv(int fd, struct tl_msg* msg, int timeout_ms);

/* ---- update.c ---- */
/* Quiescence state, also used by control.c to queue and cancel requests. */
TL_HIDDEN void tl_queue_request(
    void); /* control thread: TL_IDLE -> TL_PENDING done; wake threads */
TL_HIDDEN void tl_cancel_request(
    void); /* control thread: the tool went away before the update began */
TL_HIDDEN extern _Atomic int tl_state;

/* ---- ttst.c: the trusted core of a validated update (runs in the old process) ---- */
/* Everything the transaction needs, in the runtime's private mapping (never the program's). */
struct tl_txn {
  int conn;        /* connection to the tool */
  int child;       /* the new version (pid), or -1 */
  int validate;    /* fork a reversed copy and require an equal diff before COMMIT */
  int64_t deadline_ms;
  uint64_t priv, priv_size; /* the private mapping: excluded from the diff */
  uint64_t ctl, ctl_size;   /* the control thread's stack, TLS and descriptor: excluded too */
  uint64_t rseq[TL_MAX_RSEQ]; /* rseq areas of the parked threads: the kernel writes them */
  int nrseq;
  /* results */
  int reversed;          /* pid of the reversed copy, or -1 */
  int verdict;           /* TL_VERDICT_* */
  int child_alive;
  uint8_t* buf;          /* scratch inside the private mapping */
  uint64_t buf_size;
  struct tl_diff_report* report;
};
enum { TL_VERDICT_ROLLBACK = 0, TL_VERDICT_COMMIT = 1 };
/* Runs the transaction on the private stack [stack_lo, stack_hi): forks the reversed copy (when
 * validating), watches the new version, the copy and the tool until the deadline, diffs on
 * VALIDATE. Returns with t->verdict set and the reversed copy reaped. */
TL_HIDDEN void tl_transaction_on_stack(struct tl_txn* t, void* stack_hi);

/* update.c: a sandbox copy's life (serves MAP/CALL on fd until SANDBOX_END, then exits). */
TL_HIDDEN __attribute__((noreturn)) void tl_sandbox_serve(int fd);

/* Raw helpers. */
TL_HIDDEN void tl_write_str(int fd, const char* s);
TL_HIDDEN size_t tl_fmt_u64(char* out, uint64_t v);

#endif /* TANDEM_LIVE_INTERNAL_H */
