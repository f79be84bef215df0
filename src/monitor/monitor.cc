#include "monitor/monitor.h"

#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <optional>
#include <set>
#include <thread>
#include <cstring>

#include <fmt/format.h>

#include "base/tsc.h"
#include "syscalls/syscall_model.h"

extern char** environ;

namespace tandem {

namespace {

bool is_fault(const siginfo_t& si) {
  switch (si.si_signo) {
    case SIGSEGV:
    case SIGBUS:
    case SIGILL:
    case SIGFPE:
    case SIGTRAP:
    case SIGSYS:
      // Kernel-generated synchronous faults have a positive si_code (SEGV_MAPERR, ...).
      return si.si_code > 0 && si.si_code != SI_KERNEL;
    default:
      return false;
  }
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return fmt::format("exit status {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return fmt::format("signal {} ({})", WTERMSIG(status),
                                              strsignal(WTERMSIG(status)));
  return "unknown status";
}

}  // namespace

const char* to_string(Policy p) {
  switch (p) {
    case Policy::kPreferNew: return "prefer-new";
    case Policy::kPreferOld: return "prefer-old";
    case Policy::kStrict: return "strict";
    case Policy::kMajority: return "majority";
  }
  return "?";
}

bool parse_policy(const std::string& text, Policy& out) {
  for (Policy p : {Policy::kPreferNew, Policy::kPreferOld, Policy::kStrict, Policy::kMajority}) {
    if (text == to_string(p)) {
      out = p;
      return true;
    }
  }
  return false;
}

namespace {

// A death by one of these signals is a crash (the version is restarted): the kernel's signals
// for a program's own fault, the one it sends itself on a failed check (SIGABRT), and SIGKILL
// (the OOM killer, or an administrator killing one version). Other fatal signals (SIGTERM,
// SIGINT from the terminal, SIGHUP, SIGPIPE, SIGALRM...) ask the program to end.
bool is_crash_signal(int sig) {
  switch (sig) {
    case SIGKILL:
    case SIGSEGV: case SIGBUS: case SIGILL: case SIGFPE: case SIGABRT: case SIGSYS:
    case SIGTRAP: case SIGXCPU: case SIGXFSZ:
      return true;
    default:
      return false;
  }
}

}  // namespace

Monitor::Monitor(MonitorOptions options, Rules rules, EventLog& events, Backend& backend)
    : options_(std::move(options)),
      rules_(std::move(rules)),
      events_(events),
      backend_(backend),
      pids_(static_cast<int>(options_.versions.size())),
      alive_(options_.versions.size()),
      counters_(options_.versions.size()),
      root_status_(options_.versions.size(), -1),
      dropped_(options_.versions.size(), false),
      crash_signal_(options_.versions.size(), 0) {
  for (auto& a : alive_) a = true;
  int n = version_count();
  int leader = options_.leader;
  start_ns_ = monotonic_ns();
  canary_ = n > 1 && (options_.promote_after_seconds > 0 || options_.promote_after_calls > 0);
  canary_since_ns_ = start_ns_;
  // On probation the oldest version leads and wins divergences.
  if (leader < 0 || leader >= n)
    leader = options_.policy == Policy::kPreferOld || canary_ ? 0 : n - 1;
  leader_ = leader;
  cpu_set_t set;
  CPU_ZERO(&set);
  sched_getaffinity(0, sizeof set, &set);
  original_affinity_.assign(reinterpret_cast<uint8_t*>(&set),
                            reinterpret_cast<uint8_t*>(&set) + sizeof set);
}

Monitor::~Monitor() = default;

std::vector<int> Monitor::preference_order() const {
  std::vector<int> order;
  int n = version_count();
  bool oldest_first = options_.policy == Policy::kPreferOld || canary_.load();
  for (int i = 0; i < n; ++i) order.push_back(oldest_first ? i : n - 1 - i);
  return order;
}

void Monitor::note_divergence(const std::vector<int>& versions) {
  for (int v : versions) counters_[v].divergences++;
  int newest = version_count() - 1;
  if (canary_ && std::find(versions.begin(), versions.end(), newest) != versions.end()) {
    // The canary diverged: its probation starts again.
    canary_since_ns_ = monotonic_ns();
    canary_since_round_ = rounds_.load();
  }
}

void Monitor::note_crash(int version) {
  counters_[version].crashes++;
  if (canary_ && version == version_count() - 1) {
    canary_since_ns_ = monotonic_ns();
    canary_since_round_ = rounds_.load();
  }
}

void Monitor::note_restart(int version) { counters_[version].restarts++; }

void Monitor::note_round() {
  uint64_t rounds = ++rounds_;
  if (!canary_.load(std::memory_order_relaxed)) return;
  double seconds = static_cast<double>(elapsed_ns(canary_since_ns_.load(), monotonic_ns())) / 1e9;
  bool passed = (options_.promote_after_calls > 0 &&
                 rounds - canary_since_round_.load() >= options_.promote_after_calls) ||
                (options_.promote_after_seconds > 0 && seconds >= options_.promote_after_seconds);
  std::string why_not;
  if (passed) (void)promote_canary("canary passed", why_not);
}

bool Monitor::promote_canary(const std::string& reason, std::string& why_not) {
  int newest = version_count() - 1;
  if (!alive(newest)) {
    why_not = fmt::format("{} is not running", version_name(newest));
    return false;
  }
  bool expected = true;
  if (!canary_.compare_exchange_strong(expected, false)) {
    why_not = "no version is on probation (run with --promote-after)";
    return false;
  }
  double seconds = static_cast<double>(elapsed_ns(canary_since_ns_.load(), monotonic_ns())) / 1e9;
  uint64_t calls = rounds_.load() - canary_since_round_.load();
  int previous = leader_.exchange(newest);
  events_.emit("promotion",
               {{"version", newest + 1}, {"previous", previous + 1}, {"reason", reason},
                {"after_seconds", seconds}, {"after_calls", calls}},
               fmt::format("{} is now the leader ({}, after {:.1f} s / {} calls on probation)",
                           version_name(newest), reason, seconds, calls));
  return true;
}

std::string Monitor::status_report() const {
  std::string out;
  double up = static_cast<double>(monotonic_ns() - start_ns_) / 1e9;
  out += fmt::format("tandem run: {} versions, policy {}, up {:.1f} s, {} agreed calls ({} made "
                     "early)\n",
                     version_count(), to_string(options_.policy), up, rounds_.load(),
                     early_rounds_.load());
  if (canary_) {
    double probation = static_cast<double>(elapsed_ns(canary_since_ns_.load(), monotonic_ns())) / 1e9;
    out += fmt::format("canary: version {} on probation for {:.1f} s / {} calls\n",
                       version_count(), probation, rounds_.load() - canary_since_round_.load());
  }
  for (int v = 0; v < version_count(); ++v) {
    out += fmt::format("version {}: {} {}{} divergences {} crashes {} restarts {}\n", v + 1,
                       options_.versions[v].path, alive(v) ? "running" : "dropped",
                       leader_.load() == v ? " (leader)" : "", counters_[v].divergences.load(),
                       counters_[v].crashes.load(), counters_[v].restarts.load());
  }
  return out;
}

std::string Monitor::threads_report() {
  std::string out = status_report();
  std::vector<Group*> groups;
  {
    std::lock_guard lock(mu_);
    for (auto& g : groups_) groups.push_back(g.get());
  }
  std::set<Process*> described;
  for (Group* g : groups) {
    Process* p = g->process().get();
    if (p != nullptr && described.insert(p).second) {
      std::unique_lock lock(p->mu, std::defer_lock);
      for (int i = 0; i < 100 && !lock.try_lock(); ++i) usleep(1000);
      out += lock.owns_lock() ? p->describe() : "process: busy (its lock is held)\n";
    }
    out += g->describe();
  }
  return out;
}

std::string Monitor::version_name(int version) const {
  return fmt::format("version {} ({})", version + 1, options_.versions[version].path);
}

bool Monitor::start(std::string& error, int& exit_code) {
  std::vector<int> cpus;
  cpu_set_t set;
  memcpy(&set, original_affinity_.data(), sizeof set);
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  }
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
  std::vector<Backend::Spawned> spawned;
  for (int v = 0; v < version_count(); ++v) {
    SpawnSpec spec;
    spec.path = options_.versions[v].resolved;
    spec.argv.push_back(options_.versions[v].path);
    spec.argv.insert(spec.argv.end(), options_.args.begin(), options_.args.end());
    spec.envp = env;
    spec.cpu = options_.pin_cpus && !cpus.empty() ? cpus[v % cpus.size()] : -1;
    spec.receives_fds = true;
    spec.disable_aslr = !options_.aslr;
    auto r = backend_.spawn(spec);
    if (!r) {
      error = fmt::format("{}: cannot start: {}", version_name(v), r.error().describe());
      exit_code = r.error().value == ENOENT ? 127 : 126;
      backend_.kill_all();
      return false;
    }
    spawned.push_back(*r);
  }
  Group& root = new_group(std::make_shared<Process>(version_count()));
  pid_t virtual_root = spawned[leader_].pid;
  for (int v = 0; v < version_count(); ++v) {
    pids_.add(v, spawned[v].pid, virtual_root);
    root.add_member(v, spawned[v].id, spawned[v].pid, spawned[v].pid);
    register_task(spawned[v].id, &root);
    roots_.push_back(spawned[v].id);
    root_pids_.push_back(spawned[v].pid);
  }
  nlohmann::json versions = nlohmann::json::array();
  for (auto& v : options_.versions) versions.push_back(v.path);
  events_.emit("start", {{"versions", versions},
                         {"leader", leader_.load() + 1},
                         {"policy", to_string(options_.policy)},
                         {"pids", [&] {
                            nlohmann::json p = nlohmann::json::array();
                            for (auto& s : spawned) p.push_back(s.pid);
                            return p;
                          }()}});
  return true;
}

int Monitor::run() {
  // Time bounds the event-driven rendezvous cannot notice by itself (held versions).
  // It wakes every 250 ms, and at once when the program ended (tandem exits without delay).
  std::mutex done_mu;
  std::condition_variable done_cv;
  bool done = false;
  std::thread watchdog([this, &done, &done_mu, &done_cv] {
    auto limit = static_cast<uint64_t>(options_.reconverge_seconds * 1e9);
    for (;;) {
      {
        std::unique_lock lock(done_mu);
        if (done_cv.wait_for(lock, std::chrono::milliseconds(250), [&] { return done; })) break;
      }
      std::vector<Group*> groups;
      {
        std::lock_guard lock(mu_);
        for (auto& g : groups_) groups.push_back(g.get());
      }
      uint64_t now = monotonic_ns();
      for (Group* g : groups) g->watchdog(now, limit);
      backend_.release_killed();
      // A canary's probation by time also ends while the program makes no calls (idle server).
      if (canary_.load() && options_.promote_after_seconds > 0 &&
          static_cast<double>(elapsed_ns(canary_since_ns_.load(), now)) / 1e9 >=
              options_.promote_after_seconds) {
        std::string why_not;
        (void)promote_canary("canary passed", why_not);
      }
    }
  });
  backend_.run(*this);
  {
    std::lock_guard lock(done_mu);
    done = true;
  }
  done_cv.notify_all();
  watchdog.join();
  if (forced_exit_ >= 0) return forced_exit_;
  std::lock_guard lock(mu_);
  // The exit status the user sees: the leader's, or a survivor's, or the last crash.
  std::vector<int> order = preference_order();
  int chosen = leader_.load();
  if (dropped_[chosen]) {
    // Every version dropped: the one that lasted longest ended the program.
    if (last_dropped_ >= 0) chosen = last_dropped_;
    for (int v : order) {
      if (!dropped_[v]) {
        chosen = v;
        break;
      }
    }
  }
  int status = root_status_[chosen];
  // A crashed version (not brought back) was killed by tandem: report the signal it crashed
  // with.
  if (dropped_[chosen] && crash_signal_[chosen] != 0) return 128 + crash_signal_[chosen];
  if (status < 0) return 0;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 0;
}

Group& Monitor::new_group(std::shared_ptr<Process> process) {
  std::lock_guard lock(mu_);
  groups_.push_back(
      std::make_unique<Group>(*this, groups_.size() + 1, version_count(), std::move(process)));
  return *groups_.back();
}

void Monitor::register_task(TaskId id, Group* group) {
  std::lock_guard lock(mu_);
  task_groups_[id.serial] = group;
}

Group* Monitor::group_of(TaskId id) {
  std::lock_guard lock(mu_);
  auto it = task_groups_.find(id.serial);
  return it == task_groups_.end() ? nullptr : it->second;
}

void Monitor::on_started(Task& task) { task.resume(); }

void Monitor::on_syscall_entry(Task& task) {
  Group* g = group_of(task.id());
  if (g == nullptr || !alive(task.version())) {
    // A task of a dropped version that is still dying, or not yet paired: let it run.
    task.run_call(false);
    return;
  }
  g->on_syscall_entry(task, task.version());
}

void Monitor::on_syscall_exit(Task& task) {
  Group* g = group_of(task.id());
  if (g == nullptr) {
    // An executor killed inside its call and replaced since: its call ended before the kill
    // took it (its result is final).
    if (Group* awaiting = take_awaited_exit(task.id()))
      awaiting->executor_exiting(task, task.version());
    task.resume();
    return;
  }
  g->on_syscall_exit(task, task.version());
}

void Monitor::on_signal(Task& task) {
  const siginfo_t& si = task.siginfo();
  int v = task.version();
  if (is_fault(si)) {
    // A crash: the version is dropped at once; its own handler (a crash reporter that would
    // write and exit differently from the others) does not run.
    events_.emit("crash",
                 {{"version", v + 1},
                  {"signal", si.si_signo},
                  {"signal_name", sigabbrev_np(si.si_signo) ? sigabbrev_np(si.si_signo) : "?"},
                  {"pc", fmt::format("{:#x}", task.pc())},
                  {"address", fmt::format("{:#x}", reinterpret_cast<uint64_t>(si.si_addr))}},
                 fmt::format("{} crashed with SIG{} at pc {:#x}", version_name(v),
                             sigabbrev_np(si.si_signo) ? sigabbrev_np(si.si_signo) : "?",
                             task.pc()));
    Group* g = group_of(task.id());
    task.kill_process();
    note_crash(v);
    if (restart(g, v, task.id(), si.si_signo)) return;
    {
      std::lock_guard lock(mu_);
      if (crash_signal_[v] == 0) crash_signal_[v] = si.si_signo;
    }
    drop_version(v, fmt::format("crashed with signal {}", si.si_signo), "crash");
    return;
  }
  // A signal the version sent to itself (raise, abort, SIGPIPE from its own write) is part of
  // its deterministic execution: deliver it now.
  bool self = (si.si_code == SI_USER || si.si_code == SI_TKILL || si.si_code == SI_QUEUE) &&
              si.si_pid == task.tgid();
  Group* g = group_of(task.id());
  if (self || g == nullptr || !alive(v)) {
    // The program knows pids as virtual ones (glibc compares si_pid with getpid() before
    // acting on its own signals, pthread_cancel's for one).
    if (si.si_code == SI_USER || si.si_code == SI_TKILL || si.si_code == SI_QUEUE) {
      siginfo_t info = si;
      info.si_pid = pids_.to_virtual(v, si.si_pid);
      if (info.si_pid != si.si_pid) task.set_siginfo(info);
    }
    task.deliver_signal(si.si_signo);
    return;
  }
  // Internal: every version gets its own copy (its own child, its own timer, the terminal's
  // signal to the process group). Signal-driven I/O (F_SETOWN, SIGIO/SIGURG) only reaches the
  // leader, which owns the shared socket: delivered to all from the leader's copy.
  bool io_signal = si.si_signo == SIGIO || si.si_signo == SIGURG;
  bool internal = (si.si_code == SI_KERNEL && !io_signal) ||
                  (si.si_signo == SIGCHLD && si.si_code > 0) ||
                  ((si.si_code == SI_USER || si.si_code == SI_TKILL || si.si_code == SI_QUEUE) &&
                   pids_.is_program_pid(si.si_pid));
  siginfo_t copy = si;
  if (internal && si.si_pid > 0) copy.si_pid = pids_.to_virtual(v, si.si_pid);
  task.deliver_signal(0);  // held back; delivered to every version at a common call
  g->on_async_signal(task, v, copy, internal);
}

void Monitor::on_new_task(Task& parent, Task& child, CloneKind kind) {
  Group* g = group_of(parent.id());
  if (g == nullptr || !alive(parent.version())) {
    child.resume();
    return;
  }
  // A thread shares its parent's process; the backend knows it from the clone event.
  bool thread = kind == CloneKind::kClone && child.tgid() == parent.tgid();
  g->on_child(parent, parent.version(), child, thread);
}

void Monitor::on_exec(Task& task) {
  (void)task;
}

void Monitor::on_rdtsc(Task& task) {
  Group* g = group_of(task.id());
  if (g == nullptr || !alive(task.version())) {
    task.emulate_rdtsc(tsc_now(), 0);
    return;
  }
  g->on_syscall_entry(task, task.version());
}

void Monitor::on_exiting(Task& task, int wait_status) {
  // The last moment its registers say whether the call it executed for the others took
  // effect: its round ends from them (a restore or a drop may have replaced it already).
  Group* awaiting = take_awaited_exit(task.id());
  Group* own = group_of(task.id());
  if (awaiting != nullptr) awaiting->executor_exiting(task, task.version());
  if (own != nullptr && own != awaiting) own->executor_exiting(task, task.version());
  // Leaving now (exit, or killed by another thread's exit_group): the rendezvous must not wait
  // for it or act on it any more. A death by signal is a crash: on_gone restarts or drops it.
  if (WIFSIGNALED(wait_status)) {
    // Where it died, for the crash event (a death by a signal has no signal stop to read it).
    DeathSite site{task.pc(), WTERMSIG(wait_status) == SIGSYS ? task.syscall_register() : -1};
    std::lock_guard lock(mu_);
    death_sites_[task.tid()] = site;
    return;
  }
  if (Group* g = group_of(task.id())) g->on_member_gone(task.version(), task.id());
}

void Monitor::task_replaced(Group* group, TaskId old, TaskId now, pid_t pid) {
  std::lock_guard lock(mu_);
  task_groups_.erase(old.serial);
  task_groups_[now.serial] = group;
  for (size_t i = 0; i < roots_.size(); ++i) {
    if (roots_[i] == old) {
      roots_[i] = now;
      root_pids_[i] = pid;
    }
  }
}

bool Monitor::restart(Group* g, int version, TaskId task, int signal) {
  if (g == nullptr || !alive(version)) return false;
  // A multi-threaded process comes back whole, from its process checkpoint.
  switch (g->try_process_restart(version, task, signal)) {
    case Group::ProcessRestart::kNotMine:
      break;
    case Group::ProcessRestart::kRefused:
      return false;
    case Group::ProcessRestart::kTakenCareOf:
      return true;
    case Group::ProcessRestart::kStarted:
      note_restart(version);
      promote_if_leader(version);
      return true;
  }
  TaskId replaced;
  auto snap = g->try_restart(version, task, signal, replaced);
  if (!snap) return false;
  {
    std::lock_guard lock(mu_);
    task_groups_.erase(replaced.serial);
    task_groups_[snap->task.serial] = g;
    for (size_t i = 0; i < roots_.size(); ++i) {
      if (roots_[i] == replaced) {
        roots_[i] = snap->task;
        root_pids_[i] = snap->pid;
      }
    }
  }
  note_restart(version);
  promote_if_leader(version);
  backend_.post(snap->task, [](Task& t) { t.resume_snapshot(); });
  return true;
}

void Monitor::on_gone(TaskId id, pid_t tid, int version, int wait_status) {
  Group* g = nullptr;
  bool is_root = false;
  std::optional<DeathSite> site;
  {
    std::lock_guard lock(mu_);
    auto it = task_groups_.find(id.serial);
    if (it != task_groups_.end()) {
      g = it->second;
      task_groups_.erase(it);
    }
    is_root = std::find(roots_.begin(), roots_.end(), id) != roots_.end();
    if (is_root) root_status_[version] = wait_status;
    if (auto it = death_sites_.find(tid); it != death_sites_.end()) {
      site = it->second;
      // Kept until decided: the other versions' deaths look for it (same_death_everywhere).
      if (site->syscall < 0) death_sites_.erase(it);
    }
  }
  // Died of a crash signal while still a member (its group knew it): restarted or dropped.
  // Killed by a termination signal (SIGTERM, Ctrl-C): it was asked to end, which is not a
  // crash; it is dropped without a restart.
  bool killed = WIFSIGNALED(wait_status) && alive(version) && g != nullptr;
  if (killed && !is_crash_signal(WTERMSIG(wait_status))) {
    int sig = WTERMSIG(wait_status);
    drop_version(version, fmt::format("killed by SIG{}", sigabbrev_np(sig) ? sigabbrev_np(sig) : "?"),
                 "killed");
    killed = false;
  }
  if (killed && g->restored_with_process(version, id)) {
    // Killed with its process, whose crash (reported for the thread that crashed) brings the
    // whole process back from its checkpoint: this thread comes back with it.
    (void)restart(g, version, id, WTERMSIG(wait_status));
    g = nullptr;
    is_root = false;
    killed = false;
  }
  if (killed && site && site->syscall >= 0 && same_death_everywhere(g, version, tid, *site)) {
    // Every version's process was killed by its own seccomp filter at the same call: that is
    // the program's behaviour (vsftpd's broker dies so natively at the end of each session),
    // not a fault of one version. The process ends as it would natively, nothing restarts.
    const SyscallInfo* info = syscall_info(static_cast<int>(site->syscall));
    std::string call = info != nullptr ? info->name : fmt::format("syscall {}", site->syscall);
    events_.emit("killed-by-own-filter",
                 {{"version", version + 1}, {"pid", tid}, {"syscall", call}});
    killed = false;
  }
  if (killed) {
    int sig = WTERMSIG(wait_status);
    note_crash(version);
    nlohmann::json fields = {{"version", version + 1},
                             {"signal", sig},
                             {"signal_name", sigabbrev_np(sig) ? sigabbrev_np(sig) : "?"},
                             {"pid", tid}};
    std::string refused;
    if (site) {
      fields["pc"] = fmt::format("{:#x}", site->pc);
      if (site->syscall >= 0) {
        const SyscallInfo* info = syscall_info(static_cast<int>(site->syscall));
        refused = info != nullptr ? info->name : fmt::format("syscall {}", site->syscall);
        fields["syscall"] = refused;
      }
    }
    events_.emit("crash", fields,
                 fmt::format("{} died of SIG{}{}", version_name(version),
                             sigabbrev_np(sig) ? sigabbrev_np(sig) : "?",
                             refused.empty() ? "" : " in " + refused));
    if (restart(g, version, id, sig)) {
      g = nullptr;
      is_root = false;
    } else {
      {
        std::lock_guard lock(mu_);
        if (crash_signal_[version] == 0) crash_signal_[version] = sig;
      }
      drop_version(version, fmt::format("died of signal {}", sig), "crash");
    }
  }
  if (site && site->syscall >= 0) {
    std::lock_guard lock(mu_);
    death_sites_.erase(tid);  // decided (or not a member any more: no peer looks for it)
  }
  if (is_root) {
    events_.emit("exit", {{"version", version + 1},
                          {"status", describe_status(wait_status)},
                          {"code", WIFEXITED(wait_status) ? WEXITSTATUS(wait_status)
                                                          : 128 + WTERMSIG(wait_status)},
                          // Counters of the whole run so far: agreed calls, and those the
                          // leader made before the followers arrived (early execution).
                          {"rounds", rounds_.load()},
                          {"early_rounds", early_rounds_.load()}});
  }
  if (g != nullptr) g->on_member_gone(version, id);
  // An executor a round waited for that is gone without an exit stop: its call is made again.
  if (Group* awaiting = take_awaited_exit(id)) awaiting->executor_ended(id);
}

void Monitor::await_exit(TaskId task, Group* group) {
  std::lock_guard lock(exits_mu_);
  awaited_exits_[task.serial] = group;
}

Group* Monitor::take_awaited_exit(TaskId task) {
  std::lock_guard lock(exits_mu_);
  auto it = awaited_exits_.find(task.serial);
  if (it == awaited_exits_.end()) return nullptr;
  Group* g = it->second;
  awaited_exits_.erase(it);
  return g;
}

bool Monitor::same_death_everywhere(Group* g, int version, pid_t tid, const DeathSite& site) {
  std::vector<Group::Progress> before = g->other_member_progress(version);
  // Alone in step in its group: no version to fall back on, and a restart would replay the
  // same call into the same filter.
  if (before.empty()) {
    std::lock_guard lock(mu_);
    died_alike_.erase(tid);
    death_sites_.erase(tid);
    return true;
  }
  // The others run the same code in lockstep and meet the same call: each either dies there
  // too, or its filter allows the call and it stops at it (tandem intercepts it), or at its
  // next intercepted call when tandem lets this one run natively. Neither depends on time:
  // under load a version reached the call 220 ms after the others, and a fixed 200 ms wait
  // took vsftpd's brokers, killed by their own filter in every version, for crashes (servers.Ftp
  // with --copies 3 under two CPU hogs). Waiting stops the restart of this version and this
  // tracer thread's other tasks, so it is bounded for a version that makes no call at all
  // (blocked in a call tandem lets run natively).
  const SyscallInfo* info = syscall_info(static_cast<int>(site.syscall));
  bool intercepted =
      info == nullptr || info->cls != SyscallClass::kLocal || info->trap_when != nullptr;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (;;) {
    std::vector<Group::Progress> now = g->other_member_progress(version);
    {
      std::lock_guard lock(mu_);
      if (died_alike_.erase(tid) > 0) {
        death_sites_.erase(tid);
        return true;
      }
      size_t same = 0;
      bool went_on = false;
      for (const Group::Progress& other : before) {
        auto it = death_sites_.find(other.tid);
        if (it != death_sites_.end()) {
          if (it->second.syscall == site.syscall) {
            ++same;
          } else {
            went_on = true;  // died elsewhere: not this call's doing in every version
          }
          continue;
        }
        for (const Group::Progress& p : now) {
          // Stopped at an intercepted call since this one died: at the same call (its filter
          // let it through), or anywhere when this call is not intercepted.
          if (p.tid == other.tid && p.calls != other.calls &&
              (p.call_nr == site.syscall || !intercepted))
            went_on = true;
        }
      }
      if (same == before.size()) {
        for (const Group::Progress& other : before) died_alike_.insert(other.tid);
        death_sites_.erase(tid);
        return true;
      }
      if (went_on || std::chrono::steady_clock::now() > deadline) {
        death_sites_.erase(tid);
        return false;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

void Monitor::drop_version(int version, const std::string& reason, const std::string& kind) {
  bool expected = true;
  if (!alive_[version].compare_exchange_strong(expected, false)) return;
  std::vector<Group*> groups;
  {
    std::lock_guard lock(mu_);
    dropped_[version] = true;
    last_dropped_ = version;
    for (auto& g : groups_) groups.push_back(g.get());
  }
  events_.emit("drop", {{"version", version + 1}, {"reason", reason}, {"kind", kind}},
               kind == "crash" || kind == "killed"
                   ? ""
                   : fmt::format("{} dropped: {}", version_name(version), reason));
  promote_if_leader(version);
  for (Group* g : groups) g->drop_member(version);
}

void Monitor::forward_signal(int sig) {
  std::lock_guard lock(mu_);
  for (int v = 0; v < version_count(); ++v) {
    if (alive(v) && v < static_cast<int>(root_pids_.size()) && root_status_[v] < 0 &&
        root_pids_[v] > 0)
      ::kill(root_pids_[v], sig);
  }
}

void Monitor::promote_if_leader(int version) {
  int expected = version;
  for (int v : preference_order()) {
    if (v == version || !alive(v)) continue;
    if (leader_.compare_exchange_strong(expected, v)) {
      events_.emit("promotion", {{"version", v + 1}, {"previous", version + 1}},
                   fmt::format("{} is now the leader", version_name(v)));
    }
    return;
  }
}

void Monitor::stop_program(int exit_code) {
  int expected = -1;
  forced_exit_.compare_exchange_strong(expected, exit_code);
  for (auto& a : alive_) a = false;
  backend_.kill_all();
}

}  // namespace tandem
