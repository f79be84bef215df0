// The rounds of a group: executing an agreed call and completing it in every member.
#include "monitor/group.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "base/scoped_fd.h"
#include "base/tsc.h"
#include "monitor/group_util.h"
#include "monitor/monitor.h"
#include "syscalls/families/epoll.h"

namespace tandem {

// mmap of a file, MAP_SHARED, writable.
static bool is_writable_shared_file_map(const SyscallCall& call) {
  if (call.nr != SYS_mmap) return false;
  uint64_t flags = call.args[3];
  bool shared = (flags & 0x3) == MAP_SHARED || (flags & 0x3) == MAP_SHARED_VALIDATE;
  return shared && (flags & MAP_ANONYMOUS) == 0 && (call.args[2] & PROT_WRITE) != 0;
}

using namespace detail;

// pidfd_open's PIDFD_THREAD (Linux 6.9): a pidfd of that thread, whose descriptor table
// pidfd_getfd reads, rather than its thread group leader's.
constexpr int kPidfdThread = O_EXCL;

// How `m` took part in a step the executor served, as the restart log keeps it.
LogEntry::Part Group::served_part(const Member& m, bool from_socket, bool on_socket,
                                  int64_t result) {
  LogEntry::Part part;
  part.how = LogEntry::Part::How::kServed;
  part.nr = m.call.nr;
  part.fd = fd_argument(m.call);
  auto fds = fd_arguments(m.call);
  if (fds.size() > 1) part.fd2 = fds[1];
  part.from_socket = from_socket;
  part.on_socket = on_socket;
  part.signature = m.signature;
  part.canonical_path = m.canonical_path;
  part.result = result;
  return part;
}

// Waiting for "any child" returns whichever child ended first, which differs between versions:
// the executor waits first, and every other version then waits for its own copy of that child
// (blocking if needed: paired children end the same way).
void Group::start_ordered_wait(Task* current, const std::vector<int>& p, bool fd_change) {
  round_ = Round{};
  round_.active = true;
  round_.seq = monitor_.next_round_seq();
  round_.cls = SyscallClass::kEveryone;
  round_.ordered = !fd_change;
  round_.fd_ordered = fd_change;
  round_.participants = p;
  int executor = preferred_among(p);
  if (!fd_change && monitor_.pids().has_restored(executor)) {
    // A child restored from a checkpoint is not its parent's child: a version with one cannot
    // wait for it first. Another version's wait decides which child ended (a version with a
    // restored child then takes its report: report_restored_children).
    std::vector<int> others;
    for (int v : p) {
      if (!monitor_.pids().has_restored(v)) others.push_back(v);
    }
    if (!others.empty()) executor = preferred_among(others);
  }
  round_.executor = executor;
  for (int v : p) {
    Member& m = *members_[v];
    m.at_exit = false;
    m.at_entry_result = false;
    m.instead.reset();
    m.state = v == executor ? Member::State::kExecuting : Member::State::kWaiting;
  }
  if (fd_change) {
    auto closed = fds_closed_by(members_[executor]->call);
    if (closed.first >= 0) {
      std::lock_guard lock(process_->mu);
      process_->leader_closing.push_back(closed);
    }
  }
  act(current, *members_[executor], [](Task& t) { t.run_call(true); });
}

void Group::continue_ordered_wait(Task* current, Member& e, int64_t r) {
  // Which child did the executor get? (wait4 returns it; waitid writes it in siginfo.)
  pid_t child = reported_child(e.call, e.tid, r);
  pid_t virtual_child = child > 0 ? monitor_.pids().to_virtual(e.version, child) : 0;
  for (int v : round_.participants) {
    if (v == e.version) continue;
    Member& m = *members_[v];
    if (m.state != Member::State::kWaiting) continue;
    if (virtual_child == 0) {
      // Nothing reaped (WNOHANG with no child ready, ECHILD, ...): the same answer for all.
      m.state = Member::State::kExecuting;
      m.at_exit = true;
      m.at_entry_result = true;
      m.own_result = r;
      continue;
    }
    SyscallCall c = m.call;
    pid_t own = monitor_.pids().to_real(v, virtual_child);
    if (c.nr == SYS_wait4) {
      c.args[0] = static_cast<uint64_t>(own);
      c.args[2] &= ~static_cast<uint64_t>(WNOHANG);
    } else {
      c.args[0] = P_PID;
      c.args[1] = static_cast<uint64_t>(own);
      c.args[3] &= ~static_cast<uint64_t>(WNOHANG);
    }
    m.state = Member::State::kExecuting;
    m.instead = c;
    act(current, m, [c](Task& t) { t.run_instead(c, true); });
  }
}

// The executor of a wait for any child found nothing of its own (its wait reported a crashed
// original, see everyone_exit): another participant that has not waited yet waits first in its
// place; this one takes that version's report at the barrier. False if there is none.
bool Group::take_over_ordered_wait(Task* current, Member& e, int64_t r) {
  std::vector<int> waiting;
  for (int v : round_.participants) {
    if (v != e.version && members_[v] && members_[v]->state == Member::State::kWaiting)
      waiting.push_back(v);
  }
  if (waiting.empty()) return false;
  std::vector<int> others;
  for (int v : waiting) {
    if (!monitor_.pids().has_restored(v)) others.push_back(v);
  }
  int next = preferred_among(others.empty() ? waiting : others);
  e.own_result = r;
  e.at_exit = true;
  round_.executor = next;
  Member& n = *members_[next];
  n.state = Member::State::kExecuting;
  n.at_exit = false;
  act(current, n, [](Task& t) { t.run_call(true); });
  return true;
}

// Writes to the same descriptor whose byte streams agree but are cut into different calls
// (the seed's "epoch" equivalence): the common part is written once, by one version; versions
// whose whole call is written go on, the others wait with the rest of theirs.
bool Group::merge_writes(Task* current, const std::vector<int>& p) {
  uint64_t fd = ~0ull;
  for (int v : p) {
    const Member& m = *members_[v];
    if (m.call.nr != SYS_write && m.call.nr != SYS_writev) return false;
    if (fd == ~0ull) fd = m.call.args[0];
    if (m.call.args[0] != fd) return false;
  }
  std::vector<std::vector<uint8_t>> rest(members_.size());
  size_t common = ~size_t{0};
  for (int v : p) {
    Member& m = *members_[v];
    auto data = write_data(m);
    if (!data || m.write_consumed > data->size()) return false;
    m.write_total = data->size();
    rest[v].assign(data->begin() + static_cast<long>(m.write_consumed), data->end());
    common = std::min(common, rest[v].size());
  }
  if (common == 0) return false;
  for (int v : p) {
    if (!std::equal(rest[v].begin(), rest[v].begin() + static_cast<long>(common),
                    rest[p.front()].begin()))
      return false;
  }
  std::vector<int> plain;
  for (int v : p) {
    if (members_[v]->call.nr == SYS_write) plain.push_back(v);
  }
  if (plain.empty()) return false;
  int executor = preferred_among(plain);
  round_ = Round{};
  round_.active = true;
  round_.seq = monitor_.next_round_seq();
  round_.cls = SyscallClass::kReplicated;
  round_.executor = executor;
  round_.participants = p;
  round_.merged_write = true;
  round_.merged_length = common;
  for (int v : p) members_[v]->state = Member::State::kWaiting;
  Member& e = *members_[executor];
  e.state = Member::State::kExecuting;
  SyscallCall part{SYS_write, {fd, e.call.args[1] + e.write_consumed, common, 0, 0, 0}};
  act(current, e, [part](Task& t) { t.run_instead(part, true); });
  return true;
}

void Group::finish_merged_write(Task* executor_task, int64_t r) {
  round_.active = false;
  round_.interrupted_code = 0;
  for (int v : round_.participants) {
    if (!members_[v] || members_[v]->state == Member::State::kGone) continue;
    Member& m = *members_[v];
    bool is_executor = v == round_.executor;
    // A dead executor (executor_exiting): the others take what it wrote.
    if (is_executor && executor_task == nullptr) continue;
    int64_t result = r;
    bool complete = true;
    if (r >= 0) {
      m.write_consumed += static_cast<uint64_t>(r);
      complete = m.write_consumed >= m.write_total;
      result = static_cast<int64_t>(m.write_total);
    }
    if (complete) {
      m.write_consumed = 0;
      m.state = Member::State::kRunning;
      if (is_executor) {
        executor_task->set_result(result);
        executor_task->resume();
      } else {
        monitor_.backend().post(m.task, [result](Task& t) { t.skip_call(result); });
      }
    } else if (is_executor) {
      // Its own call is not written yet: it makes it again and waits for the others.
      m.repeating = true;
      m.state = Member::State::kRunning;
      executor_task->repeat_call();
    } else {
      m.state = Member::State::kArrived;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Rounds

void Group::start_round(Task* current, SyscallClass cls, int executor, std::vector<int> followers,
                        std::vector<int> content_losers) {
  round_ = Round{};
  round_.active = true;
  round_.seq = monitor_.next_round_seq();
  round_.cls = cls;
  round_.executor = executor;
  round_.participants = followers;
  round_.participants.push_back(executor);
  Member& e = *members_[executor];
  e.state = Member::State::kExecuting;
  e.at_exit = false;
  for (int f : followers) {
    members_[f]->state = Member::State::kWaiting;
    members_[f]->content_divergent = contains(content_losers, f);
  }
  run_own_call(current, e, /*report_exit=*/true);
}

void Group::start_everyone_round(Task* current, const std::vector<int>& p) {
  round_ = Round{};
  round_.active = true;
  round_.seq = monitor_.next_round_seq();
  round_.cls = SyscallClass::kEveryone;
  round_.participants = p;
  bool exits = false;
  // Writes through a writable shared file mapping reach the file without a syscall: only one
  // version maps the file, so that they happen once (HAZARDS 13).
  if (p.size() > 1 && is_writable_shared_file_map(members_[p[0]]->call))
    round_.shared_map_owner = preferred_among(p);
  for (int v : p) {
    Member& m = *members_[v];
    m.state = Member::State::kExecuting;
    m.at_exit = false;
    const SyscallInfo* info = info_of(m.call);
    bool no_return = info != nullptr && info->ret == RetKind::kNoReturn &&
                     m.call.nr != SYS_execve && m.call.nr != SYS_execveat;
    if (no_return) exits = true;
    SyscallCall real = to_real_pids(m);
    if (round_.shared_map_owner >= 0 && v != round_.shared_map_owner) {
      // Shared with this version's own children, private from the other versions; filled
      // with the file's content at the barrier.
      real.args[3] = (real.args[3] & ~uint64_t{0x3}) | MAP_SHARED | MAP_ANONYMOUS;
      real.args[4] = static_cast<uint64_t>(-1);
      real.args[5] = 0;
    }
    bool translate = real.args != m.call.args;
    act(current, m, [real, translate, no_return](Task& t) {
      if (translate) {
        t.run_instead(real, !no_return);
      } else {
        t.run_call(!no_return);
      }
    });
    if (no_return) m.state = Member::State::kRunning;
  }
  // exit/exit_group never come back: nothing to wait for.
  if (exits) round_.active = false;
}

void Group::fill_shared_map_copies(const std::vector<int>& p) {
  int owner = round_.shared_map_owner;
  const Member* o = members_[owner] ? &*members_[owner] : nullptr;
  if (o == nullptr || o->state != Member::State::kExecuting || o->own_result < 0 ||
      static_cast<uint64_t>(o->own_result) >= static_cast<uint64_t>(-4095))
    return;
  // The file as the owner has it open; the copies get what it holds now.
  ScopedFd file(open(fmt::format("/proc/{}/fd/{}", o->tid, static_cast<int>(o->call.args[4]))
                         .c_str(),
                     O_RDONLY | O_CLOEXEC));
  uint64_t length = o->call.args[1];
  std::vector<uint8_t> content(length, 0);
  if (file.valid()) {
    uint64_t done = 0;
    while (done < length) {
      ssize_t n = pread(file.get(), content.data() + done, length - done,
                        static_cast<off_t>(o->call.args[5] + done));
      if (n <= 0) break;
      done += static_cast<uint64_t>(n);
    }
  }
  for (int v : p) {
    if (v == owner || !members_[v]) continue;
    Member& m = *members_[v];
    if (m.state != Member::State::kExecuting || m.own_result < 0 ||
        static_cast<uint64_t>(m.own_result) >= static_cast<uint64_t>(-4095))
      continue;
    RemoteMemory mem(m.tid);
    if (!file.valid() || !mem.write(remote_addr(static_cast<uint64_t>(m.own_result)), content))
      TANDEM_LOG(kWarn, "group {}: cannot fill version {}'s copy of a shared file mapping", id_,
                 v + 1);
  }
  monitor_.events().emit("shared-mapping",
                         {{"group", id_}, {"owner", owner + 1}, {"length", length},
                          {"call", decode(*o)}},
                         "");
}

void Group::finish_everyone_round(Task* current) {
  std::vector<int> p = round_.participants;
  round_.active = false;
  if (round_.shared_map_owner >= 0) fill_shared_map_copies(p);
  // Each member ran its own call; different results are a divergence to report.
  std::vector<int> vs;
  for (int v : p) {
    if (members_[v] && members_[v]->state == Member::State::kExecuting) vs.push_back(v);
  }
  for (int v : vs) {
    Member& m = *members_[v];
    const SyscallInfo* info = info_of(m.call);
    if (info != nullptr && info->ret == RetKind::kPid && m.own_result > 0)
      m.own_result = monitor_.pids().to_virtual(v, static_cast<pid_t>(m.own_result));
  }
  for (int v : vs) {
    // waitid reports the child in its siginfo: the pid the program knows.
    const Member& m = *members_[v];
    if (pid_t child = reported_child(m.call, m.tid, m.own_result);
        m.call.nr == SYS_waitid && child > 0) {
      pid_t virtual_child = monitor_.pids().to_virtual(v, child);
      if (virtual_child != child)
        (void)RemoteMemory(m.tid).write_value(
            remote_ptr<int32_t>(m.call.args[2] + offsetof(siginfo_t, si_pid)), virtual_child);
    }
  }
  report_restored_children(vs);
  forgive_closes_of_replayed_descriptors(vs);
  // alarm returns the seconds left on the version's own timer: they depend on timing, and a
  // copy restored from a checkpoint has no timer (fork does not copy it). Every version sees
  // the preferred version's value.
  if (!vs.empty() && members_[vs[0]]->call.nr == SYS_alarm) {
    int64_t r = members_[preferred_among(vs)]->own_result;
    for (int v : vs) members_[v]->own_result = r;
  }
  if (!vs.empty()) {
    const SyscallCall& c = members_[vs[0]]->call;
    bool set = c.nr == SYS_setitimer && members_[vs[0]]->own_result == 0;
    if (c.nr == SYS_alarm || (set && c.args[0] == ITIMER_REAL))
      reconcile_timer_signal(vs, SIGALRM);
    else if (set && c.args[0] == ITIMER_VIRTUAL)
      reconcile_timer_signal(vs, SIGVTALRM);
    else if (set && c.args[0] == ITIMER_PROF)
      reconcile_timer_signal(vs, SIGPROF);
  }
  // Calls on each version's own files (its /proc entries) legitimately differ.
  bool own_files = false;
  if (!vs.empty()) {
    const Member& a = *members_[vs[0]];
    const SyscallInfo* info = info_of(a.call);
    own_files = a.own_proc_path || !a.own_fd_path.empty();
    (void)info;
  }
  for (size_t i = 1; i < vs.size() && !own_files; ++i) {
    const Member& a = *members_[vs[0]];
    const Member& b = *members_[vs[i]];
    const SyscallInfo* info = info_of(a.call);
    bool comparable = info != nullptr && info->ret != RetKind::kAddress && a.call.nr != SYS_execve;
    if (comparable && a.own_result != b.own_result) {
      monitor_.events().emit(
          "divergence",
          {{"group", id_},
           {"call", decode(a)},
           {"results", {{{"version", a.version + 1}, {"result", a.own_result}},
                        {{"version", b.version + 1}, {"result", b.own_result}}}},
           {"resolution", "each version keeps its own result"}},
          fmt::format("divergence: {} returned {} in {} and {} in {}", decode(a), a.own_result,
                      monitor_.version_name(a.version), b.own_result,
                      monitor_.version_name(b.version)));
    }
  }
  bool on_socket = false;  // for the log (Rx): the call acted on a socket
  {
    // Descriptors each version has its own file at, each at its own number.
    std::lock_guard lock(process_->mu);
    if (!vs.empty())
      on_socket = process_->socket_fds.count(fd_argument(members_[vs.front()]->call)) != 0;
    for (int v : vs) {
      const Member& m = *members_[v];
      auto& own = process_->own_fds[v];
      if (m.own_proc_path && is_open_call(m.call.nr) && m.own_result >= 0)
        own[static_cast<int>(m.own_result)] = m.canonical_path.empty() ? m.path : m.canonical_path;
      if (m.call.nr == SYS_close) own.erase(static_cast<int>(m.call.args[0]));
    }
    if (!vs.empty()) {
      const Member& first = *members_[vs.front()];
      auto closed = fds_closed_by(first.call);
      for (auto it = process_->socket_fds.begin(); it != process_->socket_fds.end();) {
        it = *it >= closed.first && *it <= closed.second ? process_->socket_fds.erase(it) : ++it;
      }
    }
  }
  if (checkpoint_ != nullptr && !vs.empty()) {
    const Member& first = *members_[vs.front()];
    int nr = first.call.nr;
    if (nr == SYS_fork || nr == SYS_vfork || nr == SYS_clone || nr == SYS_clone3 ||
        nr == SYS_execve || nr == SYS_execveat || round_.ordered) {
      // A restored copy cannot make these again (its children and program are the original's).
      invalidate_checkpoint("process creation, exec or wait");
    } else {
      log_everyone(vs, on_socket);
    }
  }
  for (int v : vs) {
    Member& m = *members_[v];
    m.state = Member::State::kRunning;
    m.at_exit = false;
    int64_t r = m.own_result;
    bool at_entry = m.at_entry_result;
    m.at_entry_result = false;
    act(current, m, [r, at_entry](Task& t) {
      if (at_entry) {
        t.skip_call(r);
        return;
      }
      t.set_result(r);
      t.resume();
    });
  }
}

void Group::emulate(Task* current, const std::vector<int>& p) {
  uint64_t tsc = tsc_now();
  if (checkpoint_ != nullptr) {
    LogEntry entry;
    entry.parts.resize(members_.size());
    for (int v : p) {
      const Member& m = *members_[v];
      if (m.replaying) continue;
      LogEntry::Part part;
      part.how = m.call.nr == kPseudoRdtsc ? LogEntry::Part::How::kRdtsc
                                          : LogEntry::Part::How::kEmulated;
      part.nr = m.call.nr;
      part.fd = fd_argument(m.call);
      part.signature = m.signature;
      part.tsc = tsc;
      entry.parts[v] = std::move(part);
    }
    log_append(std::move(entry));
  }
  for (int v : p) {
    Member& m = *members_[v];
    m.state = Member::State::kRunning;
    if (m.call.nr == kPseudoRdtsc) {
      act(current, m, [tsc](Task& t) { t.emulate_rdtsc(tsc, 0); });
      continue;
    }
    if (m.call.nr == SYS_sched_getaffinity) {
      // Versions run pinned to one CPU each; they see the affinity tandem itself had.
      std::vector<uint8_t> mask = monitor_.original_affinity();
      uint64_t len = m.call.args[1];
      uint64_t size = 8 * ((static_cast<uint64_t>(sysconf(_SC_NPROCESSORS_CONF)) + 63) / 64);
      if (len < size || len % 8 != 0) {
        act(current, m, [](Task& t) { t.skip_call(-EINVAL); });
        continue;
      }
      mask.resize(size);
      RemoteMemory mem(m.tid);
      int64_t r = mem.write(remote_addr(m.call.args[2]), mask) ? static_cast<int64_t>(size) : -EFAULT;
      act(current, m, [r](Task& t) { t.skip_call(r); });
      continue;
    }
    if (m.call.nr == SYS_sched_setaffinity) {
      // Keep the versions on their CPUs; the program's request succeeds as far as it can tell.
      act(current, m, [](Task& t) { t.skip_call(0); });
      continue;
    }
    // Anything else the model calls emulated runs in each version.
    m.state = Member::State::kExecuting;
    m.local_call = true;
    act(current, m, [](Task& t) { t.run_call(true); });
  }
}

void Group::refuse(Task* current, const std::vector<int>& p) {
  for (int v : p) {
    Member& m = *members_[v];
    m.state = Member::State::kRunning;
    int err = m.refuse_errno != 0 ? m.refuse_errno : ENOSYS;
    act(current, m, [err](Task& t) { t.skip_call(-err); });
  }
}

// ---------------------------------------------------------------------------------------------
// Exit of an executed call

void complete_from_record(Task& t, const SyscallRecord& record, const SyscallCall& call,
                          int64_t result, bool apply, const Outputs& outputs) {
  for (auto& nf : record.new_fds) {
    if (!nf.copy || !nf.copy->valid()) continue;
    auto ok = t.install_fd(nf.copy->get(), nf.number, nf.cloexec);
    if (!ok) {
      TANDEM_LOG(kWarn, "cannot give descriptor {} to task {}: {}", nf.number, t.tid(),
                 ok.error().describe());
    }
  }
  if (apply && result >= 0 && !outputs.blobs.empty()) {
    auto ok = apply_outputs(call, record.result, outputs, t.memory());
    if (!ok) {
      TANDEM_LOG(kWarn, "cannot write the outputs of call {} into task {}: {}", call.nr, t.tid(),
                 ok.error().describe());
    }
  }
}

void finish_call(Task& t, int64_t result) {
  if (t.stop() == StopPoint::kSyscallEntry) {
    t.skip_call(result);
  } else {
    t.set_result(result);
    t.resume();
  }
}

// With threads, the leader may have created descriptor N right after another of its threads
// closed N, with the close's stop still to be handled: the creation must be ordered after the
// close. Then this exit is handled again a little later, from the inbox.
bool Group::new_fd_waits_for_a_close(Task& task, Member& m, int64_t r) {
  const SyscallInfo* info = info_of(m.call);
  if (info == nullptr || r < 0) return false;
  std::vector<int> created;
  if (info->ret == RetKind::kFd) created.push_back(static_cast<int>(r));
  if (m.call.nr == SYS_pipe || m.call.nr == SYS_pipe2 || m.call.nr == SYS_socketpair ||
      m.call.nr == SYS_recvmsg) {
    // Several descriptors, known after reading the outputs: checked for the whole range
    // conservatively by the return value being a success; rare enough to read here.
    if (auto out = capture_outputs(m.call, r, task.memory()); out)
      created.insert(created.end(), out->new_fds.begin(), out->new_fds.end());
  }
  if (created.empty()) return false;
  {
    std::lock_guard lock(process_->mu);
    if (!process_->ordering()) return false;
    bool wait = false;
    for (int fd : created) wait |= process_->closing(fd);
    if (!wait) return false;
  }
  int version = m.version;
  monitor_.backend().post(m.task, [this, version](Task& t) { on_syscall_exit(t, version); });
  return true;
}

// A member of a kEveryone round finished its own call.
void Group::everyone_exit(Task& task, Member& m, int version) {
  int64_t r = task.result();
  if ((round_.ordered || round_.fd_ordered) && version == round_.executor && is_restart_code(r)) {
    // The executor's wait was interrupted: everyone waits again after the signal.
    round_.active = false;
    round_.interrupted_code = r;
    m.restart_in_round = r == kERestartRestartBlock;
    for (int v : round_.participants) {
      if (members_[v] && members_[v]->state == Member::State::kWaiting)
        members_[v]->state = Member::State::kArrived;
    }
    m.state = Member::State::kRunning;
    task.resume();
    try_decide(&task);
    return;
  }
  bool peek = m.call.nr == SYS_waitid && (m.call.args[3] & WNOWAIT) != 0;
  if (pid_t reported = reported_child(m.call, m.tid, r);
      reported > 0 && monitor_.pids().take_hidden(version, reported, peek)) {
    // The crashed original of a child restored from a checkpoint: tandem reaped it, and the
    // kernel handed its zombie to this parent, whose wait (in progress when the child crashed)
    // reported its death. The program must not see it (the copy carries on): the wait found
    // nothing of its own and takes another version's report of that child at the barrier.
    r = -ECHILD;
    if (round_.ordered && version == round_.executor && take_over_ordered_wait(&task, m, r))
      return;
  }
  if (round_.ordered && version == round_.executor) continue_ordered_wait(&task, m, r);
  if (round_.fd_ordered && version == round_.executor) {
    // The leader changed its table: the followers change theirs now, in the leader's order.
    std::vector<int> followers;
    for (int v : round_.participants) {
      if (v != version && members_[v] && members_[v]->state == Member::State::kWaiting)
        followers.push_back(v);
    }
    uint64_t seq;
    {
      std::lock_guard lock(process_->mu);
      auto closed = fds_closed_by(m.call);
      auto& lc = process_->leader_closing;
      if (auto it = std::find(lc.begin(), lc.end(), closed); it != lc.end()) lc.erase(it);
      seq = process_->issue_fd_change(followers);
    }
    for (int v : followers) {
      Member& f = *members_[v];
      f.state = Member::State::kExecuting;
      f.fd_seq = seq;
      SyscallCall real = to_real_pids(f);
      in_fd_order(f, seq, [real](Task& t) { t.run_instead(real, true); });
    }
  } else if (round_.fd_ordered && m.fd_seq != 0) {
    std::lock_guard lock(process_->mu);
    process_->applied(version, m.fd_seq);
    m.fd_seq = 0;
  }
  if (r == kERestartNoIntr && !round_.ordered &&
      (m.call.nr == SYS_clone || m.call.nr == SYS_clone3 || m.call.nr == SYS_fork ||
       m.call.nr == SYS_vfork)) {
    // A signal came in during its fork (the kernel then forks again after the signal, which
    // comes before or after the fork as it would natively): it stays in the round and forks
    // again at once, so that the others, whose fork went through, do not go on without it
    // (vsftpd's listener got its child's SIGCHLD during the next session's fork in one
    // version only, which then made its fork after the others had gone on).
    m.redo_in_round = true;
    task.resume();
    return;
  }
  if (is_restart_code(r) && round_.ordered && version != round_.executor && m.instead) {
    // Its wait for the child that the executor's wait reported (continue_ordered_wait) was
    // interrupted by a signal of its own (another of its children ended): the others already
    // reaped their copy of that child, so it must too, in this round. Leaving the round, its
    // program would wait for any child again after the others had moved on (dash then waited
    // once more than the others for the children of a pipeline). The signal stays held; the
    // kernel makes the call again (no handler ran), with the arguments it was given.
    m.redo_in_round = true;
    task.resume();
    return;
  }
  if (is_restart_code(r)) {
    // Interrupted by a signal before it did anything: it comes back to the same call.
    m.state = Member::State::kRunning;
    m.restart_in_round = r == kERestartRestartBlock;
    round_.participants.erase(
        std::remove(round_.participants.begin(), round_.participants.end(), version),
        round_.participants.end());
    round_.interrupted_code = r;
    task.resume();
  } else {
    m.own_result = r;  // translated at the barrier, when every fork is paired
    m.at_exit = true;
  }
  bool all = true;
  for (int v : round_.participants) {
    if (members_[v] && members_[v]->state == Member::State::kExecuting && !members_[v]->at_exit)
      all = false;
  }
  if (all) finish_everyone_round(&task);
  try_decide(&task);
}


// The executor `m` of the round (in `task`) made its call, which returned `r`: the followers
// get the result and outputs, and the step is logged. `dying`: the executor was killed after
// its call returned (or during it, with a partial count), seen at its exit stop
// (executor_exiting); it is neither given a result nor resumed. Returns false, with nothing
// changed, when the followers cannot be given what it got (a new descriptor that can no
// longer be copied out of the dying process): the call is then made again.
bool Group::serve_round(Task& task, Member& m, int64_t r, bool dying) {
  int version = m.version;
  std::vector<int> followers = round_.participants;
  followers.erase(std::remove(followers.begin(), followers.end(), version), followers.end());
  auto record = std::make_shared<SyscallRecord>();
  record->seq = round_.seq;
  record->executor_version = version;
  record->call = m.call;
  const SyscallInfo* info = info_of(m.call);
  int64_t program_result = r;
  if (info != nullptr && info->ret == RetKind::kPid && r > 0)
    program_result = monitor_.pids().to_virtual(version, static_cast<pid_t>(r));
  record->result = program_result;
  note_posix_locks(task, m, r);
  // An early round stays active while followers have yet to arrive: they are served from the
  // record when they do (early.cc).
  bool early_pending = round_.early && (!round_.pending.empty() || !round_.unmatched.empty());
  // Outputs are needed by the followers, and by the log a restored version replays.
  if ((!followers.empty() || early_pending || checkpoint_ != nullptr) && r >= 0) {
    if (auto out = capture_outputs(m.call, r, task.memory()); out) {
      record->outputs = std::move(*out);
    } else {
      TANDEM_LOG(kWarn, "group {}: cannot read the outputs of {}: {}", id_, decode(m),
                 out.error().describe());
    }
    // Take our own copies of new descriptors now: the executor may close them as soon
    // as it runs again.
    if (!record->outputs.new_fds.empty()) {
      // A dying executor's process may have lost its thread-group leader's table already:
      // its own thread's (still there at its exit stop) is asked for.
      ScopedFd pidfd(static_cast<int>(
          dying ? syscall(SYS_pidfd_open, task.tid(), kPidfdThread)
                : syscall(SYS_pidfd_open, m.tgid, 0)));
      std::optional<bool> cloexec = cloexec_from_call(m.call);
      for (int fd : record->outputs.new_fds) {
        SyscallRecord::NewFd nf;
        nf.number = fd;
        nf.cloexec = cloexec ? *cloexec : fd_is_cloexec(dying ? task.tid() : m.tgid, fd);
        nf.copy = std::make_shared<ScopedFd>(
            static_cast<int>(syscall(SYS_pidfd_getfd, pidfd.get(), fd, 0)));
        // The followers cannot get it: the new executor makes the call again instead.
        if (dying && !nf.copy->valid()) return false;
        record->new_fds.push_back(std::move(nf));
      }
    }
  }
  round_.active = early_pending;
  round_.interrupted_code = 0;
  m.state = Member::State::kRunning;
  bool from_socket = false;
  bool on_socket = false;
  {
    std::lock_guard lock(process_->mu);
    int nr = m.call.nr;
    on_socket = process_->socket_fds.count(fd_argument(m.call)) != 0;
    if ((nr == SYS_socket || nr == SYS_socketpair || nr == SYS_accept || nr == SYS_accept4) &&
        r >= 0) {
      for (auto& nf : record->new_fds) process_->socket_fds.insert(nf.number);
    }
    from_socket = reads_input(nr) && on_socket;
  }
  LogEntry entry;
  if (checkpoint_ != nullptr) {
    entry.record = record;
    entry.parts.resize(members_.size());
    entry.parts[version] = served_part(m, from_socket, on_socket, program_result);
  }
  // New descriptors change the followers' tables: with threads, in the leader's order.
  uint64_t fd_seq = 0;
  if (!record->new_fds.empty() && process_ordering()) {
    std::vector<int> appliers;
    for (int f : followers) {
      if (members_[f] && members_[f]->state == Member::State::kWaiting) appliers.push_back(f);
    }
    std::lock_guard lock(process_->mu);
    fd_seq = process_->issue_fd_change(appliers);
    TANDEM_LOG(kDebug, "group {}: descriptor change {} ({}), applied by versions {}", id_, fd_seq,
               record->new_fds.front().number, appliers);
  }
  for (int f : followers) {
    Member& fm = *members_[f];
    if (fm.state != Member::State::kWaiting) continue;
    // A follower with a descriptor of its own where the executor got a new one cannot
    // stay consistent.
    bool clash = false;
    for (auto& nf : record->new_fds) clash |= fm.local_fds.count(nf.number) != 0;
    if (clash) {
      defer_drop(f, "its own descriptor clashes with a new shared descriptor");
      continue;
    }
    fm.state = Member::State::kRunning;
    int64_t result = record->result;
    if (fm.content_divergent && result >= 0 &&
        (fm.call.nr == SYS_write || fm.call.nr == SYS_writev || fm.call.nr == SYS_sendto ||
         fm.call.nr == SYS_pwrite64)) {
      // Its own write "succeeded" as the winner's did: it is told its own length.
      auto asked = write_data(fm);
      auto winner = write_data(m);
      if (asked && winner && static_cast<size_t>(result) == winner->size())
        result = static_cast<int64_t>(asked->size());
    }
    SyscallCall fcall = fm.call;
    bool apply = !fm.content_divergent || fm.call.nr == m.call.nr;
    int64_t events = result;
    auto own_outputs = std::make_shared<std::optional<Outputs>>(
        follower_epoll_outputs(*record, version, f, fm.withheld_fds, &events));
    if (record->result > 0 && events == 0 && !fm.withheld_fds.empty()) {
      // Rx: every event was of a connection withheld from it: natively it would still be
      // waiting. Served none, nginx's copy (no timer: an infinite wait) logged an alert and
      // went another way. It waits for the next round.
      fm.state = Member::State::kArrived;
      continue;
    }
    result = events;
    std::shared_ptr<Process> process = process_;
    const Outputs* outs = own_outputs->has_value() ? &**own_outputs : &record->outputs;
    if (checkpoint_ != nullptr) {
      LogEntry::Part part = served_part(fm, from_socket, on_socket, result);
      part.apply = apply;
      if (own_outputs->has_value()) part.own_outputs = std::make_shared<Outputs>(**own_outputs);
      entry.parts[f] = std::move(part);
    }
    const PidMap* pids = &monitor_.pids();
    auto complete = [record, fcall, result, apply, own_outputs, outs, fd_seq, process, f,
                     pids](Task& t) {
      complete_from_record(t, *record, fcall, result, apply, *outs);
      if (fd_seq != 0) {
        std::lock_guard lock(process->mu);
        process->applied(f, fd_seq);
      }
      if (auto si = sigpipe_for(fcall, result, t.tid(), pids->to_virtual(f, t.tgid())))
        t.send_signal(SIGPIPE, &*si);
      finish_call(t, result);
    };
    if (fd_seq != 0) {
      in_fd_order(fm, fd_seq, complete);
    } else {
      monitor_.backend().post(fm.task, complete);
    }
  }
  if (checkpoint_ != nullptr) {
    if (round_.merged_write) {
      invalidate_checkpoint("writes merged across versions");
    } else {
      // The log must not keep pipes and sockets open (their peers would never see
      // end-of-file): a replaying version gets the leader's instead. Regular files stay:
      // a replaying loader maps them.
      if (!record->new_fds.empty()) {
        auto stripped = std::make_shared<SyscallRecord>(*record);
        for (auto& nf : stripped->new_fds) {
          struct stat st {};
          if (nf.copy && nf.copy->valid() && fstat(nf.copy->get(), &st) == 0 &&
              (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)))
            continue;
          nf.copy.reset();
        }
        entry.record = stripped;
      }
      log_append(std::move(entry));
      if (early_pending && !log_.empty()) round_.log_at = log_base_ + log_.size() - 1;
    }
  }
  if (early_pending) {
    round_.record = record;
    round_.from_socket = from_socket;
    round_.on_socket = on_socket;
    // Followers that arrived with another call meanwhile (early_mismatch).
    if (!round_.unmatched.empty()) {
      early_decide_unmatched(&task);
      (void)end_early_round_if_done();  // the caller's try_decide goes on
    }
  }
  if (dying) return true;
  if (program_result != r) task.set_result(program_result);
  task.resume();
  return true;
}

void Group::on_syscall_exit(Task& task, int version) {
  {
    std::lock_guard lock(mu_);
    if (!members_[version] || members_[version]->state == Member::State::kGone) {
      task.resume();
      return;
    }
    Member& m = *members_[version];
    if (m.local_call) {
      handle_local_exit(task, m);
      return;
    }
    if (m.replay_own) {
      replay_exit(task, m);
      return;
    }
    if (round_.active && round_.cls == SyscallClass::kEveryone &&
        m.state == Member::State::kExecuting) {
      everyone_exit(task, m, version);
    } else if (round_.active && version == round_.executor && round_.merged_write &&
               !is_restart_code(task.result())) {
      finish_merged_write(&task, task.result());
      try_decide(&task);
    } else if (round_.active && version == round_.executor && !round_.dying &&
               !round_.record) {
      // (An early round with its record was served: the executor has gone on.)
      int64_t r = task.result();
      std::vector<int> followers = round_.participants;
      followers.erase(std::remove(followers.begin(), followers.end(), version), followers.end());
      if (is_restart_code(r)) {
        // Interrupted before it had any effect: the followers wait again, the executor comes
        // back to the call after its signal, which is then delivered to every version.
        round_.active = false;
        round_.interrupted_code = r;
        // (An early round's followers still on their way arrive at a normal rendezvous.)
        followers.insert(followers.end(), round_.unmatched.begin(), round_.unmatched.end());
        round_.pending.clear();
        round_.unmatched.clear();
        for (int f : followers) {
          if (members_[f] && members_[f]->state == Member::State::kWaiting)
            members_[f]->state = Member::State::kArrived;
        }
        m.state = Member::State::kRunning;
        m.restart_in_round = r == kERestartRestartBlock;
        task.resume();
      } else if (new_fd_waits_for_a_close(task, m, r)) {
        // Handled again once the leader's close of that number has its place in the order.
      } else {
        serve_round(task, m, r, /*dying=*/false);
      }
      try_decide(&task);
    } else {
      task.resume();
    }
  }
  flush_drops();
}

}  // namespace tandem
