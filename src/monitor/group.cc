// The rendezvous of a group: arrival and decision. See group.h for the threading model.
#include "monitor/group.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <optional>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "base/proc_thread.h"
#include "base/scoped_fd.h"
#include "base/tsc.h"
#include "monitor/group_util.h"
#include "monitor/monitor.h"
#include "syscalls/families/epoll.h"

namespace tandem {

using namespace detail;

Group::Group(Monitor& monitor, uint64_t id, int versions, std::shared_ptr<Process> process)
    : monitor_(monitor), id_(id), members_(versions), process_(std::move(process)) {
  std::lock_guard lock(process_->mu);
  process_->threads++;
}

// Every participant of an agreed epoll_ctl: remember the cookie it registers.
void Group::record_epoll_ctl(const std::vector<int>& p) {
  for (int v : p) {
    const Member& m = *members_[v];
    RemoteMemory mem(m.tid);
    auto ev = epoll_ctl_event(m.call, mem);
    int epfd = static_cast<int>(m.call.args[0]);
    int fd = static_cast<int>(m.call.args[2]);
    if (!ev) continue;  // EFAULT: the kernel fails the call too
    std::lock_guard lock(process_->mu);
    process_->epoll[v].set(epfd, fd, *ev ? std::optional<uint64_t>((*ev)->cookie) : std::nullopt);
  }
}

// The executor's epoll_wait outputs with the follower's own cookies; nullopt when not an
// epoll_wait or when a cookie cannot be translated (then the follower gets them unchanged).
std::optional<Outputs> Group::follower_epoll_outputs(const SyscallRecord& record, int executor,
                                                     int follower, const std::set<int>& withheld,
                                                     int64_t* count,
                                                     const std::vector<int>* event_fds) {
  int nr = record.call.nr;
  if (nr != SYS_epoll_wait && nr != SYS_epoll_pwait && nr != SYS_epoll_pwait2) return std::nullopt;
  int epfd = static_cast<int>(record.call.args[0]);
  Outputs o = record.outputs;
  std::lock_guard lock(process_->mu);
  auto& own_reg = process_->epoll[follower];
  // The executor's descriptor of each ready event: as logged with the step (a replaying
  // version takes it later, when the executor may have registered that cookie for another
  // descriptor), or from its registrations now.
  std::vector<int> fds;
  if (event_fds != nullptr) {
    fds = *event_fds;
  } else {
    fds = epoll_event_fds_locked(record, executor);
  }
  if (!withheld.empty()) {
    // Events of descriptors withheld from this follower (after a restart) are not its own.
    for (auto& blob : o.blobs) {
      if (blob.arg != 1 || blob.part != 0) continue;
      std::vector<uint8_t> kept;
      std::vector<int> kept_fds;
      constexpr size_t kEvent = 12;  // struct epoll_event is packed on x86-64
      size_t k = 0;
      for (size_t off = 0; off + kEvent <= blob.bytes.size(); off += kEvent, ++k) {
        int fd = k < fds.size() ? fds[k] : -1;
        if (fd >= 0 && withheld.count(fd) != 0) continue;
        kept.insert(kept.end(), blob.bytes.begin() + static_cast<long>(off),
                    blob.bytes.begin() + static_cast<long>(off + kEvent));
        kept_fds.push_back(fd);
      }
      if (count != nullptr) *count = static_cast<int64_t>(kept.size() / kEvent);
      blob.bytes = std::move(kept);
      fds = std::move(kept_fds);
    }
  }
  size_t k = 0;
  auto ok = translate_epoll_cookies(o, [&](uint64_t) -> std::optional<uint64_t> {
    int fd = k < fds.size() ? fds[k] : -1;
    ++k;
    if (fd < 0) return std::nullopt;
    auto own = own_reg.cookie.find({epfd, fd});
    if (own == own_reg.cookie.end()) return std::nullopt;
    return own->second;
  });
  if (!ok) {
    TANDEM_LOG(kWarn, "group {}: version {} has no registration for a ready epoll event "
               "(epoll {}, the executor's descriptors {})", id_, follower + 1, epfd,
               fmt::join(fds, ","));
    return std::nullopt;
  }
  return o;
}

std::vector<int> Group::epoll_event_fds_locked(const SyscallRecord& record, int executor) {
  int epfd = static_cast<int>(record.call.args[0]);
  auto& lead = process_->epoll[executor];
  std::vector<int> fds;
  for (const EpollReady& e : epoll_ready_events(record.outputs)) {
    auto fd = lead.fd_of_cookie.find({epfd, e.cookie});
    fds.push_back(fd == lead.fd_of_cookie.end() ? -1 : fd->second);
  }
  return fds;
}

const char* to_string(Member::State s) {
  switch (s) {
    case Member::State::kRunning: return "running";
    case Member::State::kArrived: return "arrived";
    case Member::State::kExecuting: return "executing";
    case Member::State::kWaiting: return "waiting";
    case Member::State::kHeld: return "held";
    case Member::State::kGone: return "gone";
  }
  return "?";
}

std::string Group::describe() {
  std::unique_lock lock(mu_, std::defer_lock);
  for (int i = 0; i < 100 && !lock.try_lock(); ++i) usleep(1000);
  if (!lock.owns_lock()) return fmt::format("group {}: busy (its lock is held)\n", id_);
  std::string out = fmt::format("group {}: log {}..{}", id_, log_base_, log_base_ + log_.size());
  if (round_.active) {
    out += fmt::format(", round {} executor {} {}", round_.seq, round_.executor + 1,
                       round_.decoded.empty() ? to_string(round_.cls) : round_.decoded);
    if (round_.early) out += fmt::format(" (early, {} pending)", round_.pending.size());
  }
  out += "\n";
  for (const auto& m : members_) {
    if (!m) continue;
    const SyscallInfo* info = syscall_info(static_cast<int>(m->call.nr));
    out += fmt::format("  version {} tid {}: {}", m->version + 1, m->tid,
                       to_string(m->state));
    if (m->state != Member::State::kRunning && m->state != Member::State::kGone)
      out += fmt::format(" at {}", info != nullptr ? info->name : "?");
    out += fmt::format(", {} calls", m->calls);
    if (m->replaying) out += fmt::format(", replaying at {}", m->cursor);
    if (m->held_in_replay) out += ", parked by the replay";
    if (m->rejoin_deferred) out += ", rejoin deferred";
    out += "\n";
  }
  return out;
}

void Group::add_member(int version, TaskId task, pid_t tid, pid_t tgid) {
  std::lock_guard lock(mu_);
  Member m;
  m.version = version;
  m.task = task;
  m.tid = tid;
  m.tgid = tgid;
  members_[version] = std::move(m);
}

bool Group::empty() const {
  std::lock_guard lock(mu_);
  for (auto& m : members_) {
    if (m && m->state != Member::State::kGone) return false;
  }
  return true;
}

std::vector<int> Group::participants() const {
  std::vector<int> p;
  for (auto& m : members_) {
    if (m && m->state != Member::State::kGone && m->state != Member::State::kHeld &&
        !m->replaying && monitor_.alive(m->version))
      p.push_back(m->version);
  }
  return p;
}

int Group::preferred_among(const std::vector<int>& versions) const {
  int holder = process_->posix_lock_holder.load();
  if (holder >= 0 && contains(versions, holder)) return holder;
  int leader = monitor_.leader();
  if (contains(versions, leader)) return leader;
  return favoured(versions);
}

void Group::note_posix_locks(Task& task, const Member& executor, int64_t result) {
  const SyscallCall& c = executor.call;
  bool set_lock = c.nr == SYS_fcntl && (c.args[1] == F_SETLK || c.args[1] == F_SETLKW);
  if (result < 0 || (!set_lock && c.nr != SYS_close)) return;
  int fd = static_cast<int>(c.args[0]);
  bool unlock = c.nr == SYS_close;
  if (set_lock) {
    auto type = task.memory().read_value(remote_ptr<short>(c.args[2]));
    if (!type) return;
    unlock = *type == F_UNLCK;
  }
  std::lock_guard lock(process_->mu);
  int holder = process_->posix_lock_holder.load();
  auto& fds = process_->posix_locked_fds;
  if (unlock) {
    // A close of any descriptor of the file releases the process's locks on it; an unlock is
    // taken as covering the whole file (vsftpd's, and the usual whole-file lock).
    if (holder == executor.version) fds.erase(fd);
  } else if (holder < 0 || holder == executor.version) {
    holder = executor.version;
    fds.insert(fd);
  }
  process_->posix_lock_holder.store(fds.empty() ? -1 : holder);
}

int Group::favoured(const std::vector<int>& versions) const {
  auto rank = [&](int v) {
    if (rx_diverged(v)) return 2;
    const auto& m = members_[v];
    return m && m->state != Member::State::kGone && m->calls < m->probation_until ? 1 : 0;
  };
  for (int r = 0; r <= 2; ++r) {
    for (int v : monitor_.preference_order()) {
      if (contains(versions, v) && rank(v) == r) return v;
    }
  }
  return versions.empty() ? -1 : versions.front();
}

bool Group::rx_diverged(int v) const {
  return members_[v] && members_[v]->state != Member::State::kGone && members_[v]->rx_diverged;
}

std::string Group::decode(const Member& m) const {
  if (m.call.nr == kPseudoRdtsc) return "rdtsc";
  RemoteMemory mem(m.tid);
  return format_call(m.call, &mem);
}

bool Group::calls_equal(const Member& a, const Member& b) const {
  if (a.call.nr != b.call.nr) return false;
  if (a.call.nr == kPseudoRdtsc) return true;
  if (!a.signature || !b.signature) return false;
  // Calls on each version's own /proc file: the same file, whatever number it has.
  bool own_fds = !a.own_fd_path.empty() || !b.own_fd_path.empty();
  if (own_fds && a.own_fd_path != b.own_fd_path) return false;
  bool proc_paths = !a.canonical_path.empty() || !b.canonical_path.empty();
  if (proc_paths) {
    const std::string& pa = a.canonical_path.empty() ? a.path : a.canonical_path;
    const std::string& pb = b.canonical_path.empty() ? b.path : b.canonical_path;
    if (pa != pb) return false;
  }
  if (!monitor_.rules().has_ignored_args(a.call.nr) && !proc_paths && !own_fds)
    return *a.signature == *b.signature;
  // Compare field by field, skipping the arguments the rules say to ignore.
  const Signature& x = *a.signature;
  const Signature& y = *b.signature;
  if (x.fields.size() != y.fields.size()) return false;
  for (size_t i = 0; i < x.fields.size(); ++i) {
    const auto& fx = x.fields[i];
    const auto& fy = y.fields[i];
    if (fx.arg != fy.arg) return false;
    if (monitor_.rules().ignored_arg(a.call.nr, fx.arg)) continue;
    // A /proc path was compared above in canonical form, an own file by its path.
    if (proc_paths && info_of(a.call) != nullptr &&
        info_of(a.call)->args[fx.arg].kind == ArgKind::kPath)
      continue;
    if (own_fds && fx.arg == 0) continue;
    if (fx.length != fy.length ||
        !std::equal(x.bytes.begin() + fx.offset, x.bytes.begin() + fx.offset + fx.length,
                    y.bytes.begin() + fy.offset))
      return false;
  }
  return true;
}


std::vector<Group::Progress> Group::other_member_progress(int version) const {
  std::lock_guard lock(mu_);
  std::vector<Progress> out;
  for (const auto& m : members_) {
    if (m && m->version != version && m->state != Member::State::kGone &&
        m->state != Member::State::kHeld && !m->replaying)
      out.push_back({m->tid, m->calls, m->call.nr});
  }
  return out;
}

void Group::watchdog(uint64_t now_ns, uint64_t limit_ns) {
  // A restored copy whose threads wait for their turn behind a sibling that stands still
  // (Process::release_stalled_replay): they replay out of order (a failed replay drops the
  // copy with an event) rather than wait for it until the program ends (redis, 1 trial in
  // 50: the copy rejoined after the leader had exited).
  size_t versions = 0;
  {
    std::lock_guard lock(mu_);
    versions = members_.size();
  }
  for (size_t v = 0; v < versions; ++v) {
    std::vector<std::pair<Group*, TaskId>> turns;
    {
      std::lock_guard plock(process_->mu);
      turns = process_->release_stalled_replay(static_cast<int>(v), now_ns);
    }
    if (turns.empty()) continue;
    monitor_.events().emit("replay-order-released",
                           {{"version", v + 1}, {"threads", turns.size()}},
                           fmt::format("{}: its restored threads replay out of order (a thread "
                                       "with an earlier step stood still)",
                                       monitor_.version_name(static_cast<int>(v))));
    for (auto& [g, id] : turns) {
      monitor_.backend().post(id, [g = g, v = static_cast<int>(v)](Task& t) {
        g->resume_replay(t, v);
      });
    }
  }
  struct Hung {
    int version;
    pid_t tgid;
    double cpu_seconds;
  };
  std::vector<Hung> hung;
  {
    std::lock_guard lock(mu_);
    // An endless loop: a version that keeps computing without reaching its next call while
    // the others wait at theirs (or while it replays the log). Measured in CPU time, not wall
    // time, so that a version starved of its CPU or sleeping in a call tandem lets run
    // natively is not taken for hung.
    double hang = monitor_.options().hang_cpu_seconds;
    bool someone_waits = false;
    for (auto& m : members_) {
      if (m && m->state == Member::State::kArrived && !m->replaying) someone_waits = true;
    }
    static const long ticks_per_second = sysconf(_SC_CLK_TCK);
    for (auto& m : members_) {
      if (!m || m->state == Member::State::kGone) continue;
      // A copy replaying the log has the log's next step to reach, whoever waits.
      bool awaited = someone_waits || m->replaying;
      if (hang <= 0 || !awaited || m->state != Member::State::kRunning) {
        m->lag_tracked = false;
        continue;
      }
      auto cpu = thread_cpu_ticks(m->tid);
      if (!cpu) continue;
      // (A thread restored from a checkpoint is a new thread: its CPU time starts again.)
      if (!m->lag_tracked || m->lag_calls != m->calls || m->lag_tid != m->tid ||
          *cpu < m->lag_cpu_start) {
        m->lag_tid = m->tid;
        m->lag_tracked = true;
        m->lag_calls = m->calls;
        m->lag_cpu_start = *cpu;
        continue;
      }
      double used = static_cast<double>(*cpu - m->lag_cpu_start) / ticks_per_second;
      if (used >= hang) {
        hung.push_back({m->version, m->tgid, used});
        m->lag_tracked = false;
      }
    }
    // A thread held at a stop we took (parked for its replay turn, waiting for its copy's
    // main thread to let it go) whose process was killed stays at that stop with the kill
    // pending, and the kernel reports the process's main thread's death only once it is gone:
    // tandem waited for it at its end, and the version was never dropped (a restored copy of
    // mt_timed killed while its threads replayed). Resumed, it dies, and its death is
    // reported (the version is restarted or dropped then).
    for (auto& m : members_) {
      if (!m || m->state == Member::State::kGone || !sigkill_pending(m->tid)) continue;
      TANDEM_LOG(kDebug, "group {}: thread {} of version {} has a kill pending at a stop: "
                 "resumed into its death", id_, m->tid, m->version + 1);
      monitor_.backend().post(m->task, [](Task& t) { t.kill_process(); });
    }
    // A restored thread that runs on after its last logged step, which could not rejoin then
    // (its group was inside a call whose step turned out not to be its, say): again.
    for (auto& m : members_) {
      if (m && m->replaying && m->state == Member::State::kRunning &&
          (m->mt_restored || m->mt_caught_up))
        (void)rejoin_running(*m);
    }
    for (auto& m : members_) {
      if (m && m->state == Member::State::kHeld && elapsed_ns(m->held_since_ns, now_ns) > limit_ns)
        defer_drop(m->version, fmt::format("did not reconverge within {} s",
                                           static_cast<double>(limit_ns) / 1e9));
    }
    // A signal every version now has (the last copies are pending in the kernels of versions
    // stopped at their call) waits for the next call; a version blocked in the call it executes
    // for the others would make it wait for that call's end (an accept, a read of a pipe
    // nobody writes): it is interrupted once, makes its call again, and the signal is
    // delivered at it.
    if (SignalsDue due = internal_signals_due(now_ns, limit_ns); due.any) {
      if (!round_.active) {
        try_decide(nullptr);
      } else if (due.newly_kicked && (round_.cls != SyscallClass::kEveryone || round_.ordered) &&
                 round_.executor >= 0 && members_[round_.executor] && !round_.dying &&
                 !round_.record) {
        // (An early round with its record: its executor has gone on, and its call is done.)
        // Only the executor of the round: in a round where every version runs its own call
        // (clone, close), interrupting some of them would make them make it again after the
        // others went on (vsftpd's fork).
        const Member& e = *members_[round_.executor];
        if (e.state == Member::State::kExecuting && !e.at_exit)
          monitor_.backend().post(e.task, [](Task& t) { t.interrupt(); });
      }
    }
  }
  for (const Hung& h : hung) {
    // Killed like a crash (SIGKILL): restarted from its checkpoint, or dropped.
    monitor_.events().emit("hang",
                           {{"version", h.version + 1},
                            {"group", id_},
                            {"pid", h.tgid},
                            {"cpu_seconds", h.cpu_seconds}},
                           fmt::format("{} hung: {:.1f} s of CPU without reaching its next "
                                       "call; killed",
                                       monitor_.version_name(h.version), h.cpu_seconds));
    if (h.tgid > 0) ::kill(h.tgid, SIGKILL);  // never 0 or -1: tandem's own group, everyone
  }
  flush_drops();
}

bool Group::process_ordering() const {
  std::lock_guard lock(process_->mu);
  return process_->ordering();
}

void Group::in_fd_order(Member& m, uint64_t seq, std::function<void(Task&)> fn) {
  TaskId task = m.task;
  std::lock_guard lock(process_->mu);
  // Only posts: `start` may run under the process lock (Process::applied).
  process_->when_turn(m.version, seq, [this, task, fn = std::move(fn)] {
    monitor_.backend().post(task, fn);
  });
}

void Group::act(Task* current, const Member& m, std::function<void(Task&)> fn) {
  if (current != nullptr && current->id() == m.task && !post_current_) {
    fn(*current);
  } else {
    monitor_.backend().post(m.task, std::move(fn));
  }
}

SyscallCall Group::to_real_pids(const Member& m) const {
  SyscallCall c = m.call;
  const SyscallInfo* info = info_of(c);
  if (info == nullptr) return c;
  for (int i = 0; i < info->nargs; ++i) {
    if (info->args[i].kind != ArgKind::kPid) continue;
    auto pid = static_cast<pid_t>(static_cast<int32_t>(c.args[i]));
    if (pid > 0) c.args[i] = static_cast<uint64_t>(monitor_.pids().to_real(m.version, pid));
  }
  return c;
}

void Group::flush_drops() {
  // Nothing deferred, the common case: the lock is not taken again after every stop.
  if (!flush_pending_.exchange(false, std::memory_order_acq_rel)) return;
  std::vector<Drop> drops;
  {
    std::lock_guard lock(mu_);
    drops.swap(drops_);
  }
  for (auto& d : drops) monitor_.drop_version(d.version, d.reason, "divergence");
  std::vector<ChildPair> pairs;
  std::vector<std::pair<Group*, int>> rejoins;
  {
    std::lock_guard lock(mu_);
    pairs.swap(ready_children_);
    rejoins.swap(rejoins_);
  }
  if (!pairs.empty()) create_child_groups(std::move(pairs));
  for (auto [g, v] : rejoins) g->rejoin_running_if_done(v);
}

// ---------------------------------------------------------------------------------------------
// Arrival

void Group::on_syscall_entry(Task& task, int version) {
  // Read what the call means before taking the lock: memory reads of a stopped task are safe
  // from this thread and take most of the time.
  SyscallCall call;
  Classification verdict;
  verdict.cls = SyscallClass::kEmulated;
  std::optional<Signature> signature;
  std::string path;
  bool read_only_open = false;
  struct {
    std::string canonical;
    bool own = false;
  } proc;
  if (task.stop() == StopPoint::kRdtsc) {
    call.nr = kPseudoRdtsc;
  } else {
    call = task.call();
    verdict = classify(call, &task.memory());
    // Ids the version holds as its own real ids (a thread's tid, which glibc learns from
    // set_tid_address) compare as the virtual ids the leader's version would hold.
    SyscallCall canonical = call;
    if (const SyscallInfo* info = info_of(call)) {
      for (int i = 0; i < info->nargs; ++i) {
        if (info->args[i].kind != ArgKind::kPid) continue;
        auto id = static_cast<pid_t>(static_cast<int32_t>(call.args[i]));
        if (id > 0) canonical.args[i] = static_cast<uint64_t>(monitor_.pids().to_virtual(version, id));
      }
    }
    if (auto s = make_signature(canonical, task.memory()); s) signature = std::move(*s);
    if (const SyscallInfo* info = info_of(call)) {
      for (int i = 0; i < info->nargs; ++i) {
        if (info->args[i].kind == ArgKind::kPath) {
          path = task.memory().read_cstring(remote_addr(call.args[i])).value_or("");
          break;
        }
      }
    }
    if (is_open_call(call.nr)) {
      uint64_t flags = open_flags(call, task.memory());
      read_only_open = (flags & O_ACCMODE) == O_RDONLY && (flags & (O_CREAT | O_TRUNC)) == 0;
    }
    if (!path.empty()) {
      bool own = false;
      std::string canonical =
          canonical_proc_path(path, version, monitor_.pids(), task.tgid(), own);
      proc.canonical = std::move(canonical);
      proc.own = own;
    }
  }
  {
    std::lock_guard lock(mu_);
    if (!members_[version] || members_[version]->state == Member::State::kGone) return;
    Member& m = *members_[version];
    m.calls++;
    if (!m.to_reap.empty() && task.stop() == StopPoint::kSyscallEntry) {
      // Killed checkpoint copies are its children without exit signal: only a __WCLONE wait
      // reaps them, which the program never does.
      std::vector<pid_t> left;
      for (pid_t pid : m.to_reap) {
        auto r = task.inject({SYS_wait4, {static_cast<uint64_t>(pid), 0, WNOHANG | __WCLONE, 0,
                                          0, 0}});
        if (r && *r == 0) left.push_back(pid);  // not dead yet
      }
      m.to_reap = std::move(left);
    }
    if (m.redo_in_round && task.stop() == StopPoint::kSyscallEntry) {
      // Its fork, or its wait for the child another version already reaped, was interrupted
      // by a signal while the others' went through: it makes it again now, still in the round
      // (see everyone_exit).
      m.redo_in_round = false;
      std::optional<SyscallCall> instead = m.instead;
      if (round_.active && round_.cls == SyscallClass::kEveryone &&
          (call.nr == m.call.nr || call.nr == SYS_restart_syscall) &&
          m.state == Member::State::kExecuting) {
        if (instead) {
          task.run_instead(*instead, true);
        } else {
          task.run_call(true);
        }
        return;
      }
    }
    if (call.nr == SYS_restart_syscall && !m.restart_in_round) {
      // Continues a call that ran natively (futex) or for this version alone: natively too.
      // (Paired with its last intercepted call, a version's futex restart was skipped and
      // given the executor's clock_gettime result; a restored thread met it in its log.)
      task.run_call(false);
      return;
    }
    if (call.nr != SYS_restart_syscall) m.restart_in_round = false;
    if (!m.replaying && task.stop() == StopPoint::kSyscallEntry) {
      // The last restored thread of its copy caught up running (rejoin_running): the first
      // thread of the copy at a call gives the copy the leader's descriptors, then makes its
      // call again.
      bool sync = false;
      {
        std::lock_guard plock(process_->mu);
        sync = process_->fd_sync_due[version];
        process_->fd_sync_due[version] = false;
      }
      if (sync) {
        sync_fds_with_leader(task, m, nullptr);
        if (task.stop() == StopPoint::kSyscallExit) {
          task.repeat_call();
          return;
        }
      }
    }
    // A restarted call after an interruption comes back as restart_syscall: it is the same
    // call as before.
    bool restarted = call.nr == SYS_restart_syscall && m.call.nr >= 0;
    if (m.repeating) {
      m.repeating = false;  // the rest of a partly written write: keep write_consumed
    } else {
      m.write_consumed = 0;
    }
    if (!restarted) {
      m.call = call;
      m.cls = verdict.cls;
      m.every_version_runs = verdict.every_version_runs;
      m.refuse_errno = verdict.refuse_errno;
      m.signature = std::move(signature);
      m.path = std::move(path);
      m.read_only_open = read_only_open;
      m.canonical_path = std::move(proc.canonical);
      m.own_proc_path = proc.own;
    }
    if (m.call.nr == SYS_rt_sigaction) record_disposition(m);
    // The version's own /proc entries: each version opens its own, and what it then does with
    // such a descriptor concerns its own file.
    if (m.own_proc_path && is_open_call(m.call.nr)) m.cls = SyscallClass::kEveryone;
    m.own_fd_path.clear();
    if (const SyscallInfo* info = info_of(m.call);
        info != nullptr && info->nargs > 0 && info->args[0].kind == ArgKind::kFd) {
      std::lock_guard plock(process_->mu);
      auto& own = process_->own_fds[version];
      if (auto it = own.find(static_cast<int>(m.call.args[0])); it != own.end()) {
        m.cls = SyscallClass::kEveryone;
        m.own_fd_path = it->second;
      }
    }
    // A signal to another process of the program: each version signals its own copy of it.
    if ((m.call.nr == SYS_kill || m.call.nr == SYS_tgkill) &&
        monitor_.pids().is_virtual_pid(static_cast<pid_t>(m.call.args[0])) &&
        m.cls == SyscallClass::kLockstep) {
      m.cls = SyscallClass::kEveryone;
    }
    if (handle_version_local(task, m)) return;
    if (m.cls == SyscallClass::kRefused) {
      const SyscallInfo* info = info_of(m.call);
      int err = m.refuse_errno != 0 ? m.refuse_errno : ENOSYS;
      monitor_.events().emit(
          "refusal",
          {{"version", version + 1}, {"call", decode(m)}, {"errno", err},
           {"why", info != nullptr && info->why != nullptr ? info->why : ""}},
          fmt::format("{}: refused {} ({})", monitor_.version_name(version), decode(m),
                      strerrorname_np(err) ? strerrorname_np(err) : "error"));
      task.skip_call(-err);
      return;
    }
    if (m.replaying) {
      replay_arrival(task, m);
    } else if (round_.active && round_.early && contains(round_.pending, version)) {
      early_arrival(task, m);
    } else {
      m.state = Member::State::kArrived;
      try_decide(&task);
    }
  }
  flush_drops();
}

// Calls that concern only this version run at once, without a rendezvous.
bool Group::handle_version_local(Task& task, Member& m) {
  const SyscallCall& c = m.call;
  if (c.nr < 0) return false;
  const SyscallInfo* info = info_of(c);
  if (info == nullptr) return false;
  // Calls on a descriptor only this version has (in any descriptor argument: mmap's is the
  // fifth), or one withheld from it (its connection was reset for it after a deterministic
  // crash).
  for (int i = 0; i < info->nargs; ++i) {
    if (info->args[i].kind != ArgKind::kFd) continue;
    int fd = static_cast<int>(c.args[i]);
    if (c.nr == SYS_epoll_ctl && i == 2 && m.withheld_fds.count(fd) != 0) {
      // Its registration of a withheld connection: the epoll instance is the leader's (its
      // events come from the leader's epoll_wait, without that connection's), so it is
      // answered, not made: run, it added its own reset connection to the leader's instance
      // or failed to remove what it never added (an error lighttpd logs).
      task.skip_call(0);
      return true;
    }
    if (m.local_fds.count(fd) != 0 || m.withheld_fds.count(fd) != 0) {
      run_local(&task, m, true);
      return true;
    }
  }
  // Signals a version sends to itself (raise, abort): its own business, at its own point.
  if (c.nr == SYS_kill || c.nr == SYS_tgkill || c.nr == SYS_tkill) {
    pid_t own_virtual = monitor_.pids().to_virtual(m.version, m.tgid);
    auto target = static_cast<pid_t>(static_cast<int32_t>(c.args[0]));
    bool self = (c.nr == SYS_tkill) ? target == m.tid
                                     : (target == own_virtual || target == m.tgid);
    if (self) {
      SyscallCall real = c;
      if (c.nr != SYS_tkill) real.args[0] = static_cast<uint64_t>(m.tgid);
      if (c.nr == SYS_tgkill && static_cast<pid_t>(c.args[1]) == own_virtual)
        real.args[1] = static_cast<uint64_t>(m.tid);
      task.run_instead(real, false);
      return true;
    }
  }
  return false;
}

void Group::run_local(Task* current, Member& m, bool report_exit) {
  if (m.call.nr == kPseudoRdtsc) {
    act(current, m, [](Task& t) { t.emulate_rdtsc(tsc_now(), 0); });
    m.state = Member::State::kRunning;
    return;
  }
  if (m.cls == SyscallClass::kEmulated) {
    std::vector<int> one{m.version};
    emulate(current, one);
    return;
  }
  m.state = Member::State::kExecuting;
  m.local_call = true;
  run_own_call(current, m, report_exit);
  if (!report_exit) {
    m.state = Member::State::kRunning;
    m.local_call = false;
  }
}

void Group::run_own_call(Task* current, const Member& m, bool report_exit) {
  SyscallCall real = to_real_pids(m);
  bool translate = real.args != m.call.args;
  act(current, m, [real, translate, report_exit](Task& t) {
    if (translate) {
      t.run_instead(real, report_exit);
    } else {
      t.run_call(report_exit);
    }
  });
}

void Group::handle_local_exit(Task& task, Member& m) {
  int64_t r = task.result();
  const SyscallInfo* info = info_of(m.call);
  if (m.call.nr == SYS_close) m.local_fds.erase(static_cast<int>(m.call.args[0]));
  if (info != nullptr && info->ret == RetKind::kFd && r >= 0) m.local_fds.insert(static_cast<int>(r));
  if (info != nullptr && info->ret == RetKind::kPid && r > 0)
    task.set_result(monitor_.pids().to_virtual(m.version, static_cast<pid_t>(r)));
  m.local_call = false;
  m.state = Member::State::kRunning;
  task.resume();
}

void Group::record_disposition(Member& m) {
  // rt_sigaction(sig, act, oldact, sigsetsize): remember the handler and flags (SA_RESTART
  // decides between restart and EINTR when a signal interrupts a call).
  int sig = static_cast<int>(m.call.args[0]);
  if (m.call.args[1] == 0 || sig <= 0 || sig > 64) return;
  RemoteMemory mem(m.tid);
  auto handler = mem.read_value(remote_ptr<uint64_t>(m.call.args[1]));
  auto flags = mem.read_value(remote_ptr<uint64_t>(m.call.args[1] + 8));
  if (handler && flags) m.dispositions[sig] = {*handler, *flags};
}

// ---------------------------------------------------------------------------------------------
// Decision

void Group::try_decide(Task* current) {
  if (round_.active) return;
  resume_deferred_replays();
  std::vector<int> p = participants();
  if (p.empty()) return;
  // A call of the leader on a descriptor withheld from some version does not concern that
  // version: it waits out this round.
  int lead = preferred_among(p);
  // Rx state is rare: the common call pays for neither check below.
  bool any_withheld = false;
  bool any_rx = false;
  for (const auto& m : members_) {
    if (!m) continue;
    any_withheld |= !m->withheld_fds.empty();
    any_rx |= m->rx_diverged;
  }
  if (any_withheld && members_[lead]->state == Member::State::kArrived) {
    // Any descriptor argument: the leader's epoll_ctl of that connection is not its either.
    std::vector<int> fds = fd_arguments(members_[lead]->call);
    auto withheld_from = [&](const Member& m) {
      for (int fd : fds) {
        if (fd >= 0 && m.withheld_fds.count(fd) != 0) return true;
      }
      return false;
    };
    int fd = fd_argument(members_[lead]->call);
    if (!fds.empty()) {
      std::vector<int> concerned;
      for (int v : p) {
        if (v == lead || !withheld_from(*members_[v])) concerned.push_back(v);
      }
      if (members_[lead]->call.nr == SYS_close && fd >= 0) {
        // The leader closes it: from now on that number is shared again (a version replaying
        // meanwhile forgets it when it passes this step in the log).
        for (auto& m : members_) {
          if (m && !m->replaying) m->withheld_fds.erase(fd);
        }
      }
      p = std::move(concerned);
    }
  }
  // The leader's query need not wait for followers still on their way (early.cc).
  if (start_early_round(current, p)) return;
  for (int v : p) {
    if (members_[v]->state != Member::State::kArrived) return;
  }
  // Rx: a version whose connection was withheld is elsewhere while the leader looks up files
  // or the clock for that connection: those calls are the leader's alone, the version waits at
  // its own call. Its write of other bytes to the file the leader writes takes the leader's
  // result (the file gets the leader's bytes).
  std::vector<int> rx_output;
  bool suppressed = false;
  if (any_rx && p.size() > 1 && contains(p, lead)) {
    std::vector<int> q;
    for (int v : p) {
      bool output = false;
      if (v != lead && rx_leaves_to_leader(*members_[v], *members_[lead], output)) {
        members_[v]->rx_skipped++;
        continue;
      }
      if (output) rx_output.push_back(v);
      if (v != lead && !output && members_[v]->rx_diverged &&
          !calls_equal(*members_[v], *members_[lead])) {
        if (auto written = rx_own_output(*members_[v])) {
          // Its own output to a file the leader writes (its buffered log lines): not made.
          rx_suppress_output(current, *members_[v], *written);
          suppressed = true;
          continue;
        }
        if (rx_own_lookup(*members_[v])) {
          // A file or the clock looked up where the leader does not (its caches differ):
          // its own call, made at once.
          members_[v]->rx_skipped++;
          run_local(current, *members_[v], true);
          suppressed = true;
          continue;
        }
      }
      q.push_back(v);
    }
    p = std::move(q);
  }
  // The leader's call waits for it at its next call.
  if (suppressed) return;
  if (deliver_signals(current, p)) return;
  decide(current, std::move(p), std::move(rx_output));
}

void Group::decide(Task* current, std::vector<int> p, std::vector<int> rx_output) {
  // Rx outputs (try_decide) follow the leader's write of other bytes: the leader's call for all.
  std::vector<int> content_losers;
  if (!rx_output.empty()) {
    int lead = preferred_among(p);
    std::vector<int> q{lead};
    for (int v : p) {
      if (v == lead) continue;
      q.push_back(v);
      if (contains(rx_output, v) && !calls_equal(*members_[v], *members_[lead]))
        content_losers.push_back(v);
    }
    p = std::move(q);
  }
  // A write of which a merged write took a part (its executor died, or the versions that cut
  // the bytes alike left): only the rest is written, even by a version alone.
  for (int v : p) {
    if (members_[v]->write_consumed != 0) {
      if (merge_writes(current, p)) return;
      break;
    }
  }
  // Partition the participants by what they ask for.
  std::vector<std::vector<int>> classes;
  for (int v : p) {
    bool placed = false;
    for (auto& cls : classes) {
      if (contains(content_losers, v) || calls_equal(*members_[v], *members_[cls.front()])) {
        cls.push_back(v);
        placed = true;
        break;
      }
    }
    if (!placed) classes.push_back({v});
  }
  if (classes.size() > 1) {
    if (absorb_extra_calls(current, p, preferred_among(p))) return;
    if (merge_writes(current, p)) return;
    divergence(current, p, classes);
    return;
  }
  // Everyone agrees. Held versions rejoin when they make the same call again.
  const Member& rep = *members_[p.front()];
  for (auto& m : members_) {
    if (!m || m->state != Member::State::kHeld) continue;
    if (calls_equal(*m, rep)) {
      m->state = Member::State::kArrived;
      m->held_rounds = 0;
      p.push_back(m->version);
      monitor_.events().emit("reconverged", {{"version", m->version + 1}, {"call", decode(*m)}},
                             fmt::format("{} reconverged at {}", monitor_.version_name(m->version),
                                         decode(*m)));
    } else if (++m->held_rounds > monitor_.options().reconverge_bound) {
      defer_drop(m->version, fmt::format("did not reconverge within {} calls",
                                         monitor_.options().reconverge_bound));
    }
  }
  for (int v : p) {
    members_[v]->consecutive_divergences = 0;
    members_[v]->rejoined_without_steps = false;
  }
  monitor_.note_round();
  // TANDEM_LOG=debug: every agreed call, like strace (for debugging tandem and programs).
  if (log_level() >= LogLevel::kDebug)
    TANDEM_LOG(kDebug, "group {}: {} (versions {})", id_, decode(rep), fmt::join(p, ","));
  if (rep.call.nr == SYS_epoll_ctl) record_epoll_ctl(p);
  if (rep.cls == SyscallClass::kReplicated || rep.cls == SyscallClass::kLockstep)
    maybe_checkpoint(current, p);
  bool own = rep.every_version_runs;
  switch (rep.cls) {
    case SyscallClass::kLockstep:
      if (own) {
        // Agreed on; each version applies it to itself (mprotect PROT_EXEC, setuid, ...).
        start_everyone_round(current, p);
        break;
      }
      [[fallthrough]];
    case SyscallClass::kReplicated: {
      int executor = preferred_among(p);
      std::vector<int> followers;
      for (int v : p) {
        if (v != executor) followers.push_back(v);
      }
      start_round(current, rep.cls, executor, followers, content_losers);
      break;
    }
    case SyscallClass::kEveryone:
    case SyscallClass::kLocal:
      if (p.size() > 1 && waits_for_any_child(rep.call)) {
        start_ordered_wait(current, p);
      } else if (p.size() > 1 && changes_fd_table(rep.call) && process_ordering()) {
        // Threads: followers change their descriptor tables in the leader's order.
        start_ordered_wait(current, p, /*fd_change=*/true);
      } else {
        start_everyone_round(current, p);
      }
      break;
    case SyscallClass::kEmulated:
      emulate(current, p);
      break;
    case SyscallClass::kRefused:
      refuse(current, p);
      break;
  }
  post_current_ = false;
}

bool Group::absorb_extra_calls(Task* current, const std::vector<int>& p, int preferred) {
  auto absorbable = [&](const Member& m) {
    if (m.call.nr == kPseudoRdtsc) return true;
    return monitor_.rules().absorbable(m.call, m.path, m.read_only_open);
  };
  auto absorb = [&](Member& m) {
    monitor_.events().emit("absorbed", {{"version", m.version + 1}, {"call", decode(m)}});
    run_local(current, m, true);
  };
  Member& lead = *members_[preferred];
  bool any = false;
  for (int v : p) {
    Member& m = *members_[v];
    if (v == preferred || calls_equal(m, lead) || !absorbable(m)) continue;
    absorb(m);
    any = true;
  }
  if (any) return true;
  if (!absorbable(lead)) return false;
  // The leader's call is the extra one: it runs alone, with those who make the same call.
  for (int v : p) {
    Member& m = *members_[v];
    if (calls_equal(m, lead)) absorb(m);
  }
  return true;
}

void Group::divergence(Task* current, const std::vector<int>& p,
                       const std::vector<std::vector<int>>& classes) {
  Policy policy = monitor_.options().policy;
  monitor_.note_divergence(p);
  nlohmann::json sides = nlohmann::json::array();
  for (auto& cls : classes) {
    nlohmann::json vs = nlohmann::json::array();
    for (int v : cls) vs.push_back(v + 1);
    sides.push_back({{"versions", vs}, {"call", decode(*members_[cls.front()])}});
  }
  if (policy == Policy::kStrict) {
    monitor_.events().emit("divergence",
                           {{"group", id_}, {"sides", sides}, {"policy", "strict"},
                            {"resolution", "stopped every version before the call"}},
                           fmt::format("divergence: {} vs {}; strict policy stops the program",
                                       decode(*members_[classes[0].front()]),
                                       decode(*members_[classes[1].front()])));
    monitor_.stop_program(123);
    return;
  }
  // The winning behaviour.
  const std::vector<int>* winners = nullptr;
  if (policy == Policy::kMajority) {
    for (auto& cls : classes) {
      if (cls.size() * 2 > p.size()) winners = &cls;
    }
  }
  if (winners == nullptr) {
    // The policy's preferred version wins, whoever leads (ties and minorities of the majority
    // policy: the newest, the seed's rule).
    // Not a version whose input was withheld (Rx), while another takes part: its state is
    // known to differ (its buffered log lines lack that connection's: lighttpd's copy won and
    // wrote lines the other version had written already). Nor one that just rejoined from a
    // restart while one that kept running takes part (nginx's restored newest copy won an
    // early recvfrom against the leader that had served all along, which was dropped).
    int first = favoured(p);
    for (auto& cls : classes) {
      if (contains(cls, first)) winners = &cls;
    }
  }
  int executor = preferred_among(*winners);
  Member& w = *members_[executor];
  std::vector<int> content_losers;
  for (auto& cls : classes) {
    if (&cls == winners) continue;
    for (int v : cls) {
      Member& l = *members_[v];
      // "The same kind of call" that can take the winner's result: the same call on the same
      // descriptor, not creating one (a socket made with other flags is not its socket).
      const SyscallInfo* info = info_of(w.call);
      bool creates_fd = info != nullptr && info->ret == RetKind::kFd;
      creates_fd |= w.call.nr == SYS_pipe || w.call.nr == SYS_pipe2 || w.call.nr == SYS_socketpair;
      bool same_kind = l.call.nr == w.call.nr && l.cls == w.cls && !creates_fd &&
                       fd_argument(l.call) == fd_argument(w.call);
      std::string resolution;
      if (++l.consecutive_divergences > monitor_.options().reconverge_bound) {
        resolution = "dropped: diverged too often in a row";
        defer_drop(v, fmt::format("diverged {} times in a row", l.consecutive_divergences));
      } else if (same_kind) {
        resolution = "follows the winner's result";
        content_losers.push_back(v);
      } else {
        resolution = "held until it reconverges";
        l.state = Member::State::kHeld;
        l.held_rounds = 0;
        l.held_since_ns = monotonic_ns();
      }
      monitor_.events().emit(
          "divergence",
          {{"group", id_},
           {"sides", sides},
           {"policy", to_string(policy)},
           {"winner", executor + 1},
           {"version", v + 1},
           {"winner_call", decode(w)},
           {"call", decode(l)},
           {"difference", describe_difference(w, l)},
           {"resolution", resolution}},
          fmt::format("divergence: {} made {}, {} made {}; {} wins ({}), {} {}",
                      monitor_.version_name(executor), decode(w), monitor_.version_name(v),
                      decode(l), monitor_.version_name(executor), to_string(policy),
                      monitor_.version_name(v), resolution));
    }
  }
  std::vector<int> runners = *winners;
  if (w.cls == SyscallClass::kEveryone || w.cls == SyscallClass::kLocal ||
      w.every_version_runs) {
    runners.insert(runners.end(), content_losers.begin(), content_losers.end());
    start_everyone_round(current, runners);
    return;
  }
  if (w.cls == SyscallClass::kEmulated) {
    runners.insert(runners.end(), content_losers.begin(), content_losers.end());
    emulate(current, runners);
    return;
  }
  std::vector<int> followers;
  for (int v : *winners) {
    if (v != executor) followers.push_back(v);
  }
  followers.insert(followers.end(), content_losers.begin(), content_losers.end());
  start_round(current, w.cls, executor, followers, content_losers);
}

}  // namespace tandem
