// TracerThread: the ptracer of one version (its first process and everything it forks).
//
// Threading model. ptrace requests must come from the tracer thread, and a ptrace stop handled
// from another vCPU costs 20-45 us more on these machines, so each version gets its own tracer
// thread pinned to the version's CPU. The thread blocks in waitpid(-1, __WALL | __WNOTHREAD) for
// its own tracees only, exactly like a single-threaded tracer (the cheapest wake-up: the
// stopping tracee wakes its tracer synchronously on the same CPU).
//
// Work posted by other threads goes through `inbox_`. To wake a thread blocked in waitpid, the
// poster rings its *doorbell*: a tiny child process that this thread traces and that only ever
// sleeps in pause(). A signal makes the doorbell stop, which is a ptrace event: waitpid returns.
// Unlike a signal to the thread, the stop cannot be lost between the inbox check and the
// waitpid call (the stop stays pending). Posters ring only when the thread announced it sleeps.
//
// Before sleeping, a thread with a task waiting for a verdict spins briefly (yielding, so that
// anything else runnable on its CPU runs first): a verdict posted within the spin costs well
// under a microsecond instead of a cross-CPU wake-up.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "base/scoped_fd.h"
#include "intercept/backend.h"
#include "intercept/seccomp_filter.h"
#include "intercept/ptrace/ptrace_task.h"

namespace tandem {

class PtraceBackend;

class TracerThread {
 public:
  TracerThread(PtraceBackend& backend, int index, int cpu);
  ~TracerThread();
  TracerThread(const TracerThread&) = delete;
  TracerThread& operator=(const TracerThread&) = delete;

  // Starts a version on this thread and waits until it stopped after its execve (or failed).
  Result<Backend::Spawned> spawn(const SpawnSpec& spec, int version, BpfProgram& filter);
  // Runs fn on this thread (wakes it if needed).
  void post(std::function<void()> fn);
  // Starts handling events with `sink`: on_started for the spawned tasks first.
  void start_events(EventSink* sink);
  void join();
  void kill_all_tasks();

  // Called by tasks of this thread.
  PtraceTask* find(pid_t tid);
  PtraceTask* find(TaskId id);
  EventSink* sink() { return sink_; }
  int cpu() const { return cpu_; }
  pid_t monitor_pid() const { return monitor_pid_; }
  pid_t os_tid() const { return os_tid_; }
  // The user-notification listener of this version's installation-marker filter (-1: none).
  int listener() const { return listener_.get(); }
  // A frozen copy forked by take_snapshot (its first stop may have been seen already).
  PtraceTask& adopt_snapshot(pid_t pid, int version, const user_regs_struct& regs);
  // Waits for the first stop of a frozen copy adopted by adopt_snapshot and handles it as the
  // main loop would (it stays stopped unless resumed meanwhile); at once if it was seen. ESRCH:
  // the copy died first.
  Result<void> await_first_stop(PtraceTask& t);
  // A thread of a frozen copy re-created by restore_thread (its first stop may have been seen).
  PtraceTask& adopt_restored_thread(pid_t tid, pid_t tgid, int version, const ThreadImage& image);
  // The other live tasks of thread group `tgid` (threads of one process), frozen copies aside.
  std::vector<PtraceTask*> threads_of(pid_t tgid, const PtraceTask* except);
  // A stop of `tid` collected during an injection and not handled yet (0: none).
  int deferred_status_of(pid_t tid) const;
  // Kills a task of this thread (a frozen copy) and waits until it is gone.
  void kill_and_forget(TaskId id);
  // Resumes its tasks held at a stop that have a SIGKILL pending (Backend::release_killed).
  void release_killed();
  // Handles a stop of another task that arrived while a task waited during an injection.
  void defer_status(pid_t pid, int status);

 private:
  void main();
  bool drain_inbox();
  // Handles one pending stop of its tasks without blocking, if there is one (true); a rung
  // doorbell is resumed (false).
  bool poll_stop();
  void wait_for_stop();
  void start_doorbell();
  void stop_doorbell();
  void handle_status(pid_t pid, int status);
  void handle_seccomp(PtraceTask& t);
  void handle_syscall_stop(PtraceTask& t);
  void handle_event(PtraceTask& t, int event, int status);
  void handle_signal_stop(PtraceTask& t, int sig);
  void handle_first_stop(PtraceTask& t);
  void handle_gone(pid_t pid, int status);
  PtraceTask& adopt(pid_t tid, pid_t tgid, int version);
  bool any_task_stopped() const;
  // A resumed checkpoint copy runs program code (its next stop comes soon).
  bool restored_copy_running() const;
  bool only_snapshots_left() const;
  void run_spawn(const SpawnSpec& spec, int version, BpfProgram& filter,
                 Result<Backend::Spawned>& out);

  PtraceBackend& backend_;
  int index_;
  int cpu_;
  pid_t monitor_pid_;
  std::atomic<pid_t> os_tid_{0};
  std::atomic<pid_t> doorbell_{0};
  ScopedFd listener_;
  EventSink* sink_ = nullptr;
  std::thread thread_;

  std::mutex inbox_mu_;
  std::vector<std::function<void()>> inbox_;
  std::atomic<bool> inbox_pending_{false};
  std::atomic<bool> sleeping_{false};
  std::atomic<bool> events_started_{false};
  std::atomic<bool> stopping_{false};
  // No spin before this time (monotonic_ns): the spin found the CPU contended.
  uint64_t no_spin_until_ = 0;

  std::unordered_map<pid_t, std::unique_ptr<PtraceTask>> tasks_;
  std::vector<TaskId> initial_tasks_;
  // New children whose first stop arrived before their parent's fork event.
  std::map<pid_t, int> early_children_;
  // Stops collected while a task waited for its own stop in an injection.
  std::vector<std::pair<pid_t, int>> deferred_;
};

}  // namespace tandem
