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

namespace {

// Reads and writes on a descriptor: the calls of an early round with an effect. Not those
// that make descriptors (recvmsg may receive some) or take epoll cookies.
bool early_effect_nr(int nr) {
  switch (nr) {
    case SYS_read:
    case SYS_readv:
    case SYS_pread64:
    case SYS_preadv:
    case SYS_preadv2:
    case SYS_recvfrom:
    case SYS_write:
    case SYS_writev:
    case SYS_pwrite64:
    case SYS_pwritev:
    case SYS_pwritev2:
    case SYS_sendto:
      return true;
    default:
      return false;
  }
}

// Writes whose loser is told its own length (serve_round).
bool told_own_length(int nr) {
  return nr == SYS_write || nr == SYS_writev || nr == SYS_sendto || nr == SYS_pwrite64;
}

}  // namespace

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

bool Group::early_eligible(const std::vector<int>& p, int lead, bool& effect) {
  const MonitorOptions& opts = monitor_.options();
  // Strict stops at any difference and majority lets the versions vote: neither lets the
  // preferred version's call stand for the others before they made theirs.
  if (opts.lockstep || opts.policy == Policy::kStrict || opts.policy == Policy::kMajority)
    return false;
  if (p.size() < 2 || restarting_ || round_.interrupted_code != 0) return false;
  const Member& e = *members_[lead];
  if (e.state != Member::State::kArrived || e.repeating || e.write_consumed != 0) return false;
  const SyscallInfo* info = info_of(e.call);
  // The cheap test first. pread64 of a regular file is a query, of anything else an effect:
  // taken as an effect, its mismatches are decided as a rendezvous decides them, which needs
  // no look at the descriptor.
  bool effect_nr = early_effect_nr(e.call.nr);
  if (info == nullptr || !(info->query || effect_nr)) return false;
  bool any_rx = false;
  for (const auto& m : members_) {
    if (!m) continue;
    any_rx |= m->rx_diverged;
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
  if (checkpoint_due()) return false;
  if (effect_nr) {
    // Rx: which of the leader's calls a version whose input was withheld takes part in is
    // decided in try_decide, at a rendezvous.
    effect = true;
    if (any_rx || !is_early_effect(e)) return false;
    // A divergence would follow the favoured version (Group::favoured: the policy's
    // preferred one, not a copy that just rejoined): only its call may stand before the
    // others made theirs (not a leader chosen with --leader).
    return favoured(p) == lead;
  }
  effect = false;
  return is_query(e);
}

bool Group::is_early_effect(const Member& m) const {
  return m.call.nr >= 0 && early_effect_nr(m.call.nr) && m.cls == SyscallClass::kReplicated &&
         !m.every_version_runs && m.signature && m.own_fd_path.empty();
}

bool Group::start_early_round(Task* current, const std::vector<int>& p) {
  if (round_.active || p.empty()) return false;
  int lead = preferred_among(p);
  bool effect = false;
  if (!early_eligible(p, lead, effect)) return false;
  Member& e = *members_[lead];
  std::vector<uint8_t> bytes;
  if (effect && e.call.nr == SYS_writev) {
    // A follower may cut it into other writes (early_mismatch): its bytes as it wrote them.
    // (A plain write's are in its signature.)
    if (auto data = write_data(e)) bytes = std::move(*data);
  }
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
  query->read_only_open = e.read_only_open;
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
  round_.effect = effect;
  round_.bytes = std::move(bytes);
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
  if (round_.query && round_.consumed == 0 && calls_equal(m, *round_.query)) {
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
  } else if (round_.effect) {
    early_mismatch(&task, m);
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

void Group::serve_early_follower(Task* current, Member& f, bool loser) {
  std::shared_ptr<const SyscallRecord> record = round_.record;
  int64_t result = record->result;
  f.state = Member::State::kRunning;
  f.content_divergent = loser;
  if (loser && result >= 0 && told_own_length(f.call.nr)) {
    // Its own write "succeeded" as the executor's did: it is told its own length (serve_round).
    auto asked = write_data(f);
    auto winner = early_write_bytes();
    if (asked && winner && static_cast<size_t>(result) == winner->size())
      result = static_cast<int64_t>(asked->size());
  }
  if (LogEntry* entry = early_log_entry()) {
    LogEntry::Part part = served_part(f, round_.from_socket, round_.on_socket, result);
    part.apply = !loser || f.call.nr == record->call.nr;
    entry->parts[f.version] = std::move(part);
    std::lock_guard lock(process_->mu);
    process_->steps[f.version]++;
  }
  // Neither a query nor a read or a write makes a descriptor or waits for epoll events
  // (serve_round's other cases). A write may raise SIGPIPE.
  SyscallCall call = f.call;
  bool apply = !loser || f.call.nr == record->call.nr;
  pid_t vpid = monitor_.pids().to_virtual(f.version, f.tgid);
  act(current, f, [record, call, result, apply, vpid](Task& t) {
    complete_from_record(t, *record, call, result, apply, record->outputs);
    if (auto si = sigpipe_for(call, result, t.tid(), vpid)) t.send_signal(SIGPIPE, &*si);
    finish_call(t, result);
  });
}

// The bytes of the executor's write (a plain write's from its signature: the executor has gone
// on and may have reused its buffer), or nothing.
std::optional<std::vector<uint8_t>> Group::early_write_bytes() const {
  const Member& q = *round_.query;
  if (q.call.nr == SYS_writev) {
    if (round_.bytes.empty() && q.call.args[2] != 0) return std::nullopt;
    return round_.bytes;
  }
  if (q.call.nr != SYS_write && q.call.nr != SYS_sendto && q.call.nr != SYS_pwrite64)
    return std::nullopt;
  // Argument 1 is signed as a tag, a 64-bit length and the bytes (SigWriter::bytes).
  for (const auto& field : q.signature->fields) {
    if (field.arg != 1) continue;
    if (field.length < 9 || q.signature->bytes[field.offset] == 0) return std::nullopt;
    auto begin = q.signature->bytes.begin() + field.offset + 9;
    return std::vector<uint8_t>(begin, begin + (field.length - 9));
  }
  return std::nullopt;
}

// A rendezvous would have decided `f`'s call against the executor's before either ran:
// decide() in the same order, the executor's call standing (early_eligible: the policy lets
// the preferred version, the executor, decide alone).
void Group::early_mismatch(Task* current, Member& f) {
  const Member& q = *round_.query;
  int v = f.version;
  auto absorbable = [&](const Member& m) {
    if (m.call.nr == kPseudoRdtsc) return true;
    return monitor_.rules().absorbable(m.call, m.path, m.read_only_open);
  };
  if (absorbable(f)) {
    // Its extra call runs for it alone; it comes back to the executor's call.
    monitor_.events().emit("absorbed", {{"version", v + 1}, {"call", decode(f)}});
    round_.pending.push_back(v);
    run_local(current, f, true);
    return;
  }
  if (round_.consumed == 0 && absorbable(q)) {
    // The executor's call was the extra one: its alone (as a query is).
    f.state = Member::State::kArrived;
    if (!round_.absorbed_reported) {
      round_.absorbed_reported = true;
      monitor_.events().emit("absorbed",
                             {{"version", round_.executor + 1}, {"call", decode(q)}, {"early", true}});
    }
    return;
  }
  if (!round_.record) {
    // Merging and the loser's result need the executor's: decided at its exit stop.
    f.state = Member::State::kWaiting;
    round_.unmatched.push_back(v);
    return;
  }
  const SyscallRecord& record = *round_.record;
  // The same bytes cut into other writes (merge_writes): the follower's write takes its part
  // of the executor's.
  bool writes = (q.call.nr == SYS_write || q.call.nr == SYS_writev) &&
                (f.call.nr == SYS_write || f.call.nr == SYS_writev) &&
                f.call.args[0] == q.call.args[0] && record.result > 0;
  if (writes) {
    auto mine = write_data(f);
    auto theirs = early_write_bytes();
    if (mine && theirs && f.write_consumed <= mine->size() &&
        static_cast<uint64_t>(record.result) <= theirs->size()) {
      size_t rest = mine->size() - f.write_consumed;
      size_t left = static_cast<size_t>(record.result) - round_.consumed;
      size_t common = std::min(rest, left);
      if (common > 0 && std::equal(mine->begin() + static_cast<long>(f.write_consumed),
                                   mine->begin() + static_cast<long>(f.write_consumed + common),
                                   theirs->begin() + static_cast<long>(round_.consumed))) {
        if (checkpoint_ != nullptr) invalidate_checkpoint("writes merged across versions");
        TANDEM_LOG(kDebug, "group {}: version {}'s {} takes {} bytes of the early write", id_,
                   v + 1, decode(f), common);
        round_.consumed += common;
        f.write_consumed += common;
        f.consecutive_divergences = 0;
        if (f.write_consumed < mine->size()) {
          // The executor's write is all taken: the rest of this one waits for its next call.
          f.write_total = mine->size();
          f.state = Member::State::kArrived;
          return;
        }
        int64_t total = static_cast<int64_t>(mine->size());
        f.write_consumed = 0;
        f.state = Member::State::kRunning;
        // More of the executor's write to take: its next write comes back to this round.
        if (round_.consumed < static_cast<uint64_t>(record.result)) round_.pending.push_back(v);
        act(current, f, [total](Task& t) { t.skip_call(total); });
        return;
      }
    }
  }
  // A divergence, which the executor's call wins (Group::divergence).
  Policy policy = monitor_.options().policy;
  monitor_.note_divergence({round_.executor, v});
  nlohmann::json sides = nlohmann::json::array();
  sides.push_back({{"versions", {round_.executor + 1}}, {"call", decode(q)}});
  sides.push_back({{"versions", {v + 1}}, {"call", decode(f)}});
  bool same_kind = round_.consumed == 0 && f.call.nr == q.call.nr && f.cls == q.cls &&
                   fd_argument(f.call) == fd_argument(q.call);
  std::string resolution;
  if (++f.consecutive_divergences > monitor_.options().reconverge_bound) {
    resolution = "dropped: diverged too often in a row";
    defer_drop(v, fmt::format("diverged {} times in a row", f.consecutive_divergences));
    f.state = Member::State::kHeld;  // not a participant of the next call meanwhile
  } else if (same_kind) {
    resolution = "follows the winner's result";
  } else {
    resolution = "held until it reconverges";
  }
  monitor_.events().emit(
      "divergence",
      {{"group", id_},
       {"sides", sides},
       {"policy", to_string(policy)},
       {"winner", round_.executor + 1},
       {"version", v + 1},
       {"winner_call", decode(q)},
       {"call", decode(f)},
       {"difference", describe_difference(q, f)},
       {"resolution", resolution},
       {"early", true}},
      fmt::format("divergence: {} made {}, {} made {}; {} wins ({}), {} {}",
                  monitor_.version_name(round_.executor), decode(q), monitor_.version_name(v),
                  decode(f), monitor_.version_name(round_.executor), to_string(policy),
                  monitor_.version_name(v), resolution));
  if (resolution == "follows the winner's result") {
    serve_early_follower(current, f, /*loser=*/true);
  } else if (resolution == "held until it reconverges") {
    f.state = Member::State::kHeld;
    f.held_rounds = 0;
    f.held_since_ns = monotonic_ns();
  }
}

void Group::early_decide_unmatched(Task* current) {
  std::vector<int> unmatched = std::move(round_.unmatched);
  round_.unmatched.clear();
  for (int v : unmatched) {
    if (!members_[v] || members_[v]->state != Member::State::kWaiting) continue;
    early_mismatch(current, *members_[v]);
  }
}

bool Group::end_early_round_if_done() {
  if (!round_.active || !round_.early || !round_.pending.empty() || !round_.unmatched.empty() ||
      !round_.record)
    return false;
  round_ = Round{};
  return true;
}

void Group::early_member_gone(int version) {
  round_.pending.erase(std::remove(round_.pending.begin(), round_.pending.end(), version),
                       round_.pending.end());
  round_.unmatched.erase(std::remove(round_.unmatched.begin(), round_.unmatched.end(), version),
                         round_.unmatched.end());
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
  if (round_.active && round_.early && round_.log_at &&
      (contains(round_.pending, m.version) || contains(round_.unmatched, m.version)) &&
      *round_.log_at >= log_base_ && *round_.log_at < log_base_ + log_.size())
    return *round_.log_at;
  return log_base_ + log_.size();
}

}  // namespace tandem
