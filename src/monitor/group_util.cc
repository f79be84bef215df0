// Small helpers of the group code (group_util.h).
#include "monitor/group_util.h"

#include "monitor/group.h"
#include "monitor/pid_map.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <string_view>

#include <fmt/format.h>

namespace tandem::detail {


bool is_restart_code(int64_t r) {
  return r == kERestartSys || r == kERestartNoIntr || r == kERestartNoHand ||
         r == kERestartRestartBlock;
}


bool process_ended(pid_t pid) {
  if (pid <= 0) return false;
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE* f = fopen(path, "re");
  if (f == nullptr) return errno == ENOENT;
  char buf[512];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  // pid (comm) STATE ...: comm may hold spaces and parentheses; the state follows the last ')'.
  const char* close = strrchr(buf, ')');
  return close != nullptr && close[1] == ' ' && (close[2] == 'Z' || close[2] == 'X');
}

bool contains(const std::vector<int>& v, int x) { return std::find(v.begin(), v.end(), x) != v.end(); }

bool signal_blocked(pid_t tid, int sig) {
  std::ifstream in(fmt::format("/proc/{}/status", tid));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("SigBlk:", 0) == 0)
      return (std::stoull(line.substr(7), nullptr, 16) & (uint64_t{1} << (sig - 1))) != 0;
  }
  return false;
}

bool changes_fd_table(const SyscallCall& c) {
  switch (c.nr) {
    case SYS_close:
    case SYS_close_range:
    case SYS_dup:
    case SYS_dup2:
    case SYS_dup3:
      return true;
    case SYS_fcntl:
      return c.args[1] == F_DUPFD || c.args[1] == F_DUPFD_CLOEXEC;
    default:
      return false;
  }
}

std::pair<int, int> fds_closed_by(const SyscallCall& c) {
  switch (c.nr) {
    case SYS_close: return {static_cast<int>(c.args[0]), static_cast<int>(c.args[0])};
    case SYS_dup2:
    case SYS_dup3: return {static_cast<int>(c.args[1]), static_cast<int>(c.args[1])};
    case SYS_close_range: {
      uint64_t last = std::min<uint64_t>(c.args[1], 1 << 30);
      return {static_cast<int>(c.args[0]), static_cast<int>(last)};
    }
    default: return {-1, -1};
  }
}

std::string canonical_proc_path(const std::string& path, int version, const PidMap& pids,
                                pid_t own_tgid, bool& own) {
  own = false;
  if (path.rfind("/proc/", 0) != 0) return "";
  std::string rest = path.substr(6);
  std::string first = rest.substr(0, rest.find('/'));
  if (first == "self" || first == "thread-self") {
    own = true;
    // /proc/self/task/<tid>/...: the tid is the version's own.
  }
  std::string out = "/proc/";
  bool changed = false;
  size_t pos = 0;
  int component = 0;
  while (pos <= rest.size()) {
    size_t end = rest.find('/', pos);
    if (end == std::string::npos) end = rest.size();
    std::string part = rest.substr(pos, end - pos);
    bool number = !part.empty() && part.find_first_not_of("0123456789") == std::string::npos;
    // Ids appear as /proc/<id> and /proc/<id or self>/task/<id>.
    bool id_position = component == 0 || (component == 2 && rest.find("/task/") != std::string::npos);
    if (number && id_position && part.size() < 10) {
      auto id = static_cast<pid_t>(std::stol(part));
      pid_t v = pids.to_virtual(version, id);
      if (component == 0 && (id == own_tgid || v == pids.to_virtual(version, own_tgid))) own = true;
      if (v != id) changed = true;
      part = std::to_string(v);
    }
    out += part;
    if (end < rest.size()) out += "/";
    pos = end + 1;
    ++component;
  }
  return changed || own ? out : "";
}

int fd_argument(const SyscallCall& c) {
  const SyscallInfo* info = info_of(c);
  if (info == nullptr || info->nargs == 0 || info->args[0].kind != ArgKind::kFd) return -1;
  return static_cast<int>(c.args[0]);
}

std::vector<int> fd_arguments(const SyscallCall& c) {
  std::vector<int> fds;
  const SyscallInfo* info = info_of(c);
  if (info == nullptr) return fds;
  for (int i = 0; i < info->nargs; ++i) {
    if (info->args[i].kind == ArgKind::kFd) fds.push_back(static_cast<int>(c.args[i]));
  }
  return fds;
}

bool writes_output(int nr) {
  return nr == SYS_write || nr == SYS_writev || nr == SYS_pwrite64 || nr == SYS_pwritev;
}

bool rx_leader_alone_call(int nr, bool on_socket) {
  switch (nr) {
    // File metadata and the clock: what a request makes the server look up.
    case SYS_stat:
    case SYS_lstat:
    case SYS_fstat:
    case SYS_newfstatat:
    case SYS_statx:
    case SYS_access:
    case SYS_faccessat:
    case SYS_faccessat2:
    case SYS_readlink:
    case SYS_readlinkat:
    case SYS_clock_gettime:
    case SYS_gettimeofday:
    case SYS_time:
    case SYS_fadvise64:
    case SYS_pread64:
    case SYS_preadv:
    case SYS_lseek:
      return true;
    // Files opened, read, written and closed for that connection's requests (a log line).
    case SYS_open:
    case SYS_openat:
      return true;
    case SYS_read:
    case SYS_readv:
    case SYS_write:
    case SYS_writev:
    case SYS_pwrite64:
    case SYS_pwritev:
    case SYS_close:
      return !on_socket;
    default:
      return nr == kPseudoRdtsc;
  }
}

int event_wait_timeout_arg(int nr) {
  switch (nr) {
    case SYS_epoll_wait:
    case SYS_epoll_pwait:
      return 3;
    case SYS_poll:
    case SYS_ppoll:
      return 2;
    default:
      return -1;
  }
}

bool rx_version_alone_call(int nr, bool on_socket) {
  switch (nr) {
    case SYS_read:
    case SYS_readv:
    case SYS_write:
    case SYS_writev:
    case SYS_pwrite64:
    case SYS_pwritev:
    case SYS_lseek:
    case SYS_open:
    case SYS_openat:
      return false;
    default:
      return rx_leader_alone_call(nr, on_socket);
  }
}

bool reads_input(int nr) {
  return nr == SYS_read || nr == SYS_readv || nr == SYS_recvfrom || nr == SYS_recvmsg ||
         nr == SYS_recvmmsg;
}

namespace {

std::string printable(const std::vector<uint8_t>& bytes, size_t from, size_t count) {
  std::string out = "\"";
  for (size_t i = from; i < bytes.size() && i < from + count; ++i) {
    uint8_t c = bytes[i];
    if (c == '\n') {
      out += "\\n";
    } else if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 32 && c < 127) {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("\\x{:02x}", c);
    }
  }
  return out + "\"";
}

}  // namespace

std::string describe_difference(const Member& a, const Member& b) {
  if (a.call.nr != b.call.nr) return "different calls";
  if (!a.signature || !b.signature) return "arguments unreadable";
  int arg = a.signature->first_difference(*b.signature);
  if (arg < 0) return "";
  const SyscallInfo* info = info_of(a.call);
  std::string name = info != nullptr && arg < info->nargs ? info->args[arg].name : "?";
  std::string out = fmt::format("argument {} ({})", arg, name);
  if (info != nullptr && arg < info->nargs &&
      (a.call.nr == SYS_write || a.call.nr == SYS_writev || a.call.nr == SYS_sendto ||
       a.call.nr == SYS_pwrite64)) {
    auto x = write_data(a);
    auto y = write_data(b);
    if (x && y) {
      size_t i = 0;
      while (i < x->size() && i < y->size() && (*x)[i] == (*y)[i]) ++i;
      size_t from = i > 16 ? i - 16 : 0;
      out += fmt::format(": bytes differ from offset {} ({} vs {} bytes): {} vs {}", i, x->size(),
                         y->size(), printable(*x, from, 48), printable(*y, from, 48));
    }
  }
  return out;
}

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
bool is_socket_fd(pid_t pid, int fd) {
  char target[64];
  ssize_t n = readlink(fmt::format("/proc/{}/fd/{}", pid, fd).c_str(), target, sizeof target - 1);
  return n > 7 && std::string_view(target, 7) == "socket:";
}

std::optional<unsigned long> fd_flags(pid_t pid, int fd) {
  std::ifstream in(fmt::format("/proc/{}/fdinfo/{}", pid, fd));
  std::string key;
  while (in >> key) {
    if (key == "flags:") {
      std::string octal;
      in >> octal;
      return std::stoul(octal, nullptr, 8);
    }
  }
  return std::nullopt;
}

bool fd_is_cloexec(pid_t pid, int fd) {
  auto flags = fd_flags(pid, fd);
  return flags && (*flags & O_CLOEXEC) != 0;
}

std::map<int, bool> list_fds(pid_t pid) {
  std::map<int, bool> fds;
  if (DIR* d = opendir(fmt::format("/proc/{}/fd", pid).c_str())) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] != '.') fds[atoi(e->d_name)] = false;
    }
    closedir(d);
  }
  for (auto& [fd, cloexec] : fds) cloexec = fd_is_cloexec(pid, fd);
  return fds;
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
std::optional<siginfo_t> sigpipe_for(const SyscallCall& c, int64_t result, pid_t tid,
                                     pid_t virtual_pid) {
  if (result != -EPIPE) return std::nullopt;
  switch (c.nr) {
    case SYS_write:
    case SYS_writev:
    case SYS_pwritev:
    case SYS_pwritev2:
    case SYS_splice:
    case SYS_tee:
    case SYS_sendfile:
      break;
    case SYS_sendto:
    case SYS_sendmmsg:
      if ((c.args[3] & MSG_NOSIGNAL) != 0) return std::nullopt;
      break;
    case SYS_sendmsg:
      if ((c.args[2] & MSG_NOSIGNAL) != 0) return std::nullopt;
      break;
    default:
      return std::nullopt;
  }
  siginfo_t si{};
  si.si_signo = SIGPIPE;
  si.si_code = SI_USER;
  si.si_pid = virtual_pid;
  std::ifstream in(fmt::format("/proc/{}/status", tid));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Uid:", 0) == 0) {
      si.si_uid = static_cast<uid_t>(std::stoul(line.substr(4)));
      break;
    }
  }
  return si;
}

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

const SyscallInfo* info_of(const SyscallCall& c) { return c.nr >= 0 ? syscall_info(c.nr) : nullptr; }

// wait4(-1 / 0 / -pgid) and waitid(P_ALL / P_PGID): "any child" of a set.
bool waits_for_any_child(const SyscallCall& c) {
  if (c.nr == SYS_wait4) return static_cast<int32_t>(c.args[0]) <= 0;
  if (c.nr == SYS_waitid) return c.args[0] == P_ALL || c.args[0] == P_PGID;
  return false;
}

pid_t reported_child(const SyscallCall& c, pid_t tid, int64_t result) {
  if (c.nr == SYS_wait4) return result > 0 ? static_cast<pid_t>(result) : 0;
  if (c.nr != SYS_waitid || result != 0 || c.args[2] == 0) return 0;
  return RemoteMemory(tid)
      .read_value(remote_ptr<int32_t>(c.args[2] + offsetof(siginfo_t, si_pid)))
      .value_or(0);
}

// The bytes a write or writev asks to write.
Result<std::vector<uint8_t>> write_data(const Member& m) {
  RemoteMemory mem(m.tid);
  if (m.call.nr == SYS_write || m.call.nr == SYS_sendto || m.call.nr == SYS_pwrite64)
    return mem.read_bytes(remote_addr(m.call.args[1]), m.call.args[2]);
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


}  // namespace tandem::detail
