#include "intercept/ptrace/tracer_thread.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cstring>

#include "base/proc_thread.h"
#include "base/scoped_fd.h"
#include "base/tsc.h"
#include "intercept/ptrace/exec_fixups.h"
#include "intercept/ptrace/ptrace_backend.h"
#include "intercept/ptrace/spawn_child.h"

namespace tandem {

namespace {

constexpr long kPtraceOptions = PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACESECCOMP |
                                PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE |
                                PTRACE_O_TRACEEXEC | PTRACE_O_TRACEEXIT | PTRACE_O_EXITKILL;

// A yield in the spin that returns later than this gave the CPU to another task (a task of the
// version itself stops at its next call within microseconds; a CPU hog keeps a whole slice).
constexpr uint64_t kContendedYieldNs = 200'000;
// After such a yield the thread does not spin for this long (a new contention check each time
// would cost a slice per check).
constexpr uint64_t kNoSpinAfterContentionNs = 100'000'000;

// How long a tracer thread whose tasks are all stopped spins before sleeping. Tunable for
// experiments with $TANDEM_SPIN_US.
int spin_microseconds() {
  static const int us = [] {
    const char* env = getenv("TANDEM_SPIN_US");
    return env != nullptr ? atoi(env) : 200;
  }();
  return us;
}

// The thread group of `tid` from /proc (fallback if it cannot be read).
pid_t tgid_of(pid_t tid, pid_t fallback) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/status", tid);
  FILE* f = fopen(path, "re");
  if (f == nullptr) return fallback;
  char line[256];
  pid_t tgid = fallback;
  while (fgets(line, sizeof line, f) != nullptr) {
    if (strncmp(line, "Tgid:", 5) == 0) {
      tgid = static_cast<pid_t>(atoi(line + 5));
      break;
    }
  }
  fclose(f);
  return tgid;
}

struct CStrings {
  std::vector<std::string> storage;
  std::vector<char*> ptrs;
  explicit CStrings(const std::vector<std::string>& v) : storage(v) {
    for (auto& s : storage) ptrs.push_back(s.data());
    ptrs.push_back(nullptr);
  }
};

}  // namespace

TracerThread::TracerThread(PtraceBackend& backend, int index, int cpu)
    : backend_(backend), index_(index), cpu_(cpu), monitor_pid_(getpid()) {
  thread_ = std::thread([this] { main(); });
  while (doorbell_.load() == 0) std::this_thread::yield();
}

TracerThread::~TracerThread() {
  stopping_ = true;
  post([] {});
  if (thread_.joinable()) thread_.join();
}

void TracerThread::post(std::function<void()> fn) {
  {
    std::lock_guard lock(inbox_mu_);
    inbox_.push_back(std::move(fn));
    inbox_pending_.store(true);
  }
  // Dekker pairing with wait_for_stop(): either we see sleeping_ or it sees the inbox.
  if (sleeping_.load()) ::kill(doorbell_, SIGUSR1);
}

Result<Backend::Spawned> TracerThread::spawn(const SpawnSpec& spec, int version,
                                             BpfProgram& filter) {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  Result<Backend::Spawned> out{Errno{EINVAL}};
  post([&] {
    Result<Backend::Spawned> r{Errno{EINVAL}};
    run_spawn(spec, version, filter, r);
    std::lock_guard lock(mu);
    out = r;
    done = true;
    cv.notify_one();
  });
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return done; });
  return out;
}

void TracerThread::run_spawn(const SpawnSpec& spec, int version, BpfProgram& filter,
                             Result<Backend::Spawned>& out) {
  CStrings argv(spec.argv);
  CStrings envp(spec.envp);
  int release[2];
  int error[2];
  int info[2];
  if (pipe2(release, O_CLOEXEC) < 0 || pipe2(error, O_CLOEXEC) < 0 ||
      pipe2(info, O_CLOEXEC) < 0) {
    out = last_errno();
    return;
  }
  ScopedFd release_r(release[0]), release_w(release[1]), error_r(error[0]), error_w(error[1]);
  ScopedFd info_r(info[0]), info_w(info[1]);
  ChildSetup setup;
  setup.path = spec.path.c_str();
  setup.argv = argv.ptrs.data();
  setup.envp = envp.ptrs.data();
  setup.cpu = spec.cpu;
  setup.release_fd = release[0];
  setup.error_fd = error[1];
  setup.info_fd = info[1];
  setup.install_marker = spec.receives_fds;
  setup.filter = filter.as_fprog();
  setup.original_mask = backend_.original_mask();
  setup.set_no_new_privs = geteuid() != 0;
  setup.disable_aslr = spec.disable_aslr;

  pid_t pid = fork();
  if (pid < 0) {
    out = last_errno();
    return;
  }
  if (pid == 0) run_spawned_child(setup);
  release_r.reset();
  error_w.reset();
  info_w.reset();
  if (ptrace(PTRACE_SEIZE, pid, nullptr, reinterpret_cast<void*>(kPtraceOptions)) < 0) {
    Errno e = last_errno();
    ::kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    out = e;
    return;
  }
  char go = 1;
  [[maybe_unused]] ssize_t n = write(release_w.get(), &go, 1);
  release_w.reset();
  for (;;) {
    int status = 0;
    if (waitpid(pid, &status, __WALL) < 0) {
      if (errno == EINTR) continue;
      out = last_errno();
      return;
    }
    if (WIFEXITED(status) || WIFSIGNALED(status)) {
      int err = 0;
      if (read(error_r.get(), &err, sizeof err) != sizeof err) err = ECHILD;
      out = Errno{err};
      return;
    }
    int sig = WSTOPSIG(status);
    int event = status >> 16;
    if (sig == SIGTRAP && event == PTRACE_EVENT_EXEC) {
      if (spec.receives_fds && !listener_.valid()) {
        out = Errno{EPROTO};  // the child never stopped at its execve with the listener open
        ::kill(pid, SIGKILL);
        return;
      }
      PtraceTask& t = adopt(pid, pid, version);
      t.note_stop(StopPoint::kOther);
      if (auto r = hide_vdso(pid, t.regs().rsp); !r) {
        TANDEM_LOG(kWarn, "version {}: cannot hide the vDSO: {}", version, r.error().describe());
      }
      initial_tasks_.push_back(t.id());
      out = Backend::Spawned{t.id(), pid};
      return;
    }
    pollfd readable{info_r.get(), POLLIN, 0};
    if (spec.receives_fds && !listener_.valid() && poll(&readable, 1, 0) == 1) {
      // The child stopped after installing its filters: its notification listener
      // (close-on-exec) is open at the number it wrote us; take our copy before its execve.
      int number = -1;
      if (read(info_r.get(), &number, sizeof number) == sizeof number) {
        ScopedFd pidfd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
        listener_.reset(static_cast<int>(syscall(SYS_pidfd_getfd, pidfd.get(), number, 0)));
      }
    }
    // Stops before the exec (the seccomp stop of execve itself, the initial group stop):
    // nothing to decide yet.
    int deliver = (event == 0 && sig != SIGTRAP && sig != SIGSTOP) ? sig : 0;
    ptrace(PTRACE_CONT, pid, nullptr, reinterpret_cast<void*>(static_cast<uintptr_t>(deliver)));
  }
}

void TracerThread::start_events(EventSink* sink) {
  post([this, sink] {
    sink_ = sink;
    events_started_ = true;
    for (TaskId id : initial_tasks_) {
      if (PtraceTask* t = find(id)) sink_->on_started(*t);
    }
    initial_tasks_.clear();
  });
}

void TracerThread::join() {
  if (thread_.joinable()) thread_.join();
}

void TracerThread::kill_all_tasks() {
  post([this] {
    for (auto& [tid, t] : tasks_) t->kill_process();
  });
}

PtraceTask* TracerThread::find(pid_t tid) {
  auto it = tasks_.find(tid);
  return it == tasks_.end() ? nullptr : it->second.get();
}

PtraceTask* TracerThread::find(TaskId id) {
  for (auto& [tid, t] : tasks_) {
    if (t->id() == id) return t.get();
  }
  return nullptr;
}

PtraceTask& TracerThread::adopt(pid_t tid, pid_t tgid, int version) {
  TaskId id = backend_.new_task_id(this);
  auto task = std::make_unique<PtraceTask>(*this, id, tid, tgid, version);
  PtraceTask& ref = *task;
  tasks_[tid] = std::move(task);
  return ref;
}

PtraceTask& TracerThread::adopt_snapshot(pid_t pid, int version, const user_regs_struct& regs) {
  PtraceTask& t = adopt(pid, pid, version);
  t.make_snapshot(regs);
  if (auto it = early_children_.find(pid); it != early_children_.end()) {
    early_children_.erase(it);
    handle_first_stop(t);
  } else {
    t.set_phase(PtraceTask::Phase::kAwaitingFirstStop);
  }
  return t;
}

PtraceTask& TracerThread::adopt_restored_thread(pid_t tid, pid_t tgid, int version,
                                                const ThreadImage& image) {
  PtraceTask& t = adopt(tid, tgid, version);
  t.make_restored_thread(image);
  if (auto it = early_children_.find(tid); it != early_children_.end()) {
    early_children_.erase(it);
    handle_first_stop(t);
  } else {
    t.set_phase(PtraceTask::Phase::kAwaitingFirstStop);
  }
  return t;
}

Result<void> TracerThread::await_first_stop(PtraceTask& t) {
  // A copy forked moments ago may not have run yet: on this CPU it runs only once its tracer
  // thread and the version's threads leave it time. Nothing else waits for its first stop
  // here: a wait for this one task takes it, and other tasks' stops wait for the main loop.
  if (t.phase() == PtraceTask::Phase::kAwaitingFirstStop)
    TANDEM_LOG(kDebug, "frozen copy {}: waiting for its first stop", t.tid());
  while (t.phase() == PtraceTask::Phase::kAwaitingFirstStop && !t.gone()) {
    int status = 0;
    pid_t p = t.wait_own_stop(&status);
    if (p < 0) {
      if (errno == EINTR) continue;
      return last_errno();  // ESRCH: found dead by its /proc entry
    }
    if (!WIFSTOPPED(status)) {
      // Killed before it ever stopped: its end is reported by the main loop.
      defer_status(p, status);
      t.mark_gone();
      break;
    }
    handle_status(p, status);
  }
  if (t.gone()) return Errno{ESRCH};
  return {};
}

std::vector<PtraceTask*> TracerThread::threads_of(pid_t tgid, const PtraceTask* except) {
  std::vector<PtraceTask*> out;
  for (auto& [tid, t] : tasks_) {
    if (t.get() != except && t->tgid() == tgid && !t->is_snapshot() && !t->gone() &&
        !t->exiting())
      out.push_back(t.get());
  }
  return out;
}

int TracerThread::deferred_status_of(pid_t tid) const {
  for (auto& [pid, status] : deferred_) {
    if (pid == tid) return status;
  }
  return 0;
}

void TracerThread::kill_and_forget(TaskId id) {
  PtraceTask* t = find(id);
  if (t == nullptr) return;
  pid_t tid = t->tid();
  TANDEM_CHECK(tid > 0) << "kill_and_forget of a task without a tid";
  ::kill(tid, SIGKILL);
  // A copy held at a stop we took already may stay there with the kill pending (a thread of a
  // restored copy whose process was killed before it was let go): it dies once resumed.
  ptrace(PTRACE_CONT, tid, nullptr, nullptr);
  for (int tries = 0;; ++tries) {
    int status = 0;
    pid_t p = waitpid(tid, &status, __WALL | WNOHANG);
    if (p < 0 && errno == EINTR) continue;
    if (p < 0 || (p > 0 && (WIFEXITED(status) || WIFSIGNALED(status)))) break;
    if (p > 0) {
      ptrace(PTRACE_CONT, tid, nullptr, nullptr);  // PTRACE_EVENT_EXIT or a stop on the way out
      continue;
    }
    // A thread-group leader is not reported while other threads of its process live (they
    // are killed and reaped after it here): a blocking wait hung tandem at its end.
    if (t->is_zombie()) {
      // A zombie is reported to its tracer in the same step it becomes one, unless it leads
      // a thread group whose other threads live on: collect that report if it is there, or
      // its parent's wait for it never ends (take_snapshot).
      p = waitpid(tid, &status, __WALL | WNOHANG);
      if (p > 0 && !WIFEXITED(status) && !WIFSIGNALED(status)) continue;
      break;
    }
    if (tries < 100) {
      sched_yield();  // it normally dies within microseconds (no clock: see wait_own_stop)
    } else {
      poll(nullptr, 0, 1);
    }
  }
  early_children_.erase(tid);
  tasks_.erase(tid);
  backend_.forget_task(id);
}

void TracerThread::release_killed() {
  // (Threads of a restored copy count as snapshots until they are let go, and one may stand
  // at a stop not handled yet: any task not known to run is looked at.)
  for (auto& [tid, t] : tasks_) {
    if (t->phase() == PtraceTask::Phase::kRunning || t->gone() || !sigkill_pending(tid)) continue;
    t->kill_process();                           // resumes it into its death
    ptrace(PTRACE_CONT, tid, nullptr, nullptr);  // (fails harmlessly if it was not stopped)
  }
}

void TracerThread::defer_status(pid_t pid, int status) { deferred_.emplace_back(pid, status); }

bool TracerThread::only_snapshots_left() const {
  for (auto& [tid, t] : tasks_) {
    if (!t->idle_snapshot()) return false;
  }
  return true;
}

bool TracerThread::any_task_stopped() const {
  for (auto& [tid, t] : tasks_) {
    if (t->phase() == PtraceTask::Phase::kStopped && !t->is_snapshot()) return true;
  }
  return false;
}

bool TracerThread::restored_copy_running() const {
  for (auto& [tid, t] : tasks_) {
    if (t->restored() && t->phase() == PtraceTask::Phase::kRunning &&
        t->expect() != PtraceTask::Expect::kExitStop)
      return true;
  }
  return false;
}

void TracerThread::main() {
  os_tid_ = static_cast<pid_t>(syscall(SYS_gettid));
  if (cpu_ >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu_, &set);
    sched_setaffinity(0, sizeof set, &set);
  }
  start_doorbell();
  // Like the versions: switching between tasks that differ here costs a VM exit (base/tsc.h).
  disable_tsc_for_this_thread();
  for (;;) {
    drain_inbox();
    while (!deferred_.empty()) {
      auto [pid, status] = deferred_.front();
      deferred_.erase(deferred_.begin());
      handle_status(pid, status);
    }
    if (stopping_ && tasks_.empty()) break;
    if (events_started_ && !inbox_pending_.load() && only_snapshots_left()) {
      // The program is over: frozen copies kept for restarts go with it.
      std::vector<TaskId> copies;
      for (auto& [tid, t] : tasks_) copies.push_back(t->id());
      for (TaskId id : copies) kill_and_forget(id);
      break;
    }
    if (inbox_pending_.load()) {
      // Work keeps coming (a handler that waits for another stop re-posts itself): let the
      // stops in without blocking.
      (void)poll_stop();
      continue;
    }
    // Not while a copy restored from a checkpoint runs its own code: it replays its log call
    // after call, each stop right after the previous one. Before the spin served other tasks'
    // stops (below), each of its steps waited for the end of the spin while another task
    // (nginx's other worker) waited for a verdict: 235 us per step instead of ~20, and the
    // copy took up to 1.5 s to catch up with a leader that kept serving. A blocking wait
    // still serves it sooner than a spin that polls every 32 turns.
    if (any_task_stopped() && !restored_copy_running() && spin_microseconds() > 0 &&
        backend_.cpu_exclusive(cpu_) && monotonic_ns() >= no_spin_until_) {
      // A task waits for a verdict another thread will post: spin for it instead of paying a
      // cross-CPU wake-up. Yield on every turn, so that whatever else wants this CPU (another
      // thread of the version, a client) runs; with nothing else runnable, yield returns at once.
      // (No std::chrono here: the vDSO clock executes rdtsc, disabled on this thread.)
      uint64_t until = monotonic_ns() + static_cast<uint64_t>(spin_microseconds()) * 1000;
      bool woke = false;
      for (int i = 0;; ++i) {
        if (inbox_pending_.load(std::memory_order_acquire)) {
          woke = true;
          break;
        }
        __builtin_ia32_pause();
        if ((i & 31) == 31) {
          uint64_t before_yield = monotonic_ns();
          sched_yield();
          if (monotonic_ns() - before_yield > kContendedYieldNs) {
            // Another task had this CPU (a CPU hog, a build): the yield returned after its
            // time slice, and so would every later turn. A blocking wait is woken with the
            // scheduler's wake-up preference instead; spinning on a contended CPU made each
            // intercepted call wait a slice (dd under two hogs: 4 ms per call, 150 us without
            // the spin). No spin until the CPU has been ours for a while.
            no_spin_until_ = monotonic_ns() + kNoSpinAfterContentionNs;
            break;
          }
          // Another of its tasks (a child or thread of the same version, running on this CPU
          // meanwhile) may have stopped: serve it now, not after the spin.
          if (poll_stop()) {
            woke = true;
            break;
          }
          if (monotonic_ns() >= until) break;
        }
      }
      if (woke) continue;
    }
    wait_for_stop();
  }
  stop_doorbell();
}

bool TracerThread::poll_stop() {
  int status = 0;
  pid_t pid = waitpid(-1, &status, WNOHANG | __WALL | __WNOTHREAD);
  if (pid == doorbell_.load()) {
    // Rung: resume it without the signal; the inbox is drained by the caller.
    if (WIFSTOPPED(status)) ptrace(PTRACE_CONT, pid, nullptr, nullptr);
    return false;
  }
  if (pid <= 0) return false;
  handle_status(pid, status);
  return true;
}

void TracerThread::start_doorbell() {
  // A tiny traced process whose only job is to stop when rung (see tracer_thread.h).
  pid_t pid = fork();
  if (pid == 0) {
    for (;;) pause();
  }
  if (pid < 0 || ptrace(PTRACE_SEIZE, pid, nullptr,
                        reinterpret_cast<void*>(static_cast<long>(PTRACE_O_EXITKILL))) < 0) {
    TANDEM_FATAL() << "cannot start the tracer thread's doorbell: " << strerror(errno);
  }
  doorbell_ = pid;
}

void TracerThread::stop_doorbell() {
  if (doorbell_ <= 0) return;
  ::kill(doorbell_, SIGKILL);
  waitpid(doorbell_, nullptr, __WALL);
  doorbell_ = -1;
}

void TracerThread::wait_for_stop() {
  sleeping_.store(true);
  // Dekker pairing with post(): either we see the inbox, or the poster sees sleeping_ and rings.
  if (inbox_pending_.load()) {
    sleeping_.store(false);
    return;
  }
  int status = 0;
  pid_t pid = waitpid(-1, &status, __WALL | __WNOTHREAD);
  sleeping_.store(false);
  if (pid < 0) return;  // EINTR
  if (pid == doorbell_) {
    // Rung: resume it without the signal; the inbox is drained by the caller.
    if (WIFSTOPPED(status)) ptrace(PTRACE_CONT, doorbell_.load(), nullptr, nullptr);
    return;
  }
  handle_status(pid, status);
}

bool TracerThread::drain_inbox() {
  if (!inbox_pending_.load(std::memory_order_acquire)) return false;
  std::vector<std::function<void()>> work;
  {
    std::lock_guard lock(inbox_mu_);
    work.swap(inbox_);
    inbox_pending_.store(false);
  }
  for (auto& fn : work) fn();
  return !work.empty();
}

void TracerThread::handle_status(pid_t pid, int status) {
  if (WIFEXITED(status) || WIFSIGNALED(status)) {
    handle_gone(pid, status);
    return;
  }
  if (!WIFSTOPPED(status)) return;
  PtraceTask* t = find(pid);
  if (t == nullptr) {
    // A new child whose first stop came before its parent's fork event.
    early_children_[pid] = status;
    return;
  }
  int sig = WSTOPSIG(status);
  int event = status >> 16;
  if (sink_ == nullptr) {
    // Events have not started (a spawn failed and the others are being killed): no decisions.
    t->note_stop(StopPoint::kOther);
    t->continue_running(0);
    return;
  }
  if (t->phase() == PtraceTask::Phase::kAwaitingFirstStop) {
    handle_first_stop(*t);
    return;
  }
  if (sig == SIGTRAP && event == PTRACE_EVENT_SECCOMP) {
    handle_seccomp(*t);
  } else if (sig == (SIGTRAP | 0x80)) {
    handle_syscall_stop(*t);
  } else if (event == PTRACE_EVENT_STOP) {
    // Group stop (SIGSTOP/SIGTSTP...) or an interrupt: job control is not emulated; carry on.
    t->note_stop(StopPoint::kOther);
    t->continue_running(0);
  } else if (sig == SIGTRAP && event != 0) {
    handle_event(*t, event, status);
  } else {
    handle_signal_stop(*t, sig);
  }
}

void TracerThread::handle_first_stop(PtraceTask& t) {
  t.note_stop(StopPoint::kOther);
  if (t.is_restored_thread()) {
    // A thread re-created in a frozen copy: it shares the copy's descriptors (nothing to
    // close); it takes the registers of the thread it stands for.
    if (auto r = t.apply_restored_state(); !r && r.error().value != ESRCH) {
      TANDEM_LOG(kWarn, "restored thread {}: cannot set its registers: {}", t.tid(),
                 r.error().describe());
    }
  } else if (t.is_snapshot()) {
    if (auto r = t.strip_snapshot_fds(); !r && r.error().value != ESRCH) {
      TANDEM_LOG(kWarn, "checkpoint copy {} keeps its descriptors: {}", t.tid(),
                 r.error().describe());
    }
  }
  if (t.resume_at_first_stop()) {
    if (t.is_restored_thread()) {
      t.resume_snapshot();
    } else if (t.is_snapshot()) {
      t.resume_snapshot();
    } else {
      t.continue_running(0);
    }
  }
}

void TracerThread::handle_seccomp(PtraceTask& t) {
  t.note_stop(StopPoint::kSyscallEntry);
  if (!t.load_syscall_entry()) {
    // Killed at this stop (its registers are gone): zeroed ones read as read(0, NULL, 0),
    // which a leader made early, and its follower's next calls were taken for extra ones
    // and run alone (a killed leader's copy later read the clock going backwards, 1 run in
    // 10). Its exit is reported next.
    t.note_stop(StopPoint::kOther);
    return;
  }
  sink_->on_syscall_entry(t);
}

void TracerThread::handle_syscall_stop(PtraceTask& t) {
  if (t.expect() != PtraceTask::Expect::kExitStop) {
    // A syscall-entry stop we did not ask for (cannot happen with PTRACE_CONT resumes).
    t.note_stop(StopPoint::kOther);
    t.continue_running(0);
    return;
  }
  t.clear_expect();
  t.note_stop(StopPoint::kSyscallExit);
  if (t.report_exit()) {
    sink_->on_syscall_exit(t);
  } else {
    t.resume();
  }
}

void TracerThread::handle_event(PtraceTask& t, int event, int status) {
  unsigned long msg = 0;
  ptrace(PTRACE_GETEVENTMSG, t.tid(), nullptr, &msg);
  t.note_stop(StopPoint::kOther);
  switch (event) {
    case PTRACE_EVENT_FORK:
    case PTRACE_EVENT_VFORK:
    case PTRACE_EVENT_CLONE: {
      auto child_tid = static_cast<pid_t>(msg);
      // A clone event is a thread (same thread group) unless the clone had its own exit signal
      // without CLONE_THREAD: ask the kernel.
      pid_t child_tgid = child_tid;
      if (event == PTRACE_EVENT_CLONE) child_tgid = tgid_of(child_tid, t.tgid());
      PtraceTask& child = adopt(child_tid, child_tgid, t.version());
      if (auto it = early_children_.find(child_tid); it != early_children_.end()) {
        early_children_.erase(it);
        child.note_stop(StopPoint::kOther);
      } else {
        child.set_phase(PtraceTask::Phase::kAwaitingFirstStop);
      }
      CloneKind kind = event == PTRACE_EVENT_FORK    ? CloneKind::kFork
                       : event == PTRACE_EVENT_VFORK ? CloneKind::kVfork
                                                     : CloneKind::kClone;
      sink_->on_new_task(t, child, kind);
      break;
    }
    case PTRACE_EVENT_EXEC:
      if (auto r = hide_vdso(t.tid(), t.regs().rsp); !r) {
        TANDEM_LOG(kWarn, "task {}: cannot hide the vDSO: {}", t.tid(), r.error().describe());
      }
      sink_->on_exec(t);
      break;
    case PTRACE_EVENT_EXIT:
      t.mark_exiting();
      sink_->on_exiting(t, static_cast<int>(msg));
      break;
    default:
      break;
  }
  (void)status;
  // An event inside a call whose exit stop the sink asked for (execve) keeps expecting it:
  // continue_running resumes with PTRACE_SYSCALL then.
  if (t.phase() == PtraceTask::Phase::kStopped) {
    t.continue_running(0);
  }
}

void TracerThread::handle_signal_stop(PtraceTask& t, int sig) {
  t.note_stop(StopPoint::kSignal);
  t.load_siginfo();
  t.restore_resent_siginfo();
  if (t.take_passthrough(sig)) {
    t.continue_running(sig);
    return;
  }
  if (sig == SIGSEGV && t.siginfo().si_code == SI_KERNEL && is_rdtsc_at(t.tid(), t.pc())) {
    t.note_stop(StopPoint::kRdtsc);
    sink_->on_rdtsc(t);
    return;
  }
  sink_->on_signal(t);
}

void TracerThread::handle_gone(pid_t pid, int status) {
  early_children_.erase(pid);
  auto it = tasks_.find(pid);
  if (it == tasks_.end()) return;
  TaskId id = it->second->id();
  int version = it->second->version();
  it->second->mark_gone();
  tasks_.erase(it);
  backend_.forget_task(id);
  if (sink_ != nullptr) sink_->on_gone(id, pid, version, status);
}

}  // namespace tandem
