// Membership of groups: paired children and threads, dropped and exited members.
#include "monitor/group.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

#include <fmt/format.h>

#include "base/scoped_fd.h"
#include "base/tsc.h"
#include "monitor/group_util.h"
#include "monitor/monitor.h"
#include "syscalls/families/epoll.h"

namespace tandem {

using namespace detail;

// ---------------------------------------------------------------------------------------------
// Membership

void Group::on_child(Task& parent, int version, Task& child, bool thread) {
  {
    std::lock_guard lock(mu_);
    if (!members_[version] || members_[version]->state == Member::State::kGone) {
      child.resume();
      return;
    }
    auto& queue = thread ? members_[version]->unpaired_threads : members_[version]->unpaired_children;
    queue.emplace_back(child.id(), child.tid());
    form_child_groups(thread);
    (void)parent;
  }
  flush_drops();
}

// The i-th child (or thread) each member created forms a new group once every live member has
// created it.
void Group::form_child_groups(bool threads) {
  for (;;) {
    // Held versions (diverged) do not hold back their group's new children and threads.
    std::vector<int> alive;
    for (auto& m : members_) {
      if (m && m->state != Member::State::kGone && m->state != Member::State::kHeld &&
          monitor_.alive(m->version))
        alive.push_back(m->version);
    }
    if (alive.empty()) return;
    auto queue = [&](int v) -> auto& {
      return threads ? members_[v]->unpaired_threads : members_[v]->unpaired_children;
    };
    for (int v : alive) {
      if (queue(v).empty()) return;
    }
    ChildPair pair;
    pair.children.resize(members_.size());
    pair.thread = threads;
    for (int v : alive) {
      pair.children[v] = queue(v).front();
      queue(v).pop_front();
    }
    // Virtual pids now, under our lock: the parents' fork results are translated with them.
    int leader = preferred_among(alive);
    pid_t virtual_pid = monitor_.pids().to_virtual(leader, pair.children[leader].second);
    for (int v : alive) monitor_.pids().add(v, pair.children[v].second, virtual_pid);
    ready_children_.push_back(std::move(pair));
    flush_pending_.store(true, std::memory_order_release);
  }
}

void Group::create_child_groups(std::vector<ChildPair> pairs) {
  for (auto& pair : pairs) {
    std::shared_ptr<Process> process = process_;
    if (!pair.thread) {
      // A new process: its own descriptor table and signals; it shares the parent's epoll
      // instances (registrations made before the fork).
      process = std::make_shared<Process>(monitor_.version_count());
      std::lock_guard lock(process_->mu);
      process->epoll = process_->epoll;
    }
    Group& g = monitor_.new_group(process);
    std::vector<int> present;
    for (size_t v = 0; v < pair.children.size(); ++v) {
      if (pair.children[v].first.valid()) present.push_back(static_cast<int>(v));
    }
    for (int v : present) {
      auto [id, tid] = pair.children[v];
      // A thread's process id is its parent's; a process's is its own.
      pid_t tgid = tid;
      if (pair.thread) {
        std::lock_guard lock(mu_);
        if (members_[v]) tgid = members_[v]->tgid;
      }
      g.add_member(v, id, tid, tgid);
      monitor_.register_task(id, &g);
    }
    for (int v : present) {
      monitor_.backend().post(pair.children[v].first, [](Task& t) { t.resume(); });
    }
  }
}

void Group::drop_member(int version) {
  {
    std::lock_guard lock(mu_);
    if (!members_[version] || members_[version]->state == Member::State::kGone) return;
    Member& m = *members_[version];
    TaskId task = m.task;
    for (auto& [id, tid] : m.unpaired_children) {
      monitor_.backend().post(id, [](Task& t) { t.kill_process(); });
    }
    m.unpaired_children.clear();
    monitor_.backend().post(task, [](Task& t) { t.kill_process(); });
    on_member_gone_locked(version, /*exit_pending=*/true);
  }
  flush_drops();
}

void Group::on_member_gone(int version, TaskId task) {
  {
    std::lock_guard lock(mu_);
    if (!members_[version] || members_[version]->state == Member::State::kGone ||
        members_[version]->task != task)
      return;
    on_member_gone_locked(version);
  }
  flush_drops();
}

void Group::abandon_round(int dead_executor) {
  round_.active = false;
  round_.dying.reset();
  // An early round's followers still on their way arrive at a normal rendezvous.
  round_.pending.clear();
  std::vector<int> waiting = round_.participants;
  waiting.insert(waiting.end(), round_.unmatched.begin(), round_.unmatched.end());
  round_.unmatched.clear();
  for (int f : waiting) {
    if (f != dead_executor && members_[f] && members_[f]->state == Member::State::kWaiting)
      members_[f]->state = Member::State::kArrived;
  }
}

void Group::on_member_gone_locked(int version, bool exit_pending) {
  Member& m = *members_[version];
  Member::State was = m.state;
  m.state = Member::State::kGone;
  leave_replay_order(version);  // a restored thread that ends: the others do not wait for it
  if (round_.active && round_.early &&
      (contains(round_.pending, version) || contains(round_.unmatched, version))) {
    early_member_gone(version);
    (void)end_early_round_if_done();  // try_decide below
  }
  if (round_.active) {
    // (The executor of an early round that has its record already went on: whatever it
    // executes now is its own.)
    if (round_.cls != SyscallClass::kEveryone && round_.executor == version &&
        was == Member::State::kExecuting && !round_.record) {
      if (exit_pending && !round_.dying && !m.local_call && !m.replay_own) {
        // Killed inside its call (or after it returned, its exit stop not handled yet): only
        // its exit stop can say whether the call took effect. The followers wait for it.
        round_.dying = std::make_shared<Member>(m);
        round_.dying->state = Member::State::kExecuting;
        monitor_.await_exit(m.task, this);
      } else {
        // The executor died before its call, or its exit stop said nothing (executor_exiting
        // ends the round when it did): the followers make the call again with a new executor.
        abandon_round(version);
      }
    } else if (round_.cls == SyscallClass::kEveryone && (round_.ordered || round_.fd_ordered) &&
               round_.executor == version && was == Member::State::kExecuting && !m.at_exit) {
      // The executor of a wait for any child, or of a descriptor-table change the others make
      // after it, is gone before it finished: the others would wait for it for good (a leader
      // crashed in one thread while another closed a connection: its copy and the next
      // leader hung at that close, 1 run in 15 of MultiThreadedRestart). The call is decided
      // again, with another executor; the gone one's call was in its own process.
      {
        std::lock_guard lock(process_->mu);
        auto closed = fds_closed_by(m.call);
        auto& lc = process_->leader_closing;
        if (auto it = std::find(lc.begin(), lc.end(), closed); it != lc.end()) lc.erase(it);
      }
      round_.active = false;
      for (int v : round_.participants) {
        if (v != version && members_[v] && members_[v]->state == Member::State::kWaiting)
          members_[v]->state = Member::State::kArrived;
      }
    } else if (round_.cls == SyscallClass::kEveryone) {
      round_.participants.erase(
          std::remove(round_.participants.begin(), round_.participants.end(), version),
          round_.participants.end());
      bool all = !round_.participants.empty();
      for (int v : round_.participants) {
        if (members_[v] && members_[v]->state == Member::State::kExecuting && !members_[v]->at_exit)
          all = false;
      }
      if (all) finish_everyone_round(nullptr);
      if (round_.participants.empty()) round_.active = false;
    }
  }
  form_child_groups(false);
  form_child_groups(true);
  // Held versions wait for the others' calls: with every other member gone, none will come.
  bool others = false;
  for (auto& other : members_) {
    others |= other && other->state != Member::State::kGone &&
              other->state != Member::State::kHeld;
  }
  if (!others) {
    for (auto& other : members_) {
      if (other && other->state == Member::State::kHeld)
        defer_drop(other->version, "the versions it diverged from left");
    }
  }
  bool any = false;
  for (auto& other : members_) any |= other && other->state != Member::State::kGone;
  if (!any && !counted_out_) {
    counted_out_ = true;
    std::lock_guard lock(process_->mu);
    process_->threads--;
  }
  try_decide(nullptr);
}

void Group::executor_exiting(Task& task, int version) {
  {
    std::lock_guard lock(mu_);
    if (!round_.active || round_.cls == SyscallClass::kEveryone || round_.executor != version ||
        round_.record)
      return;
    Member* e = nullptr;
    bool replaced = round_.dying && round_.dying->task == task.id();
    if (replaced) {
      e = round_.dying.get();
    } else if (members_[version] && members_[version]->task == task.id() &&
               members_[version]->state == Member::State::kExecuting &&
               !members_[version]->local_call && !members_[version]->replay_own) {
      e = &*members_[version];
    }
    if (e == nullptr) return;
    Task::CallAtDeath at = task.call_at_death();
    using Outcome = Task::CallAtDeath::Outcome;
    // A merged write: the executor wrote the common part in a write of its own (merge_writes).
    int made = round_.merged_write ? SYS_write : e->call.nr;
    bool took_effect = at.outcome == Outcome::kReturned && at.nr == made;
    if (took_effect) {
      // A descriptor it made whose number another leader thread was closing (that close's
      // place in the followers' order is not known yet): made again instead.
      const SyscallInfo* info = info_of(e->call);
      std::lock_guard plock(process_->mu);
      if (info != nullptr && info->ret == RetKind::kFd && at.result >= 0 &&
          process_->ordering() && process_->closing(static_cast<int>(at.result)))
        took_effect = false;
    }
    std::string call = decode(*e);
    bool served = false;
    if (round_.merged_write) {
      // The others take the count it wrote as written for them too (a negative result: none
      // was; they make their calls again).
      served = took_effect && at.result >= 0;
      if (served) finish_merged_write(nullptr, at.result);
    } else {
      served = took_effect && serve_round(task, *e, at.result, /*dying=*/true);
    }
    const char* outcome = at.outcome == Outcome::kNotMade       ? "not made"
                          : at.outcome == Outcome::kInterrupted ? "interrupted"
                          : at.outcome == Outcome::kReturned    ? "returned"
                          : at.outcome == Outcome::kNotInCall   ? "not in a call"
                                                                : "unknown";
    monitor_.events().emit(
        "executor-died",
        {{"version", version + 1},
         {"group", id_},
         {"call", call},
         {"outcome", outcome},
         {"result", at.result},
         {"resolution", served ? "served from its result" : "made again"}},
        served ? fmt::format("{} died after {} returned {}: the others get that result",
                             monitor_.version_name(version), call, at.result)
               : "");
    if (!served) {
      abandon_round(version);
      if (!replaced) e->state = Member::State::kRunning;
    }
    round_.dying.reset();
    try_decide(nullptr);
  }
  flush_drops();
}

void Group::executor_ended(TaskId task) {
  {
    std::lock_guard lock(mu_);
    if (!round_.active || !round_.dying || round_.dying->task != task) return;
    abandon_round(round_.executor);
    try_decide(nullptr);
  }
  flush_drops();
}

}  // namespace tandem
