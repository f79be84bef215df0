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
    on_member_gone_locked(version);
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

void Group::on_member_gone_locked(int version) {
  Member& m = *members_[version];
  Member::State was = m.state;
  m.state = Member::State::kGone;
  leave_replay_order(version);  // a restored thread that ends: the others do not wait for it
  if (round_.active) {
    if (round_.cls != SyscallClass::kEveryone && round_.executor == version &&
        was == Member::State::kExecuting) {
      // The executor died inside or before its call: the call never completed for the
      // program; the followers make it again with a new executor.
      round_.active = false;
      for (int f : round_.participants) {
        if (members_[f] && members_[f]->state == Member::State::kWaiting)
          members_[f]->state = Member::State::kArrived;
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

}  // namespace tandem
