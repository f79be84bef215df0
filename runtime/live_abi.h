/* The versioned ABI between the tandem-live runtime (inside programs) and `tandem update`.
 *
 * This is the only file both sides include. Every structure here is read or written across
 * processes (process_vm_readv/writev by the tool, or messages on the control socket), so it has
 * fixed-size fields only and changes only together with TL_ABI_VERSION.
 *
 * Control socket: SOCK_SEQPACKET in the abstract namespace, named TL_SOCKET_PREFIX + decimal PID.
 * The runtime accepts a peer only if SO_PEERCRED says it is root or the process's effective uid.
 *
 * Protocol (one struct tl_msg per packet):
 *   tool -> old runtime:  UPDATE (path = new binary, a = timeout ms, SCM_RIGHTS: the socket end
 *                         the new version will talk on)           <- QUEUED | BUSY | REFUSED
 *   old, at its update point:                                     -> PARKED (a = &tl_block)
 *                                                                 -> SPAWNED (a = new pid)
 *                                                                    | SPAWN_FAILED (a = errno)
 *                                                                 -> CHILD_EXITED (a = wait status)
 *                                                                    if the new version dies
 *                                                                 -> REVERSED (a = pid), if the
 *                                                                    request had TL_UPDATE_VALIDATE
 *   tool -> old:          VALIDATE <- VALIDATED (the old process diffs its memory against the
 *                                    reversed copy's; runs of differing words in a report)
 *                         COMMIT   <- COMMITTED, then the old process exits; with validation, only
 *                                    after an equal VALIDATED (else the old one rolls back)
 *                         ROLLBACK <- ROLLED_BACK, the old process returns to the program
 *   new, at its first update point, on the inherited socket:      -> READY (a = &tl_block)
 *   tool -> new:          MAP (a = bytes)             <- MAPPED (a = address)
 *                         UNMAP (a = address, b = bytes) <- UNMAPPED
 *                         ALLOC (a = array address, b = count of struct tl_alloc_req)
 *                                                      <- ALLOCATED (a = count done)
 *                           (the tool may send several before reading the replies, in order)
 *                         FREE (a = array of addresses, b = count) <- FREED
 *                         CALL (a = array address, b = count of struct tl_call_req)
 *                                                      <- CALLED (a = index of the first failing
 *                                                         call or -1, b = its return value)
 *                         SANDBOX  <- SANDBOXED (a = pid) from a fork of the new version, which
 *                                    then serves MAP/CALL (backward callbacks) in its own memory
 *                                    until SANDBOX_END; the copy exits, the new version
 *                                    reaps it and sends SANDBOX_ENDED, or SANDBOX_DIED if it died
 *                         RESUME   <- RESUMED, the new version returns to the program
 *   A new version whose socket reaches EOF resumes only if the old version wrote its commit
 *   mark (one byte on the pipe TANDEM_LIVE_COMMIT_FD, written right before it exits on COMMIT)
 *   and exits otherwise: an old version that died during the transfer did not commit.
 */
#ifndef TANDEM_LIVE_ABI_H
#define TANDEM_LIVE_ABI_H

#include <stdint.h>

#define TL_ABI_VERSION 2u
#define TL_SOCKET_PREFIX "tandem-live/"
#define TL_BLOCK_MAGIC 0x74616e64656d4c56ull /* "tandemLV" */

/* Environment of a new version started by an update (removed by its runtime at start-up). */
#define TL_ENV_FD "TANDEM_LIVE_FD"            /* the socket to the tool */
#define TL_ENV_CLOEXEC "TANDEM_LIVE_CLOEXEC"  /* comma-separated fds to set O_CLOEXEC on again */
#define TL_ENV_CLOSE "TANDEM_LIVE_CLOSE"      /* comma-separated fds to close (tandem_keep_fd) */
#define TL_ENV_COMMIT "TANDEM_LIVE_COMMIT_FD" /* read end of the old version's commit mark */

enum tl_msg_type {
  TL_MSG_UPDATE = 1,
  TL_MSG_QUEUED,
  TL_MSG_BUSY,
  TL_MSG_REFUSED,
  TL_MSG_PARKED,
  TL_MSG_SPAWNED,
  TL_MSG_SPAWN_FAILED,
  TL_MSG_CHILD_EXITED,
  TL_MSG_COMMIT,
  TL_MSG_COMMITTED,
  TL_MSG_ROLLBACK,
  TL_MSG_ROLLED_BACK,
  TL_MSG_READY,
  TL_MSG_MAP,
  TL_MSG_MAPPED,
  TL_MSG_UNMAP,
  TL_MSG_UNMAPPED,
  TL_MSG_ALLOC,
  TL_MSG_ALLOCATED,
  TL_MSG_CALL,
  TL_MSG_CALLED,
  TL_MSG_RESUME,
  TL_MSG_RESUMED,
  TL_MSG_FREE,
  TL_MSG_FREED,
  /* Time-traveling state transfer (issue 5). */
  TL_MSG_REVERSED,          /* old -> tool: a = pid of the reversed copy (validated updates) */
  TL_MSG_REVERSED_EXITED,   /* old -> tool: the reversed copy died (a = code, b = status) */
  TL_MSG_VALIDATE,          /* tool -> old: compare your memory with the reversed copy's */
  TL_MSG_VALIDATED,         /* old -> tool: a = differing words (-1: could not compare),
                               b = address of struct tl_diff_report in the old process */
  TL_MSG_SANDBOX,           /* tool -> new: fork a disposable copy that serves requests */
  TL_MSG_SANDBOXED,         /* copy -> tool: a = its pid; it serves MAP/CALL until SANDBOX_END */
  TL_MSG_SANDBOX_END,       /* tool -> copy */
  TL_MSG_SANDBOX_ENDED,     /* new -> tool: the copy exited and was reaped */
  TL_MSG_SANDBOX_DIED,      /* new -> tool: the copy died (a = code, b = status) */
};

/* UPDATE flags (field b). */
#define TL_UPDATE_VALIDATE 1u /* fork a reversed copy; COMMIT only after an equal VALIDATE */

/* What the old process found when it compared its memory with the reversed copy's. */
#define TL_DIFF_FIRST 16
struct tl_diff_entry {
  uint64_t addr;     /* first differing word of a run of differing words */
  uint64_t past;     /* the word in the old process */
  uint64_t reversed; /* the word in the reversed copy */
  uint64_t words;    /* length of the run, in words */
};
struct tl_diff_report {
  uint64_t words;          /* differing words in all */
  uint64_t runs;           /* runs of differing words */
  uint64_t bytes_compared; /* bytes of present pages compared */
  uint64_t mappings;       /* writable private mappings examined */
  uint64_t error;          /* errno of a failure to compare (then nothing was validated) */
  uint64_t count;          /* entries used in first[] */
  struct tl_diff_entry first[TL_DIFF_FIRST];
};

#define TL_PATH_MAX 1024

struct tl_msg {
  uint32_t type;
  uint32_t abi;
  int64_t a;
  int64_t b;
  char path[TL_PATH_MAX]; /* NUL-terminated */
};

/* The heap registry: one slot per live allocation made through the interposed allocator.
 * A free slot has ptr == 0 (size then links the slot's free list). */
struct tl_slot {
  uint64_t ptr;  /* user pointer */
  uint64_t size; /* requested size */
  uint64_t site; /* return address of the allocation call, or a site set by the tool */
};

/* A local registered with tandem_register_local(). */
struct tl_local {
  uint64_t addr;
  uint64_t size;
  uint64_t function; /* const char * */
  uint64_t name;     /* const char * */
};

/* What the tool reads from a parked process (address sent in PARKED / READY). */
struct tl_block {
  uint64_t magic;
  uint32_t abi;
  uint32_t slot_size;  /* sizeof(struct tl_slot) */
  uint64_t slots;      /* struct tl_slot[slot_count] */
  uint64_t slot_count; /* high-water mark: slots ever handed out */
  uint64_t untracked;  /* allocations the registry could not record */
  uint64_t locals;     /* struct tl_local[local_count] */
  uint64_t local_count;
  uint64_t thread_pointer; /* %fs base of the thread performing the update (TLS) */
  uint64_t pidfile;        /* const char *, or 0 */
  uint64_t arena;          /* the runtime's private mapping used during updates (excluded from */
  uint64_t arena_size;     /* the diff: the control code's stack and buffers live there) */
};

/* ALLOC request entry, written by the tool into a MAPped buffer; the runtime replaces size with
 * the address it allocated (0 on failure). */
struct tl_alloc_req {
  uint64_t size;
  uint64_t site;
};

/* CALL request entry: int fn(void *new_obj, const void *old_obj, const struct tandem_xfer *x). */
struct tl_call_req {
  uint64_t fn;
  uint64_t new_obj;
  uint64_t old_obj;
  uint64_t xfer; /* struct tandem_xfer * in the new version's memory */
};

#endif /* TANDEM_LIVE_ABI_H */
