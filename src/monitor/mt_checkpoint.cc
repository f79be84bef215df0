// Restart of crashed versions of multi-threaded processes: checkpoints of the whole process.
//
// A fork copies one thread. A checkpoint of a process with several threads is therefore taken
// when, in each version, every thread stands at a known point, and the copy is completed when
// it is restored:
//
//  - *When.* Every `checkpoint_interval` agreed calls of any of its threads, the process is
//    due; the thread-group leader's group (the main thread) takes the checkpoint at its next
//    agreed call, so that the copy's first thread is the main thread, as in the original.
//  - *The cut* (cut_version, on each version's tracer thread, before its main thread's part of
//    that call): the version's other threads are made to stand still (Task::freeze_threads):
//    stopped at an intercepted call (arrived, or waiting for the executor's result), inside a
//    call the monitor runs for them (the leader's epoll_wait or nanosleep: they go on in the
//    kernel, their outputs reach the program only through the log afterwards), or interrupted
//    where they run (program code, or a futex wait, which restarts). Each thread's group says
//    whether its member stands where the log can take over (Group::cut_thread): its copy
//    replays that group's log from the position it had then. Then the main thread forks the
//    copy, and the threads go on. Any other state (a call of its own running, a result about
//    to be applied, a version replaying or held) fails the cut; the process stays due and
//    the next agreed call of its main thread tries again. The versions' cuts happen at
//    different moments; each version has its own positions, so the groups log from the first
//    cut on, and drop the steps before the positions once every version's cut succeeded.
//  - *Restore* (try_process_restart, restore_version): when a thread of a version crashes,
//    its whole process dies; the first of its threads reported starts the restore, the others
//    are taken care of by it. The copy re-creates each thread with an injected clone (the
//    thread's stack is in the copy's memory) that starts with the thread's registers, FP state
//    and signal mask, its new tid written where glibc keeps it (pthread_join, pthread_kill),
//    and takes the place of the crashed member in its group. The main thread gives the copy
//    its descriptors at its first call (as a single-threaded copy does) and then lets the
//    other threads go; each replays its own group's log, in the order the steps were logged
//    across the process's groups ("Replay order" below), and rejoins; the last one to catch up
//    gives the copy the leader's descriptors.
//
// Not covered (docs/limits.md): per-thread state the kernel keeps other than registers, mask
// and tid (sigaltstack, robust futex list, rseq registration, a pending restart block), threads
// created or ended after the checkpoint (thread creation abandons it), Rx-style withholding.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#include <sys/syscall.h>

#include <cerrno>

#include <fmt/format.h>

#include <algorithm>

#include "base/proc_thread.h"
#include "monitor/group.h"
#include "monitor/group_util.h"
#include "monitor/monitor.h"

namespace tandem {

using namespace detail;

namespace {

const char* where_name(ThreadImage::Where w) {
  switch (w) {
    case ThreadImage::Where::kAtCall: return "at a call";
    case ThreadImage::Where::kArrivingCall: return "arriving at a call";
    case ThreadImage::Where::kInCall: return "inside a call";
    case ThreadImage::Where::kInterrupted: return "running";
    case ThreadImage::Where::kOther: return "elsewhere";
  }
  return "?";
}

// Kills the copies of a checkpoint that no restore took (each is reaped by its process).
void kill_copies(Monitor& monitor, const ProcessCheckpoint& pc) {
  for (size_t v = 0; v < pc.copies.size(); ++v) {
    const auto& c = pc.copies[v];
    if (!c.copy || c.used) continue;
    monitor.backend().post(c.copy->task, [](Task& t) { t.kill_process(); });
    if (pc.forker != nullptr) pc.forker->reap_later(static_cast<int>(v), c.copy->pid);
  }
}

// The end of one version's cut: once every version's is in, the checkpoint replaces the
// previous one, or (one failed) is abandoned and the previous one stays.
void finish_cut(Monitor& monitor, const std::shared_ptr<Process>& process,
                const std::shared_ptr<ProcessCheckpoint>& pc, int v, ProcessCheckpoint::Copy copy,
                const std::string& why) {
  bool done = false;
  std::shared_ptr<ProcessCheckpoint> previous;
  {
    std::lock_guard lock(process->mu);
    if (!copy.cut && !pc->failed) {
      pc->failed = true;
      pc->why_failed = fmt::format("version {}: {}", v + 1, why);
    }
    pc->copies[v] = std::move(copy);
    if (--pc->outstanding > 0) return;
    done = true;
    if (process->pending_checkpoint == pc) {
      process->pending_checkpoint.reset();
    } else if (!pc->failed) {
      pc->failed = true;
      pc->why_failed = "abandoned while it was taken";
    }
    if (!pc->failed) {
      previous = process->checkpoint;
      process->checkpoint = pc;
    } else {
      // Tried again at the main thread's next agreed call.
      process->checkpoint_due = true;
    }
  }
  if (!done) return;
  if (pc->failed) {
    TANDEM_LOG(kDebug, "checkpoint of a multi-threaded process not taken: {}", pc->why_failed);
    monitor.events().emit("checkpoint-skipped", {{"reason", pc->why_failed}});
    kill_copies(monitor, *pc);
    return;
  }
  // Every group keeps its log from the earliest position a copy replays from.
  std::map<Group*, uint64_t> earliest;
  size_t threads = 0;
  for (const auto& c : pc->copies) {
    if (!c.cut) continue;
    threads = std::max(threads, c.threads.size() + 1);
    for (auto [g, start] : c.starts) {
      auto it = earliest.find(g);
      earliest[g] = it == earliest.end() ? start : std::min(it->second, start);
    }
  }
  for (auto [g, start] : earliest) g->process_checkpoint_taken(start);
  if (previous) kill_copies(monitor, *previous);
  monitor.events().emit("checkpoint", {{"group", pc->forker->id()},
                                       {"log_index", earliest[pc->forker]},
                                       {"threads", threads}});
}

// One version's cut, on its tracer thread, with its main thread `t` at its call (`start` in
// its group's log). Holds no lock; takes each thread's group lock in turn.
void cut_version(Monitor& monitor, const std::shared_ptr<Process>& process,
                 const std::shared_ptr<ProcessCheckpoint>& pc, int v, uint64_t start, Task& t) {
  ProcessCheckpoint::Copy copy;
  std::string why;
  bool ok = true;
  {
    std::lock_guard lock(process->mu);
    if (pc->failed) ok = false;  // another version's cut failed already
  }
  auto images = ok ? t.freeze_threads() : Result<std::vector<ThreadImage>>{Errno{ECANCELED}};
  if (!images) {
    ok = false;
    why = fmt::format("cannot stop its threads: {}", images.error().describe());
  }
  if (ok) {
    copy.starts[pc->forker] = start;
    for (const ThreadImage& image : *images) {
      Group* g = monitor.group_of_task(image.task);
      uint64_t at = 0;
      if (g == nullptr || g->process() != process) {
        why = fmt::format("thread {} is not paired with the other versions' yet", image.tid);
        ok = false;
      } else if (!g->cut_thread(v, image, at, why)) {
        ok = false;
      }
      if (!ok) break;
      copy.threads.push_back({g, image});
      copy.starts[g] = at;
    }
  }
  if (ok) {
    copy.fds = list_fds(t.tgid());
    copy.forker_tid_address = t.tid_address();
    auto snap = t.take_snapshot(std::nullopt);
    if (snap) {
      copy.copy = *snap;
    } else {
      ok = false;
      why = fmt::format("fork failed: {}", snap.error().describe());
    }
  }
  if (images) t.thaw_threads();
  copy.cut = ok;
  finish_cut(monitor, process, pc, v, std::move(copy), why);
}

// Restores `v`'s copy of the process (on its tracer thread; `t` is the copy, frozen): its
// threads, each in its group, then lets its main thread go.
void restore_version(Monitor& monitor, const std::shared_ptr<Process>& process,
                     const std::shared_ptr<ProcessCheckpoint>& pc, int v, Task& t) {
  const ProcessCheckpoint::Copy& c = pc->copies[v];
  std::vector<std::pair<Group*, Task::Snapshot>> threads;
  std::string failure;
  for (const auto& th : c.threads) {
    auto s = t.restore_thread(th.image);
    if (!s) {
      failure = fmt::format("cannot re-create thread {}: {}", th.image.tid, s.error().describe());
      break;
    }
    threads.emplace_back(th.group, *s);
  }
  // The copy's main thread is the thread-group leader of a new process: its tid is the
  // copy's pid, which glibc must know (pthread_kill, pthread_join on the main thread).
  if (failure.empty() && c.forker_tid_address != 0 &&
      !t.memory().write_value(remote_ptr<int32_t>(c.forker_tid_address), c.copy->pid))
    failure = "cannot write the main thread's tid";
  if (!failure.empty()) {
    for (auto& [g, s] : threads) monitor.backend().post(s.task, [](Task& x) { x.kill_process(); });
    t.kill_process();
    {
      std::lock_guard lock(process->mu);
      process->restoring--;
      pc->copies[v].restoring = false;
    }
    monitor.events().emit("restart-refused", {{"version", v + 1}, {"reason", failure}},
                          fmt::format("{} not restarted: {}", monitor.version_name(v), failure));
    monitor.drop_version(v, failure, "crash");
    return;
  }
  {
    // A new replay order for this version's copy (a previous restore's is over).
    std::lock_guard lock(process->mu);
    process->replay_next[v].clear();
    process->replay_parked[v].clear();
  }
  std::vector<TaskId> siblings;
  for (auto& [g, s] : threads) siblings.push_back(s.task);
  pc->forker->install_restored(v, c.copy->task, c.copy->pid, c.copy->pid, c.starts.at(pc->forker),
                               &c.fds, std::move(siblings));
  for (auto& [g, s] : threads)
    g->install_restored(v, s.task, s.pid, c.copy->pid, c.starts.at(g), nullptr, {});
  {
    std::lock_guard lock(process->mu);
    process->restoring--;
    pc->copies[v].restoring = false;
  }
  t.resume_snapshot();
}

}  // namespace

void Group::maybe_checkpoint_process(Task* current, const std::vector<int>& p) {
  const MonitorOptions& opts = monitor_.options();
  bool main_thread = false;
  for (int v : p) main_thread |= members_[v]->tid == members_[v]->tgid;
  {
    std::lock_guard lock(process_->mu);
    if (rounds_since_checkpoint_ >= static_cast<uint64_t>(opts.checkpoint_interval) ||
        process_->checkpoint == nullptr) {
      process_->checkpoint_due = true;
      rounds_since_checkpoint_ = 0;
    }
    if (!main_thread || !process_->checkpoint_due || process_->pending_checkpoint ||
        process_->restoring > 0)
      return;
    // A copy whose descriptors are not the leader's yet (its last restored thread caught up
    // running: the next call of one of its threads syncs them) would be copied as it is.
    for (int v : p) {
      if (process_->fd_sync_due[v]) return;
    }
  }
  // Every live member takes part, at a real call, and none is catching up.
  for (auto& m : members_) {
    if (!m || m->state == Member::State::kGone || !monitor_.alive(m->version)) continue;
    if (m->replaying || m->state == Member::State::kHeld) return;
    if (!contains(p, m->version) || m->call.nr < 0) return;
  }
  if (checkpoint_ != nullptr && !checkpoint_->whole_process) invalidate_checkpoint(nullptr);
  if (checkpoint_ == nullptr) {
    checkpoint_ = std::make_shared<Checkpoint>();
    checkpoint_->whole_process = true;
    checkpoint_->log_index = log_base_ + log_.size();
  }
  auto pc = std::make_shared<ProcessCheckpoint>(static_cast<int>(members_.size()));
  pc->forker = this;
  pc->outstanding = static_cast<int>(p.size());
  {
    std::lock_guard lock(process_->mu);
    process_->checkpoint_due = false;
    process_->pending_checkpoint = pc;
  }
  // The main threads stand at this call, the first step of their log from here.
  uint64_t start = log_base_ + log_.size();
  std::shared_ptr<Process> process = process_;
  Monitor* monitor = &monitor_;
  post_current_ = true;  // the cut takes group locks: never run under this one
  for (int v : p) {
    act(current, *members_[v], [monitor, process, pc, v, start](Task& t) {
      cut_version(*monitor, process, pc, v, start, t);
    });
  }
}

bool Group::cut_thread(int version, const ThreadImage& image, uint64_t& start, std::string& why) {
  std::lock_guard lock(mu_);
  for (auto& m : members_) {
    if (m && m->state != Member::State::kGone && (m->replaying || m->state == Member::State::kHeld)) {
      why = fmt::format("group {}: version {} is replaying or held", id_, m->version + 1);
      return false;
    }
  }
  if (!members_[version] || members_[version]->state == Member::State::kGone) {
    why = fmt::format("group {}: no member of version {}", id_, version + 1);
    return false;
  }
  const Member& m = *members_[version];
  using W = ThreadImage::Where;
  bool ok = false;
  switch (image.where) {
    case W::kAtCall:
      // Arrived, or waiting for the executor: the step is not in the log yet. (Running with
      // its task at a call: a result is about to be applied to it; not a known point.)
      ok = m.state == Member::State::kArrived || m.state == Member::State::kWaiting;
      break;
    case W::kArrivingCall:
    case W::kInterrupted:
      ok = m.state == Member::State::kRunning && !m.local_call;
      break;
    case W::kInCall:
      // The executor of an agreed call (its result becomes the next step of the log).
      ok = m.state == Member::State::kExecuting && !m.local_call && !m.replay_own &&
           round_.active && round_.executor == version && round_.cls != SyscallClass::kEveryone &&
           !round_.merged_write;
      break;
    case W::kOther:
      break;
  }
  if (!ok) {
    why = fmt::format("group {}: thread {} of version {} is {} ({})", id_, image.tid, version + 1,
                      where_name(image.where), to_string(m.state));
    return false;
  }
  // A member still on its way to an early round's query has not taken that step: its copy
  // replays from it. Unless the step is not in a log it could replay (none was kept).
  bool pending = round_.active && round_.early && contains(round_.pending, version);
  if (round_.active && round_.early && !round_.unmatched.empty()) {
    // Decided at the executor's exit stop (early_mismatch): not a known point until then.
    why = fmt::format("group {}: a version's call is to be decided against the leader's", id_);
    return false;
  }
  if (pending && round_.record &&
      (!round_.log_at || checkpoint_ == nullptr || !checkpoint_->whole_process ||
       early_log_entry() == nullptr)) {
    why = fmt::format("group {}: version {} has yet to take the leader's early query", id_,
                      version + 1);
    return false;
  }
  if (checkpoint_ != nullptr && !checkpoint_->whole_process) invalidate_checkpoint(nullptr);
  if (checkpoint_ == nullptr) {
    // Its log starts now (the first cut that concerns it).
    checkpoint_ = std::make_shared<Checkpoint>();
    checkpoint_->whole_process = true;
    checkpoint_->log_index = log_base_ + log_.size();
  }
  start = pending && round_.log_at ? *round_.log_at : log_base_ + log_.size();
  return true;
}

void Group::process_checkpoint_taken(uint64_t start) {
  std::lock_guard lock(mu_);
  if (checkpoint_ == nullptr || !checkpoint_->whole_process) return;
  while (log_base_ < start && !log_.empty()) {
    log_.pop_front();
    ++log_base_;
  }
  checkpoint_->log_index = std::max(checkpoint_->log_index, std::min(start, log_base_ + log_.size()));
}

void Group::drop_process_checkpoint(const char* reason) {
  std::shared_ptr<ProcessCheckpoint> committed, pending;
  {
    std::lock_guard lock(process_->mu);
    committed.swap(process_->checkpoint);
    pending = process_->pending_checkpoint;
    process_->pending_checkpoint.reset();
    if (pending) {
      pending->failed = true;
      pending->why_failed = reason != nullptr ? reason : "abandoned";
    }
  }
  if (!committed) return;
  // Posted only: this runs under this group's lock, and reap_later takes the forker's.
  for (size_t v = 0; v < committed->copies.size(); ++v) {
    const auto& c = committed->copies[v];
    if (!c.copy || c.used) continue;
    monitor_.backend().post(c.copy->task, [](Task& t) { t.kill_process(); });
    // Reaped by a thread of its process at its next call (any thread can: the copy is a
    // child of the thread group). From another group's lock the forker's cannot be taken: a
    // zombie stays until the process ends then.
    if (committed->forker == this && members_[v] && members_[v]->state != Member::State::kGone)
      members_[v]->to_reap.push_back(c.copy->pid);
  }
}

void Group::reap_later(int version, pid_t pid) {
  std::lock_guard lock(mu_);
  if (members_[version] && members_[version]->state != Member::State::kGone)
    members_[version]->to_reap.push_back(pid);
}

bool Group::restored_with_process(int version, TaskId task) const {
  std::lock_guard lock(mu_);
  if (!members_[version] || members_[version]->task != task) return false;
  std::lock_guard plock(process_->mu);
  return process_->checkpoint != nullptr && process_->checkpoint->copies[version].restoring;
}

Group::ProcessRestart Group::try_process_restart(int version, TaskId task, int signal) {
  {
    std::lock_guard lock(mu_);
    std::shared_ptr<ProcessCheckpoint> pc;
    int threads = 0;
    bool restoring = false;
    {
      std::lock_guard plock(process_->mu);
      pc = process_->checkpoint;
      threads = process_->threads;
      restoring = pc != nullptr && pc->copies[version].restoring;
    }
    bool whole = checkpoint_ != nullptr && checkpoint_->whole_process;
    if (!whole && pc == nullptr && threads <= 1) return ProcessRestart::kNotMine;
    if (!members_[version] || members_[version]->task != task) return ProcessRestart::kTakenCareOf;
    Member& m = *members_[version];
    if (m.state == Member::State::kGone) return ProcessRestart::kRefused;
    if (restoring) {
      // Another thread of its process crashed first: that restore brings this one back.
      on_member_gone_locked(version);
      m.awaiting_restore = true;
      return ProcessRestart::kTakenCareOf;
    }
    auto refuse = [&](const std::string& why) {
      monitor_.events().emit("restart-refused",
                             {{"version", version + 1}, {"group", id_}, {"reason", why}},
                             fmt::format("{} not restarted: {}", monitor_.version_name(version),
                                         why));
      return ProcessRestart::kRefused;
    };
    if (monitor_.options().checkpoint_interval <= 0) return ProcessRestart::kRefused;
    if (pc == nullptr || !pc->copies[version].cut || !pc->copies[version].copy)
      return refuse("multi-threaded: no checkpoint of all its threads yet");
    if (pc->copies[version].used)
      return refuse("multi-threaded: no checkpoint of all its threads since its last restart");
    const MonitorOptions& opts = monitor_.options();
    if (m.restarts >= opts.max_restarts)
      return refuse(fmt::format("restarted {} times already (--max-restarts)", m.restarts));
    uint64_t position = m.replaying ? m.cursor : log_base_ + log_.size();
    bool same_place = m.last_crash_at && *m.last_crash_at == position;
    if (same_place && signal == SIGKILL) {
      // Killed (from outside, or as hung): no thread is known to be at fault, and this one is
      // merely the first reported. The process is where it died before only if none of its
      // threads took a step since: a thread idle in a futex wait between two kills (mt_echo's
      // background thread) stands at the same call every time.
      std::lock_guard plock(process_->mu);
      same_place = process_->steps[version] == m.process_steps_at_restore;
    }
    if (same_place)
      return refuse("crashed again at the same call: a deterministic bug (its input is not "
                    "withheld in multi-threaded processes)");
    const ProcessCheckpoint::Copy& c = pc->copies[version];
    {
      std::lock_guard plock(process_->mu);
      pc->copies[version].used = true;
      pc->copies[version].restoring = true;
      process_->restoring++;
      // A change its threads had not applied when the process died (a close waiting for
      // another thread's earlier change) would hold every later change of the copy: its
      // worker's next close waited forever (test_follower_crash_in_a_worker_thread hung).
      process_->forget_fd_changes(version);
    }
    uint64_t from = c.starts.count(this) != 0 ? c.starts.at(this) : log_base_;
    on_member_gone_locked(version);
    m.awaiting_restore = true;
    monitor_.events().emit(
        "restart",
        {{"version", version + 1},
         {"group", id_},
         {"signal", signal},
         {"checkpoint", from},
         {"replay_steps", position - std::min(position, from)},
         {"restart", m.restarts + 1},
         {"threads", c.threads.size() + 1},
         {"pid", c.copy->pid},
         {"withheld_fd", -1}},
        fmt::format("{} restarted from its checkpoint with its {} threads",
                    monitor_.version_name(version), c.threads.size() + 1));
    std::shared_ptr<Process> process = process_;
    Monitor* monitor = &monitor_;
    monitor_.backend().post(c.copy->task, [monitor, process, pc, version](Task& t) {
      restore_version(*monitor, process, pc, version, t);
    });
  }
  flush_drops();
  return ProcessRestart::kStarted;
}

void Group::install_restored(int version, TaskId task, pid_t tid, pid_t tgid, uint64_t cursor,
                             const std::map<int, bool>* fds, std::vector<TaskId> siblings) {
  TaskId old_task;
  {
    std::lock_guard lock(mu_);
    if (!members_[version]) return;
    // The crashed thread may not have reached its exit stop yet (this restore was started by
    // another thread's crash): a call it executed for the others waits for that stop.
    if (members_[version]->state != Member::State::kGone)
      on_member_gone_locked(version, /*exit_pending=*/true);
    const Member& old = *members_[version];
    old_task = old.task;
    pid_t virtual_tid = monitor_.pids().to_virtual(version, old.tid);
    pid_t virtual_pid = monitor_.pids().to_virtual(version, old.tgid);
    Member revived;
    revived.version = version;
    revived.task = task;
    revived.tid = tid;
    revived.tgid = tgid;
    revived.replaying = true;
    revived.cursor = cursor;
    revived.mt_restored = true;
    // Only the main thread gives the copy its descriptors; the others find them.
    revived.fds_synced_for_replay = fds == nullptr;
    if (fds != nullptr) revived.checkpoint_fds = *fds;
    revived.release_after_sync = std::move(siblings);
    revived.restarts = old.restarts + 1;
    revived.last_crash_at = old.replaying ? old.cursor : log_base_ + log_.size();
    revived.dispositions = old.dispositions;
    {
      std::lock_guard plock(process_->mu);
      revived.process_steps_at_restore = process_->steps[version];
      // Until now this group's member was the dead thread: a round it waited in (the main
      // thread's accept) may have ended since the restore began and issued a descriptor change
      // for it to apply, which its dead task never will (the action posted to it is dropped).
      // Every later change of the copy waited for it: its worker's close, and the leader's
      // main thread at its next hand-over (1 run in 40 of the follower-crash test under load
      // hung). None of the copy's restored threads has rejoined yet (they replay, and take the
      // leader's descriptors when they catch up): what was issued so far counts as applied.
      process_->forget_fd_changes(version);
    }
    // While the others are inside a call of its group, the copy keeps replaying: its crashed
    // thread may have died at that call (waiting for the executor's result, or executing it
    // as the leader, which the next executor then makes again). Replaying, it takes the
    // round's step from the log if the round ends first, or joins the round (finish_rejoin)
    // if it arrives while the executor is still inside the call. As a member like any other,
    // it arrived at the call after the round had left it and diverged from the executor's
    // next call (mt_echo's worker: its pipe read against the leader's read of the connection
    // it got, 1 run in 12 with a follower's crash; a follower killed from outside while it
    // waited for the leader's read of a pipe: tandem hung in 6 of 15 kills under --leader 1).
    if (fds == nullptr && cursor == log_base_ + log_.size() && !round_.active) {
      // Nothing happened in its group since the checkpoint (a thread blocked in a futex or in
      // an idle epoll_wait): it takes part in the next step like any member. Not while the
      // others are inside a call of its group (mt_echo's worker blocked in the leader's read
      // of its pipe): it would arrive there as a new member that the round does not serve,
      // and made that call again after the others had gone on (a divergence, the follower
      // held until dropped: 1 run in 3 of the follower-crash test). Replaying, it joins that
      // round (finish_rejoin), or replays its step once logged.
      revived.replaying = false;
      revived.mt_restored = false;
    }
    bool replays = revived.replaying;
    members_[version] = std::move(revived);
    if (replays) {
      uint64_t step = next_replay_step(*members_[version]);
      std::lock_guard plock(process_->mu);
      process_->replay_next[version][this] = step;
      // A new restore: the order holds again.
      process_->replay_order_off[version] = false;
      process_->replay_progress_ns[version] = monotonic_ns();
    }
    monitor_.pids().add(version, tid, virtual_tid);
    if (tid == tgid) {
      monitor_.pids().add(version, tgid, virtual_pid);
      monitor_.pids().mark_restored(version, virtual_pid);
    }
    {
      std::lock_guard plock(process_->mu);
      if (replays) process_->replaying_threads[version]++;
      if (counted_out_) {
        counted_out_ = false;
        process_->threads++;
      }
    }
    if (cursor < log_base_)
      defer_drop(version, "could not rejoin: its log was discarded");
  }
  monitor_.task_replaced(this, old_task, task, tid);
  flush_drops();
}

// The threads of a restored process share one descriptor table: the last of them to catch up
// gives the copy the leader's descriptors (at the end of the replay, as a single-threaded copy
// does); an earlier one would change the table under the others' replay. None waits for the
// others (a thread waiting at its call for another that waits for it in pthread_join would
// never go on). Returns whether `m` is the last; `at_call` false: it caught up by replaying its
// last step and runs on without a call (into a futex wait, say).
bool Group::rejoin_with_process(Member& m, bool at_call) {
  int v = m.version;
  bool last = false;
  {
    std::lock_guard lock(process_->mu);
    if (!m.mt_caught_up) {
      m.mt_caught_up = true;
      process_->replaying_threads[v]--;
    }
    last = process_->replaying_threads[v] == 0;
  }
  if (at_call) m.mt_restored = false;
  return last;
}

// Replay order. A restored copy's threads each replay their own group's log, but they share
// memory: memcached's main thread accepts a connection, puts it in a worker's queue (memory,
// under a mutex: no intercepted call) and wakes the worker through an eventfd; the worker's
// replay of epoll_wait and of the eventfd's read are served from its log at once, and it found
// the queue empty when the copy's main thread had not replayed that far yet (it went back to
// epoll_wait where its log had getpeername: 10 of 10 crash-injection trials failed to rejoin).
// A thread stands still at an intercepted call from its entry until the monitor resumes it
// after logging it, so the order in which steps were logged (LogEntry::step, one order for the
// whole process) agrees with what each thread saw of the others' memory at its calls. A
// restored thread takes its next step only when no other thread of its copy has an earlier one
// to take, and rejoins (its next step is a new one, later than any logged) only when none has
// any: it waits at its call meanwhile (parked), and is resumed when its turn comes.
uint64_t Group::next_replay_step(const Member& m) {
  uint64_t end = log_base_ + log_.size();
  for (uint64_t i = std::max(m.cursor, log_base_); i < end; ++i) {
    const LogEntry& e = log_[i - log_base_];
    if (part_for_replayer(e, m.version)) return e.step;
  }
  return Process::kCaughtUp;
}

bool Group::replay_turn(Task& task, Member& m) {
  uint64_t step = next_replay_step(m);
  int v = m.version;
  std::vector<std::pair<Group*, TaskId>> turns;
  {
    std::lock_guard lock(process_->mu);
    process_->replay_next[v][this] = step;
    process_->replay_parked[v][this] = task.id();
    turns = process_->take_replay_turns(v);
  }
  for (auto& [g, id] : turns) {
    if (g == this) continue;
    monitor_.backend().post(id, [g = g, v](Task& t) { g->resume_replay(t, v); });
  }
  bool mine = std::any_of(turns.begin(), turns.end(),
                          [this](const auto& turn) { return turn.first == this; });
  if (!mine && log_level() >= LogLevel::kDebug) {
    TANDEM_LOG(kDebug, "group {}: version {} waits for its turn to {} (log position {})", id_,
               v + 1, step == Process::kCaughtUp ? "rejoin" : fmt::format("replay step {}", step),
               m.cursor);
  }
  return mine;
}

void Group::replay_advanced(const Member& m) {
  {
    std::lock_guard lock(process_->mu);
    auto& next = process_->replay_next[m.version];
    if (next.find(this) == next.end()) return;
  }
  uint64_t step = next_replay_step(m);
  {
    std::lock_guard lock(process_->mu);
    process_->replay_next[m.version][this] = step;
    process_->replay_progress_ns[m.version] = monotonic_ns();
  }
  wake_replay_turns(m.version);
}

void Group::leave_replay_order(int version) {
  {
    std::lock_guard lock(process_->mu);
    process_->replay_done_running[version].erase(this);
    bool was = process_->replay_next[version].erase(this) != 0;
    was |= process_->replay_parked[version].erase(this) != 0;
    if (!was) return;
  }
  wake_replay_turns(version);
}

void Group::wake_replay_turns(int version) {
  std::vector<std::pair<Group*, TaskId>> turns;
  std::vector<Group*> done;
  {
    std::lock_guard lock(process_->mu);
    turns = process_->take_replay_turns(version);
    done = process_->take_done_running(version);
  }
  // Posted (also for this group: its lock is held here).
  for (auto& [g, id] : turns)
    monitor_.backend().post(id, [g = g, version](Task& t) { g->resume_replay(t, version); });
  // Threads that run on after their last step: nothing to post to (they are not stopped).
  defer_rejoins(version, done);
}

void Group::defer_rejoins(int version, const std::vector<Group*>& groups) {
  for (Group* g : groups) {
    if (g == this) {
      if (members_[version]) (void)rejoin_running(*members_[version]);
    } else {
      rejoins_.emplace_back(g, version);
      flush_pending_.store(true, std::memory_order_release);
    }
  }
}

namespace {

// True if `tid` stands at a ptrace stop ('t' in /proc/TID/stat): at a call, or at a stop its
// tracer thread has yet to handle.
bool stopped_by_tracer(pid_t tid) { return thread_state(tid) == 't'; }

}  // namespace

bool Group::rejoin_running(Member& m, bool resuming) {
  int v = m.version;
  if (m.state != Member::State::kRunning || !m.replaying || !(m.mt_restored || m.mt_caught_up) ||
      m.local_call || m.rejoin_deferred || m.held_in_replay || m.withhold_at || m.rx_diverged ||
      !m.withheld_fds.empty() || !m.fds_synced_for_replay || !monitor_.alive(v))
    return false;
  // Its group is inside a call (the others' step is not in the log yet): it takes that step
  // from the log once it is there, or (its log really ended) the watchdog tries again.
  if (m.cursor != log_base_ + log_.size() || round_.active) return false;
  // Stopped by tandem, not running on: at its call (its replay takes it from there; taken for
  // running, it was rejoined while its turn to rejoin at that call was on its way, and stood
  // there for good: 1 run in 15 of MultiThreadedRestart with early execution of writes), or
  // at a stop its tracer thread has yet to handle.
  if (!resuming && stopped_by_tracer(m.tid)) return false;
  {
    std::lock_guard lock(process_->mu);
    // Parked at its call for its turn (a replaying member's state stays kRunning there): it
    // rejoins from that call when its turn comes (resume_replay). Rejoined here, nothing
    // ever let it go (the copy's worker stood at its read while the leader waited for it).
    if (process_->replay_parked[v].count(this) != 0) return false;
    if (process_->others_replay(v, this)) {
      // Its next step would come after the siblings' logged ones: it waits for them.
      process_->replay_done_running[v].insert(this);
      return false;
    }
    process_->replay_done_running[v].erase(this);
  }
  bool last = rejoin_with_process(m, false);
  m.mt_restored = false;
  m.replaying = false;
  m.rejoined_without_steps = m.last_crash_at.has_value();
  m.probation_until = m.calls + kRejoinProbationCalls;
  if (last && m.synced_at != m.cursor) {
    // No thread of the copy replays any more, and its last step did not give the copy the
    // leader's descriptors (sync_before_running_on): the next intercepted call of any of its
    // threads does.
    std::lock_guard lock(process_->mu);
    process_->fd_sync_due[v] = true;
  }
  leave_replay_order(v);
  monitor_.events().emit("rejoined",
                         {{"version", v + 1},
                          {"group", id_},
                          {"log_position", m.cursor},
                          {"withheld_fds", nlohmann::json::array()},
                          {"rx", false},
                          {"withheld_fd", -1},
                          {"rx_skipped", m.rx_skipped},
                          {"running", true},
                          {"guarantee", "same inputs as the leader: its state is the leader's"}},
                         fmt::format("{} rejoined after its last logged step (thread {}, "
                                     "running)", monitor_.version_name(v), m.tid));
  return true;
}

void Group::sync_before_running_on(Task& task, Member& m) {
  int v = m.version;
  if (!m.mt_restored || m.cursor != log_base_ + log_.size() || round_.active ||
      !m.fds_synced_for_replay || m.rx_diverged || !m.withheld_fds.empty() ||
      m.synced_at == m.cursor)
    return;
  {
    std::lock_guard lock(process_->mu);
    if (process_->others_replay(v, this) || process_->replaying_threads[v] != 1) return;
  }
  // Its last step, and no other thread of the copy has one: it rejoins running after it
  // (rejoin_running), and its siblings that caught up already go on from their calls. The
  // copy's descriptors become the leader's now, while it stands at this call: synced at the
  // next call of any thread instead, a worker that rejoined running closed the connection its
  // main thread had not been given yet (EBADF where the leader's close succeeded: a
  // divergence, 1 run in 24).
  m.synced_at = m.cursor;
  sync_fds_with_leader(task, m, nullptr);
}

void Group::rejoin_running_if_done(int version) {
  {
    std::lock_guard lock(mu_);
    if (!members_[version]) return;
    (void)rejoin_running(*members_[version]);
  }
  flush_drops();
}

// A close by a thread that rejoined while another thread of its restored process still replays
// the steps that made that descriptor (the main thread's accept, say): the copy does not have
// it yet (the replay gives it the leader's, or a stand-in, when it gets there; the last thread
// to catch up makes the table the leader's). Its close "succeeded" as the others' did: the
// descriptor is gone either way.
void Group::forgive_closes_of_replayed_descriptors(const std::vector<int>& vs) {
  if (vs.size() < 2 || members_[vs.front()]->call.nr != SYS_close) return;
  int64_t reference = members_[preferred_among(vs)]->own_result;
  if (reference != 0) return;
  std::lock_guard lock(process_->mu);
  for (int v : vs) {
    Member& m = *members_[v];
    // (A thread still in the replay order may have caught up with its steps and not rejoined
    // yet, and a copy whose last thread caught up running gets the leader's descriptors at
    // its next call: the close of a worker that rejoined running failed so, a divergence.)
    bool behind = process_->replaying_threads[v] > 0 || !process_->replay_next[v].empty() ||
                  process_->fd_sync_due[v];
    if (m.own_result == -EBADF && behind) m.own_result = 0;
  }
}

}  // namespace tandem
