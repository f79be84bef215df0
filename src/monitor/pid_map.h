// Virtual process ids.
//
// Every version sees the process ids of the version that led when each process was created
// (hazard 5): getpid, a fork's return value, wait4's result and the pids in siginfo are the
// leader's, so outputs and paths that contain pids agree across versions, and stay stable when
// a follower is promoted. Each version's real ids map to these virtual ids.
//
// Thread-safe (one mutex; lookups are rare: only calls that carry pids).
#pragma once

#include <sys/types.h>

#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <utility>
#include <vector>

namespace tandem {

class PidMap {
 public:
  explicit PidMap(int versions) : to_virtual_(versions), to_real_(versions) {}
  void add(int version, pid_t real, pid_t virtual_pid);
  // Unknown ids (outside the program) map to themselves.
  pid_t to_virtual(int version, pid_t real) const;
  pid_t to_real(int version, pid_t virtual_pid) const;
  // True if `real` is a process of the program (any version).
  bool is_program_pid(pid_t real) const;
  // True if `virtual_pid` is the virtual id of a process of the program.
  bool is_virtual_pid(pid_t virtual_pid) const;

  // Processes restored from a checkpoint (a crashed version's copy). The copy is a clone of a
  // frozen copy, not a child of the process that forked the original: its parent's wait4
  // never reports it, so the parent takes another version's report of that child instead
  // (Group::report_restored_children).
  void mark_restored(int version, pid_t virtual_pid);
  // True once per restored process: the caller reports its end to the parent.
  bool take_restored(int version, pid_t virtual_pid);
  // True while `version` has a restored process whose end was not reported yet.
  bool has_restored(int version) const;
  // The crashed original a restored process replaced (real pid). Once tandem reaped it, the
  // kernel hands its zombie to its parent, whose wait then reports a death the program must
  // not see (the copy carries on): the wait is answered as the restored child's instead.
  void hide(int version, pid_t real);
  // True if `real` is such a crashed original of `version`; forgotten unless `keep` (a wait
  // with WNOWAIT leaves the zombie for the next wait).
  bool take_hidden(int version, pid_t real, bool keep = false);

 private:
  mutable std::mutex mu_;
  std::vector<std::map<pid_t, pid_t>> to_virtual_;
  std::vector<std::map<pid_t, pid_t>> to_real_;
  std::set<std::pair<int, pid_t>> restored_;
  std::set<std::pair<int, pid_t>> hidden_;
};

}  // namespace tandem
