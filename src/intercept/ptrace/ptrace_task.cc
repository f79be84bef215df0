#include "intercept/ptrace/ptrace_task.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <elf.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "base/proc_thread.h"
#include "base/scoped_fd.h"
#include "intercept/ptrace/install_marker.h"
#include "intercept/ptrace/program_filters.h"
#include "syscalls/syscall_model.h"
#include "intercept/ptrace/tracer_thread.h"

namespace tandem {

namespace {

// The parent of process `pid`, from /proc (0 if unknown).
pid_t parent_of(pid_t pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE* f = fopen(path, "re");
  if (f == nullptr) return 0;
  char buf[512];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  // "pid (comm) state ppid ...": comm may contain spaces and parentheses; the last ')' ends it.
  const char* close = strrchr(buf, ')');
  if (close == nullptr) return 0;
  char state = 0;
  int ppid = 0;
  if (sscanf(close + 1, " %c %d", &state, &ppid) != 2) return 0;
  return ppid;
}

long xptrace(int req, pid_t tid, void* addr, void* data) {
  return ptrace(static_cast<__ptrace_request>(req), tid, addr, data);
}

// The syscall instruction (0f 05) is two bytes; rewinding rip by it re-executes the call.
constexpr uint64_t kSyscallInsnSize = 2;

// Registers of a thread stopped at (or inside) a call that make it make the call again.
void rewind_to_call(user_regs_struct& r) {
  r.rip -= kSyscallInsnSize;
  r.rax = r.orig_rax;
}

// A thread interrupted inside a call the kernel restarts (-ERESTARTSYS, -ERESTARTNOINTR,
// -ERESTARTNOHAND, -ERESTART_RESTARTBLOCK) is restored at that call's entry. (A restart block
// is the kernel's own per-thread state: the original call is made again instead, so a
// relative timeout starts over.)
void rewind_if_restarting(user_regs_struct& r) {
  auto rax = static_cast<int64_t>(r.rax);
  if (static_cast<int64_t>(r.orig_rax) >= 0 && (rax == -512 || rax == -513 || rax == -514 ||
                                                 rax == -516))
    rewind_to_call(r);
}

// The signals blocked in thread `tid` (SigBlk in /proc).
uint64_t blocked_signals(pid_t tid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/status", tid);
  FILE* f = fopen(path, "re");
  if (f == nullptr) return 0;
  char line[256];
  uint64_t mask = 0;
  while (fgets(line, sizeof line, f) != nullptr) {
    if (strncmp(line, "SigBlk:", 7) == 0) {
      mask = strtoull(line + 7, nullptr, 16);
      break;
    }
  }
  fclose(f);
  return mask;
}

// The FP/vector state of a stopped thread (empty if it cannot be read).
std::vector<uint8_t> read_xstate(pid_t tid) {
  std::vector<uint8_t> buf(16384);
  iovec iov{buf.data(), buf.size()};
  if (xptrace(PTRACE_GETREGSET, tid, reinterpret_cast<void*>(NT_X86_XSTATE), &iov) < 0) return {};
  buf.resize(iov.iov_len);
  return buf;
}

std::vector<uint8_t> regs_bytes(const user_regs_struct& r) {
  const auto* p = reinterpret_cast<const uint8_t*>(&r);
  return {p, p + sizeof r};
}

// glibc 2.36 (x86-64) keeps each thread's tid in its struct pthread, which starts at the thread
// pointer (fs_base), at this offset: pthread_join waits for the kernel to clear it, and
// pthread_kill sends to it. A restored thread gets its new tid there. Used only where the
// value found there is the thread's tid (another C library: unknown, left alone).
constexpr uint64_t kGlibcTidOffset = 0x2d0;


void load_args(user_regs_struct& r, const SyscallCall& c) {
  r.rdi = c.args[0];
  r.rsi = c.args[1];
  r.rdx = c.args[2];
  r.r10 = c.args[3];
  r.r8 = c.args[4];
  r.r9 = c.args[5];
}

// A call tandem injects carries the run's secret in its (unused) sixth argument, which lets
// it through the guard in front of the program's own seccomp filters (program_filters.h).
void load_injected_args(user_regs_struct& r, const SyscallCall& c) {
  load_args(r, c);
  const SyscallInfo* info = syscall_info(c.nr);
  if (info != nullptr && info->nargs < 6) r.r9 = injection_secret();
}

}  // namespace

PtraceTask::PtraceTask(TracerThread& owner, TaskId id, pid_t tid, pid_t tgid, int version)
    : owner_(owner), id_(id), tid_(tid), tgid_(tgid), version_(version), mem_(tid) {}

void PtraceTask::note_stop(StopPoint point) {
  phase_ = Phase::kStopped;
  stop_ = point;
  regs_valid_ = false;
  regs_dirty_ = false;
}

user_regs_struct& PtraceTask::regs() {
  if (!regs_valid_) {
    regs_unreadable_ = xptrace(PTRACE_GETREGS, tid_, nullptr, &regs_) < 0;
    if (regs_unreadable_) {
      // The task vanished (SIGKILL from outside): keep zeroed registers, its exit comes next.
      regs_ = {};
    }
    regs_valid_ = true;
  }
  return regs_;
}

void PtraceTask::flush_regs() {
  if (regs_dirty_) {
    xptrace(PTRACE_SETREGS, tid_, nullptr, &regs_);
    regs_dirty_ = false;
  }
}

namespace {

// Same call site and arguments: restart_syscall leaves the continued call's argument registers
// as they were.
bool same_call_site(const user_regs_struct& a, const user_regs_struct& b) {
  return a.rip == b.rip && a.rdi == b.rdi && a.rsi == b.rsi && a.rdx == b.rdx &&
         a.r10 == b.r10 && a.r8 == b.r8 && a.r9 == b.r9;
}

}  // namespace

bool PtraceTask::resolve_restart(user_regs_struct& r) const {
  if (r.orig_rax != SYS_restart_syscall) return true;
  if (!has_restart_origin_ || !same_call_site(r, restart_origin_)) return false;
  r.orig_rax = restart_origin_.orig_rax;
  return true;
}

bool PtraceTask::load_syscall_entry() {
  user_regs_struct& r = regs();
  if (regs_unreadable_) return false;
  if (r.orig_rax == SYS_restart_syscall && entry_regs_.orig_rax != SYS_restart_syscall &&
      same_call_site(r, entry_regs_)) {
    restart_origin_ = entry_regs_;  // an intercepted call the kernel continues
    has_restart_origin_ = true;
  }
  entry_regs_ = r;
  call_.nr = static_cast<int>(r.orig_rax);
  call_.args = {r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9};
  return true;
}

bool PtraceTask::load_siginfo() {
  siginfo_ = {};
  return xptrace(PTRACE_GETSIGINFO, tid_, nullptr, &siginfo_) == 0;
}

const SyscallCall& PtraceTask::call() const {
  TANDEM_CHECK(stop_ == StopPoint::kSyscallEntry) << "task " << tid_ << " not at a call";
  return call_;
}

void PtraceTask::continue_running(int sig) {
  flush_regs();
  for (const siginfo_t& si : deferred_signals_) {
    resent_.push_back(si);
    syscall(SYS_tgkill, tgid_, tid_, si.si_signo);
  }
  deferred_signals_.clear();
  auto req = expect_ == Expect::kExitStop ? PTRACE_SYSCALL : PTRACE_CONT;
  // ESRCH: the task was killed meanwhile; its exit is reported by waitpid.
  xptrace(req, tid_, nullptr, reinterpret_cast<void*>(static_cast<uintptr_t>(sig)));
  phase_ = Phase::kRunning;
  regs_valid_ = false;
}

void PtraceTask::run_call(bool report_exit) {
  TANDEM_CHECK(phase_ == Phase::kStopped && stop_ == StopPoint::kSyscallEntry)
      << "run_call on task " << tid_ << " (phase " << static_cast<int>(phase_) << ", stop "
      << static_cast<int>(stop_) << ", call " << call_.nr << ")";
  if (filter_install_arg(call()) >= 0) {
    if (auto r = install_guarded_filter()) {
      // Installed by the injected call: the program's own call is skipped with its result.
      user_regs_struct& regs_now = regs();
      regs_now.orig_rax = static_cast<uint64_t>(-1);
      regs_now.rax = static_cast<uint64_t>(*r);
      regs_dirty_ = true;
    }
  }
  report_exit_ = report_exit;
  expect_ = report_exit ? Expect::kExitStop : Expect::kNothing;
  continue_running(0);
}

std::optional<int64_t> PtraceTask::install_guarded_filter() {
  SyscallCall c = call();
  int arg = filter_install_arg(c);
  // struct sock_fprog { unsigned short len; struct sock_filter* filter; }: 16 bytes.
  auto header = mem_.read_bytes(remote_addr(c.args[arg]), 16);
  if (!header) {
    TANDEM_LOG(kDebug, "task {}: its seccomp filter is unreadable", tid_);
    return std::nullopt;  // the kernel fails it (EFAULT), as natively
  }
  uint16_t len = 0;
  uint64_t insns = 0;
  memcpy(&len, header->data(), sizeof len);
  memcpy(&insns, header->data() + 8, sizeof insns);
  if (len == 0 || len > BPF_MAXINSNS) return std::nullopt;  // EINVAL, as natively
  auto bytes = mem_.read_bytes(remote_addr(insns), len * sizeof(sock_filter));
  if (!bytes) return std::nullopt;
  std::vector<sock_filter> program(len);
  memcpy(program.data(), bytes->data(), bytes->size());
  std::vector<sock_filter> guarded = guard_filter(program, injection_secret());
  if (guarded.size() > BPF_MAXINSNS) {
    TANDEM_LOG(kWarn, "task {}: its seccomp filter is too long to guard; installed as is", tid_);
    return std::nullopt;
  }
  // The guarded copy goes below the stack pointer, past the red zone: free at a syscall.
  uint64_t size = guarded.size() * sizeof(sock_filter);
  uint64_t at = (regs().rsp - 128 - 16 - size) & ~uint64_t{15};
  uint64_t header_at = at;
  uint64_t insns_at = at + 16;
  std::vector<uint8_t> fprog(16, 0);
  auto n = static_cast<uint16_t>(guarded.size());
  memcpy(fprog.data(), &n, sizeof n);
  memcpy(fprog.data() + 8, &insns_at, sizeof insns_at);
  std::vector<uint8_t> code(size);
  memcpy(code.data(), guarded.data(), size);
  if (!mem_.write(remote_addr(insns_at), code) || !mem_.write(remote_addr(header_at), fprog)) {
    TANDEM_LOG(kWarn, "task {}: cannot write its guarded seccomp filter; installed as is", tid_);
    return std::nullopt;
  }
  c.args[arg] = header_at;
  auto r = inject(c);
  if (!r) {
    TANDEM_LOG(kWarn, "task {}: injecting its guarded seccomp filter failed: {}", tid_,
               r.error().describe());
    return std::nullopt;
  }
  TANDEM_LOG(kDebug, "task {}: its seccomp filter ({} instructions) installed behind tandem's "
             "guard: {}", tid_, len, *r);
  return *r;
}

void PtraceTask::run_instead(const SyscallCall& replacement, bool report_exit) {
  TANDEM_CHECK(phase_ == Phase::kStopped && stop_ == StopPoint::kSyscallEntry)
      << "run_instead on task " << tid_;
  user_regs_struct& r = regs();
  r.orig_rax = static_cast<uint64_t>(replacement.nr);
  load_args(r, replacement);
  regs_dirty_ = true;
  run_call(report_exit);
}

void PtraceTask::skip_call(int64_t result) {
  TANDEM_CHECK(phase_ == Phase::kStopped && stop_ == StopPoint::kSyscallEntry)
      << "skip_call on task " << tid_;
  user_regs_struct& r = regs();
  // orig_rax = -1 makes the kernel skip the call; it then returns rax as is.
  r.orig_rax = static_cast<uint64_t>(-1);
  r.rax = static_cast<uint64_t>(result);
  regs_dirty_ = true;
  expect_ = Expect::kNothing;
  continue_running(0);
}

void PtraceTask::send_signal(int sig, const siginfo_t* info) {
  Passthrough p{sig, info != nullptr, {}};
  if (info != nullptr) p.info = *info;
  passthrough_.push_back(p);
  syscall(SYS_tgkill, tgid_, tid_, sig);
}

void PtraceTask::restore_resent_siginfo() {
  if (siginfo_.si_code != SI_TKILL || siginfo_.si_pid != getpid()) return;
  for (auto it = resent_.begin(); it != resent_.end(); ++it) {
    if (it->si_signo != siginfo_.si_signo) continue;
    siginfo_t original = *it;
    resent_.erase(it);
    if (original.si_code == SI_TKILL && original.si_pid == getpid()) return;
    xptrace(PTRACE_SETSIGINFO, tid_, nullptr, &original);
    siginfo_ = original;
    return;
  }
}

bool PtraceTask::take_passthrough(int sig) {
  for (auto it = passthrough_.begin(); it != passthrough_.end(); ++it) {
    if (it->sig == sig) {
      if (it->has_info) {
        siginfo_t info = it->info;
        xptrace(PTRACE_SETSIGINFO, tid_, nullptr, &info);
      }
      passthrough_.erase(it);
      return true;
    }
  }
  return false;
}

void PtraceTask::set_siginfo(const siginfo_t& info) {
  TANDEM_CHECK(phase_ == Phase::kStopped && stop_ == StopPoint::kSignal)
      << "set_siginfo on task " << tid_;
  siginfo_t copy = info;
  xptrace(PTRACE_SETSIGINFO, tid_, nullptr, &copy);
  siginfo_ = info;
}

void PtraceTask::restart_call() {
  TANDEM_CHECK(phase_ == Phase::kStopped && stop_ == StopPoint::kSyscallEntry)
      << "restart_call on task " << tid_;
  user_regs_struct& r = regs();
  // Skip the call now and return to the syscall instruction with rax = nr, exactly the state the
  // kernel leaves for a restarted call: the signal (if any) is delivered first, the call is made
  // again afterwards (also from a handler frame: sigreturn restores this state).
  uint64_t nr = r.orig_rax;
  r.orig_rax = static_cast<uint64_t>(-1);
  r.rax = nr;
  r.rip -= kSyscallInsnSize;
  regs_dirty_ = true;
  expect_ = Expect::kNothing;
  continue_running(0);
}

int64_t PtraceTask::result() const {
  TANDEM_CHECK(stop_ == StopPoint::kSyscallExit) << "result of task " << tid_;
  return static_cast<int64_t>(const_cast<PtraceTask*>(this)->regs().rax);
}

void PtraceTask::set_result(int64_t result) {
  TANDEM_CHECK(phase_ == Phase::kStopped && stop_ == StopPoint::kSyscallExit)
      << "set_result on task " << tid_;
  regs().rax = static_cast<uint64_t>(result);
  regs_dirty_ = true;
}

void PtraceTask::resume() {
  if (phase_ == Phase::kAwaitingFirstStop) {
    resume_at_first_stop_ = true;
    return;
  }
  TANDEM_CHECK(phase_ == Phase::kStopped) << "resume of running task " << tid_;
  if (stop_ == StopPoint::kSyscallExit) expect_ = Expect::kNothing;
  continue_running(0);
}

void PtraceTask::repeat_call() {
  TANDEM_CHECK(phase_ == Phase::kStopped && stop_ == StopPoint::kSyscallExit)
      << "repeat_call on task " << tid_;
  user_regs_struct& r = regs();
  r.rip -= kSyscallInsnSize;
  r.rax = static_cast<uint64_t>(call_.nr);
  load_args(r, call_);
  regs_dirty_ = true;
  expect_ = Expect::kNothing;
  continue_running(0);
}

pid_t PtraceTask::wait_own_stop(int* status) {
  // A thread-group leader killed (its process was) without an exit stop we could take here
  // is never reported to a wait while other threads of its process live, and those stand at
  // their own exit stops, which this thread's main loop lets go only once we return: a
  // blocking wait hung tandem (a restored copy killed while it was given its descriptors).
  // The task normally stops within microseconds: it is looked at without blocking, yielding
  // the CPU in between a hundred times, then every millisecond, and found dead by its /proc
  // entry.
  // (Counted in tries, not read from a clock: the vDSO's clock reads the time-stamp counter,
  // which faults in tracer threads, base/tsc.h.)
  for (int tries = 0;; ++tries) {
    pid_t p = waitpid(tid_, status, __WALL | WNOHANG);
    if (p != 0) return p;
    if (tries < 100) {
      sched_yield();
      continue;
    }
    if (is_zombie()) {
      gone_ = true;
      errno = ESRCH;
      return -1;
    }
    poll(nullptr, 0, 1);
  }
}

Result<int> PtraceTask::wait_stop_during_injection(pid_t* forked, int resume) {
  for (;;) {
    int status = 0;
    pid_t p = wait_own_stop(&status);
    if (p < 0) {
      if (errno == EINTR) continue;
      return last_errno();
    }
    if (WIFEXITED(status) || WIFSIGNALED(status)) {
      owner_.defer_status(p, status);
      gone_ = true;
      return Errno{ESRCH};
    }
    int sig = WSTOPSIG(status);
    int event = status >> 16;
    if (sig == (SIGTRAP | 0x80)) return status;
    if (sig == SIGTRAP && event == PTRACE_EVENT_SECCOMP) return status;
    if (event == PTRACE_EVENT_EXIT) {
      // Killed while we injected: let the main loop report the exit.
      owner_.defer_status(p, status);
      gone_ = true;
      return Errno{ESRCH};
    }
    if (event == PTRACE_EVENT_STOP) {
      xptrace(resume, tid_, nullptr, nullptr);
      continue;
    }
    if (event == PTRACE_EVENT_FORK || event == PTRACE_EVENT_VFORK || event == PTRACE_EVENT_CLONE) {
      unsigned long child = 0;
      xptrace(PTRACE_GETEVENTMSG, tid_, nullptr, &child);
      if (forked != nullptr) *forked = static_cast<pid_t>(child);
      xptrace(resume, tid_, nullptr, nullptr);
      continue;
    }
    // A signal arrived during the injected call: hold it back, re-send it on resume. (Resumed
    // the way the caller resumed the task: a PTRACE_SYSCALL here where the caller waits for a
    // seccomp stop would stop at the syscall-entry stop first.)
    if (event == 0) {
      siginfo_t si{};
      if (xptrace(PTRACE_GETSIGINFO, tid_, nullptr, &si) < 0) si.si_signo = sig;
      deferred_signals_.push_back(si);
    }
    xptrace(resume, tid_, nullptr, nullptr);
  }
}

Result<int64_t> PtraceTask::inject(const SyscallCall& call) {
  TANDEM_CHECK(phase_ == Phase::kStopped &&
               (stop_ == StopPoint::kSyscallEntry || stop_ == StopPoint::kSyscallExit))
      << "inject into task " << tid_;
  if (stop_ == StopPoint::kSyscallExit) return inject_at_exit(call);
  // At a seccomp stop: run `call` in place of the intercepted one, then make the task execute
  // its syscall instruction again so that it is back at a seccomp stop for the original call.
  user_regs_struct saved = regs();
  user_regs_struct r = saved;
  r.orig_rax = static_cast<uint64_t>(call.nr);
  load_injected_args(r, call);
  if (xptrace(PTRACE_SETREGS, tid_, nullptr, &r) < 0) return last_errno();
  if (xptrace(PTRACE_SYSCALL, tid_, nullptr, nullptr) < 0) return last_errno();
  auto st = wait_stop_during_injection();
  if (!st) return st.error();
  user_regs_struct after{};
  if (xptrace(PTRACE_GETREGS, tid_, nullptr, &after) < 0) return last_errno();
  int64_t result = static_cast<int64_t>(after.rax);
  user_regs_struct again = saved;
  again.rip -= kSyscallInsnSize;
  again.rax = saved.orig_rax;
  // The call re-enters through the program's own filters too, which the injected call may
  // just have installed (and which may forbid that call): it carries the secret meanwhile.
  const SyscallInfo* info = syscall_info(static_cast<int>(saved.orig_rax));
  bool secret = info != nullptr && info->nargs < 6;
  if (secret) again.r9 = injection_secret();
  if (xptrace(PTRACE_SETREGS, tid_, nullptr, &again) < 0) return last_errno();
  if (xptrace(PTRACE_CONT, tid_, nullptr, nullptr) < 0) return last_errno();
  st = wait_stop_during_injection(nullptr, PTRACE_CONT);
  if (!st) return st.error();
  if ((*st >> 16) != PTRACE_EVENT_SECCOMP) {
    // Only possible if our own filter no longer traps the call: a bug.
    TANDEM_FATAL() << "task " << tid_ << " did not re-enter its call after an injection";
  }
  regs_valid_ = false;
  regs_dirty_ = false;
  if (secret) {
    regs().r9 = saved.r9;
    regs_dirty_ = true;
  }
  return result;
}

Result<int64_t> PtraceTask::inject_at_exit(const SyscallCall& call, pid_t* forked) {
  user_regs_struct saved = regs();
  flush_regs();
  user_regs_struct r = saved;
  r.rip -= kSyscallInsnSize;
  r.rax = static_cast<uint64_t>(call.nr);
  load_injected_args(r, call);
  if (xptrace(PTRACE_SETREGS, tid_, nullptr, &r) < 0) return last_errno();
  // syscall-entry stop, maybe a seccomp stop, then the syscall-exit stop.
  for (int stops = 0;; ++stops) {
    if (xptrace(PTRACE_SYSCALL, tid_, nullptr, nullptr) < 0) return last_errno();
    auto st = wait_stop_during_injection(forked);
    if (!st) return st.error();
    __ptrace_syscall_info info{};
    if (xptrace(PTRACE_GET_SYSCALL_INFO, tid_, reinterpret_cast<void*>(sizeof info), &info) < 0)
      return last_errno();
    if (info.op == PTRACE_SYSCALL_INFO_EXIT) break;
    TANDEM_CHECK(stops < 4) << "injection into task " << tid_ << " never reached its exit";
  }
  user_regs_struct after{};
  if (xptrace(PTRACE_GETREGS, tid_, nullptr, &after) < 0) return last_errno();
  if (xptrace(PTRACE_SETREGS, tid_, nullptr, &saved) < 0) return last_errno();
  regs_ = saved;
  regs_valid_ = true;
  regs_unreadable_ = false;
  regs_dirty_ = false;
  return static_cast<int64_t>(after.rax);
}

const siginfo_t& PtraceTask::siginfo() const {
  TANDEM_CHECK(stop_ == StopPoint::kSignal || stop_ == StopPoint::kRdtsc)
      << "siginfo of task " << tid_;
  return siginfo_;
}

void PtraceTask::deliver_signal(int sig) {
  TANDEM_CHECK(phase_ == Phase::kStopped &&
               (stop_ == StopPoint::kSignal || stop_ == StopPoint::kRdtsc))
      << "deliver_signal on task " << tid_;
  continue_running(sig);
}

void PtraceTask::emulate_rdtsc(uint64_t tsc, uint32_t aux) {
  TANDEM_CHECK(phase_ == Phase::kStopped && stop_ == StopPoint::kRdtsc)
      << "emulate_rdtsc on task " << tid_;
  user_regs_struct& r = regs();
  uint8_t insn[3] = {};
  (void)mem_.read(remote_addr(r.rip), insn);
  bool rdtscp = insn[0] == 0x0f && insn[1] == 0x01 && insn[2] == 0xf9;
  r.rax = tsc & 0xffffffffu;
  r.rdx = tsc >> 32;
  if (rdtscp) r.rcx = aux;
  r.rip += rdtscp ? 3 : 2;
  regs_dirty_ = true;
  continue_running(0);
}

uint64_t PtraceTask::pc() const { return const_cast<PtraceTask*>(this)->regs().rip; }

int64_t PtraceTask::syscall_register() const {
  return static_cast<int64_t>(const_cast<PtraceTask*>(this)->regs().orig_rax);
}

// What the kernel leaves in the registers of a thread killed (SIGKILL, or another thread's
// fatal signal or exit_group) while in a system call, read at its PTRACE_EVENT_EXIT stop
// (checked on 6.18 with a tracer that kills a process whose thread is at each point):
//  - at a seccomp or syscall-entry stop, before the call: orig_rax the call, rax -ENOSYS (set
//    at entry); __seccomp_filter skips the call when a fatal signal is pending after the stop;
//  - blocked inside it: the call returns early: -ERESTARTSYS (read, accept, wait4),
//    -ERESTARTNOHAND (pause, poll), -ERESTART_RESTARTBLOCK (nanosleep), -EINTR (epoll_wait),
//    or the count done so far (a write into a full pipe or socket: 4096 of 1 MiB); the signal
//    is fatal, so no restart or EINTR fix-up touches rax;
//  - after the call returned (at its syscall-exit stop, or on its way there: ptrace_stop does
//    not stop a task with a fatal signal pending): rax holds the result;
//  - in program code: orig_rax -1.
// Restart codes are returned only by a call that did nothing, and EINTR by calls the signal
// interrupted before they had any effect.
Task::CallAtDeath PtraceTask::call_at_death() const {
  CallAtDeath out;
  user_regs_struct r{};
  if (xptrace(PTRACE_GETREGS, tid_, nullptr, &r) < 0) {
    out.outcome = CallAtDeath::Outcome::kUnknown;  // gone already
    return out;
  }
  auto nr = static_cast<int64_t>(r.orig_rax);
  if (nr < 0) return out;
  out.nr = static_cast<int>(nr);
  out.result = static_cast<int64_t>(r.rax);
  switch (out.result) {
    case -ENOSYS: out.outcome = CallAtDeath::Outcome::kNotMade; break;
    case -EINTR:
    case -512: case -513: case -514: case -516:
      out.outcome = CallAtDeath::Outcome::kInterrupted;
      break;
    default: out.outcome = CallAtDeath::Outcome::kReturned; break;
  }
  return out;
}

bool PtraceTask::is_zombie() const {
  std::optional<char> state = thread_state(tid_);
  return !state || *state == 'Z' || *state == 'X';  // gone: reaped already
}

Result<void> PtraceTask::answer_install(int monitor_fd, int target_fd, bool close_on_exec) {
  int listener = owner_.listener();
  for (;;) {
    // The task may never make the marker call: killed (SIGKILL is never seen) after it was
    // resumed to make it, it dies without a notification, and a blocking RECV waited forever
    // (the version's tracer thread hung: the killed follower of a test was never restarted and
    // the leader waited for it). Wait for the notification a while at a time and look at the
    // task in between, without consuming its state (the caller's wait takes it).
    pollfd ready{listener, POLLIN, 0};
    int n_ready = poll(&ready, 1, 20);
    if (n_ready < 0 && errno != EINTR) return last_errno();
    if (n_ready <= 0) {
      siginfo_t si{};
      int w = waitid(P_PID, static_cast<id_t>(tid_), &si,
                     WEXITED | WSTOPPED | WNOHANG | WNOWAIT | __WALL);
      if (w < 0 && errno == ECHILD) return Errno{ESRCH};
      if (w == 0 && si.si_pid == tid_) {
        // Dead, or stopped elsewhere (a signal withdrew the notification before it was
        // posted to us, or the exit stop of a killed task): the caller's wait sees which.
        return Errno{si.si_code == CLD_TRAPPED || si.si_code == CLD_STOPPED ? EINTR : ESRCH};
      }
      if (is_zombie()) {
        // A killed thread-group leader whose exit stop went by (an injection before this one
        // took it) while other threads of its process are alive: no wait reports it until
        // they are gone, and they stand at their own exit stops, which this thread's main
        // loop handles only once we return. Waiting for it here hung tandem (a restored
        // copy killed while it was given its descriptors).
        gone_ = true;
        return Errno{ESRCH};
      }
      continue;
    }
    seccomp_notif n{};
    if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &n) < 0) {
      if (errno == EINTR) continue;
      // ENOENT: the notification was withdrawn before we received it (a signal interrupted
      // the task's wait); the caller makes the marker call again.
      return Errno{errno == ENOENT ? EINTR : errno};
    }
    if (static_cast<pid_t>(n.pid) != tid_ || n.data.nr != kInstallMarkerNr) {
      // Not ours (cannot happen unless the program forges the marker): refuse it.
      seccomp_notif_resp r{};
      r.id = n.id;
      r.error = -ENOSYS;
      ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &r);
      continue;
    }
    seccomp_notif_addfd add{};
    add.id = n.id;
    add.flags = SECCOMP_ADDFD_FLAG_SETFD | SECCOMP_ADDFD_FLAG_SEND;
    add.srcfd = static_cast<uint32_t>(monitor_fd);
    add.newfd = static_cast<uint32_t>(target_fd);
    add.newfd_flags = close_on_exec ? O_CLOEXEC : 0;
    if (ioctl(listener, SECCOMP_IOCTL_NOTIF_ADDFD, &add) < 0) {
      // ENOENT: a signal interrupted the task's wait after we received the notification (only
      // without SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, kernels before 5.19): again.
      if (errno == ENOENT) return Errno{EINTR};
      Errno e = last_errno();
      seccomp_notif_resp r{};
      r.id = n.id;
      r.error = -e.value;
      ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &r);
      return e;
    }
    return {};
  }
}

Result<void> PtraceTask::install_fd(int monitor_fd, int target_fd, bool close_on_exec) {
  TANDEM_CHECK(phase_ == Phase::kStopped &&
               (stop_ == StopPoint::kSyscallEntry || stop_ == StopPoint::kSyscallExit))
      << "install_fd into task " << tid_;
  if (owner_.listener() < 0) return Errno{ENOTSUP};
  // Killed during an earlier injection (its exit stop was taken then): resumed to make the
  // marker call, it would only die, and nothing would answer.
  if (gone_) return Errno{ESRCH};
  for (int attempt = 1;; ++attempt) {
    Result<void> r = install_fd_once(monitor_fd, target_fd, close_on_exec);
    // EINTR: a signal took the task out of the marker call before the descriptor was added
    // (the signal stays pending); the task is now at the marker's syscall-exit stop, from
    // where the marker is made again.
    if (r || r.error().value != EINTR || attempt == 8) return r;
  }
}

Result<void> PtraceTask::install_fd_once(int monitor_fd, int target_fd, bool close_on_exec) {
  // The task makes the installation marker call; seccomp turns it into a user notification,
  // which we answer by adding the descriptor (SECCOMP_IOCTL_NOTIF_ADDFD): no permission check
  // between the task and tandem is involved, so this works after the program changed its uid.
  if (stop_ == StopPoint::kSyscallEntry) {
    user_regs_struct& r = regs();
    r.orig_rax = kInstallMarkerNr;
    r.rdi = kInstallMarkerMagic;
    regs_dirty_ = true;
    flush_regs();
    // Seccomp runs again on the changed call; the marker filter makes it a notification.
    if (xptrace(PTRACE_SYSCALL, tid_, nullptr, nullptr) < 0) return last_errno();
    Result<void> answered = answer_install(monitor_fd, target_fd, close_on_exec);
    if (gone_) return Errno{ESRCH};  // a zombie: no stop to wait for (answer_install)
    auto st = wait_stop_during_injection();
    if (!st) return st.error();
    note_stop(StopPoint::kSyscallExit);
    return answered;
  }
  user_regs_struct saved = regs();
  flush_regs();
  user_regs_struct r = saved;
  r.rip -= kSyscallInsnSize;
  r.rax = kInstallMarkerNr;
  r.rdi = kInstallMarkerMagic;
  if (xptrace(PTRACE_SETREGS, tid_, nullptr, &r) < 0) return last_errno();
  // Re-executing the syscall instruction: the syscall-entry stop comes first.
  if (xptrace(PTRACE_SYSCALL, tid_, nullptr, nullptr) < 0) return last_errno();
  auto st = wait_stop_during_injection();
  if (!st) return st.error();
  if (xptrace(PTRACE_SYSCALL, tid_, nullptr, nullptr) < 0) return last_errno();
  Result<void> answered = answer_install(monitor_fd, target_fd, close_on_exec);
  if (gone_) return Errno{ESRCH};
  st = wait_stop_during_injection();
  if (!st) return st.error();
  if (xptrace(PTRACE_SETREGS, tid_, nullptr, &saved) < 0) return last_errno();
  regs_ = saved;
  regs_valid_ = true;
  regs_unreadable_ = false;
  regs_dirty_ = false;
  return answered;
}

Result<Task::Snapshot> PtraceTask::take_snapshot(std::optional<Snapshot> replaces) {
  TANDEM_CHECK(phase_ == Phase::kStopped && stop_ == StopPoint::kSyscallEntry)
      << "take_snapshot of task " << tid_;
  if (replaces) {
    // Kill the earlier copy and, if it is this process's child, reap it here: a child without
    // exit signal stays a zombie until its parent waits for it with __WCLONE.
    pid_t old = replaces->pid;
    bool ours = parent_of(old) == tgid_;
    owner_.kill_and_forget(replaces->task);
    if (ours) unreaped_copies_.push_back(old);
  }
  // Never a blocking wait: a dead copy whose exit its tracer has not collected yet is not
  // reapable by its parent, and a blocking wait there waited for this very tracer thread (the
  // leader stood in wait4 for good, 1 run in 60 of a killed leader under load).
  std::vector<pid_t> left;
  for (pid_t old : unreaped_copies_) {
    auto r = inject({SYS_wait4, {static_cast<uint64_t>(old), 0, WNOHANG | __WCLONE, 0, 0, 0}});
    if (r && *r == 0) left.push_back(old);  // not reapable yet
  }
  unreaped_copies_ = std::move(left);
  user_regs_struct saved = regs();
  flush_regs();
  // clone() without exit signal in place of the intercepted call (seccomp lets the changed call
  // through: it was already traced), then make the task arrive at its call again, as inject()
  // does.
  user_regs_struct r = saved;
  r.orig_rax = SYS_clone;
  r.rdi = 0;  // flags: no CLONE_*, exit signal 0
  r.rsi = 0;  // same stack (copied on write)
  r.rdx = 0;
  r.r10 = 0;
  r.r8 = 0;
  r.r9 = injection_secret();
  if (xptrace(PTRACE_SETREGS, tid_, nullptr, &r) < 0) return last_errno();
  if (xptrace(PTRACE_SYSCALL, tid_, nullptr, nullptr) < 0) return last_errno();
  pid_t child = 0;
  auto st = wait_stop_during_injection(&child);
  if (!st) return st.error();
  user_regs_struct after{};
  if (xptrace(PTRACE_GETREGS, tid_, nullptr, &after) < 0) return last_errno();
  user_regs_struct again = saved;
  again.rip -= kSyscallInsnSize;
  again.rax = saved.orig_rax;
  if (xptrace(PTRACE_SETREGS, tid_, nullptr, &again) < 0) return last_errno();
  if (xptrace(PTRACE_CONT, tid_, nullptr, nullptr) < 0) return last_errno();
  st = wait_stop_during_injection(nullptr, PTRACE_CONT);
  if (!st) return st.error();
  regs_valid_ = false;
  regs_dirty_ = false;
  if (static_cast<int64_t>(after.rax) < 0 || child <= 0)
    return Errno{static_cast<int>(static_cast<int64_t>(after.rax) < 0 ? -static_cast<int64_t>(after.rax) : ECHILD)};
  PtraceTask& copy = owner_.adopt_snapshot(child, version_, saved);
  return Snapshot{copy.id(), child};
}

Result<void> PtraceTask::strip_snapshot_fds() {
  // At its first stop the copy is returning from clone: the same state as a syscall-exit stop.
  stop_ = StopPoint::kSyscallExit;
  auto r = inject_at_exit({SYS_close_range, {0, ~0ull, 0, 0, 0, 0}});
  stop_ = StopPoint::kOther;
  if (!r) return r.error();
  if (*r < 0) return Errno{static_cast<int>(-*r)};
  return {};
}

void PtraceTask::resume_snapshot() {
  TANDEM_CHECK(snapshot_) << "resume_snapshot of task " << tid_ << ", not a snapshot";
  restored_ = true;
  if (phase_ == Phase::kAwaitingFirstStop) {
    // Its first stop has not been seen yet: resumed from there (see TracerThread).
    resume_at_first_stop_ = true;
    return;
  }
  snapshot_ = false;
  if (restored_thread_) {
    // Its registers were set at its first stop.
    restored_thread_ = false;
    expect_ = Expect::kNothing;
    continue_running(0);
    return;
  }
  // Back to the checkpoint: at the syscall instruction with the call's number, as the kernel
  // leaves a restarted call; the call's seccomp stop comes next.
  user_regs_struct r = snapshot_regs_;
  r.rip -= kSyscallInsnSize;
  r.rax = snapshot_regs_.orig_rax;
  regs_ = r;
  regs_valid_ = true;
  regs_unreadable_ = false;
  regs_dirty_ = true;
  expect_ = Expect::kNothing;
  continue_running(0);
}

uint64_t PtraceTask::tid_address() {
  uint64_t fs = phase_ == Phase::kStopped ? regs().fs_base : entry_regs_.fs_base;
  if (fs == 0) return 0;
  auto v = mem_.read_value(remote_ptr<int32_t>(fs + kGlibcTidOffset));
  return v && *v == tid_ ? fs + kGlibcTidOffset : 0;
}

ThreadImage PtraceTask::capture() {
  ThreadImage img;
  img.task = id_;
  img.tid = tid_;
  user_regs_struct r{};
  bool stopped = false;  // its registers and FP state can be read
  if (phase_ == Phase::kAwaitingFirstStop) return img;
  if (phase_ == Phase::kStopped) {
    if (stop_ != StopPoint::kSyscallEntry) return img;
    r = entry_regs_;
    if (!resolve_restart(r)) return img;
    rewind_to_call(r);
    img.where = ThreadImage::Where::kAtCall;
    stopped = true;
  } else if (int st = owner_.deferred_status_of(tid_); st != 0) {
    // Stopped already, the stop not handled yet (it arrived during an injection).
    if (!WIFSTOPPED(st) || WSTOPSIG(st) != SIGTRAP || (st >> 16) != PTRACE_EVENT_SECCOMP)
      return img;
    if (xptrace(PTRACE_GETREGS, tid_, nullptr, &r) < 0 || !resolve_restart(r)) return img;
    rewind_to_call(r);
    img.where = ThreadImage::Where::kArrivingCall;
    stopped = true;
  } else if (expect_ == Expect::kExitStop) {
    // Inside a call the monitor ran for it: the call goes on in the kernel; until its exit stop
    // nothing it does reaches the program's memory but the call's outputs, which the copy's
    // replay of that call writes again.
    r = entry_regs_;
    if (!resolve_restart(r)) return img;
    rewind_to_call(r);
    img.where = ThreadImage::Where::kInCall;
  } else {
    if (xptrace(PTRACE_INTERRUPT, tid_, nullptr, nullptr) < 0) return img;
    for (;;) {
      int status = 0;
      pid_t p = waitpid(tid_, &status, __WALL);
      if (p < 0) {
        if (errno == EINTR) continue;
        return img;
      }
      if (WIFEXITED(status) || WIFSIGNALED(status)) {
        owner_.defer_status(p, status);
        return img;
      }
      int event = status >> 16;
      if (event == PTRACE_EVENT_STOP) {
        if (xptrace(PTRACE_GETREGS, tid_, nullptr, &r) < 0) return img;
        frozen_ = true;
        if (r.orig_rax != SYS_restart_syscall && static_cast<int64_t>(r.rax) == -516) {
          // A futex wait with a timeout: the kernel continues it with restart_syscall.
          restart_origin_ = r;
          has_restart_origin_ = true;
        }
        // Inside restart_syscall: made again as the call it continues (a relative timeout
        // starts over); if that call is not known, the thread cannot be captured.
        if (static_cast<int64_t>(r.rax) == -516 && !resolve_restart(r)) return img;
        rewind_if_restarting(r);
        img.where = ThreadImage::Where::kInterrupted;
        stopped = true;
        break;
      }
      // Another stop came first: the main loop handles it (the interruption stops it later,
      // and the main loop lets it go on).
      owner_.defer_status(p, status);
      if (WSTOPSIG(status) == SIGTRAP && event == PTRACE_EVENT_SECCOMP &&
          xptrace(PTRACE_GETREGS, tid_, nullptr, &r) == 0) {
        if (!resolve_restart(r)) return img;
        rewind_to_call(r);
        img.where = ThreadImage::Where::kArrivingCall;
        stopped = true;
        break;
      }
      return img;
    }
  }
  img.regs = regs_bytes(r);
  if (stopped) img.xstate = read_xstate(tid_);
  img.sigmask = blocked_signals(tid_);
  if (r.fs_base != 0) {
    auto v = mem_.read_value(remote_ptr<int32_t>(r.fs_base + kGlibcTidOffset));
    if (v && *v == tid_) img.tid_address = r.fs_base + kGlibcTidOffset;
  }
  return img;
}

Result<std::vector<ThreadImage>> PtraceTask::freeze_threads() {
  TANDEM_CHECK(phase_ == Phase::kStopped && stop_ == StopPoint::kSyscallEntry)
      << "freeze_threads from task " << tid_;
  std::vector<ThreadImage> out;
  for (PtraceTask* t : owner_.threads_of(tgid_, this)) out.push_back(t->capture());
  return out;
}

void PtraceTask::thaw_threads() {
  for (PtraceTask* t : owner_.threads_of(tgid_, this)) {
    if (!t->frozen_) continue;
    t->frozen_ = false;
    xptrace(PTRACE_CONT, t->tid_, nullptr, nullptr);
  }
}

Result<Task::Snapshot> PtraceTask::restore_thread(const ThreadImage& image) {
  // A copy taken just before the crash (a thread crashed within a millisecond of the
  // checkpoint) may not have stopped for the first time yet, or that stop was not handled: its
  // tracer thread takes it now. Failing here instead dropped the version with "cannot re-create
  // thread N: No such process" (1 of 50 redis crash-injection trials).
  if (snapshot_ && phase_ == Phase::kAwaitingFirstStop) {
    if (auto first = owner_.await_first_stop(*this); !first) return first.error();
  }
  // Not stopped any more: the copy was killed, or an injection for an earlier thread found it
  // dying (tandem stopped with an internal error here in 1 of 50 redis crash-injection trials):
  // the restore fails and the version is dropped with an event, the program goes on.
  if (!snapshot_ || phase_ != Phase::kStopped) return Errno{ESRCH};
  if (image.regs.size() != sizeof(user_regs_struct)) return Errno{EINVAL};
  // The copy stands at its first stop, its return from clone: injections go as at a call's
  // exit (as strip_snapshot_fds does).
  StopPoint was = stop_;
  stop_ = StopPoint::kSyscallExit;
  uint64_t own_mask = blocked_signals(tid_);
  // The new thread starts with the signal mask its creator has: the copy's thread takes the
  // image's mask for the clone, and its own back afterwards. The mask goes below its stack
  // pointer, past the red zone (free at a call).
  uint64_t at = (regs().rsp - 128 - 64) & ~uint64_t{15};
  auto set_mask = [&](uint64_t mask) -> Result<int64_t> {
    if (!mem_.write_value(remote_ptr<uint64_t>(at), mask)) return Errno{EFAULT};
    return inject_at_exit({SYS_rt_sigprocmask, {SIG_SETMASK, at, 0, 8, 0, 0}});
  };
  Result<int64_t> r = set_mask(image.sigmask);
  pid_t child = 0;
  if (r) {
    uint64_t flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
                     CLONE_SYSVSEM;
    uint64_t ctid = 0;
    if (image.tid_address != 0) {
      // The kernel writes the new tid where glibc keeps it, and clears it at the thread's end
      // (pthread_join waits for that).
      flags |= CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID;
      ctid = image.tid_address;
    }
    // No stack of its own: it never runs with the creator's registers (they are replaced at
    // its first stop, before it runs any code).
    r = inject_at_exit({SYS_clone, {flags, 0, 0, ctid, 0, 0}}, &child);
  }
  (void)set_mask(own_mask);
  stop_ = was;
  if (!r) return r.error();
  if (*r < 0) return Errno{static_cast<int>(-*r)};
  if (child <= 0) child = static_cast<pid_t>(*r);
  PtraceTask& t = owner_.adopt_restored_thread(child, tgid_, version_, image);
  return Snapshot{t.id(), child};
}

void PtraceTask::make_restored_thread(const ThreadImage& image) {
  snapshot_ = true;
  restored_thread_ = true;
  restored_regs_ = image.regs;
  restored_xstate_ = image.xstate;
}

Result<void> PtraceTask::apply_restored_state() {
  user_regs_struct r{};
  memcpy(&r, restored_regs_.data(), sizeof r);
  if (xptrace(PTRACE_SETREGS, tid_, nullptr, &r) < 0) return last_errno();
  if (!restored_xstate_.empty()) {
    iovec iov{restored_xstate_.data(), restored_xstate_.size()};
    if (xptrace(PTRACE_SETREGSET, tid_, reinterpret_cast<void*>(NT_X86_XSTATE), &iov) < 0)
      TANDEM_LOG(kDebug, "restored thread {}: its FP state stays the copy's: {}", tid_,
                 strerror(errno));
  }
  regs_valid_ = false;
  regs_dirty_ = false;
  return {};
}

void PtraceTask::kill_process() {
  if (tgid_ > 0) ::kill(tgid_, SIGKILL);  // never 0 or -1: tandem's own group, everyone
  if (phase_ == Phase::kStopped) {
    // Held at a stop we took: when its process is dying already (another of its threads was
    // killed), the kill does not take it out of that stop, and it stayed there (a restored
    // copy's threads, never let go, kept tandem from ending). Resumed, it dies.
    ptrace(PTRACE_CONT, tid_, nullptr, nullptr);
    phase_ = Phase::kRunning;
    regs_valid_ = false;
  }
}

void PtraceTask::interrupt() {
  // A task we stop at PTRACE_EVENT_STOP, resumed by the tracer thread (job control is not
  // emulated). Harmless when the task is not in a call, or already stopped.
  if (phase_ != Phase::kStopped) ptrace(PTRACE_INTERRUPT, tid_, nullptr, nullptr);
}

}  // namespace tandem
