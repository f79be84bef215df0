// The interception backend interface: how the monitor sees versions, without knowing how their
// system calls are intercepted.
//
// A backend starts versions (SpawnSpec), stops their threads at intercepted events, reports each
// event to an EventSink, and lets the sink act on a stopped task (run the call, skip it with a
// result, rewrite it, inject extra calls, deliver a signal, kill).
//
// Threading model. A backend may run several tracer threads (ptrace: one per version, pinned to
// that version's CPU, because a ptrace stop handled across vCPUs costs 20-45 us more on these
// machines). Sink callbacks run on the thread that owns the task; the Task& they receive is
// valid only during the callback and only on that thread. To act on a task owned by another
// thread, call Backend::post(id, fn): fn runs later on the owning thread with the task, if it
// still exists. A task that a callback neither resumes nor kills stays stopped ("held") until a
// posted function resumes it. RemoteMemory may be used from any thread.
//
// Preconditions are documented per method; violating one is a bug (TANDEM_CHECK).
#pragma once

#include <sys/types.h>
#include <signal.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/remote_mem.h"
#include "base/result.h"
#include "syscalls/call.h"
#include "syscalls/seccomp_rules.h"

namespace tandem {

// Identifies a task for its whole life; never reused (unlike tids).
struct TaskId {
  uint64_t serial = 0;
  auto operator<=>(const TaskId&) const = default;
  bool valid() const { return serial != 0; }
};

// Where a stopped task is.
enum class StopPoint : uint8_t {
  kSyscallEntry,  // at an intercepted call, not yet executed
  kSyscallExit,   // after a call the sink asked to see the end of
  kSignal,        // about to receive a signal
  kRdtsc,         // executed rdtsc/rdtscp (made to trap); emulate_rdtsc() resumes it
  kOther,         // any other stop (exec, exit, new task)
};

enum class CloneKind : uint8_t { kFork, kVfork, kClone };

// The seccomp part of the interception: which calls stop, and on which argument values (any of
// the conditions; none: always).
struct TrapRule {
  int nr = -1;
  std::vector<TrapCondition> any_of;
};

struct SpawnSpec {
  std::string path;                // executable (resolved, checked by the caller)
  std::vector<std::string> argv;   // argv[0] included
  std::vector<std::string> envp;
  int cpu = -1;                    // pin the version and its tracer to this CPU (-1: no pinning)
  bool receives_fds = false;       // the backend may install descriptors into the version
  bool disable_aslr = false;       // personality(ADDR_NO_RANDOMIZE) for the version
};

// A thread of a process captured at a checkpoint of the whole process (a thread other than the
// one that forks the copy): where it stood and what re-creates it in the copy.
struct ThreadImage {
  enum class Where : uint8_t {
    kAtCall,        // stopped at an intercepted call the sink was told about
    kArrivingCall,  // stopped at an intercepted call the sink has not been told about yet
    kInCall,        // inside a call the sink ran for it (in the kernel): restored at its entry
    kInterrupted,   // stopped where it ran: program code, or a call that is not intercepted
    kOther,         // anywhere else (signal, exit, a new thread): cannot be captured
  };
  TaskId task;
  pid_t tid = 0;
  Where where = Where::kOther;
  std::vector<uint8_t> regs;    // backend-specific, ready to resume from
  std::vector<uint8_t> xstate;  // FP/vector state; empty: the copy's
  uint64_t sigmask = 0;
  uint64_t tid_address = 0;     // where the thread library keeps the thread's tid (0: unknown)
};

// A stopped thread of a version.
class Task {
 public:
  virtual ~Task() = default;
  virtual TaskId id() const = 0;
  virtual pid_t tid() const = 0;
  virtual pid_t tgid() const = 0;
  virtual int version() const = 0;  // the SpawnSpec index this task descends from
  virtual StopPoint stop() const = 0;
  virtual const RemoteMemory& memory() const = 0;

  // --- at kSyscallEntry ---
  virtual const SyscallCall& call() const = 0;
  // Runs the call. With report_exit the sink gets on_syscall_exit for it.
  virtual void run_call(bool report_exit) = 0;
  // Runs `replacement` instead of the call (report_exit as above).
  virtual void run_instead(const SyscallCall& replacement, bool report_exit) = 0;
  // Does not run the call; the program sees `result` (a value or -errno).
  virtual void skip_call(int64_t result) = 0;
  // Does not run the call now; the program returns to the syscall instruction with the call's
  // registers intact, so that a queued signal (send_signal) is delivered first and the call is
  // then made again (the kernel's own restart). Used to deliver signals at a call boundary.
  virtual void restart_call() = 0;

  // --- at any stop: queues `sig` to the task; it is delivered when the task resumes, without
  // an on_signal callback, with `info` as its siginfo if given (pids as the program knows
  // them: glibc checks si_pid against getpid() for its own signals). ---
  virtual void send_signal(int sig, const siginfo_t* info = nullptr) = 0;

  // --- at kSyscallExit ---
  virtual int64_t result() const = 0;
  virtual void set_result(int64_t result) = 0;
  // Resumes a task held at kSyscallExit or kOther.
  virtual void resume() = 0;
  // At kSyscallExit of a call run with run_instead: the task makes its original call again,
  // from its entry, with its original arguments (it arrives again at kSyscallEntry).
  virtual void repeat_call() = 0;

  // --- at kSyscallEntry or kSyscallExit: runs an extra call in the task, synchronously, and
  // leaves the task at the same stop with its registers as they were. ---
  virtual Result<int64_t> inject(const SyscallCall& call) = 0;

  // --- at kSignal ---
  virtual const siginfo_t& siginfo() const = 0;
  // Replaces the siginfo the program will see for the signal about to be delivered.
  virtual void set_siginfo(const siginfo_t& info) = 0;
  // Resumes delivering `sig` (0 suppresses the signal).
  virtual void deliver_signal(int sig) = 0;

  // --- at kRdtsc: resumes as if rdtsc(p) returned `tsc` (and `aux` in ecx for rdtscp). ---
  virtual void emulate_rdtsc(uint64_t tsc, uint32_t aux) = 0;

  // Program counter (for crash reports).
  virtual uint64_t pc() const = 0;
  // The system-call number register (orig_rax): at a process's exit stop after a death by
  // SIGSYS, the call a seccomp filter of the program's own refused.
  virtual int64_t syscall_register() const = 0;
  // At the exit stop (on_exiting) of a task killed while the monitor ran a call for it, or at
  // that call's exit stop: whether the call took effect, as the kernel left the registers.
  struct CallAtDeath {
    enum class Outcome : uint8_t {
      kUnknown,      // its registers cannot be read any more
      kNotInCall,    // killed in program code
      kNotMade,      // killed at its entry stop: the kernel skips it
      kInterrupted,  // interrupted before it had any effect (a restart code, EINTR)
      kReturned,     // it returned `result` (a partial count too: those bytes went through)
    };
    Outcome outcome = Outcome::kNotInCall;
    int nr = -1;
    int64_t result = 0;
  };
  virtual CallAtDeath call_at_death() const = 0;

  // Installs into this task, at descriptor number `target_fd`, a copy of the monitor's own
  // descriptor `monitor_fd` (sharing the open file description), replacing whatever the task
  // had at that number. With close_on_exec the copy gets FD_CLOEXEC. Needs
  // SpawnSpec::receives_fds. At kSyscallExit the task stays there; at kSyscallEntry the
  // intercepted call is consumed (replaced by the installation) and the task is then at
  // kSyscallExit: finish with set_result() + resume().
  virtual Result<void> install_fd(int monitor_fd, int target_fd, bool close_on_exec) = 0;

  // --- checkpoints (single-threaded processes) ---
  // At kSyscallEntry: forks the task's process into a frozen copy that never runs until
  // resume_snapshot(); the task stays at its stop. The copy shares nothing with the original but
  // what fork shares (descriptions of open files); it is a task of the same version and
  // tracer, reported to the sink only once resumed (as on_syscall_entry of the same call).
  // The copy is a child of the task's process without an exit signal (the program never sees
  // it in wait() or SIGCHLD), and it holds no open file (closed at once, so that it changes
  // nothing the program can observe, like end-of-file on a pipe): the sink gives it its
  // descriptors when it resumes it. `replaces` (an earlier copy of this task's process) is killed and
  // reaped first, so that copies do not accumulate as zombies.
  struct Snapshot {
    TaskId task;
    pid_t pid = 0;
  };
  virtual Result<Snapshot> take_snapshot(std::optional<Snapshot> replaces) = 0;
  // On a frozen copy (any thread may post it): the copy continues from the checkpoint: it makes
  // the call its original was stopped at, which the sink sees as a new arrival.
  virtual void resume_snapshot() = 0;

  // --- checkpoints of multi-threaded processes ---
  // At kSyscallEntry: every other thread of the task's process is made to stand still where
  // it is (a running one is interrupted: a call that is not intercepted, such as a futex wait,
  // restarts when it goes on) and described. Calls the sink ran for a thread go on in the
  // kernel (they are described at their entry). thaw_threads() lets the interrupted ones go.
  virtual Result<std::vector<ThreadImage>> freeze_threads() = 0;
  virtual void thaw_threads() = 0;
  // Where the thread library keeps this task's tid (0: unknown); at any stop.
  virtual uint64_t tid_address() = 0;
  // On a frozen copy (take_snapshot) not resumed yet: a thread of the copy that starts as
  // `image` describes (registers, signal mask, tid), frozen until resume_snapshot().
  virtual Result<Snapshot> restore_thread(const ThreadImage& image) = 0;

  // Kills the task's whole process (SIGKILL). The sink later gets on_gone.
  virtual void kill_process() = 0;

  // --- while running (in a call it executes): a blocking call returns at once with a restart
  // code (the sink sees its exit) and is then made again, as after a signal without handler;
  // no signal is delivered. Used to reach a version blocked in a call. ---
  virtual void interrupt() = 0;
};

class EventSink {
 public:
  virtual ~EventSink() = default;
  // A spawned version's first task, after its initial execve (kOther). Not resumed by default:
  // the sink calls resume().
  virtual void on_started(Task& task) = 0;
  virtual void on_syscall_entry(Task& task) = 0;
  virtual void on_syscall_exit(Task& task) = 0;
  // A signal is about to be delivered (kSignal). A synchronous fault of the task (SIGSEGV from
  // an access, SIGILL, ...) has si_code > 0 and si_pid == 0.
  virtual void on_signal(Task& task) = 0;
  // `parent` (at kOther) created `child` by fork/vfork/clone. The child is held at its first
  // stop until the sink resumes it (on_new_task happens before the child can run any code).
  virtual void on_new_task(Task& parent, Task& child, CloneKind kind) = 0;
  // A successful execve replaced the task's program (kOther). The backend already hid the vDSO
  // and made rdtsc trap in the new image.
  virtual void on_exec(Task& task) = 0;
  // rdtsc/rdtscp executed (kRdtsc); held until the sink calls emulate_rdtsc.
  virtual void on_rdtsc(Task& task) = 0;
  // The task is about to exit (kOther); its memory can still be read. It will not stop at a
  // call again.
  virtual void on_exiting(Task& task, int wait_status) = 0;
  // The task is gone (reaped); wait_status as from waitpid.
  virtual void on_gone(TaskId id, pid_t tid, int version, int wait_status) = 0;
};

struct BackendCapabilities {
  bool hides_vdso = false;
  bool traps_rdtsc = false;
  bool installs_fds = false;
  bool threads = false;  // clone(CLONE_VM|CLONE_THREAD) supported
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual BackendCapabilities capabilities() const = 0;
  // The calls to intercept; must be set before the first spawn.
  virtual void set_trap_rules(std::vector<TrapRule> rules) = 0;
  // Starts a version; it is held after its execve until on_started resumes it. Errors: the
  // executable cannot be started (ENOENT, EACCES, ENOEXEC...).
  struct Spawned {
    TaskId id;
    pid_t pid = 0;
  };
  virtual Result<Spawned> spawn(const SpawnSpec& spec) = 0;
  // Runs until every task is gone; calls the sink from the tracer threads.
  virtual void run(EventSink& sink) = 0;
  // Runs fn(task) on the thread owning `id` while the task is stopped. If the task is gone or
  // exiting (or goes away before), fn is not called.
  virtual void post(TaskId id, std::function<void(Task&)> fn) = 0;
  // Kills every task (used when the program must stop).
  virtual void kill_all() = 0;
  // Lets tasks held at a stop whose process was killed meanwhile (a SIGKILL pending) go, so
  // that they die and their deaths are reported: a thread of a copy killed while tandem held
  // it, after its version was dropped, was waited for by tandem at its end for good. Called
  // now and then (the monitor's watchdog).
  virtual void release_killed() {}
};

std::unique_ptr<Backend> make_ptrace_backend();

}  // namespace tandem
