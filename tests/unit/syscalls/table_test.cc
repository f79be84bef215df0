// The table against the kernel's, and the model's invariants.
#include <gtest/gtest.h>

#include <set>
#include <sstream>
#include <string>

#include "kernel_table.h"
#include "syscalls/families/family.h"
#include "syscalls/flags.h"
#include "syscalls/syscall_model.h"

namespace tandem {
namespace {

std::vector<std::pair<int, std::string>> kernel_table() {
  std::vector<std::pair<int, std::string>> out;
  std::istringstream in(testing::kKernelTable);
  int nr;
  std::string name;
  while (in >> nr >> name) out.emplace_back(nr, name);
  return out;
}

TEST(SyscallTable, DescribesEveryCallOfTheKernelTable) {
  auto kernel = kernel_table();
  ASSERT_EQ(kernel.size(), 383u);
  for (const auto& [nr, name] : kernel) {
    const SyscallInfo* info = syscall_info(nr);
    ASSERT_NE(info, nullptr) << "missing " << nr << " " << name;
    EXPECT_EQ(info->name, name) << nr;
    EXPECT_EQ(info->nr, nr);
    const SyscallInfo* by_name = syscall_by_name(name);
    ASSERT_NE(by_name, nullptr) << name;
    EXPECT_EQ(by_name->nr, nr);
  }
  // And nothing else.
  EXPECT_EQ(all_syscalls().size(), kernel.size());
}

TEST(SyscallTable, NumbersOutsideTheTableAreNotSyscalls) {
  for (int nr : {-1, 337, 400, 423, 470, 512, 100000}) EXPECT_EQ(syscall_info(nr), nullptr) << nr;
  EXPECT_EQ(syscall_by_name("listns"), nullptr);  // 6.19
  EXPECT_EQ(kMaxSyscall, 469);
}

TEST(SyscallTable, IsInNumberOrderWithUniqueNames) {
  std::set<std::string> names;
  int last = -1;
  for (const SyscallInfo& s : all_syscalls()) {
    EXPECT_GT(s.nr, last);
    last = s.nr;
    EXPECT_TRUE(names.insert(s.name).second) << s.name;
  }
}

bool needs_length(ArgKind k) {
  switch (k) {
    case ArgKind::kInBuf:
    case ArgKind::kOutBuf:
    case ArgKind::kInStruct:
    case ArgKind::kOutStruct:
    case ArgKind::kInOutStruct:
    case ArgKind::kInIovec:
    case ArgKind::kOutIovec:
    case ArgKind::kInSockaddr:
    case ArgKind::kOutSockaddr:
    case ArgKind::kInSigset:
    case ArgKind::kOutSigset:
      return true;
    default:
      return false;
  }
}

TEST(SyscallTable, ArgumentInvariants) {
  for (const SyscallInfo& s : all_syscalls()) {
    SCOPED_TRACE(s.name);
    ASSERT_LE(s.nargs, 6);
    bool has_special_arg = false;
    for (int i = 0; i < s.nargs; ++i) {
      const ArgSpec& arg = s.args[i];
      SCOPED_TRACE(arg.name);
      EXPECT_NE(arg.kind, ArgKind::kNone);
      EXPECT_TRUE(arg.width == 4 || arg.width == 8);
      if (needs_length(arg.kind)) EXPECT_NE(arg.len.from, LenFrom::kNone);
      if (arg.kind == ArgKind::kOutBuf) EXPECT_NE(arg.written.from, LenFrom::kNone);
      // Descriptors, dirfds and pids are C ints.
      if (arg.kind == ArgKind::kFd || arg.kind == ArgKind::kDirFd || arg.kind == ArgKind::kPid)
        EXPECT_EQ(arg.width, 4);
      for (const Length* len : {&arg.len, &arg.written}) {
        if (len->from == LenFrom::kArg) {
          ASSERT_LT(len->value, s.nargs);
          ArgKind k = s.args[len->value].kind;
          EXPECT_TRUE(k == ArgKind::kValue || k == ArgKind::kFlags) << "length from a non-int";
        }
        if (len->from == LenFrom::kArgPtr) {
          ASSERT_LT(len->value, s.nargs);
          EXPECT_EQ(s.args[len->value].kind, ArgKind::kSockLenPtr);
        }
        EXPECT_GE(len->scale, 1u);
      }
      if (arg.kind == ArgKind::kFlags && arg.flagset != nullptr)
        EXPECT_NE(flag_set(arg.flagset), nullptr) << arg.flagset;
      has_special_arg |= arg.kind == ArgKind::kSpecial;
    }
    for (int i = s.nargs; i < 6; ++i) EXPECT_EQ(s.args[i].kind, ArgKind::kNone);
    if (has_special_arg) EXPECT_NE(s.special, nullptr);
  }
}

TEST(SyscallTable, ClassInvariants) {
  for (const SyscallInfo& s : all_syscalls()) {
    SCOPED_TRACE(s.name);
    if (s.cls == SyscallClass::kRefused) {
      EXPECT_NE(s.refuse_errno, 0);
      EXPECT_NE(s.why, nullptr) << "a refusal must say why (it is quoted in the event)";
    }
    if (s.trap_when != nullptr) EXPECT_EQ(s.cls, SyscallClass::kLocal);
    // A local call with a family must be justified: conditions under which it stops, or a
    // reason in the data file.
    if (s.cls == SyscallClass::kLocal && s.special != nullptr)
      EXPECT_TRUE(s.trap_when != nullptr || s.why != nullptr);
  }
}

TEST(SyscallTable, EveryFamilyIsRegisteredAndUsed) {
  std::set<std::string> used;
  for (const SyscallInfo& s : all_syscalls()) {
    if (s.special == nullptr) continue;
    used.insert(s.special);
    EXPECT_NE(find_family(s.special), nullptr) << s.name << " -> " << s.special;
    EXPECT_EQ(family_of(s), find_family(s.special));
  }
  for (const Family* f : all_families())
    EXPECT_TRUE(used.count(std::string(f->name())))
        << f->name() << " is registered but no syscall uses it";
}

// Classes the project depends on (issue 2 and the brief); a change here is a design change.
TEST(SyscallTable, ClassesOfKeyCalls) {
  auto cls = [](const char* name) { return syscall_by_name(name)->cls; };
  for (const char* n :
       {"brk", "mmap", "munmap", "mremap", "madvise", "mprotect", "rt_sigprocmask", "rt_sigreturn",
        "futex", "set_tid_address", "set_robust_list", "rseq", "arch_prctl", "sched_yield"})
    EXPECT_EQ(cls(n), SyscallClass::kLocal) << n;
  for (const char* n :
       {"read",       "write",      "recvfrom", "getrandom",  "clock_gettime",   "gettimeofday",
        "time",       "uname",      "getpid",   "gettid",     "getppid",         "stat",
        "fstat",      "newfstatat", "statx",    "getdents64", "readlink",        "sysinfo",
        "epoll_wait", "poll",       "select",   "nanosleep",  "clock_nanosleep", "accept",
        "socket",     "pipe2",      "getcwd"})
    EXPECT_EQ(cls(n), SyscallClass::kReplicated) << n;
  for (const char* n : {"unlink", "rename", "mkdir", "rmdir", "chmod", "chown", "connect", "bind",
                        "listen", "kill", "tgkill", "ptrace", "setuid", "mount", "reboot", "creat"})
    EXPECT_EQ(cls(n), SyscallClass::kLockstep) << n;
  for (const char* n :
       {"close",  "close_range", "dup",          "dup2",        "dup3",  "chdir",
        "fchdir", "umask",       "execve",       "execveat",    "exit",  "exit_group",
        "fork",   "vfork",       "clone",        "clone3",      "wait4", "waitid",
        "setsid", "setpgid",     "rt_sigaction", "sigaltstack", "prctl", "setrlimit"})
    EXPECT_EQ(cls(n), SyscallClass::kEveryone) << n;
  EXPECT_EQ(cls("sched_getaffinity"), SyscallClass::kEmulated);
  EXPECT_EQ(cls("sched_setaffinity"), SyscallClass::kEmulated);
  EXPECT_EQ(cls("io_uring_setup"), SyscallClass::kRefused);
  EXPECT_EQ(syscall_by_name("io_uring_setup")->refuse_errno, ENOSYS);
  EXPECT_EQ(syscall_by_name("clone")->refuse_errno, EAGAIN);
  EXPECT_EQ(syscall_by_name("clone3")->refuse_errno, EAGAIN);
}

// Queries (early execution): replicated calls without a visible effect, making no descriptor.
TEST(SyscallTable, Queries) {
  for (const SyscallInfo& s : all_syscalls()) {
    SCOPED_TRACE(s.name);
    if (!s.query) continue;
    EXPECT_EQ(s.cls, SyscallClass::kReplicated);
    EXPECT_NE(s.ret, RetKind::kFd);
  }
  for (const char* n : {"getppid", "getpid", "clock_gettime", "clock_getres", "gettimeofday",
                        "time", "uname", "sysinfo", "getrusage", "times", "fstat", "newfstatat",
                        "statx", "stat", "lstat", "access", "faccessat", "faccessat2",
                        "readlink", "readlinkat", "getcwd", "statfs", "fstatfs", "pread64",
                        "getrandom"})
    EXPECT_TRUE(syscall_by_name(n)->query) << n;
  // Reads that consume input, waits, and anything that changes a file are not.
  for (const char* n : {"read", "recvfrom", "lseek", "epoll_wait", "poll", "nanosleep",
                        "clock_nanosleep", "write", "openat", "getdents64", "accept4"})
    EXPECT_FALSE(syscall_by_name(n)->query) << n;
}

TEST(SyscallTable, TrapWhenOnlyWhereConditionsExist) {
  std::set<std::string> with_conditions;
  for (const SyscallInfo& s : all_syscalls())
    if (s.trap_when != nullptr) with_conditions.insert(s.name);
  EXPECT_EQ(with_conditions, (std::set<std::string>{"mmap", "mprotect", "pkey_mprotect"}));
  EXPECT_STREQ(syscall_by_name("mprotect")->trap_when, "prot & PROT_EXEC");
}

}  // namespace
}  // namespace tandem
