// Monitor: runs several versions of a program as one (multi-version execution).
//
// It starts every version under the backend, groups their processes (group.h), applies the
// divergence policy, keeps the set of live versions and the leader, and decides the exit status
// the user sees. Crashed versions are dropped; when the leader goes, the next version by policy
// is promoted at the call where it stands.
//
// Threading: EventSink callbacks arrive on the backend's tracer threads. `mu_` protects the
// task -> group map and the group list; version liveness and the leader are atomics so that
// groups can read them while holding their own lock (lock order: Monitor::mu_, then Group::mu_;
// exits_mu_ is a leaf, taken under a Group::mu_).
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "intercept/backend.h"
#include "monitor/events.h"
#include "monitor/group.h"
#include "monitor/options.h"
#include "monitor/pid_map.h"
#include "monitor/rules.h"

namespace tandem {

class Monitor final : public EventSink {
 public:
  Monitor(MonitorOptions options, Rules rules, EventLog& events, Backend& backend);
  ~Monitor() override;

  // Starts every version. On failure returns false with a one-line reason in `error` and kills
  // whatever was started.
  bool start(std::string& error, int& exit_code);
  // Runs until every process of every version is gone; returns tandem's exit status.
  int run();

  // EventSink.
  void on_started(Task& task) override;
  void on_syscall_entry(Task& task) override;
  void on_syscall_exit(Task& task) override;
  void on_signal(Task& task) override;
  void on_new_task(Task& parent, Task& child, CloneKind kind) override;
  void on_exec(Task& task) override;
  void on_rdtsc(Task& task) override;
  void on_exiting(Task& task, int wait_status) override;
  void on_gone(TaskId id, pid_t tid, int version, int wait_status) override;

  // A signal sent to tandem itself: every live version's first process gets it (each must be
  // able to leave a blocking call such as sigsuspend; the copies meet at a common call).
  void forward_signal(int sig);

  // For groups.
  Backend& backend() { return backend_; }
  EventLog& events() { return events_; }
  const Rules& rules() const { return rules_; }
  const MonitorOptions& options() const { return options_; }
  PidMap& pids() { return pids_; }
  int version_count() const { return static_cast<int>(options_.versions.size()); }
  bool alive(int version) const { return alive_[version].load(); }
  int leader() const { return leader_.load(); }
  // Versions in the order the policy prefers them (newest first, or oldest first; oldest first
  // while a canary is on probation).
  std::vector<int> preference_order() const;
  // A group saw versions diverge (resets a canary's probation when the newest took part).
  void note_divergence(const std::vector<int>& versions);
  void note_crash(int version);
  void note_restart(int version);
  // An agreed call: counts for the canary's probation.
  void note_round();
  // An agreed query the leader made before the followers arrived (Group, early execution).
  void note_early_round() { early_rounds_.fetch_add(1, std::memory_order_relaxed); }
  // Ends a canary's probation now: the newest version leads and wins divergences. False (with
  // the reason) when there is no canary on probation or the newest version is not running.
  bool promote_canary(const std::string& reason, std::string& why_not);
  // A one-page health report (tandem status).
  std::string status_report() const;
  // status_report, then each group's members (Group::describe): what every thread waits for.
  std::string threads_report();
  std::string version_name(int version) const;
  // Drops a version everywhere (kills its processes) and promotes a new leader if needed.
  void drop_version(int version, const std::string& reason, const std::string& kind);
  // If `version` leads, the next live version by policy leads instead.
  void promote_if_leader(int version);
  // Stops the whole program (strict policy).
  void stop_program(int exit_code);
  // Creates a group (for paired children or threads) in `process`.
  Group& new_group(std::shared_ptr<Process> process);
  void register_task(TaskId id, Group* group);
  // The group of a task (nullptr: not a member of any, or gone).
  Group* group_of_task(TaskId id) { return group_of(id); }
  // A task restored from a checkpoint (`now`, thread or process `pid`) takes the place of
  // `old` in `group` (and as the version's first process, if `old` was).
  void task_replaced(Group* group, TaskId old, TaskId now, pid_t pid);
  uint64_t next_round_seq() { return round_seq_.fetch_add(1); }
  // `group`'s round waits for the exit stop of its executor `task`, killed inside its call and
  // replaced or dropped since (Group::executor_exiting). Takes only exits_mu_ (a leaf lock:
  // called under the group's lock).
  void await_exit(TaskId task, Group* group);
  // Original CPU affinity of tandem, reported to versions that ask (they run pinned).
  const std::vector<uint8_t>& original_affinity() const { return original_affinity_; }

 private:
  Group* group_of(TaskId id);
  // A crashed member: restarted from its group's checkpoint if possible (true).
  bool restart(Group* g, int version, TaskId task, int signal);
  void note_root_exit(int version, int wait_status);

  MonitorOptions options_;
  Rules rules_;
  EventLog& events_;
  Backend& backend_;
  PidMap pids_;
  std::vector<std::atomic<bool>> alive_;
  std::atomic<int> leader_{0};
  std::atomic<uint64_t> round_seq_{1};
  std::atomic<int> forced_exit_{-1};
  // Canary probation (MonitorOptions::promote_after_*).
  std::atomic<bool> canary_{false};
  std::atomic<uint64_t> canary_since_ns_{0};
  std::atomic<uint64_t> canary_since_round_{0};
  std::atomic<uint64_t> rounds_{0};
  std::atomic<uint64_t> early_rounds_{0};
  uint64_t start_ns_ = 0;
  // Per-version counters for the health report.
  struct Counters {
    std::atomic<uint64_t> divergences{0};
    std::atomic<uint64_t> crashes{0};
    std::atomic<uint64_t> restarts{0};
  };
  std::vector<Counters> counters_;

  std::mutex mu_;
  std::vector<std::unique_ptr<Group>> groups_;
  std::unordered_map<uint64_t, Group*> task_groups_;
  std::vector<TaskId> roots_;
  std::vector<pid_t> root_pids_;
  std::vector<int> root_status_;     // wait status of each version's first process, -1 if running
  std::vector<bool> dropped_;
  int last_dropped_ = -1;            // the version dropped most recently
  std::vector<int> crash_signal_;    // the signal a dropped version crashed with, 0 if none
  struct DeathSite {
    uint64_t pc = 0;
    int64_t syscall = -1;  // for SIGSYS: the call the program's own filter refused
  };
  std::unordered_map<pid_t, DeathSite> death_sites_;  // by tid, from the exit stop
  std::unordered_set<pid_t> died_alike_;  // found dead by their own filter like their peers
  // Whether every other member of `g` died by its own seccomp filter at the call `site` names
  // (waits up to 200 ms for them).
  bool same_death_everywhere(Group* g, int version, pid_t tid, const DeathSite& site);
  std::vector<uint8_t> original_affinity_;
  Group* take_awaited_exit(TaskId task);
  std::mutex exits_mu_;  // leaf lock
  std::unordered_map<uint64_t, Group*> awaited_exits_;
};

}  // namespace tandem
