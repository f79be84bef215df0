#include "monitor/rules.h"

#include <fcntl.h>
#include <fnmatch.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <termios.h>

#include <sstream>

namespace tandem {

Rules Rules::builtin() {
  Rules r;
  // Calls without effects outside the version: running them in one version only changes
  // nothing the others or the outside world can observe.
  for (int nr : {SYS_fstat, SYS_newfstatat, SYS_stat, SYS_lstat, SYS_statx, SYS_access,
                 SYS_faccessat, SYS_faccessat2, SYS_getuid, SYS_geteuid, SYS_getgid, SYS_getegid,
                 SYS_getgroups, SYS_getpid, SYS_getppid, SYS_gettid, SYS_getpgrp, SYS_getpgid,
                 SYS_getsid, SYS_uname, SYS_sysinfo, SYS_getrlimit, SYS_getcwd, SYS_readlink,
                 SYS_readlinkat, SYS_getrandom, SYS_clock_gettime, SYS_clock_getres,
                 SYS_gettimeofday, SYS_time, SYS_sched_getaffinity, SYS_getrusage, SYS_times,
                 SYS_rt_sigaction, SYS_sigaltstack, SYS_statfs, SYS_fstatfs, SYS_getresuid,
                 SYS_getresgid, SYS_capget, SYS_getpriority, SYS_sched_getparam,
                 SYS_sched_getscheduler, SYS_getitimer, SYS_prctl,
                 // Memory management is each version's own: different binaries and libraries
                 // map and protect different code (intercepted only for PROT_EXEC and shared
                 // file mappings, to compare identical versions).
                 SYS_mmap, SYS_mprotect, SYS_munmap, SYS_mremap, SYS_madvise}) {
    r.absorb_.insert(nr);
  }
  // How long to sleep is often computed from timing (adaptive back-off in maintenance
  // threads): a difference is benign, the leader's sleep stands for all.
  r.ignored_.insert({SYS_nanosleep, 0});
  r.ignored_.insert({SYS_clock_nanosleep, 2});
  // So is how long an event loop waits, computed from its timers: the leader's wait and
  // its events stand for all (redis's restored copy asked epoll_wait for 87 ms where the
  // leader asked for 88: a divergence in 1 crash-injection trial of 50).
  for (auto [nr, arg] : {std::pair{SYS_epoll_wait, 3}, {SYS_epoll_pwait, 3}, {SYS_epoll_pwait2, 3},
                         {SYS_poll, 2}, {SYS_ppoll, 2}, {SYS_select, 4}, {SYS_pselect6, 4}})
    r.ignored_.insert({static_cast<int>(nr), arg});
  return r;
}

bool Rules::parse(std::string_view text, Rules& out, std::string& error) {
  out = builtin();
  std::istringstream in{std::string(text)};
  std::string line;
  for (int lineno = 1; std::getline(in, line); ++lineno) {
    if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    std::istringstream words(line);
    std::string directive;
    if (!(words >> directive)) continue;
    auto fail = [&](const std::string& why) {
      error = "line " + std::to_string(lineno) + ": " + why;
      return false;
    };
    if (directive == "absorb") {
      std::string name;
      if (!(words >> name)) return fail("absorb needs a syscall name");
      const SyscallInfo* info = syscall_by_name(name);
      if (info == nullptr) return fail("unknown syscall '" + name + "'");
      out.absorb_.insert(info->nr);
    } else if (directive == "absorb-path") {
      std::string glob;
      if (!(words >> glob)) return fail("absorb-path needs a path pattern");
      out.absorb_paths_.push_back(glob);
    } else if (directive == "ignore") {
      std::string name;
      int arg = -1;
      if (!(words >> name)) return fail("ignore needs a syscall name and an argument index");
      const SyscallInfo* info = syscall_by_name(name);
      if (info == nullptr) return fail("unknown syscall '" + name + "'");
      if (!(words >> arg) || arg < 0 || arg >= info->nargs)
        return fail("argument index of '" + name + "' must be 0.." +
                    std::to_string(static_cast<int>(info->nargs) - 1));
      out.ignored_.insert({info->nr, arg});
    } else {
      return fail("unknown directive '" + directive + "' (absorb, absorb-path, ignore)");
    }
    std::string extra;
    if (words >> extra) return fail("unexpected '" + extra + "'");
  }
  return true;
}

bool Rules::absorbable(const SyscallCall& call, const std::string& path,
                       bool read_only_open) const {
  if (absorb_.count(call.nr) != 0) {
    if (call.nr == SYS_prctl) {
      // Reading options is benign; setting the name, seccomp, no_new_privs... is not.
      return call.args[0] == PR_GET_NAME || call.args[0] == PR_GET_DUMPABLE ||
             call.args[0] == PR_GET_NO_NEW_PRIVS;
    }
    return true;
  }
  if (call.nr == SYS_fcntl) {
    uint64_t cmd = call.args[1];
    return cmd == F_GETFD || cmd == F_SETFD || cmd == F_GETFL;
  }
  if (call.nr == SYS_ioctl) {
    // Terminal queries (isatty, window size) are what libraries probe differently.
    uint64_t req = call.args[1];
    return req == TCGETS || req == TIOCGWINSZ;
  }
  if (call.nr == SYS_prlimit64) return call.args[2] == 0;  // no new limit: a query
  if (read_only_open) {
    // Any read-only open is local to the version that makes it (the descriptor it gets is
    // version-local); user patterns are only needed for documentation purposes.
    (void)path;
    return true;
  }
  for (const std::string& glob : absorb_paths_) {
    if (fnmatch(glob.c_str(), path.c_str(), 0) == 0) return true;
  }
  return false;
}

bool Rules::has_ignored_args(int nr) const {
  auto it = ignored_.lower_bound({nr, -1});
  return it != ignored_.end() && it->first == nr;
}

}  // namespace tandem
