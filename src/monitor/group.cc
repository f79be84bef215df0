// The rendezvous of a group: arrival, decision, rounds. See group.h for the threading model.
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
#include "monitor/monitor.h"
#include "syscalls/families/epoll.h"

namespace tandem {

namespace {

// Restart codes the kernel leaves in rax when a signal interrupts a call (never seen by the
// program): the call had no effect and is restarted or fails with EINTR.
constexpr int64_t kERestartSys = -512;
constexpr int64_t kERestartNoIntr = -513;
constexpr int64_t kERestartNoHand = -514;
constexpr int64_t kERestartRestartBlock = -516;

bool is_restart_code(int64_t r) {
  return r == kERestartSys || r == kERestartNoIntr || r == kERestartNoHand ||
         r == kERestartRestartBlock;
}

// rdtsc/rdtscp meet at the rendezvous like a call, under this pseudo number.
constexpr int kPseudoRdtsc = -2;

bool contains(const std::vector<int>& v, int x) { return std::find(v.begin(), v.end(), x) != v.end(); }

bool is_open_call(int nr) {
  return nr == SYS_open || nr == SYS_openat || nr == SYS_openat2 || nr == SYS_creat;
}

// Open flags of an open-family call (openat2 keeps them in struct open_how).
uint64_t open_flags(const SyscallCall& c, const RemoteMemory& mem) {
  switch (c.nr) {
    case SYS_open: return c.args[1];
    case SYS_openat: return c.args[2];
    case SYS_creat: return O_CREAT | O_WRONLY | O_TRUNC;
    case SYS_openat2: return mem.read_value(remote_ptr<uint64_t>(c.args[2])).value_or(O_RDWR);
    default: return 0;
  }
}

// Reads whether descriptor `fd` of `pid` has FD_CLOEXEC, from /proc/PID/fdinfo.
bool fd_is_cloexec(pid_t pid, int fd) {
  std::ifstream in(fmt::format("/proc/{}/fdinfo/{}", pid, fd));
  std::string key;
  while (in >> key) {
    if (key == "flags:") {
      std::string octal;
      in >> octal;
      return (std::stoul(octal, nullptr, 8) & O_CLOEXEC) != 0;
    }
  }
  return false;
}

// Whether the descriptor(s) a call creates get FD_CLOEXEC, from its own flags; nullopt when
// the call does not say (then /proc tells).
std::optional<bool> cloexec_from_call(const SyscallCall& c) {
  switch (c.nr) {
    case SYS_open: return (c.args[1] & O_CLOEXEC) != 0;
    case SYS_openat: return (c.args[2] & O_CLOEXEC) != 0;
    case SYS_creat:
    case SYS_accept:
    case SYS_pipe:
    case SYS_eventfd:
    case SYS_epoll_create:
    case SYS_signalfd:
    case SYS_inotify_init:
      return false;
    case SYS_socket:
    case SYS_socketpair:
    case SYS_pipe2:
    case SYS_eventfd2:
    case SYS_timerfd_create:
      return (c.args[1] & O_CLOEXEC) != 0;  // SOCK_, EFD_, TFD_CLOEXEC are O_CLOEXEC
    case SYS_accept4: return (c.args[3] & O_CLOEXEC) != 0;
    case SYS_signalfd4: return (c.args[3] & O_CLOEXEC) != 0;
    case SYS_epoll_create1:
    case SYS_inotify_init1:
      return (c.args[0] & O_CLOEXEC) != 0;
    case SYS_pidfd_open: return true;
    case SYS_recvmsg: return (c.args[2] & MSG_CMSG_CLOEXEC) != 0;
    default: return std::nullopt;
  }
}

// True if signal `sig` is pending in the kernel for `tid` (thread or process queue).
bool signal_pending(pid_t tid, int sig) {
  std::ifstream in(fmt::format("/proc/{}/status", tid));
  std::string line;
  uint64_t mask = 0;
  while (std::getline(in, line)) {
    if (line.rfind("SigPnd:", 0) == 0 || line.rfind("ShdPnd:", 0) == 0)
      mask |= std::stoull(line.substr(7), nullptr, 16);
  }
  return (mask & (uint64_t{1} << (sig - 1))) != 0;
}

// How many bytes a write-like call asks to write (for results adapted after a divergence).
int64_t requested_length(const SyscallCall& c) {
  switch (c.nr) {
    case SYS_write:
    case SYS_pwrite64:
    case SYS_sendto:
      return static_cast<int64_t>(c.args[2]);
    default:
      return -1;
  }
}

const SyscallInfo* info_of(const SyscallCall& c) { return c.nr >= 0 ? syscall_info(c.nr) : nullptr; }

// wait4(-1 / 0 / -pgid) and waitid(P_ALL / P_PGID): "any child" of a set.
bool waits_for_any_child(const SyscallCall& c) {
  if (c.nr == SYS_wait4) return static_cast<int32_t>(c.args[0]) <= 0;
  if (c.nr == SYS_waitid) return c.args[0] == P_ALL || c.args[0] == P_PGID;
  return false;
}

}  // namespace

Group::Group(Monitor& monitor, uint64_t id, int versions)
    : monitor_(monitor), id_(id), members_(versions), epoll_(versions) {}

void EpollRegistry::set(int epfd, int fd, std::optional<uint64_t> c) {
  auto key = std::make_pair(epfd, fd);
  if (auto it = cookie.find(key); it != cookie.end()) {
    fd_of_cookie.erase({epfd, it->second});
    cookie.erase(it);
  }
  if (c) {
    cookie[key] = *c;
    fd_of_cookie[{epfd, *c}] = fd;
  }
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
    epoll_[v].set(epfd, fd, *ev ? std::optional<uint64_t>((*ev)->cookie) : std::nullopt);
  }
}

// The executor's epoll_wait outputs with the follower's own cookies; nullopt when not an
// epoll_wait or when a cookie cannot be translated (then the follower gets them unchanged).
std::optional<Outputs> Group::follower_epoll_outputs(const SyscallRecord& record, int executor,
                                                     int follower, const SyscallCall& fcall) {
  int nr = record.call.nr;
  if (nr != SYS_epoll_wait && nr != SYS_epoll_pwait && nr != SYS_epoll_pwait2) return std::nullopt;
  int epfd = static_cast<int>(record.call.args[0]);
  Outputs o = record.outputs;
  auto ok = translate_epoll_cookies(o, [&](uint64_t c) -> std::optional<uint64_t> {
    auto fd = epoll_[executor].fd_of_cookie.find({epfd, c});
    if (fd == epoll_[executor].fd_of_cookie.end()) return std::nullopt;
    auto own = epoll_[follower].cookie.find({epfd, fd->second});
    if (own == epoll_[follower].cookie.end()) return std::nullopt;
    return own->second;
  });
  (void)fcall;
  if (!ok) {
    TANDEM_LOG(kWarn, "group {}: version {} has no registration for a ready epoll event", id_,
               follower + 1);
    return std::nullopt;
  }
  return o;
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
        monitor_.alive(m->version))
      p.push_back(m->version);
  }
  return p;
}

int Group::preferred_among(const std::vector<int>& versions) const {
  int leader = monitor_.leader();
  if (contains(versions, leader)) return leader;
  for (int v : monitor_.preference_order()) {
    if (contains(versions, v)) return v;
  }
  return versions.empty() ? -1 : versions.front();
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
  if (!monitor_.rules().has_ignored_args(a.call.nr)) return *a.signature == *b.signature;
  // Compare field by field, skipping the arguments the rules say to ignore.
  const Signature& x = *a.signature;
  const Signature& y = *b.signature;
  if (x.fields.size() != y.fields.size()) return false;
  for (size_t i = 0; i < x.fields.size(); ++i) {
    const auto& fx = x.fields[i];
    const auto& fy = y.fields[i];
    if (fx.arg != fy.arg) return false;
    if (monitor_.rules().ignored_arg(a.call.nr, fx.arg)) continue;
    if (fx.length != fy.length ||
        !std::equal(x.bytes.begin() + fx.offset, x.bytes.begin() + fx.offset + fx.length,
                    y.bytes.begin() + fy.offset))
      return false;
  }
  return true;
}

void Group::act(Task* current, const Member& m, std::function<void(Task&)> fn) {
  if (current != nullptr && current->id() == m.task) {
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
  std::vector<Drop> drops;
  {
    std::lock_guard lock(mu_);
    drops.swap(drops_);
  }
  for (auto& d : drops) monitor_.drop_version(d.version, d.reason, "divergence");
  std::vector<ChildPair> pairs;
  {
    std::lock_guard lock(mu_);
    pairs.swap(ready_children_);
  }
  if (!pairs.empty()) create_child_groups(std::move(pairs));
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
  if (task.stop() == StopPoint::kRdtsc) {
    call.nr = kPseudoRdtsc;
  } else {
    call = task.call();
    verdict = classify(call, &task.memory());
    if (auto s = make_signature(call, task.memory()); s) signature = std::move(*s);
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
  }
  {
    std::lock_guard lock(mu_);
    if (!members_[version] || members_[version]->state == Member::State::kGone) return;
    Member& m = *members_[version];
    m.calls++;
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
    }
    if (m.call.nr == SYS_rt_sigaction) record_disposition(m);
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
    m.state = Member::State::kArrived;
    try_decide(&task);
  }
  flush_drops();
}

// Calls that concern only this version run at once, without a rendezvous.
bool Group::handle_version_local(Task& task, Member& m) {
  const SyscallCall& c = m.call;
  if (c.nr < 0) return false;
  const SyscallInfo* info = info_of(c);
  if (info == nullptr) return false;
  // Calls on a descriptor only this version has.
  if (info->nargs > 0 && info->args[0].kind == ArgKind::kFd &&
      m.local_fds.count(static_cast<int>(c.args[0])) != 0) {
    run_local(&task, m, true);
    return true;
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
  SyscallCall real = to_real_pids(m);
  bool translate = real.args != m.call.args;
  act(current, m, [real, translate, report_exit](Task& t) {
    if (translate) {
      t.run_instead(real, report_exit);
    } else {
      t.run_call(report_exit);
    }
  });
  if (!report_exit) {
    m.state = Member::State::kRunning;
    m.local_call = false;
  }
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
  std::vector<int> p = participants();
  if (p.empty()) return;
  for (int v : p) {
    if (members_[v]->state != Member::State::kArrived) return;
  }
  if (deliver_signals(current, p)) return;
  decide(current, std::move(p));
}

void Group::decide(Task* current, std::vector<int> p) {
  // Partition the participants by what they ask for.
  std::vector<std::vector<int>> classes;
  for (int v : p) {
    bool placed = false;
    for (auto& cls : classes) {
      if (calls_equal(*members_[v], *members_[cls.front()])) {
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
  for (int v : p) members_[v]->consecutive_divergences = 0;
  if (rep.call.nr == SYS_epoll_ctl) record_epoll_ctl(p);
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
      start_round(current, rep.cls, executor, followers, {});
      break;
    }
    case SyscallClass::kEveryone:
    case SyscallClass::kLocal:
      if (p.size() > 1 && waits_for_any_child(rep.call)) {
        start_ordered_wait(current, p);
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
}

// Waiting for "any child" returns whichever child ended first, which differs between versions:
// the executor waits first, and every other version then waits for its own copy of that child
// (blocking if needed: paired children end the same way).
void Group::start_ordered_wait(Task* current, const std::vector<int>& p) {
  round_ = Round{};
  round_.active = true;
  round_.seq = monitor_.next_round_seq();
  round_.cls = SyscallClass::kEveryone;
  round_.ordered = true;
  round_.participants = p;
  int executor = preferred_among(p);
  round_.executor = executor;
  for (int v : p) {
    Member& m = *members_[v];
    m.at_exit = false;
    m.at_entry_result = false;
    m.state = v == executor ? Member::State::kExecuting : Member::State::kWaiting;
  }
  act(current, *members_[executor], [](Task& t) { t.run_call(true); });
}

void Group::continue_ordered_wait(Task* current, Member& e, int64_t r) {
  // Which child did the executor get? (wait4 returns it; waitid writes it in siginfo.)
  pid_t child = 0;
  if (e.call.nr == SYS_wait4) {
    child = r > 0 ? static_cast<pid_t>(r) : 0;
  } else if (r == 0 && e.call.args[2] != 0) {
    RemoteMemory mem(e.tid);
    child = mem.read_value(remote_ptr<int32_t>(e.call.args[2] + offsetof(siginfo_t, si_pid)))
                .value_or(0);
  }
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
    act(current, m, [c](Task& t) { t.run_instead(c, true); });
  }
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

namespace {

// The bytes a write or writev asks to write.
Result<std::vector<uint8_t>> write_data(const Member& m) {
  RemoteMemory mem(m.tid);
  if (m.call.nr == SYS_write) return mem.read_bytes(remote_addr(m.call.args[1]), m.call.args[2]);
  uint64_t count = m.call.args[2];
  if (count > 1024) return Errno{EINVAL};
  std::vector<uint8_t> all;
  for (uint64_t i = 0; i < count; ++i) {
    auto base = mem.read_value(remote_ptr<uint64_t>(m.call.args[1] + i * 16));
    auto len = mem.read_value(remote_ptr<uint64_t>(m.call.args[1] + i * 16 + 8));
    if (!base || !len) return Errno{EFAULT};
    auto bytes = mem.read_bytes(remote_addr(*base), *len);
    if (!bytes) return bytes.error();
    all.insert(all.end(), bytes->begin(), bytes->end());
  }
  return all;
}

}  // namespace

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

void Group::finish_merged_write(Task& task, int64_t r) {
  round_.active = false;
  round_.interrupted_code = 0;
  for (int v : round_.participants) {
    if (!members_[v] || members_[v]->state == Member::State::kGone) continue;
    Member& m = *members_[v];
    bool is_executor = v == round_.executor;
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
        task.set_result(result);
        task.resume();
      } else {
        monitor_.backend().post(m.task, [result](Task& t) { t.skip_call(result); });
      }
    } else if (is_executor) {
      // Its own call is not written yet: it makes it again and waits for the others.
      m.repeating = true;
      m.state = Member::State::kRunning;
      task.repeat_call();
    } else {
      m.state = Member::State::kArrived;
    }
  }
}

void Group::divergence(Task* current, const std::vector<int>& p,
                       const std::vector<std::vector<int>>& classes) {
  Policy policy = monitor_.options().policy;
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
    int first = p.front();
    for (int v : monitor_.preference_order()) {
      if (contains(p, v)) {
        first = v;
        break;
      }
    }
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
      bool same_kind = l.call.nr == w.call.nr && l.cls == w.cls;
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
  SyscallCall real = to_real_pids(e);
  bool translate = real.args != e.call.args;
  act(current, e, [real, translate](Task& t) {
    if (translate) {
      t.run_instead(real, true);
    } else {
      t.run_call(true);
    }
  });
}

void Group::start_everyone_round(Task* current, const std::vector<int>& p) {
  round_ = Round{};
  round_.active = true;
  round_.seq = monitor_.next_round_seq();
  round_.cls = SyscallClass::kEveryone;
  round_.participants = p;
  bool exits = false;
  for (int v : p) {
    Member& m = *members_[v];
    m.state = Member::State::kExecuting;
    m.at_exit = false;
    const SyscallInfo* info = info_of(m.call);
    bool no_return = info != nullptr && info->ret == RetKind::kNoReturn &&
                     m.call.nr != SYS_execve && m.call.nr != SYS_execveat;
    if (no_return) exits = true;
    SyscallCall real = to_real_pids(m);
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

void Group::finish_everyone_round(Task* current) {
  std::vector<int> p = round_.participants;
  round_.active = false;
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
  for (size_t i = 1; i < vs.size(); ++i) {
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

// A member of a kEveryone round finished its own call.
void Group::everyone_exit(Task& task, Member& m, int version) {
  int64_t r = task.result();
  if (round_.ordered && version == round_.executor && is_restart_code(r)) {
    // The executor's wait was interrupted: everyone waits again after the signal.
    round_.active = false;
    round_.interrupted_code = r;
    for (int v : round_.participants) {
      if (members_[v] && members_[v]->state == Member::State::kWaiting)
        members_[v]->state = Member::State::kArrived;
    }
    m.state = Member::State::kRunning;
    task.resume();
    try_decide(&task);
    return;
  }
  if (round_.ordered && version == round_.executor) continue_ordered_wait(&task, m, r);
  if (is_restart_code(r)) {
    // Interrupted by a signal before it did anything: it comes back to the same call.
    m.state = Member::State::kRunning;
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
    if (round_.active && round_.cls == SyscallClass::kEveryone &&
        m.state == Member::State::kExecuting) {
      everyone_exit(task, m, version);
    } else if (round_.active && version == round_.executor && round_.merged_write &&
               !is_restart_code(task.result())) {
      finish_merged_write(task, task.result());
      try_decide(&task);
    } else if (round_.active && version == round_.executor) {
      int64_t r = task.result();
      std::vector<int> followers = round_.participants;
      followers.erase(std::remove(followers.begin(), followers.end(), version), followers.end());
      if (is_restart_code(r)) {
        // Interrupted before it had any effect: the followers wait again, the executor comes
        // back to the call after its signal, which is then delivered to every version.
        round_.active = false;
        round_.interrupted_code = r;
        for (int f : followers) {
          if (members_[f] && members_[f]->state == Member::State::kWaiting)
            members_[f]->state = Member::State::kArrived;
        }
        m.state = Member::State::kRunning;
        task.resume();
      } else {
        auto record = std::make_shared<SyscallRecord>();
        record->seq = round_.seq;
        record->executor_version = version;
        record->call = m.call;
        const SyscallInfo* info = info_of(m.call);
        int64_t program_result = r;
        if (info != nullptr && info->ret == RetKind::kPid && r > 0)
          program_result = monitor_.pids().to_virtual(version, static_cast<pid_t>(r));
        record->result = program_result;
        if (!followers.empty() && r >= 0) {
          if (auto out = capture_outputs(m.call, r, task.memory()); out) {
            record->outputs = std::move(*out);
          } else {
            TANDEM_LOG(kWarn, "group {}: cannot read the outputs of {}: {}", id_, decode(m),
                       out.error().describe());
          }
          // Take our own copies of new descriptors now: the executor may close them as soon
          // as it runs again.
          if (!record->outputs.new_fds.empty()) {
            ScopedFd pidfd(static_cast<int>(syscall(SYS_pidfd_open, m.tgid, 0)));
            std::optional<bool> cloexec = cloexec_from_call(m.call);
            for (int fd : record->outputs.new_fds) {
              SyscallRecord::NewFd nf;
              nf.number = fd;
              nf.cloexec = cloexec ? *cloexec : fd_is_cloexec(m.tgid, fd);
              nf.copy = std::make_shared<ScopedFd>(
                  static_cast<int>(syscall(SYS_pidfd_getfd, pidfd.get(), fd, 0)));
              record->new_fds.push_back(std::move(nf));
            }
          }
        }
        round_.active = false;
        round_.interrupted_code = 0;
        m.state = Member::State::kRunning;
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
          if (fm.content_divergent && result >= 0) {
            int64_t asked = requested_length(fm.call);
            if (asked >= 0 && result == requested_length(m.call)) result = asked;
          }
          SyscallCall fcall = fm.call;
          bool apply = !fm.content_divergent || fm.call.nr == m.call.nr;
          auto own_outputs = std::make_shared<std::optional<Outputs>>(
              follower_epoll_outputs(*record, version, f, fcall));
          monitor_.backend().post(fm.task, [record, fcall, result, apply, own_outputs](Task& t) {
            for (auto& nf : record->new_fds) {
              if (!nf.copy->valid()) continue;
              auto ok = t.install_fd(nf.copy->get(), nf.number, nf.cloexec);
              if (!ok) {
                TANDEM_LOG(kWarn, "cannot give descriptor {} to task {}: {}", nf.number, t.tid(),
                           ok.error().describe());
              }
            }
            if (apply && result >= 0 && !record->outputs.blobs.empty()) {
              const Outputs& outs = own_outputs->has_value() ? **own_outputs : record->outputs;
              auto ok = apply_outputs(fcall, record->result, outs, t.memory());
              if (!ok) {
                TANDEM_LOG(kWarn, "cannot write the outputs of call {} into task {}: {}",
                           fcall.nr, t.tid(), ok.error().describe());
              }
            }
            if (t.stop() == StopPoint::kSyscallEntry) {
              t.skip_call(result);
            } else {
              t.set_result(result);
              t.resume();
            }
          });
        }
        if (program_result != r) task.set_result(program_result);
        task.resume();
      }
      try_decide(&task);
    } else {
      task.resume();
    }
  }
  flush_drops();
}

// ---------------------------------------------------------------------------------------------
// Signals

void Group::on_async_signal(Task& task, int version, const siginfo_t& info, bool internal) {
  {
    std::lock_guard lock(mu_);
    if (!members_[version] || members_[version]->state == Member::State::kGone) return;
    Member& m = *members_[version];
    int sig = info.si_signo;
    if (auto it = m.owed_signals.find(sig); it != m.owed_signals.end() && it->second > 0) {
      // Its own copy of a signal it was already given.
      --it->second;
      return;
    }
    bool merged = false;
    for (auto& ps : pending_signals_) {
      if (ps.signo == sig && ps.internal == internal && ps.received.count(version) == 0) {
        ps.received.insert(version);
        ps.copies[version] = 1;
        merged = true;
        break;
      }
      // Standard signals do not queue: a second copy for the same version merges.
      if (ps.signo == sig && sig < SIGRTMIN && ps.received.count(version) != 0) {
        ps.copies[version]++;
        merged = true;
        break;
      }
    }
    if (!merged) {
      PendingSignal ps;
      ps.signo = sig;
      ps.info = info;
      ps.internal = internal;
      ps.received.insert(version);
      ps.copies[version] = 1;
      pending_signals_.push_back(ps);
    }
    (void)task;
    try_decide(nullptr);
  }
  flush_drops();
}

bool Group::deliver_signals(Task* current, const std::vector<int>& p) {
  for (auto it = pending_signals_.begin(); it != pending_signals_.end(); ++it) {
    PendingSignal& ps = *it;
    bool ready = true;
    if (ps.internal) {
      for (int v : p) ready &= ps.received.count(v) != 0;
      if (!ready && ++ps.rounds_waiting > monitor_.options().reconverge_bound) {
        monitor_.events().emit("divergence",
                               {{"group", id_},
                                {"signal", ps.signo},
                                {"resolution", "delivered although not every version got it"}});
        ready = true;
      }
    }
    if (!ready) continue;
    int sig = ps.signo;
    int64_t code = round_.interrupted_code;
    // Copies merged into this delivery: a version that got fewer copies so far will get the
    // others later; they belong to this delivery, as they do for the versions that got them
    // first (otherwise versions would see different numbers of handler runs).
    int most = 0;
    for (auto& [v, n] : ps.copies) most = std::max(most, n);
    for (int v : p) {
      if (ps.internal && sig < SIGRTMIN) {
        int got = ps.copies.count(v) != 0 ? ps.copies[v] : 0;
        if (most > got) members_[v]->owed_signals[sig] += most - got;
      }
    }
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
      bool eintr = handler && code != 0 && code != kERestartNoIntr &&
                   (code != kERestartSys || (flags & SA_RESTART) == 0);
      // A real-time signal already queued for this version would be delivered a second time:
      // its copy is swallowed when it comes (standard signals merge with a pending copy).
      bool own_copy_coming = !ps.internal && ps.received.count(v) == 0 && sig >= SIGRTMIN &&
                             signal_pending(m.tid, sig);
      if (own_copy_coming) m.owed_signals[sig]++;
      m.state = Member::State::kRunning;
      act(current, m, [sig, eintr](Task& t) {
        t.send_signal(sig);
        if (eintr) {
          t.skip_call(-EINTR);
        } else {
          t.restart_call();
        }
      });
    }
    monitor_.events().emit("signal", {{"group", id_}, {"signal", sig}, {"internal", ps.internal}});
    pending_signals_.erase(it);
    round_.interrupted_code = 0;
    return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Membership

void Group::on_child(Task& parent, int version, Task& child) {
  {
    std::lock_guard lock(mu_);
    if (!members_[version] || members_[version]->state == Member::State::kGone) {
      child.resume();
      return;
    }
    members_[version]->unpaired_children.emplace_back(child.id(), child.tid());
    form_child_groups();
    (void)parent;
  }
  flush_drops();
}

void Group::form_child_groups() {
  for (;;) {
    std::vector<int> alive;
    for (auto& m : members_) {
      if (m && m->state != Member::State::kGone && monitor_.alive(m->version))
        alive.push_back(m->version);
    }
    if (alive.empty()) return;
    for (int v : alive) {
      if (members_[v]->unpaired_children.empty()) return;
    }
    ChildPair pair;
    pair.children.resize(members_.size());
    pair.epoll = epoll_;
    for (int v : alive) {
      pair.children[v] = members_[v]->unpaired_children.front();
      members_[v]->unpaired_children.pop_front();
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
    Group& g = monitor_.new_group();
    std::vector<int> present;
    for (size_t v = 0; v < pair.children.size(); ++v) {
      if (pair.children[v].first.valid()) present.push_back(static_cast<int>(v));
    }
    g.inherit_epoll(std::move(pair.epoll));
    for (int v : present) {
      auto [id, tid] = pair.children[v];
      g.add_member(v, id, tid, tid);
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

void Group::on_member_gone(int version) {
  {
    std::lock_guard lock(mu_);
    if (!members_[version] || members_[version]->state == Member::State::kGone) return;
    on_member_gone_locked(version);
  }
  flush_drops();
}

void Group::on_member_gone_locked(int version) {
  Member& m = *members_[version];
  Member::State was = m.state;
  m.state = Member::State::kGone;
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
  form_child_groups();
  try_decide(nullptr);
}

}  // namespace tandem
