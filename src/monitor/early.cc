// Early execution: the leader makes a query before the followers arrive at it.
//
// In a lockstep rendezvous the leader waits at every call until the followers arrived. They
// arrive late by construction: a follower is resumed only after the leader's exit stop of the
// previous call and the record's handoff, so it reaches the next call some 5 µs after the
// leader, a quarter of a call's cost with two versions (docs/benchmarks.md). A query
// (SyscallInfo::query: the time, a file's metadata, a pid) has no effect that another version,
// another process or a later call could see, so nothing is lost if the leader makes it before
// the followers agreed to it:
//  - the leader arrives at a query while every follower still runs toward its call: it makes
//    the query at once (an early round, its followers `pending`);
//  - each follower, when it arrives, is matched against the leader's call: the same call is
//    served from the record (at once, or when the leader's exit stop makes it), like any
//    follower; another call leaves the round (it stays kArrived): the query was the leader's
//    alone, as a benign extra call would be absorbed, and the follower's call is decided with
//    the leader's next one by the normal path (absorption, merging, divergence);
//  - the leader goes on after its exit stop and waits at its next call until the round ended
//    (no follower pending): at most one round is active, as always.
// Only in the plainest state: no member held, replaying, restored or deferred, no signal to
// deliver (they are delivered at a common call), no checkpoint due (one is taken at a common
// call), no descriptor withheld, every follower running, and a policy that lets the preferred
// version decide alone (not strict, not majority). `tandem run --lockstep` turns it off.
//
// Restart log: the step is logged when the leader's exit stop serves it (the leader's part and
// those of the followers already waiting); a follower served later gets its part added to that
// entry, and a pending follower that dies takes the step as a replayer (its copy replays it,
// since it never got there).
//
// Threading: as the rest of Group (group.h): everything here runs under mu_.
#include <sys/stat.h>
#include <sys/syscall.h>

#include <algorithm>

#include <fmt/format.h>

#include "monitor/group.h"
#include "monitor/group_util.h"
#include "monitor/monitor.h"

namespace tandem {

using namespace detail;

bool Group::is_query(const Member& m) const {
  if (m.call.nr < 0 || m.cls != SyscallClass::kReplicated || m.every_version_runs ||
      !m.signature || !m.own_fd_path.empty())
    return false;
  const SyscallInfo* info = info_of(m.call);
  if (info == nullptr || !info->query) return false;
  if (m.call.nr == SYS_pread64) {
    // Reading a regular file at an offset changes nothing; a device's read may (pipes and
    // sockets fail it with ESPIPE anyway).
    struct stat st {};
    std::string fd = fmt::format("/proc/{}/fd/{}", m.tgid, static_cast<int>(m.call.args[0]));
    if (stat(fd.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  }
  return true;
}

// Whether the next agreed call is where a checkpoint is taken (maybe_checkpoint,
// maybe_checkpoint_process): that needs every member at the call, a normal rendezvous.
bool Group::checkpoint_due() {
  const MonitorOptions& opts = monitor_.options();
  if (opts.checkpoint_interval <= 0) return false;
  auto interval = static_cast<uint64_t>(opts.checkpoint_interval);
  bool next = rounds_since_checkpoint_ + 1 >= interval;
  {
    std::lock_guard lock(process_->mu);
    if (process_->threads != 1)
      return next || process_->checkpoint == nullptr || process_->checkpoint_due ||
             process_->pending_checkpoint != nullptr;
  }
  return next || checkpoint_ == nullptr || checkpoint_->whole_process;
}

bool Group::early_eligible(const std::vector<int>& p, int lead) {
  const MonitorOptions& opts = monitor_.options();
  // Strict stops at any difference and majority lets the versions vote: neither lets the
  // preferred version's call stand for the others before they made theirs.
  if (opts.lockstep || opts.policy == Policy::kStrict || opts.policy == Policy::kMajority)
    return false;
  if (p.size() < 2 || restarting_ || round_.interrupted_code != 0) return false;
  const Member& e = *members_[lead];
  if (e.state != Member::State::kArrived || e.repeating || e.write_consumed != 0) return false;
  const SyscallInfo* info = info_of(e.call);
  if (info == nullptr || !info->query) return false;  // the cheap test first
  for (const auto& m : members_) {
    if (!m) continue;
    if (m->awaiting_restore || m->mt_restored) return false;
    if (m->state == Member::State::kGone) continue;
    // Held, replaying, or its version leaving: not a participant.
    if (!contains(p, m->version)) return false;
    if (m->replaying || m->rejoin_deferred || m->redo_in_round || m->local_call ||
        m->replay_own || !m->withheld_fds.empty())
      return false;
    // A follower that arrived already: the normal decision is as fast.
    if (m->version != lead && (m->state != Member::State::kRunning || m->repeating))
      return false;
  }
  {
    std::lock_guard lock(process_->mu);
    // Signals are delivered at a call every member makes (deliver_signals).
    if (!process_->signals.empty() || process_->restoring > 0) return false;
  }
  return !checkpoint_due() && is_query(e);
}

bool Group::start_early_round(Task* current, const std::vector<int>& p) {
  if (round_.active || p.empty()) return false;
  int lead = preferred_among(p);
  if (!early_eligible(p, lead)) return false;
  Member& e = *members_[lead];
  // What the followers are matched against (calls_equal reads no more than this).
  auto query = std::make_shared<Member>();
  query->version = e.version;
  query->tid = e.tid;
  query->tgid = e.tgid;
  query->call = e.call;
  query->cls = e.cls;
  query->signature = e.signature;
  query->path = e.path;
  query->canonical_path = e.canonical_path;
  query->own_fd_path = e.own_fd_path;
  query->own_proc_path = e.own_proc_path;
  std::vector<int> pending;
  for (int v : p) {
    if (v != lead) pending.push_back(v);
  }
  // As decide() for an agreed replicated call (maybe_checkpoint counts it; none is due).
  if (monitor_.options().checkpoint_interval > 0) ++rounds_since_checkpoint_;
  e.consecutive_divergences = 0;
  e.rejoined_without_steps = false;
  monitor_.note_round();
  monitor_.note_early_round();
  if (log_level() >= LogLevel::kDebug) TANDEM_LOG(kDebug, "group {}: {} (early)", id_, decode(e));
  round_ = Round{};
  round_.active = true;
  round_.seq = monitor_.next_round_seq();
  round_.cls = e.cls;
  round_.executor = lead;
  round_.participants = {lead};
  round_.early = true;
  round_.pending = std::move(pending);
  round_.query = std::move(query);
  e.state = Member::State::kExecuting;
  e.at_exit = false;
  run_own_call(current, e, /*report_exit=*/true);
  return true;
}

void Group::early_arrival(Task& task, Member& m) {
  int v = m.version;
  round_.pending.erase(std::remove(round_.pending.begin(), round_.pending.end(), v),
                       round_.pending.end());
  if (round_.query && calls_equal(m, *round_.query)) {
    m.consecutive_divergences = 0;
    m.rejoined_without_steps = false;
    m.content_divergent = false;
    if (round_.record) {
      serve_early_follower(&task, m);
    } else {
      // The leader is inside the query: served at its exit stop (serve_round).
      m.state = Member::State::kWaiting;
      round_.participants.push_back(v);
    }
  } else {
    // Another call: the query was the leader's alone (it changed nothing this version could
    // miss). This call waits for the leader's next one, decided the normal way.
    m.state = Member::State::kArrived;
    if (!round_.absorbed_reported) {
      round_.absorbed_reported = true;
      monitor_.events().emit("absorbed", {{"version", round_.executor + 1},
                                          {"call", decode(*round_.query)},
                                          {"early", true}});
    }
  }
  if (end_early_round_if_done()) try_decide(&task);
}

void Group::serve_early_follower(Task* current, Member& f) {
  std::shared_ptr<const SyscallRecord> record = round_.record;
  int64_t result = record->result;
  f.state = Member::State::kRunning;
  if (LogEntry* entry = early_log_entry()) {
    entry->parts[f.version] = served_part(f, round_.from_socket, /*on_socket=*/false, result);
    std::lock_guard lock(process_->mu);
    process_->steps[f.version]++;
  }
  // A query: no descriptor to install, no epoll cookies, no SIGPIPE (serve_round's cases).
  SyscallCall call = f.call;
  act(current, f, [record, call, result](Task& t) {
    complete_from_record(t, *record, call, result, /*apply=*/true, record->outputs);
    finish_call(t, result);
  });
}

bool Group::end_early_round_if_done() {
  if (!round_.active || !round_.early || !round_.pending.empty() || !round_.record) return false;
  round_ = Round{};
  return true;
}

void Group::early_member_gone(int version) {
  round_.pending.erase(std::remove(round_.pending.begin(), round_.pending.end(), version),
                       round_.pending.end());
  // It never got to the query: its copy (restarted, or restored with its process) replays it
  // as a follower would have taken it. (Not logged yet: log_append marks the copy then.)
  if (LogEntry* entry = early_log_entry();
      entry != nullptr && static_cast<size_t>(version) < entry->replayers.size())
    entry->replayers[version] = true;
}

LogEntry* Group::early_log_entry() {
  if (!round_.log_at || checkpoint_ == nullptr) return nullptr;
  uint64_t at = *round_.log_at;
  // The log may have been cut or abandoned since (a checkpoint of the whole process).
  if (at < log_base_ || at >= log_base_ + log_.size()) return nullptr;
  return &log_[at - log_base_];
}

uint64_t Group::log_position(const Member& m) const {
  if (m.replaying) return m.cursor;
  // On its way to the leader's early query: that step is not its yet.
  if (round_.active && round_.early && round_.log_at && contains(round_.pending, m.version) &&
      *round_.log_at >= log_base_ && *round_.log_at < log_base_ + log_.size())
    return *round_.log_at;
  return log_base_ + log_.size();
}

}  // namespace tandem
