// Asynchronous signals: held back and delivered to every version at a common call.
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
// Signals

void Group::on_async_signal(Task& task, int version, const siginfo_t& info, bool internal) {
  {
    std::lock_guard lock(mu_);
    if (!members_[version] || members_[version]->state == Member::State::kGone) return;
    int sig = info.si_signo;
    // tgkill/tkill target one thread; everything else targets the process, whose threads may
    // receive it in a different thread in each version.
    bool thread_directed = info.si_code == SI_TKILL;
    {
      std::lock_guard plock(process_->mu);
      auto& owed = process_->owed[version];
      if (auto it = owed.find(sig); it != owed.end() && it->second > 0) {
        --it->second;  // its own copy of a signal it was already given
        return;
      }
      bool ended_child = internal && sig == SIGCHLD &&
                         (info.si_code == CLD_EXITED || info.si_code == CLD_KILLED ||
                          info.si_code == CLD_DUMPED);
      bool merged = false;
      for (auto& ps : process_->signals) {
        if (ps.signo != sig || ps.thread_directed != thread_directed) continue;
        if (thread_directed && ps.group != id_) continue;
        if (ps.internal == internal && ps.received.count(version) == 0) {
          ps.received.insert(version);
          ps.copies[version] = 1;
          if (ended_child) ps.chld_pids[version].push_back(info.si_pid);
          merged = true;
          break;
        }
        // Standard signals do not queue: a second copy for the same version merges.
        if (sig < SIGRTMIN && ps.received.count(version) != 0) {
          ps.copies[version]++;
          if (ended_child) ps.chld_pids[version].push_back(info.si_pid);
          merged = true;
          break;
        }
      }
      if (!merged) {
        PendingSignal ps;
        ps.signo = sig;
        ps.info = info;
        ps.internal = internal;
        ps.thread_directed = thread_directed;
        ps.group = id_;
        ps.received.insert(version);
        ps.copies[version] = 1;
        if (ended_child) ps.chld_pids[version].push_back(info.si_pid);
        ps.first_seen_ns = monotonic_ns();
        process_->signals.push_back(ps);
      }
    }
    (void)task;
    try_decide(nullptr);
  }
  flush_drops();
}

bool Group::deliver_signals(Task* current, const std::vector<int>& p) {
  // Signals are delivered at a system call (restarted after the handler): not at an rdtsc.
  for (int v : p) {
    if (members_[v]->call.nr == kPseudoRdtsc) return false;
  }
  std::optional<PendingSignal> chosen;
  int64_t code = round_.interrupted_code;
  {
    std::lock_guard plock(process_->mu);
    auto& signals = process_->signals;
    for (auto it = signals.begin(); it != signals.end(); ++it) {
      PendingSignal& ps = *it;
      if (ps.thread_directed && ps.group != id_) continue;
      bool ready = true;
      if (ps.internal) {
        // Each version gets its own copy (its child ended, its timer fired) when its process
        // gets there, which depends on other processes' timing: wait for all of them, within
        // the reconvergence time. A version stopped at its call cannot report its copy: the
        // kernel holds it pending (it is swallowed when it comes, see `owed` below).
        ready = every_copy_came(ps, p);
        auto limit = static_cast<uint64_t>(monitor_.options().reconverge_seconds * 1e9);
        if (!ready && elapsed_ns(ps.first_seen_ns, monotonic_ns()) > limit) {
          monitor_.events().emit("divergence",
                                 {{"group", id_},
                                  {"signal", ps.signo},
                                  {"resolution", "delivered although not every version got it"}});
          ready = true;
        }
      }
      if (!ready) continue;
      // A process-directed signal goes to a thread that does not block it, as in the kernel;
      // the thread pairs agree on the mask, so the leader's thread decides.
      if (!ps.thread_directed && process_->threads > 1 &&
          signal_blocked(members_[preferred_among(p)]->tid, ps.signo))
        continue;
      // Copies merged into this delivery: a version that got fewer copies so far gets the
      // others later; they belong to this delivery, as they do for the versions that got them
      // first (otherwise versions would see different numbers of handler runs).
      int most = 0;
      for (auto& [v, n] : ps.copies) most = std::max(most, n);
      for (int v : p) {
        if (ps.internal && ps.signo < SIGRTMIN) {
          int got = ps.copies.count(v) != 0 ? ps.copies[v] : 0;
          // Copies its kernel merged into one it already gave never come: not owed.
          int merged = chld_copies_merged(ps, v, got);
          if (most > got + merged) process_->owed[v][ps.signo] += most - got - merged;
        }
        // A real-time signal already queued for this version would be delivered a second
        // time: its copy is swallowed when it comes (standard signals merge with a pending
        // copy).
        if (!ps.internal && ps.received.count(v) == 0 && ps.signo >= SIGRTMIN &&
            signal_pending(members_[v]->tid, ps.signo))
          process_->owed[v][ps.signo]++;
      }
      chosen = ps;
      signals.erase(it);
      break;
    }
  }
  if (!chosen) return false;
  int sig = chosen->signo;
  LogEntry entry;
  if (checkpoint_ != nullptr) entry.parts.resize(members_.size());
  for (int v : p) {
    Member& m = *members_[v];
    // As the kernel would: an interrupted call fails with EINTR when a handler runs, unless
    // the handler asked for SA_RESTART (and the call allows restarting).
    bool handler = false;
    uint64_t flags = 0;
    if (auto d = m.dispositions.find(sig); d != m.dispositions.end()) {
      handler = d->second.first > 1;  // not SIG_DFL (0) nor SIG_IGN (1)
      flags = d->second.second;
    }
    // A call that only waits for a signal (pause, or sigsuspend with the signal unblocked
    // before it) returns with EINTR after the handler, as if it had started: made again after
    // the handler it would wait for another signal (natively the signal almost always comes
    // while it waits).
    int64_t how = code;
    if (how == 0 && handler &&
        (m.call.nr == SYS_pause ||
         (m.call.nr == SYS_rt_sigsuspend && !signal_blocked(m.tid, sig))))
      how = kERestartNoHand;
    bool eintr = handler && how != 0 && how != kERestartNoIntr &&
                 (how != kERestartSys || (flags & SA_RESTART) == 0);
    if (checkpoint_ != nullptr) {
      LogEntry::Part part;
      part.how = LogEntry::Part::How::kSignal;
      part.nr = m.call.nr;
      part.fd = fd_argument(m.call);
      part.signature = m.signature;
      part.canonical_path = m.canonical_path;
      part.signo = sig;
      part.eintr = eintr;
      part.info = chosen->info;
      entry.parts[v] = std::move(part);
    }
    m.state = Member::State::kRunning;
    siginfo_t info = chosen->info;
    act(current, m, [sig, eintr, info](Task& t) {
      t.send_signal(sig, &info);
      if (eintr) {
        t.skip_call(-EINTR);
      } else {
        t.restart_call();
      }
    });
  }
  if (checkpoint_ != nullptr) log_append(std::move(entry));
  monitor_.events().emit("signal", {{"group", id_},
                                    {"signal", sig},
                                    {"code", chosen->info.si_code},
                                    {"internal", chosen->internal}});
  round_.interrupted_code = 0;
  return true;
}

bool Group::every_copy_came(const PendingSignal& ps, const std::vector<int>& p) const {
  for (int v : p) {
    if (ps.received.count(v) != 0 || signal_pending(members_[v]->tid, ps.signo)) continue;
    if (chld_copies_merged(ps, v, 0) > 0) continue;
    return false;
  }
  return true;
}

// SIGCHLD copies of `ps` beyond the first `got` of the version that received the most, whose
// children's counterparts in version `v` have ended while `v` has no SIGCHLD pending: `v`'s
// kernel sent its SIGCHLD for them, and tandem took it, merged into a copy it had already (two
// workers of nginx's master ending together: one version's kernel merged the two SIGCHLDs,
// another's sent two, and the second waited --reconverge seconds for the first version's).
int Group::chld_copies_merged(const PendingSignal& ps, int v, int got) const {
  if (ps.signo != SIGCHLD || !ps.internal || ps.chld_pids.empty() || !members_[v]) return 0;
  if (signal_pending(members_[v]->tid, SIGCHLD)) return 0;
  const std::pair<const int, std::vector<pid_t>>* most = nullptr;
  for (auto& entry : ps.chld_pids) {
    if (entry.first != v && (most == nullptr || entry.second.size() > most->second.size()))
      most = &entry;
  }
  if (most == nullptr) return 0;
  int merged = 0;
  for (size_t i = static_cast<size_t>(got); i < most->second.size(); ++i) {
    pid_t virtual_child = monitor_.pids().to_virtual(most->first, most->second[i]);
    if (!process_ended(monitor_.pids().to_real(v, virtual_child))) break;
    ++merged;
  }
  return merged;
}

Group::SignalsDue Group::internal_signals_due(uint64_t now_ns, uint64_t limit_ns) {
  SignalsDue due;
  std::vector<int> p = participants();
  if (p.empty()) return due;
  std::lock_guard plock(process_->mu);
  for (PendingSignal& ps : process_->signals) {
    if (!ps.internal || (ps.thread_directed && ps.group != id_)) continue;
    if (elapsed_ns(ps.first_seen_ns, now_ns) <= limit_ns && !every_copy_came(ps, p)) continue;
    due.any = true;
    if (!ps.kicked) due.newly_kicked = ps.kicked = true;
  }
  return due;
}

void Group::reconcile_timer_signal(const std::vector<int>& vs, int sig) {
  // The call replaced or cancelled each version's timer. Its old expiry may have reached some
  // versions and not others (each version's timer fires at its own time, the cancel is made at
  // the same call): as the preferred version saw it, every version gets that signal, or none.
  // Copies still pending in a version's kernel are accounted for (swallowed when they come).
  if (vs.empty()) return;
  int pref = preferred_among(vs);
  std::lock_guard plock(process_->mu);
  auto& signals = process_->signals;
  auto it = std::find_if(signals.begin(), signals.end(), [&](const PendingSignal& ps) {
    return ps.internal && !ps.thread_directed && ps.signo == sig;
  });
  std::map<int, bool> kernel;
  for (int v : vs) {
    bool reported = it != signals.end() && it->received.count(v) != 0;
    kernel[v] = !reported && signal_pending(members_[v]->tid, sig);
  }
  bool preferred_has = (it != signals.end() && it->received.count(pref) != 0) || kernel[pref];
  bool partial = false;
  for (int v : vs) {
    bool has = (it != signals.end() && it->received.count(v) != 0) || kernel[v];
    partial |= has != preferred_has;
  }
  if (!partial) return;
  for (int v : vs) {
    if (kernel[v]) process_->owed[v][sig]++;
  }
  if (preferred_has) {
    if (it == signals.end()) {
      PendingSignal ps;
      ps.signo = sig;
      ps.info.si_signo = sig;
      ps.info.si_code = SI_KERNEL;
      ps.internal = true;
      ps.group = id_;
      ps.first_seen_ns = monotonic_ns();
      signals.push_back(ps);
      it = std::prev(signals.end());
    }
    for (int v : vs) {
      if (it->received.insert(v).second) it->copies[v] = 1;
    }
  } else if (it != signals.end()) {
    signals.erase(it);
  }
  monitor_.events().emit("timer-signal-reconciled",
                         {{"group", id_},
                          {"signal", sig},
                          {"delivered", preferred_has},
                          {"versions", [&] {
                             nlohmann::json a = nlohmann::json::array();
                             for (int v : vs) a.push_back(v + 1);
                             return a;
                           }()}});
}

}  // namespace tandem
