#include "base/proc_thread.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "base/scoped_fd.h"

namespace tandem {
namespace {

// Reads /proc/TID/NAME into `buf` (NUL-terminated); false when the thread is gone.
bool read_proc(pid_t tid, const char* name, char* buf, size_t size) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/%s", tid, name);
  ScopedFd fd(open(path, O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return false;
  ssize_t n = read(fd.get(), buf, size - 1);
  if (n <= 0) return false;
  buf[n] = '\0';
  return true;
}

// The fields of /proc/TID/stat after the command name, which may hold spaces and parentheses:
// they start after the last ')'. Null when malformed.
const char* stat_fields(const char* stat) {
  const char* close = strrchr(stat, ')');
  return close != nullptr && close[1] == ' ' ? close + 2 : nullptr;
}

}  // namespace

std::optional<char> thread_state(pid_t tid) {
  char buf[512];
  if (!read_proc(tid, "stat", buf, sizeof buf)) return std::nullopt;
  const char* fields = stat_fields(buf);
  if (fields == nullptr || *fields == '\0') return std::nullopt;
  return *fields;
}

bool sigkill_pending(pid_t tid) {
  char buf[4096];
  if (!read_proc(tid, "status", buf, sizeof buf)) return false;
  for (const char* key : {"\nSigPnd:", "\nShdPnd:"}) {
    const char* at = strstr(buf, key);
    if (at == nullptr) continue;
    uint64_t mask = strtoull(at + strlen(key), nullptr, 16);
    if ((mask & (1ull << (SIGKILL - 1))) != 0) return true;
  }
  return false;
}

std::optional<uint64_t> thread_cpu_ticks(pid_t tid) {
  char buf[1024];
  if (!read_proc(tid, "stat", buf, sizeof buf)) return std::nullopt;
  const char* p = stat_fields(buf);
  if (p == nullptr) return std::nullopt;
  // state(3) ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime(14)
  // stime(15)
  unsigned long utime = 0, stime = 0;
  if (sscanf(p, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2)
    return std::nullopt;
  return static_cast<uint64_t>(utime) + stime;
}

}  // namespace tandem
