// PtraceTask: one traced thread and what the ptrace backend knows about its current stop.
//
// Owned by its TracerThread; every method runs on that thread (ptrace requests are only valid
// from the tracer thread). Registers are fetched once per stop and written back once, on resume,
// because each ptrace request costs ~1.5 us on these VMs.
#pragma once

#include <sys/ptrace.h>
#include <sys/user.h>

#include <optional>

#include "intercept/backend.h"

namespace tandem {

class TracerThread;

class PtraceTask final : public Task {
 public:
  enum class Phase : uint8_t {
    kAwaitingFirstStop,  // auto-attached child whose first stop has not been seen yet
    kStopped,
    kRunning,
  };
  enum class Expect : uint8_t {
    kNothing,
    kExitStop,          // resumed into a call; its syscall-exit stop comes next
  };

  PtraceTask(TracerThread& owner, TaskId id, pid_t tid, pid_t tgid, int version);

  // Task interface.
  TaskId id() const override { return id_; }
  pid_t tid() const override { return tid_; }
  pid_t tgid() const override { return tgid_; }
  int version() const override { return version_; }
  StopPoint stop() const override { return stop_; }
  const RemoteMemory& memory() const override { return mem_; }
  const SyscallCall& call() const override;
  void run_call(bool report_exit) override;
  void run_instead(const SyscallCall& replacement, bool report_exit) override;
  void skip_call(int64_t result) override;
  void restart_call() override;
  void send_signal(int sig, const siginfo_t* info = nullptr) override;
  int64_t result() const override;
  void set_result(int64_t result) override;
  void resume() override;
  void repeat_call() override;
  Result<int64_t> inject(const SyscallCall& call) override;
  const siginfo_t& siginfo() const override;
  void set_siginfo(const siginfo_t& info) override;
  void deliver_signal(int sig) override;
  void emulate_rdtsc(uint64_t tsc, uint32_t aux) override;
  uint64_t pc() const override;
  int64_t syscall_register() const override;
  CallAtDeath call_at_death() const override;
  Result<void> install_fd(int monitor_fd, int target_fd, bool close_on_exec) override;
  Result<Snapshot> take_snapshot(std::optional<Snapshot> replaces) override;
  void resume_snapshot() override;
  Result<std::vector<ThreadImage>> freeze_threads() override;
  void thaw_threads() override;
  uint64_t tid_address() override;
  Result<Snapshot> restore_thread(const ThreadImage& image) override;
  void kill_process() override;
  void interrupt() override;
  // A thread re-created in a frozen copy (restore_thread): at its first stop it takes the
  // registers of `image` and stays stopped until resume_snapshot().
  void make_restored_thread(const ThreadImage& image);
  bool is_restored_thread() const { return restored_thread_; }
  Result<void> apply_restored_state();
  // A frozen copy made by take_snapshot: its first stop keeps it stopped; resume_snapshot
  // restores `snapshot_regs_` (rewound to the call) and lets it go.
  void make_snapshot(const user_regs_struct& regs) {
    snapshot_ = true;
    snapshot_regs_ = regs;
  }
  bool is_snapshot() const { return snapshot_; }
  // A frozen copy nobody asked to resume (kept only for a possible restart).
  bool idle_snapshot() const { return snapshot_ && !resume_at_first_stop_; }
  // A frozen copy that was resumed (a restored version's process, for the rest of its life).
  bool restored() const { return restored_; }
  // A frozen copy must not hold the program's open files (a pipe's write end would keep its
  // reader from seeing end-of-file): at its first stop it closes them all. On restore the
  // monitor gives it the leader's descriptors.
  Result<void> strip_snapshot_fds();

  // Used by TracerThread while handling a stop.
  Phase phase() const { return phase_; }
  Expect expect() const { return expect_; }
  bool report_exit() const { return report_exit_; }
  // Records a stop; registers are fetched lazily.
  void note_stop(StopPoint point);
  void note_running() { phase_ = Phase::kRunning; }
  void set_phase(Phase p) { phase_ = p; }
  void clear_expect() { expect_ = Expect::kNothing; }
  // Fetches registers and decodes the intercepted call (at a seccomp stop).
  // Reads the call the task stopped at; false when its registers cannot be read (killed
  // meanwhile: its exit is reported next).
  bool load_syscall_entry();
  bool load_siginfo();
  user_regs_struct& regs();
  bool gone() const { return gone_; }
  // Its /proc entry says it died (zombie or dead), or it has none left.
  bool is_zombie() const;
  // waitpid for this task's next stop or end, which notices a dead thread-group leader that
  // no wait reports (-1 with errno ESRCH then).
  pid_t wait_own_stop(int* status);
  void mark_gone() { gone_ = true; }
  // Past its PTRACE_EVENT_EXIT stop: only its reaping is left.
  bool exiting() const { return exiting_; }
  void mark_exiting() { exiting_ = true; }
  bool resume_at_first_stop() const { return resume_at_first_stop_; }
  // Set when inject() left the task to re-enter its intercepted call: the next seccomp stop
  // is that same call, not a new one.
  bool reentering() const { return reentering_; }
  void clear_reentering() { reentering_ = false; }
  // Signals send_signal queued: passed through at their delivery stop (with their siginfo).
  bool take_passthrough(int sig);
  // At a signal stop after load_siginfo: a signal tandem re-sent gets its original siginfo.
  void restore_resent_siginfo();
  // Resumes with PTRACE_CONT, or PTRACE_SYSCALL when an exit stop is expected.
  void continue_running(int sig = 0);

 private:
  void flush_regs();
  // Waits for this task's next stop during an injection; suppresses signals that arrive
  // meanwhile (they are re-sent when the task resumes).
  Result<int> wait_stop_during_injection(pid_t* forked = nullptr, int resume = PTRACE_SYSCALL);
  Result<int64_t> inject_at_exit(const SyscallCall& call, pid_t* forked = nullptr);
  // Describes this task for a checkpoint of its process (freeze_threads), interrupting it if
  // it runs.
  ThreadImage capture();
  // At the seccomp stop of a call installing a filter of the program's own: installs it with
  // the guard in front (program_filters.h) by an injected call and returns that call's
  // result; nullopt to let the program's call run as it is.
  std::optional<int64_t> install_guarded_filter();
  // Answers the installation marker's user notification with the descriptor.
  Result<void> answer_install(int monitor_fd, int target_fd, bool close_on_exec);
  Result<void> install_fd_once(int monitor_fd, int target_fd, bool close_on_exec);

  TracerThread& owner_;
  TaskId id_;
  pid_t tid_;
  pid_t tgid_;
  int version_;
  RemoteMemory mem_;
  Phase phase_ = Phase::kAwaitingFirstStop;
  StopPoint stop_ = StopPoint::kOther;
  Expect expect_ = Expect::kNothing;
  bool report_exit_ = false;
  bool regs_valid_ = false;
  bool regs_dirty_ = false;
  bool regs_unreadable_ = false;  // the last PTRACE_GETREGS failed: the task is dying
  bool gone_ = false;
  bool exiting_ = false;
  bool snapshot_ = false;
  // Earlier copies of its process (its children without exit signal) killed but not reaped
  // yet: a wait for one not yet reapable would block (take_snapshot tries again next time).
  std::vector<pid_t> unreaped_copies_;
  user_regs_struct snapshot_regs_{};
  bool resume_at_first_stop_ = false;
  bool restored_ = false;
  bool reentering_ = false;
  struct Passthrough {
    int sig;
    bool has_info;
    siginfo_t info;
  };
  std::vector<Passthrough> passthrough_;
  user_regs_struct regs_{};
  // The registers at the last intercepted call's entry, as the program made it: a thread
  // inside that call is restored there (freeze_threads).
  user_regs_struct entry_regs_{};
  // The last call seen interrupted with a restart block (-ERESTART_RESTARTBLOCK), at a freeze
  // or as the call before a restart_syscall: the call that restart_syscall continues (the
  // kernel keeps it in the thread's restart block, which a restored thread does not have).
  user_regs_struct restart_origin_{};
  bool has_restart_origin_ = false;
  // Registers at or inside restart_syscall name the call it continues; false: unknown.
  bool resolve_restart(user_regs_struct& r) const;
  bool frozen_ = false;            // interrupted by freeze_threads: thaw_threads resumes it
  bool restored_thread_ = false;
  std::vector<uint8_t> restored_regs_;
  std::vector<uint8_t> restored_xstate_;
  SyscallCall call_;
  siginfo_t siginfo_{};
  // Signals that arrived during injections, with their original siginfo: re-sent on resume
  // (then `resent_` until their stop, where the original siginfo is put back: a child's
  // CLD_EXITED must not look like a tgkill from tandem).
  std::vector<siginfo_t> deferred_signals_;
  std::vector<siginfo_t> resent_;
};

}  // namespace tandem
