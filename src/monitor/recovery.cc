// Restart of crashed versions: checkpoints, the log, replay and rejoin.
//
// Every `checkpoint_interval` agreed calls of a single-threaded process, every member of its
// group forks a frozen copy of itself at the same call (Task::take_snapshot), and the group
// starts a new log: one LogEntry per agreed step, saying how each version took part (served
// from the executor's record, ran its own call, had a signal delivered, read the TSC...).
//
// When a member crashes (a fault, or killed), its copy takes its place and *replays* the log:
// at each of its calls the entry tells what to do, exactly as the version did it the first time
// (results and outputs from the records; its own calls run again where they only concern
// itself). It takes no part in rendezvous meanwhile; when it reaches the end of the log it
// rejoins. A version that crashes again at the same place of the log has a deterministic bug:
// its copy replays once more with the last input it read from a socket withheld (Rx: the read
// fails with ECONNRESET, the descriptor becomes a reset connection of its own); from then on
// its state differs from the leader's by what that connection carried, and the leader's steps
// for that connection that bring it no input are the leader's alone (Member::rx_diverged,
// docs/architecture.md "Restart"). A version whose replay does not match the log (it did not
// make the same calls) cannot rejoin and is dropped.
//
// Checkpoints are not taken (and the log is abandoned) where a copy could not replay: in
// multi-threaded processes (fork copies one thread), across fork/clone/exec/wait (the copy's
// children are not the original's), and across writes merged between versions.
#include "monitor/group.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string_view>

#include <fmt/format.h>

#include "base/remote_mem.h"
#include "base/scoped_fd.h"
#include "monitor/group_util.h"
#include "monitor/monitor.h"

namespace tandem {

using namespace detail;

namespace {
// /dev/null at `fd` of `task`: a stand-in for a descriptor the copy's replay expects to exist.
void install_stand_in(Task& task, int fd, bool cloexec) {
  ScopedFd stand_in(open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!stand_in.valid()) return;
  if (auto r = task.install_fd(stand_in.get(), fd, cloexec); !r) {
    TANDEM_LOG(kWarn, "cannot give a stand-in for descriptor {} to task {}: {}", fd, task.tid(),
               r.error().describe());
  }
}
// A TCP connection on the loopback that its peer has reset: what a version whose connection is
// withheld (Rx) gets at that number. Its own calls on the descriptor (shutdown, a read until
// end-of-file, close) then act on a connection of its own, as natively after a reset. Before,
// its descriptor there was the leader's connection (given at the checkpoint): lighttpd's copy
// shut it down after the reset, the client saw it closed while the leader was answering and
// sent its request again (served twice). A unix socket pair with one end closed if the
// loopback cannot be used.
ScopedFd reset_connection() {
  ScopedFd listener(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (listener.valid() && bind(listener.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      listen(listener.get(), 1) == 0 &&
      getsockname(listener.get(), reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    ScopedFd conn(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (conn.valid() && connect(conn.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
      ScopedFd peer(accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
      linger hard{1, 0};  // close sends a reset
      if (peer.valid() && setsockopt(peer.get(), SOL_SOCKET, SO_LINGER, &hard, sizeof hard) == 0)
        return conn;
    }
  }
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return ScopedFd();
  close(pair[1]);
  return ScopedFd(pair[0]);
}
}  // namespace

void Group::maybe_checkpoint(Task* current, const std::vector<int>& p) {
  const MonitorOptions& opts = monitor_.options();
  if (opts.checkpoint_interval <= 0 || restarting_) return;
  ++rounds_since_checkpoint_;
  bool several_threads = false;
  {
    std::lock_guard lock(process_->mu);
    several_threads = process_->threads != 1;
  }
  if (several_threads) {
    // The whole process is checkpointed at once (mt_checkpoint.cc).
    maybe_checkpoint_process(current, p);
    return;
  }
  if (checkpoint_ != nullptr && checkpoint_->whole_process) {
    // A thread of a restored copy still replays this log (the copy's main thread, restored
    // in pthread_join while its last worker catches up): the log stays until it caught up.
    // Dropped here, the leader's next steps (writing the program's final output) were not
    // logged for it: it made them again itself after its "rejoin" (the output twice, or a
    // divergence at the end and a drop).
    for (auto& m : members_) {
      if (m && monitor_.alive(m->version) &&
          ((m->state != Member::State::kGone && m->replaying) || m->awaiting_restore))
        return;
    }
    {
      std::lock_guard lock(process_->mu);
      if (process_->restoring > 0) return;
    }
    // Its other threads ended: the process's checkpoints were of threads that are gone.
    drop_process_checkpoint(nullptr);
    invalidate_checkpoint(nullptr);
  }
  if (checkpoint_ != nullptr &&
      rounds_since_checkpoint_ < static_cast<uint64_t>(opts.checkpoint_interval))
    return;
  // Every live member takes part, at a real call (a copy resumes by making that call).
  for (auto& m : members_) {
    if (!m || m->state == Member::State::kGone || !monitor_.alive(m->version)) continue;
    if (m->replaying || m->state == Member::State::kHeld) return;
    if (!contains(p, m->version) || m->call.nr < 0) return;
  }
  auto cp = std::make_shared<Checkpoint>();
  cp->snapshots.resize(members_.size());
  cp->fds.resize(members_.size());
  // Every member is stopped at its call: its descriptor table is what its copy starts from.
  for (int v : p) cp->fds[v] = list_fds(members_[v]->tgid);
  // Each member's new copy replaces (and reaps) its previous one.
  std::vector<std::optional<Task::Snapshot>> previous(members_.size());
  if (checkpoint_ != nullptr) {
    std::lock_guard lock(checkpoint_->mu);
    previous.swap(checkpoint_->snapshots);
    checkpoint_->snapshots.resize(members_.size());
  }
  if (checkpoint_ != nullptr) invalidate_checkpoint(nullptr);
  cp->log_index = log_base_ + log_.size();
  log_base_ = cp->log_index;
  log_.clear();
  rounds_since_checkpoint_ = 0;
  checkpoint_ = cp;
  for (int v : p) {
    // Before the member's part of this round (same thread, in order): the copy stands at the
    // entry of this call, which is the log's first step.
    std::optional<Task::Snapshot> old = previous[v];
    previous[v].reset();
    act(current, *members_[v], [cp, v, old](Task& t) {
      auto snap = t.take_snapshot(old);
      std::lock_guard lock(cp->mu);
      if (snap) cp->snapshots[v] = *snap;
    });
  }
  for (auto& old : previous) {
    if (old) monitor_.backend().post(old->task, [](Task& t) { t.kill_process(); });
  }
  monitor_.events().emit("checkpoint", {{"group", id_}, {"log_index", cp->log_index}});
}

void Group::invalidate_checkpoint(const char* reason) {
  if (checkpoint_ != nullptr) {
    std::lock_guard lock(checkpoint_->mu);
    for (size_t v = 0; v < checkpoint_->snapshots.size(); ++v) {
      auto& s = checkpoint_->snapshots[v];
      if (!s) continue;
      monitor_.backend().post(s->task, [](Task& t) { t.kill_process(); });
      // A child of the member without exit signal: it reaps it at its next call.
      if (members_[v] && members_[v]->state != Member::State::kGone)
        members_[v]->to_reap.push_back(s->pid);
      s.reset();
    }
  }
  bool whole_process = checkpoint_ != nullptr && checkpoint_->whole_process;
  checkpoint_.reset();
  log_base_ += log_.size();
  log_.clear();
  rounds_since_checkpoint_ = 0;
  if (reason == nullptr) return;
  if (whole_process) drop_process_checkpoint(reason);
  // A copy replaying the abandoned log cannot catch up any more.
  for (auto& m : members_) {
    if (m && m->replaying && m->state != Member::State::kGone)
      defer_drop(m->version, fmt::format("could not rejoin: its log ended ({})", reason));
  }
}

void Group::log_append(LogEntry entry) {
  bool any = false;
  for (auto& part : entry.parts) any |= part.has_value();
  if (!any) return;
  entry.replayers.assign(members_.size(), false);
  {
    std::lock_guard lock(process_->mu);
    for (size_t v = 0; v < entry.parts.size(); ++v) {
      if (entry.parts[v]) process_->steps[v]++;
    }
  }
  for (auto& m : members_) {
    if (m && ((m->replaying && m->state != Member::State::kGone) || m->awaiting_restore))
      entry.replayers[m->version] = true;
  }
  if (entry.record != nullptr && entry.record->executor_version >= 0) {
    int nr = entry.record->call.nr;
    if (nr == SYS_epoll_wait || nr == SYS_epoll_pwait || nr == SYS_epoll_pwait2) {
      std::lock_guard lock(process_->mu);
      entry.epoll_fds = epoll_event_fds_locked(*entry.record, entry.record->executor_version);
    }
  }
  // A restored thread that had caught up has this step to take now: the others of its copy
  // wait for it before they take later ones, or rejoin (replay order, mt_checkpoint.cc).
  std::vector<int> behind;
  for (auto& m : members_) {
    if (m && m->replaying && (m->mt_restored || m->mt_caught_up) &&
        m->state != Member::State::kGone && part_for_replayer(entry, m->version))
      behind.push_back(m->version);
  }
  {
    std::lock_guard lock(process_->mu);
    entry.step = process_->next_step++;
    for (int v : behind) {
      auto it = process_->replay_next[v].find(this);
      if (it != process_->replay_next[v].end() && it->second == Process::kCaughtUp)
        it->second = entry.step;
    }
  }
  log_.push_back(std::move(entry));
  for (int v : behind) wake_replay_turns(v);
}

// How a version that was replaying when `entry` was taken takes it: like the executor (or any
// participant), with the program's result and, for epoll, its own cookies.
std::optional<LogEntry::Part> Group::part_for_replayer(const LogEntry& entry, int v) {
  if (entry.parts[v]) return entry.parts[v];
  if (entry.replayers.size() <= static_cast<size_t>(v) || !entry.replayers[v]) return std::nullopt;
  int reference = entry.record ? entry.record->executor_version : -1;
  if (reference < 0 || !entry.parts[reference]) {
    for (size_t i = 0; i < entry.parts.size(); ++i) {
      if (entry.parts[i]) reference = static_cast<int>(i);
    }
  }
  LogEntry::Part part = *entry.parts[reference];
  if (entry.record) {
    part.result = entry.record->result;
    part.apply = true;
    part.own_outputs.reset();
    const std::set<int>& withheld = members_[v] ? members_[v]->withheld_fds : std::set<int>{};
    int64_t count = part.result;
    const std::vector<int>* fds = entry.epoll_fds.empty() ? nullptr : &entry.epoll_fds;
    if (auto own = follower_epoll_outputs(*entry.record, reference, v, withheld, &count, fds);
        own) {
      part.own_outputs = std::make_shared<Outputs>(std::move(*own));
      part.result = count;
    }
  }
  return part;
}

void Group::log_everyone(const std::vector<int>& vs, bool on_socket) {
  LogEntry entry;
  entry.parts.resize(members_.size());
  for (int v : vs) {
    const Member& m = *members_[v];
    LogEntry::Part part;
    part.how = LogEntry::Part::How::kRanOwn;
    part.nr = m.call.nr;
    part.fd = fd_argument(m.call);
    auto fds = fd_arguments(m.call);
    if (fds.size() > 1) part.fd2 = fds[1];
    part.on_socket = on_socket;
    part.signature = m.signature;
    part.canonical_path = m.canonical_path;
    part.result = m.own_result;
    entry.parts[v] = std::move(part);
  }
  log_append(std::move(entry));
}

std::optional<Task::Snapshot> Group::try_restart(int version, TaskId task, int signal,
                                                 TaskId& replaced) {
  std::optional<Task::Snapshot> snap;
  {
    std::lock_guard lock(mu_);
    if (!members_[version] || members_[version]->state == Member::State::kGone ||
        members_[version]->task != task)
      return std::nullopt;
    Member& m = *members_[version];
    const MonitorOptions& opts = monitor_.options();
    // Why it cannot come back, for the events (it is dropped).
    auto refuse = [&](const std::string& why) {
      monitor_.events().emit("restart-refused",
                             {{"version", version + 1}, {"group", id_}, {"reason", why}},
                             fmt::format("{} not restarted: {}", monitor_.version_name(version),
                                         why));
    };
    if (checkpoint_ == nullptr) {
      if (opts.checkpoint_interval > 0) {
        int threads = 0;
        {
          std::lock_guard plock(process_->mu);
          threads = process_->threads;
        }
        refuse(threads > 1 ? "multi-threaded: a checkpoint (fork) copies one thread"
                           : "no checkpoint (abandoned at process creation, exec, wait or a "
                             "merged write)");
      }
      return std::nullopt;
    }
    uint64_t position = log_position(m);
    if (m.restarts >= opts.max_restarts) {
      refuse(fmt::format("restarted {} times already (--max-restarts)", m.restarts));
      return std::nullopt;
    }
    std::optional<uint64_t> withhold_at;
    int withhold_fd = -1;
    if (m.last_crash_at && (*m.last_crash_at == position || m.rejoined_without_steps)) {
      // Crashed again at the same place: a deterministic bug. Rx: replay once more without
      // the last input it received from a connection (reset for it) before the crash.
      if (!m.rx_tried) {
        for (uint64_t i = position; i > checkpoint_->log_index; --i) {
          const LogEntry& e = log_[i - 1 - log_base_];
          auto part = part_for_replayer(e, version);
          if (part && part->how == LogEntry::Part::How::kServed && part->from_socket &&
              part->result > 0 && part->fd >= 0) {
            withhold_at = i - 1;
            withhold_fd = part->fd;
            break;
          }
        }
      }
      if (!withhold_at) {
        const char* why = m.rx_tried ? "crashed again after its input was withheld"
                                     : "crashed again at the same call, with no input to withhold";
        monitor_.events().emit("restart-refused",
                               {{"version", version + 1},
                                {"group", id_},
                                {"reason", why},
                                {"log_position", position}},
                               fmt::format("{} {}: a deterministic bug, not restarted",
                                           monitor_.version_name(version), why));
        return std::nullopt;
      }
    }
    uint64_t from = checkpoint_->log_index;
    {
      std::lock_guard cplock(checkpoint_->mu);
      snap = checkpoint_->snapshots[version];
      checkpoint_->snapshots[version].reset();
    }
    if (!snap) return std::nullopt;
    // Until the copy is in place, the round the crashed member leaves may complete without it:
    // no new checkpoint then, which would drop the log the copy must replay.
    restarting_ = true;
    replaced = m.task;
    pid_t replaced_tgid = m.tgid;
    pid_t virtual_pid = monitor_.pids().to_virtual(version, m.tgid);
    int restarts = m.restarts + 1;
    // The crashed member leaves the current round like any member that dies...
    on_member_gone_locked(version);
    // ...and its copy takes its place, replaying the log before it takes part again.
    Member revived;
    revived.version = version;
    revived.task = snap->task;
    revived.tid = snap->pid;
    revived.tgid = snap->pid;
    revived.replaying = true;
    revived.snapshot_on_arrival = true;
    revived.cursor = from;
    if (static_cast<size_t>(version) < checkpoint_->fds.size())
      revived.checkpoint_fds = checkpoint_->fds[version];
    revived.restarts = restarts;
    revived.last_crash_at = position;
    revived.dispositions = m.dispositions;
    revived.withhold_at = withhold_at;
    revived.withhold_fd = withhold_fd;
    // Once its input was withheld its state differs, whatever it is restored from next.
    revived.rx_diverged = m.rx_diverged;
    revived.rx_skipped = m.rx_skipped;
    revived.rx_tried = m.rx_tried || withhold_at.has_value();
    members_[version] = std::move(revived);
    restarting_ = false;
    monitor_.pids().add(version, snap->pid, virtual_pid);
    monitor_.pids().mark_restored(version, virtual_pid);
    monitor_.pids().hide(version, replaced_tgid);
    {
      std::lock_guard plock(process_->mu);
      if (counted_out_) {
        counted_out_ = false;
        process_->threads++;
      }
    }
    monitor_.events().emit(
        "restart",
        {{"version", version + 1},
         {"group", id_},
         {"signal", signal},
         {"checkpoint", from},
         {"replay_steps", position - from},
         {"restart", restarts},
         {"pid", snap->pid},
         {"withheld_fd", withhold_fd}},
        fmt::format("{} restarted from its checkpoint ({} steps to replay)",
                    monitor_.version_name(version), position - from));
  }
  flush_drops();
  return snap;
}

// wait4 of a process whose child was restored from a checkpoint in this version: the copy is
// not its child (a clone of a frozen copy), so its kernel never reports the child's end, and
// the crashed original stays a zombie traced by tandem, which the parent does not see either.
// When another version's wait4 reports that child (by its virtual pid) and this version's
// found nothing (0 with WNOHANG, or ECHILD), this version takes that report: the pid and the
// status. nginx's master reaps its workers this way at shutdown; without it the master of the
// version whose worker was restored diverged there. The versions end their paired processes
// in lockstep, so the copy ends with the other version's child. The same holds for waitid
// (the other version's siginfo), and for a wait that blocked: a wait for that child alone
// fails at once (ECHILD) and waits at the barrier for the others'; a wait for any child is
// made first by a version without a restored child (start_ordered_wait); a wait in progress
// when the child crashed reports nothing (everyone_exit: the crashed original is hidden).
// Called with pids already virtual (wait4's result, waitid's si_pid).
void Group::report_restored_children(const std::vector<int>& vs) {
  auto child_of = [](const Member& m) -> pid_t {
    return reported_child(m.call, m.tid, m.own_result);
  };
  for (int v : vs) {
    Member& m = *members_[v];
    if ((m.call.nr != SYS_wait4 && m.call.nr != SYS_waitid) || child_of(m) > 0) continue;
    for (int w : vs) {
      const Member& o = *members_[w];
      if (w == v || o.call.nr != m.call.nr) continue;
      pid_t child = child_of(o);
      if (child <= 0 || !monitor_.pids().take_restored(v, child)) continue;
      // wait4's status, or waitid's whole siginfo.
      int arg = m.call.nr == SYS_wait4 ? 1 : 2;
      uint64_t size = m.call.nr == SYS_wait4 ? sizeof(int) : sizeof(siginfo_t);
      if (m.call.args[arg] != 0 && o.call.args[arg] != 0) {
        auto bytes = RemoteMemory(o.tid).read_bytes(remote_addr(o.call.args[arg]), size);
        if (bytes) (void)RemoteMemory(m.tid).write(remote_addr(m.call.args[arg]), *bytes);
      }
      monitor_.events().emit("restored-child-reported",
                             {{"version", v + 1}, {"group", id_}, {"pid", child},
                              {"from_version", w + 1}},
                             "");
      m.own_result = m.call.nr == SYS_wait4 ? child : 0;
      break;
    }
  }
}

bool Group::matches_part(const Member& m, const LogEntry::Part& part) const {
  Member logged;
  logged.call.nr = part.nr;
  logged.signature = part.signature;
  logged.canonical_path = part.canonical_path;
  logged.path = m.path;  // equal whenever the signatures are (the path is part of them)
  return calls_equal(m, logged);
}

// Gives the copy of `m` the leader's descriptors at their numbers and closes the others. With
// `stand_ins` (the copy's descriptors at its checkpoint, before it replays), it gets only those
// numbers, and each of them the leader no longer has becomes /dev/null: the replay's own calls
// on it (close, dup2, fcntl F_SETFD) must succeed as they did the first time. A connection the leader closed since the
// checkpoint is the usual case: the copy's replayed close(fd) failed with EBADF and lighttpd
// logged it, a write the log did not have, so the copy could never rejoin.
void Group::sync_fds_with_leader(Task& task, Member& m, const std::map<int, bool>* stand_ins) {
  std::vector<int> p = participants();
  int leader = p.empty() ? -1 : preferred_among(p);
  std::set<int> keep;
  {
    std::lock_guard lock(process_->mu);
    for (auto& [fd, path] : process_->own_fds[m.version]) keep.insert(fd);
  }
  keep.insert(m.local_fds.begin(), m.local_fds.end());
  // A connection withheld from it is its own (its reset connection, or closed): given the
  // leader's, it held the client's connection open after the leader closed it, and its own
  // calls on that number reached the leader's connection.
  keep.insert(m.withheld_fds.begin(), m.withheld_fds.end());
  // A descriptor another member is closing right now (its close ran, the step is not in the
  // log yet): the copy keeps it, and closes it itself when it takes that step. Taking the
  // leader's table as it is mid-call made nginx's copy close a file twice (EBADF, an alert
  // the log did not have), so it could not rejoin.
  std::vector<std::pair<int, int>> closing;
  for (auto& other : members_) {
    if (other && other->version != m.version && other->state == Member::State::kExecuting) {
      auto range = fds_closed_by(other->call);
      if (range.first >= 0) closing.push_back(range);
    }
  }
  auto being_closed = [&](int fd) {
    for (auto [lo, hi] : closing) {
      if (fd >= lo && fd <= hi) return true;
    }
    return false;
  };
  auto list = [](pid_t pid) {
    std::set<int> fds;
    if (DIR* d = opendir(fmt::format("/proc/{}/fd", pid).c_str())) {
      while (dirent* e = readdir(d)) {
        if (e->d_name[0] != '.') fds.insert(atoi(e->d_name));
      }
      closedir(d);
    }
    return fds;
  };
  std::set<int> stood_in;
  std::set<int> skipped;  // leader's descriptors not given (opened after the checkpoint)
  std::set<int> leader_fds;
  if (leader >= 0) {
    pid_t lead_pid = members_[leader]->tgid;
    leader_fds = list(lead_pid);
    ScopedFd pidfd(static_cast<int>(syscall(SYS_pidfd_open, lead_pid, 0)));
    for (int fd : leader_fds) {
      if (keep.count(fd) != 0) continue;
      bool cloexec = false;
      if (stand_ins != nullptr) {
        // Only the numbers it had at the checkpoint: the descriptors its replay opens itself
        // (read-only files run in every version) must get the numbers they got the first time,
        // the lowest free ones. With the leader's newer connections in the way they did not:
        // nginx's copy served a file at another number than its log had and could not rejoin.
        auto at = stand_ins->find(fd);
        if (at == stand_ins->end()) {
          skipped.insert(fd);
          continue;
        }
        cloexec = at->second;
      } else {
        cloexec = fd_is_cloexec(lead_pid, fd);
      }
      ScopedFd copy(static_cast<int>(syscall(SYS_pidfd_getfd, pidfd.get(), fd, 0)));
      if (!copy.valid()) continue;
      if (auto r = task.install_fd(copy.get(), fd, cloexec); !r) {
        TANDEM_LOG(kWarn, "cannot give descriptor {} to restored version {}: {}", fd,
                   m.version + 1, r.error().describe());
      }
    }
  }
  if (stand_ins != nullptr) {
    for (auto [fd, cloexec] : *stand_ins) {
      if (leader_fds.count(fd) != 0 || keep.count(fd) != 0) continue;
      install_stand_in(task, fd, cloexec);
      stood_in.insert(fd);
    }
  }
  if (task.stop() == StopPoint::kSyscallEntry) {
    // Nothing installed: consume the call with a harmless one so that it can be repeated.
    (void)task.inject({SYS_getpid, {}});
  }
  for (int fd : list(m.tgid)) {
    bool given = leader_fds.count(fd) != 0 && skipped.count(fd) == 0;
    if (!given && keep.count(fd) == 0 && stood_in.count(fd) == 0 && !being_closed(fd))
      (void)task.inject({SYS_close, {static_cast<uint64_t>(fd)}});
  }
}

// The log does not keep the pipes, sockets and devices that served calls created (their peers
// would never see end-of-file). A copy replaying such a call gets a stand-in (/dev/null) at the
// same number instead, so that its own calls on that descriptor (close, dup2, fcntl F_SETFD:
// lighttpd checks them at start-up) succeed as they did the first time, and the number is
// taken as it was; served calls never touch it. The sync at the end of the replay gives the
// copy the leader's descriptors.
// A thread of a restored multi-threaded process (`leader_pid` > 0) gets the leader's descriptor
// at that number where the leader has one: its threads that rejoined already use the copy's
// table as the leader's (a close of it must succeed), while this one is still replaying.
namespace {
void install_stand_ins(Task& task, const SyscallRecord& record, pid_t leader_pid) {
  ScopedFd pidfd;
  if (leader_pid > 0) pidfd.reset(static_cast<int>(syscall(SYS_pidfd_open, leader_pid, 0)));
  for (const auto& nf : record.new_fds) {
    if (nf.copy && nf.copy->valid()) continue;
    if (pidfd.valid()) {
      ScopedFd leaders(static_cast<int>(syscall(SYS_pidfd_getfd, pidfd.get(), nf.number, 0)));
      if (leaders.valid() && task.install_fd(leaders.get(), nf.number, nf.cloexec)) continue;
    }
    install_stand_in(task, nf.number, nf.cloexec);
  }
}
}  // namespace

void Group::replay_arrival(Task& task, Member& m) {
  int v = m.version;
  m.held_in_replay = false;
  if (!m.fds_synced_for_replay) {
    // A frozen copy holds no descriptors: it starts with the leader's, at their numbers.
    m.fds_synced_for_replay = true;
    m.synced_at = m.cursor;
    sync_fds_with_leader(task, m, &m.checkpoint_fds);
    // The other threads of a restored multi-threaded process wait for these descriptors.
    for (TaskId sibling : m.release_after_sync)
      monitor_.backend().post(sibling, [](Task& t) { t.resume_snapshot(); });
    m.release_after_sync.clear();
    if (task.stop() == StopPoint::kSyscallExit) {
      task.repeat_call();
      return;
    }
  }
  if (m.snapshot_on_arrival) {
    // A new frozen copy at the checkpoint, for a later restart.
    m.snapshot_on_arrival = false;
    if (checkpoint_ != nullptr && m.cursor == checkpoint_->log_index) {
      auto snap = task.take_snapshot(std::nullopt);
      std::lock_guard lock(checkpoint_->mu);
      if (snap) checkpoint_->snapshots[v] = *snap;
    }
  }
  uint64_t end = log_base_ + log_.size();
  // Steps it did not take: those of others only, and those on connections withheld from it
  // (any descriptor argument: the leader's epoll_ctl for that connection too).
  auto skip = [&](uint64_t i, std::set<int>& withheld) {
    const LogEntry& e = log_[i - log_base_];
    // The leader's close of a withheld connection: from the next step on that number is shared
    // again (try_decide does the same for the versions that take part). Kept withheld, the
    // copy skipped the leader's next connection at that number too (accept4 gave it the same
    // one) and diverged right after its rejoin.
    for (const auto& other : e.parts) {
      if (other && other->nr == SYS_close && withheld.count(other->fd) != 0) {
        withheld.erase(other->fd);
        return true;
      }
    }
    auto part = part_for_replayer(e, v);
    if (!part) return true;
    // An event wait that woke the leader for withheld connections only: not its (it would
    // still be waiting).
    if (!withheld.empty() && e.record != nullptr && e.record->result > 0 && part->result == 0 &&
        event_wait_timeout_arg(part->nr) >= 0 && part->nr != SYS_poll && part->nr != SYS_ppoll)
      return true;
    return (part->fd >= 0 && withheld.count(part->fd) != 0) ||
           (part->fd2 >= 0 && withheld.count(part->fd2) != 0);
  };
  while (m.cursor < end && skip(m.cursor, m.withheld_fds)) ++m.cursor;
  if (m.rx_diverged && m.cursor >= log_base_ && m.cursor < end &&
      !rx_matches(m, *part_for_replayer(log_[m.cursor - log_base_], v))) {
    // Rx: the leader went on serving the withheld connection with calls that do not name it
    // (lighttpd: newfstatat and pread64 of the requested file, the access log), which this
    // version, without that input, does not make. It passes over such steps up to the one
    // its call matches, or to the end of the log; never over a step that brought input,
    // output of another connection, an event or a signal (it would lose them).
    std::set<int> withheld = m.withheld_fds;
    uint64_t i = m.cursor;
    bool found = false;
    while (i < end) {
      if (skip(i, withheld)) {
        ++i;
        continue;
      }
      const LogEntry& e = log_[i - log_base_];
      auto part = part_for_replayer(e, v);
      if (rx_matches(m, *part)) {
        found = true;
        break;
      }
      if (!rx_step_alone(e, *part)) break;
      ++i;
    }
    if (found || i == end) {
      if (log_level() >= LogLevel::kDebug)
        TANDEM_LOG(kDebug, "group {}: version {} at {} passes over steps {}..{} (the "
                   "leader's, for a withheld connection)", id_, v + 1, decode(m), m.cursor, i);
      m.rx_skipped += i - m.cursor;
      m.cursor = i;
      m.withheld_fds = std::move(withheld);
    }
  }
  if (m.cursor < log_base_) {
    defer_drop(v, "could not rejoin: its log was discarded");
    return;
  }
  // A thread of a restored copy: the other threads' earlier steps first (it waits at its call).
  // Not a thread's exit: it is never logged (the call does not return), and another thread
  // may be waiting for it (pthread_join) before its own earlier steps.
  if ((m.mt_restored || m.mt_caught_up) && m.call.nr != SYS_exit && !replay_turn(task, m)) {
    m.held_in_replay = true;
    return;
  }
  if (m.cursor == end && m.mt_restored && !rejoin_with_process(m, true)) {
    // Other threads of its process are still replaying: the descriptors are the last one's to
    // give (it would change the table under their replay).
    m.synced_at = m.cursor;
  }
  if (m.cursor == end && round_.active &&
      (round_.ordered || round_.fd_ordered || round_.merged_write || round_.dying ||
       round_closes_withheld(m))) {
    // The others are inside a call that is not in the log yet and that it cannot join (nginx:
    // a close, a descriptor-table change made in the leader's order). Rejoining now made it
    // make that call after the others had gone on: a divergence right after the rejoin. It
    // waits at its call and replays that step once it is logged. Likewise the leader's close
    // of a connection withheld from it: the step that makes that number shared again.
    m.rejoin_deferred = true;
    m.held_in_replay = true;
    return;
  }
  if (m.cursor == end) {
    // Caught up. Its descriptors become the leader's again (it replayed served calls without
    // the connections opened meanwhile) before it takes part; if the others went on while
    // that happened, it replays their new steps first, and syncs again.
    if (m.synced_at != m.cursor) {
      m.synced_at = m.cursor;
      if (m.mt_restored || m.mt_caught_up) {
        std::lock_guard lock(process_->mu);
        process_->fd_sync_due[v] = false;  // this sync is the one a thread caught up running owed
      }
      sync_fds_with_leader(task, m, nullptr);
      if (task.stop() == StopPoint::kSyscallExit) {
        task.repeat_call();
        return;
      }
    }
    finish_rejoin(task, m);
    return;
  }
  const LogEntry& entry = log_[m.cursor - log_base_];
  const LogEntry::Part part = *part_for_replayer(entry, v);
  if (log_level() >= LogLevel::kDebug)
    TANDEM_LOG(kDebug, "group {}: version {} replays step {}: {} (logged: call {} on fd {}, how {}, "
               "result {})", id_, v + 1, m.cursor, decode(m), part.nr, part.fd,
               static_cast<int>(part.how), part.result);
  bool other_output = m.rx_diverged && !matches_part(m, part) && rx_matches(m, part);
  if (!other_output && !matches_part(m, part)) {
    // Rx: its own write to a file the leader writes (its buffered log lines, which lack the
    // withheld connection's): the file has the leader's; it is told its bytes were written.
    if (auto written = rx_own_output(m)) {
      rx_suppress_output(&task, m, *written);
      return;
    }
    // Rx: a file or the clock looked up where the leader did not (its caches differ).
    if (rx_own_lookup(m)) {
      m.rx_skipped++;
      run_local(&task, m, true);
      return;
    }
    // A benign extra call of the copy runs on its own; anything else: it did not do what the
    // version did the first time.
    if (m.call.nr == kPseudoRdtsc || monitor_.rules().absorbable(m.call, m.path, m.read_only_open)) {
      run_local(&task, m, true);
      return;
    }
    // What the log has there: the call, and the first argument that differs.
    SyscallCall logged;
    logged.nr = part.nr;
    const SyscallInfo* logged_info = part.nr >= 0 ? info_of(logged) : nullptr;
    int differs = part.signature && m.signature ? m.signature->first_difference(*part.signature)
                                                : Signature::kDifferentCall;
    // A write it makes instead (a program logging what went wrong in its replay): its text.
    std::string wrote;
    if (m.call.nr == SYS_write && m.call.args[2] > 0) {
      auto bytes = RemoteMemory(m.tid).read_bytes(remote_addr(m.call.args[1]),
                                                  std::min<uint64_t>(m.call.args[2], 400));
      if (bytes) {
        for (uint8_t c : *bytes) wrote.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '.');
      }
    }
    monitor_.events().emit("rejoin-failed",
                           {{"version", v + 1},
                            {"group", id_},
                            {"call", decode(m)},
                            {"wrote", wrote},
                            {"expected", logged_info != nullptr ? logged_info->name : "?"},
                            {"expected_fd", part.fd},
                            {"first_difference", differs},
                            {"log_position", m.cursor}});
    defer_drop(v, fmt::format("could not rejoin: its replay made {}", decode(m)));
    return;
  }
  if (m.withhold_at && m.cursor == *m.withhold_at) {
    // The input that made it crash: reset the connection for this version only.
    ++m.cursor;
    m.withhold_at.reset();
    m.withheld_fds.insert(m.withhold_fd);
    m.rx_diverged = true;
    m.state = Member::State::kRunning;
    monitor_.events().emit("withheld", {{"version", v + 1},
                                        {"group", id_},
                                        {"fd", m.withhold_fd},
                                        {"call", decode(m)},
                                        {"bytes", part.result}});
    // Its descriptor at that number becomes a connection of its own, reset by its peer, with
    // the flags it had (O_NONBLOCK, FD_CLOEXEC). Installing it consumes the call (the task
    // stands at its exit), which then fails as the reset makes it fail.
    auto flags = fd_flags(task.tgid(), m.withhold_fd);
    ScopedFd reset = reset_connection();
    if (reset.valid()) {
      if (flags && (*flags & O_NONBLOCK) != 0) fcntl(reset.get(), F_SETFL, O_NONBLOCK);
      if (auto r = task.install_fd(reset.get(), m.withhold_fd, flags && (*flags & O_CLOEXEC) != 0);
          !r) {
        TANDEM_LOG(kWarn, "cannot give version {} a reset connection at {}: {}", v + 1,
                   m.withhold_fd, r.error().describe());
      }
    }
    finish_call(task, -ECONNRESET);
    return;
  }
  switch (part.how) {
    case LogEntry::Part::How::kServed: {
      ++m.cursor;
      m.state = Member::State::kRunning;
      if (m.call.nr == SYS_epoll_ctl) record_epoll_ctl({v});
      const Outputs& outs = part.own_outputs ? *part.own_outputs : entry.record->outputs;
      pid_t leader_pid = 0;
      if (m.mt_restored) {
        std::vector<int> others = participants();
        if (!others.empty()) leader_pid = members_[preferred_among(others)]->tgid;
      }
      install_stand_ins(task, *entry.record, leader_pid);
      int64_t result = part.result;
      // Rx: its own bytes for the file the leader wrote (a log line fewer or more): it is told
      // they were written, as the leader's were. (Or its wait with another timeout: the
      // leader's events.)
      bool other_write = other_output && writes_output(m.call.nr);
      if (other_write) {
        auto asked = write_data(m);
        if (result >= 0 && asked) result = static_cast<int64_t>(asked->size());
        m.rx_skipped++;
      }
      sync_before_running_on(task, m);
      complete_from_record(task, *entry.record, m.call, result, part.apply && !other_write,
                           outs);
      if (auto si = sigpipe_for(m.call, result, task.tid(),
                                monitor_.pids().to_virtual(v, task.tgid())))
        task.send_signal(SIGPIPE, &*si);
      finish_call(task, result);
      break;
    }
    case LogEntry::Part::How::kRanOwn: {
      m.state = Member::State::kExecuting;
      m.replay_own = true;
      SyscallCall real = to_real_pids(m);
      if (real.args != m.call.args) {
        task.run_instead(real, true);
      } else {
        task.run_call(true);
      }
      break;
    }
    case LogEntry::Part::How::kSignal:
      ++m.cursor;
      m.state = Member::State::kRunning;
      task.send_signal(part.signo, &part.info);
      if (part.eintr) {
        task.skip_call(-EINTR);
      } else {
        task.restart_call();
      }
      break;
    case LogEntry::Part::How::kRdtsc:
      ++m.cursor;
      m.state = Member::State::kRunning;
      task.emulate_rdtsc(part.tsc, 0);
      break;
    case LogEntry::Part::How::kEmulated: {
      ++m.cursor;
      std::vector<int> one{v};
      emulate(&task, one);
      break;
    }
  }
  if (m.mt_restored && m.cursor == log_base_ + log_.size()) (void)rejoin_with_process(m, false);
  if (m.mt_restored || m.mt_caught_up) replay_advanced(m);
  // Its last step, after which it may block without another intercepted call.
  (void)rejoin_running(m, /*resuming=*/true);
}

bool Group::round_closes_withheld(const Member& m) const {
  if (!round_.active || m.withheld_fds.empty()) return false;
  for (int v : round_.participants) {
    const auto& o = members_[v];
    if (v == m.version || !o || o->state == Member::State::kGone || o->call.nr != SYS_close)
      continue;
    if (m.withheld_fds.count(static_cast<int>(o->call.args[0])) != 0) return true;
  }
  return false;
}

bool Group::rx_leaves_to_leader(const Member& m, const Member& lead, bool& output) const {
  output = false;
  if (!m.rx_diverged || m.state != Member::State::kArrived || calls_equal(m, lead)) return false;
  if (rx_same_wait(m, lead.signature ? &*lead.signature : nullptr)) {
    output = true;  // the same wait with its own timeout: it takes the leader's events
    return false;
  }
  int fd = fd_argument(lead.call);
  bool on_socket = rx_socket(fd, lead.tgid);
  if (writes_output(m.call.nr) && m.call.nr == lead.call.nr && fd_argument(m.call) == fd &&
      fd >= 0 && !on_socket) {
    output = true;
    return false;
  }
  return rx_leader_alone_call(lead.call.nr, on_socket);
}

std::optional<int64_t> Group::rx_own_output(const Member& m) const {
  if (!m.rx_diverged || !writes_output(m.call.nr)) return std::nullopt;
  int fd = fd_argument(m.call);
  if (fd < 0 || m.withheld_fds.count(fd) != 0 || m.local_fds.count(fd) != 0 ||
      rx_socket(fd, m.tgid))
    return std::nullopt;
  auto bytes = write_data(m);
  if (!bytes) return std::nullopt;
  return static_cast<int64_t>(bytes->size());
}

bool Group::rx_socket(int fd, pid_t pid) const {
  if (fd < 0) return false;
  {
    std::lock_guard lock(process_->mu);
    if (process_->socket_fds.count(fd) != 0) return true;
  }
  return is_socket_fd(pid, fd);
}

bool Group::rx_own_lookup(const Member& m) const {
  if (!m.rx_diverged) return false;
  return rx_version_alone_call(m.call.nr, rx_socket(fd_argument(m.call), m.tgid));
}

void Group::rx_suppress_output(Task* current, Member& m, int64_t written) {
  m.rx_skipped++;
  m.state = Member::State::kRunning;
  if (log_level() >= LogLevel::kDebug)
    TANDEM_LOG(kDebug, "group {}: version {} (input withheld): its own output {} is not made",
               id_, m.version + 1, decode(m));
  act(current, m, [written](Task& t) { t.skip_call(written); });
}

bool Group::rx_step_alone(const LogEntry& entry, const LogEntry::Part& part) const {
  switch (part.how) {
    case LogEntry::Part::How::kSignal:
      return false;
    case LogEntry::Part::How::kRdtsc:
      return true;
    default:
      break;
  }
  if (!rx_leader_alone_call(part.nr, part.on_socket)) return false;
  // A descriptor the step made that is not a file (the log keeps only files'): not so.
  if (entry.record != nullptr) {
    for (const auto& nf : entry.record->new_fds) {
      if (!nf.copy || !nf.copy->valid()) return false;
    }
  }
  return true;
}

bool Group::rx_matches(const Member& m, const LogEntry::Part& part) const {
  if (matches_part(m, part)) return true;
  if (!m.rx_diverged || part.how != LogEntry::Part::How::kServed || part.nr != m.call.nr)
    return false;
  if (rx_same_wait(m, part.signature ? &*part.signature : nullptr)) return true;
  return !part.on_socket && writes_output(m.call.nr) && part.fd >= 0 &&
         part.fd == fd_argument(m.call);
}

bool Group::rx_same_wait(const Member& m, const Signature* other) const {
  int timeout = event_wait_timeout_arg(m.call.nr);
  return m.rx_diverged && timeout >= 0 && other != nullptr && m.signature &&
         m.signature->first_difference(*other, timeout) == -1;
}

bool Group::can_join_round(const Member& m) const {
  if (!round_.active || round_.ordered || round_.fd_ordered || round_.merged_write ||
      round_.dying)
    return false;
  // An early round: while its executor is inside the query (once it returned, the step is in
  // the log the copy replays, or the copy's call is another).
  if (round_.early) return !round_.record && round_.query && calls_equal(m, *round_.query);
  // A kEveryone round has no executor: any participant made the call. (Without this, a copy
  // that caught up during nginx's close of a file never joined it and diverged at once.)
  int reference = round_.executor;
  if (reference < 0 && round_.cls == SyscallClass::kEveryone) {
    for (int v : round_.participants) {
      if (v != m.version && members_[v] && members_[v]->state != Member::State::kGone) {
        reference = v;
        break;
      }
    }
  }
  if (reference < 0 || !members_[reference]) return false;
  const Member& ref = *members_[reference];
  // Rx: its wait with another timeout joins the leader's (nginx's copy rejoined while the
  // leader waited, missed the event that woke it, and waited where the leader accepted).
  return calls_equal(m, ref) || rx_same_wait(m, ref.signature ? &*ref.signature : nullptr);
}

void Group::resume_deferred_replays() {
  if (round_.active) return;
  for (auto& m : members_) {
    if (!m || !m->rejoin_deferred || m->state == Member::State::kGone) continue;
    m->rejoin_deferred = false;
    int version = m->version;
    monitor_.backend().post(m->task, [this, version](Task& t) { resume_replay(t, version); });
  }
}

void Group::resume_replay(Task& task, int version) {
  {
    std::lock_guard lock(mu_);
    if (!members_[version] || members_[version]->state == Member::State::kGone ||
        members_[version]->task != task.id())
      return;
    Member& m = *members_[version];
    bool held = m.held_in_replay;
    m.held_in_replay = false;
    if (!m.replaying) {
      // It stood at its call for the replay and rejoined meanwhile (it must not: a bug, but
      // left there, its task would never go on): it takes part in the step at that call.
      if (held && m.state == Member::State::kRunning && task.stop() == StopPoint::kSyscallEntry) {
        m.state = Member::State::kArrived;
        try_decide(&task);
      }
    } else {
      replay_arrival(task, m);
    }
  }
  flush_drops();
}

void Group::replay_exit(Task& task, Member& m) {
  int64_t r = task.result();
  if (log_level() >= LogLevel::kDebug)
    TANDEM_LOG(kDebug, "group {}: version {} ran its own call of step {}: result {}", id_,
               m.version + 1, m.cursor, r);
  const SyscallInfo* info = info_of(m.call);
  if (info != nullptr && info->ret == RetKind::kPid && r > 0)
    task.set_result(monitor_.pids().to_virtual(m.version, static_cast<pid_t>(r)));
  // alarm's seconds left are what the version saw the first time (its timer is set again
  // now; the restored copy had none).
  if (m.call.nr == SYS_alarm && m.cursor >= log_base_ && m.cursor - log_base_ < log_.size()) {
    if (auto part = part_for_replayer(log_[m.cursor - log_base_], m.version))
      task.set_result(part->result);
  }
  m.replay_own = false;
  ++m.cursor;
  m.state = Member::State::kRunning;
  sync_before_running_on(task, m);
  if (m.mt_restored && m.cursor == log_base_ + log_.size()) (void)rejoin_with_process(m, false);
  if (m.mt_restored || m.mt_caught_up) replay_advanced(m);
  (void)rejoin_running(m, /*resuming=*/true);
  task.resume();
}

void Group::finish_rejoin(Task& task, Member& m) {
  int v = m.version;
  m.replaying = false;
  leave_replay_order(v);
  m.rejoined_without_steps = m.last_crash_at.has_value();
  m.probation_until = m.calls + kRejoinProbationCalls;
  nlohmann::json withheld = nlohmann::json::array();
  for (int fd : m.withheld_fds) withheld.push_back(fd);
  // What holds for this version from now on (docs/architecture.md, "Restart").
  std::string guarantee =
      !m.rx_diverged
          ? "same inputs as the leader: its state is the leader's"
          : "same inputs as the leader except the withheld input, whose connection it saw reset "
            "(it never sees that connection again); its state differs from the leader's by "
            "what that connection carried: the leader's calls for that connection that bring "
            "no input (file lookups, its log lines) are the leader's alone, its own such "
            "calls are its own, and it is not preferred while another version runs";
  monitor_.events().emit("rejoined",
                         {{"version", v + 1},
                          {"group", id_},
                          {"log_position", m.cursor},
                          {"withheld_fds", withheld},
                          {"rx", m.rx_diverged},
                          {"withheld_fd", m.rx_diverged ? m.withhold_fd : -1},
                          {"rx_skipped", m.rx_skipped},
                          {"guarantee", guarantee}},
                         fmt::format("{} rejoined at {}", monitor_.version_name(v), decode(m)));
  // Caught up while the others are in the middle of this very call: it joins that round.
  if (round_.active && can_join_round(m)) {
    // (A restored thread whose crashed one waited in this round is still among them.)
    if (!contains(round_.participants, v)) round_.participants.push_back(v);
    // decide() remembered the cookies of the epoll_ctl's participants before this one joined:
    // without its own, the leader's next event on that descriptor reached it with the cookie
    // an earlier connection at that number had (nginx's copy, which caught up while its
    // leader added the connection it had just accepted, read another connection than the
    // leader at the next recvfrom: a divergence right after the rejoin).
    if (m.call.nr == SYS_epoll_ctl) record_epoll_ctl({v});
    if (round_.cls == SyscallClass::kEveryone) {
      m.state = Member::State::kExecuting;
      m.at_exit = false;
      task.run_call(true);
    } else {
      m.state = Member::State::kWaiting;
      m.content_divergent = false;
    }
    return;
  }
  m.state = Member::State::kArrived;
  try_decide(&task);
}

}  // namespace tandem
