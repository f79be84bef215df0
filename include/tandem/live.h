/* tandem/live.h: the programming model for process-level live update (`tandem update`).
 *
 * A program links the tandem-live runtime (pkg-config tandem-live, or CMake
 * find_package(tandem-live)), is built with -g -fno-lto, and:
 *
 *   int main(int argc, char **argv) {
 *     if (!tandem_resumed()) init_everything();   // a resumed version gets its state transferred
 *     for (;;) {
 *       tandem_update_point();                     // quiescent: the update happens here
 *       ...wait for events (add tandem_update_fd() to the poll set)...
 *     }
 *   }
 *
 * `tandem update PID NEW_BIN` then starts NEW_BIN as a new process that inherits every file
 * descriptor, lets it run its static initialisation and `main` up to its first update point, fills
 * its globals, static locals, registered locals and heap from the running process using the DWARF
 * debug info of both binaries, and either commits (the old process exits, the new one continues)
 * or rolls back (the new process is killed, the old one returns from tandem_update_point()).
 * See docs/live-update.md for the whole model, what is refused, and the exit codes.
 *
 * Annotations below are data placed in the ELF section "tandem_ann" of the binary that declares
 * them; the tool reads them from the process memory. Nothing runs in the process for them except
 * the callbacks, which the new version's runtime calls on request of the tool.
 */
#ifndef TANDEM_LIVE_H
#define TANDEM_LIVE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Update point: call it where this thread holds no state in registers or on the stack that the
 * new version needs (the top of the event loop). Costs one memory load when no update is pending.
 * Every thread that calls it once takes part in quiescence: an update starts only when all such
 * threads are inside tandem_update_point(). Returns when there is nothing to do, when an update
 * was rolled back, or (in a new version) when the state transfer is complete; it does not return
 * in the old version when an update commits. */
void tandem_update_point(void);

/* Non-zero in a new version started by an update (from the start of its static initialisation
 * on): main must skip its one-time initialisation (binding ports, truncating logs, ...) and reach
 * tandem_update_point() before touching any state, which is empty until the transfer. */
int tandem_resumed(void);

/* A descriptor that becomes readable when an update is requested. Add it to the poll/epoll set
 * of a loop that may block for long, then call tandem_update_point() when it fires. */
int tandem_update_fd(void);

/* A thread that called tandem_update_point() and will no longer call it (it is about to block
 * for good, or to exit) withdraws from quiescence. Thread exit withdraws automatically. */
void tandem_thread_done(void);

/* Registers a local variable (of a function that never returns while updates may happen, like
 * main) as a root of the state transfer. The address must stay valid; the name is matched with
 * the local of the same function and name in the other version, typed from its DWARF. */
void tandem_register_local(const char* function, const char* name, void* addr, size_t size);
#define TANDEM_LOCAL(var) tandem_register_local(__func__, #var, &(var), sizeof(var))

/* A pidfile the runtime rewrites with the new PID when an update commits (before the old process
 * exits). The string must stay valid. Under systemd (NOTIFY_SOCKET set) the old process also
 * sends MAINPID=<new pid> before it exits. */
void tandem_set_pidfile(const char* path);

/* By default every descriptor is inherited by the new version (O_CLOEXEC is cleared during the
 * update and restored in both processes). keep == 0 closes fd in the new version instead. */
void tandem_keep_fd(int fd, int keep);

/* ---- Annotations: what the debug info cannot decide --------------------------------------
 * A path names the place an annotation is about: "struct msg.body" (member of a type),
 * "g_conf.handle" or "store.c:g_cache" (a variable and optional member path).
 * Read-side annotations (union, void pointer, pointer in integer, tagged pointer, opaque) may be
 * declared in either version; the tool applies them to both sides by name. Write-side ones
 * (skip, rename, callbacks) are taken from the version the state is transferred into. */

struct tandem_annotation {
  uint32_t abi;     /* TANDEM_ANNOTATION_ABI */
  uint32_t kind;    /* enum tandem_annotation_kind */
  const char* path; /* what the annotation is about */
  const char* arg;  /* kind-specific argument (see the macros) */
  void* fn;         /* callback, or NULL */
};

#define TANDEM_ANNOTATION_ABI 1u

enum tandem_annotation_kind {
  TANDEM_ANN_PROGRAM = 1,         /* unused in the section; see TANDEM_PROGRAM */
  TANDEM_ANN_UNION = 2,           /* arg: "tag_member: value=member value=member ..." */
  TANDEM_ANN_VOID_TYPE = 3,       /* arg: the type a void* member points to, e.g. "struct item" */
  TANDEM_ANN_PTR_IN_INT = 4,      /* arg: the pointee type of an integer holding a pointer */
  TANDEM_ANN_TAGGED_PTR = 5,      /* arg: mask of the low tag bits, e.g. "3" */
  TANDEM_ANN_OPAQUE = 6,          /* copy the bytes, never interpret them as pointers */
  TANDEM_ANN_SKIP = 7,            /* do not transfer: the new version keeps its own value */
  TANDEM_ANN_RENAME = 8,          /* path: the name in the new version; arg: the old name */
  TANDEM_ANN_TRANSFORM_VAR = 9,   /* fn runs after the default transfer of a variable */
  TANDEM_ANN_TRANSFORM_TYPE = 10, /* fn runs for each transferred object of a type */
  TANDEM_ANN_INIT_VAR = 11, /* fn runs once after the transfer (variables added by the update) */
  TANDEM_ANN_RANGE = 12,    /* path: a begin pointer; arg: the sibling member holding its end */
  TANDEM_ANN_BACKWARD_VAR = 13,  /* fn converts a variable back to the previous version */
  TANDEM_ANN_BACKWARD_TYPE = 14, /* fn converts each object of a type back */
};

/* Callback of TANDEM_TRANSFORM_VAR / TANDEM_TRANSFORM_TYPE / TANDEM_INIT_VAR. Runs in the new
 * version, after every object was transferred by default, on the thread parked in
 * tandem_update_point(). new_obj: the object in its new layout, already filled by the default
 * transfer (added members zeroed for heap objects, initial values kept for globals). old_obj: a
 * copy of the old object in its old layout (declare the old type in the new source to read it),
 * whose pointers were relocated to the transferred objects in the new version (NULL where a
 * target does not exist there); NULL for TANDEM_INIT_VAR. The copy is freed after the callbacks.
 * Return 0, or non-zero to refuse the update (it is rolled back). May call malloc/free. */
struct tandem_xfer {
  const char* path; /* variable key or type name */
  size_t old_size;  /* bytes of one old object, 0 for TANDEM_INIT_VAR */
  size_t new_size;
  uint64_t index; /* element index when the object is an array element */
  int direction;  /* 0: forward (old -> new); 1: backward (new -> old, TANDEM_BACKWARD_*) */
};
typedef int (*tandem_transform_fn)(void* new_obj, const void* old_obj, const struct tandem_xfer* x);

#define TANDEM_CAT2_(a, b) a##b
#define TANDEM_CAT_(a, b) TANDEM_CAT2_(a, b)
#define TANDEM_ANNOTATE_(kind, path, arg, fn)                                              \
  __attribute__((used, section("tandem_ann"), aligned(8))) static struct tandem_annotation \
  TANDEM_CAT_(tandem_ann_, __COUNTER__) = {TANDEM_ANNOTATION_ABI, (kind), (path), (arg),   \
                                           (void*)(fn)}

/* The program's identity: `tandem update` refuses a new binary whose identity differs. */
#define TANDEM_PROGRAM(name) __attribute__((used)) const char tandem_program_id[] = name

/* The version of this binary and of the one it updates from. Callbacks convert between these
 * two: TANDEM_TRANSFORM_* from `previous`, TANDEM_BACKWARD_* back to it. With both declared,
 * `tandem update PID PREVIOUS_BIN` on a process running this version undoes the update (a cold
 * rollback): this version's backward callbacks convert its state to the previous layout. */
#define TANDEM_VERSION(name, previous) \
  __attribute__((used)) const char tandem_program_version[] = name "\n" previous

#define TANDEM_UNION(path, tag_and_cases) TANDEM_ANNOTATE_(TANDEM_ANN_UNION, path, tag_and_cases, 0)
#define TANDEM_VOID_TYPE(path, type) TANDEM_ANNOTATE_(TANDEM_ANN_VOID_TYPE, path, type, 0)
#define TANDEM_PTR_IN_INT(path, type) TANDEM_ANNOTATE_(TANDEM_ANN_PTR_IN_INT, path, type, 0)
#define TANDEM_TAGGED_PTR(path, mask) TANDEM_ANNOTATE_(TANDEM_ANN_TAGGED_PTR, path, #mask, 0)
#define TANDEM_OPAQUE(path) TANDEM_ANNOTATE_(TANDEM_ANN_OPAQUE, path, "", 0)
#define TANDEM_SKIP(path) TANDEM_ANNOTATE_(TANDEM_ANN_SKIP, path, "", 0)
#define TANDEM_RENAME(new_path, old_path) TANDEM_ANNOTATE_(TANDEM_ANN_RENAME, new_path, old_path, 0)
#define TANDEM_TRANSFORM_VAR(path, fn) TANDEM_ANNOTATE_(TANDEM_ANN_TRANSFORM_VAR, path, "", fn)
#define TANDEM_TRANSFORM_TYPE(type, fn) TANDEM_ANNOTATE_(TANDEM_ANN_TRANSFORM_TYPE, type, "", fn)
#define TANDEM_INIT_VAR(path, fn) TANDEM_ANNOTATE_(TANDEM_ANN_INIT_VAR, path, "", fn)
/* ---- Backward callbacks: validation of semantic changes (time-traveling state transfer) ----
 * Every update is validated by transferring the new state back into a copy of the old process
 * and comparing it with the original. Objects changed by a forward callback (TANDEM_TRANSFORM_*)
 * are left out of that comparison (the update reports lower coverage) unless the new version
 * also says how to convert them back: fn(old_obj, new_obj, x) with x->direction == 1 fills
 * old_obj, in the previous version's layout, from new_obj. old_obj arrives filled with the
 * default conversion (pointers as addresses in this process; set them to objects of this process
 * and they are mapped back). It runs in a disposable copy of the new version: it may read
 * anything and allocate, but what it writes outside old_obj is discarded. Return 0, or non-zero
 * to refuse the update. The same callbacks convert the state when the update is undone later
 * (`tandem update PID OLD_BIN`). */
#define TANDEM_BACKWARD_VAR(path, fn) TANDEM_ANNOTATE_(TANDEM_ANN_BACKWARD_VAR, path, "", fn)
#define TANDEM_BACKWARD_TYPE(type, fn) TANDEM_ANNOTATE_(TANDEM_ANN_BACKWARD_TYPE, type, "", fn)

/* A begin/end pair over a heap array: only [begin, end) holds live elements; the rest of the
 * allocation (spare capacity) is copied as bytes, never interpreted. std::vector needs none. */
#define TANDEM_RANGE(begin_path, end_member) \
  TANDEM_ANNOTATE_(TANDEM_ANN_RANGE, begin_path, end_member, 0)

#ifdef __cplusplus
}
#endif

#endif /* TANDEM_LIVE_H */
