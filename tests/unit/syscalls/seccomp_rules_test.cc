// The seccomp rules derived from the model: consumable by libseccomp, consistent with
// effective_class, and effective in a real filter.
#include "syscalls/seccomp_rules.h"

#include <gtest/gtest.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <random>

#include "syscalls/call.h"
#include "syscalls/syscall_model.h"

namespace tandem {
namespace {

static_assert(static_cast<int>(CmpOp::kNe) == SCMP_CMP_NE);
static_assert(static_cast<int>(CmpOp::kLt) == SCMP_CMP_LT);
static_assert(static_cast<int>(CmpOp::kLe) == SCMP_CMP_LE);
static_assert(static_cast<int>(CmpOp::kEq) == SCMP_CMP_EQ);
static_assert(static_cast<int>(CmpOp::kGe) == SCMP_CMP_GE);
static_assert(static_cast<int>(CmpOp::kGt) == SCMP_CMP_GT);
static_assert(static_cast<int>(CmpOp::kMaskedEq) == SCMP_CMP_MASKED_EQ);

// Builds the filter the way the intercept layer does: trapped calls -> SCMP_ACT_TRACE, one rule
// per condition for conditional ones, everything else allowed.
scmp_filter_ctx build_filter() {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (ctx == nullptr) return nullptr;
  for (int nr : trapped_syscalls()) {
    if (filter_action(nr) == FilterAction::kTrap) {
      if (seccomp_rule_add(ctx, SCMP_ACT_TRACE(0), nr, 0) < 0) return nullptr;
      continue;
    }
    for (const TrapCondition& c : trap_conditions(nr)) {
      scmp_arg_cmp cmp = SCMP_CMP64(c.arg, static_cast<scmp_compare>(c.op), c.mask, c.value);
      if (seccomp_rule_add(ctx, SCMP_ACT_TRACE(0), nr, 1, cmp) < 0) return nullptr;
    }
  }
  return ctx;
}

TEST(SeccompRules, LibseccompAcceptsEveryRule) {
  scmp_filter_ctx ctx = build_filter();
  ASSERT_NE(ctx, nullptr);
  seccomp_release(ctx);
}

TEST(SeccompRules, ActionsFollowTheClasses) {
  int local_untrapped = 0;
  for (const SyscallInfo& s : all_syscalls()) {
    FilterAction a = filter_action(s.nr);
    if (s.cls != SyscallClass::kLocal) {
      EXPECT_EQ(a, FilterAction::kTrap) << s.name;
    } else if (s.trap_when != nullptr) {
      EXPECT_EQ(a, FilterAction::kTrapWhen) << s.name;
      EXPECT_FALSE(trap_conditions(s.nr).empty());
    } else {
      EXPECT_EQ(a, FilterAction::kAllow) << s.name;
      ++local_untrapped;
    }
  }
  EXPECT_GT(local_untrapped, 40);
  EXPECT_EQ(filter_action(400), FilterAction::kAllow);
  EXPECT_EQ(trap_conditions(9).size(), 2u);  // mmap: PROT_EXEC, shared file mapping
}

// The central invariant: the kernel's filter stops a call exactly when effective_class says
// it is not local. Random arguments (including garbage in the upper halves of int registers)
// for every syscall, plus the interesting mmap/mprotect combinations.
TEST(SeccompRules, FilterAgreesWithEffectiveClass) {
  std::mt19937_64 rng(42);
  auto check = [](const SyscallCall& call) {
    uint64_t args[6];
    for (int i = 0; i < 6; ++i) args[i] = call.args[static_cast<size_t>(i)];
    bool trapped = filter_traps(call.nr, args);
    bool local = effective_class(call) == SyscallClass::kLocal;
    EXPECT_NE(trapped, local) << syscall_info(call.nr)->name << " args " << std::hex << call.args[0]
                              << " " << call.args[1] << " " << call.args[2] << " " << call.args[3];
  };
  for (const SyscallInfo& s : all_syscalls()) {
    for (int iter = 0; iter < 64; ++iter) {
      SyscallCall call{s.nr, {}};
      for (auto& v : call.args) v = (iter % 2) ? rng() : rng() & 0xff;
      check(call);
    }
  }
  for (int nr : {9, 10, 329})
    for (uint64_t prot = 0; prot < 16; ++prot)
      for (uint64_t flags : {0x01, 0x02, 0x03, 0x08, 0x21, 0x22, 0x23, 0x11, 0x12, 0x100021})
        for (uint64_t garbage : {uint64_t{0}, uint64_t{0xdead000000000000}})
          check(SyscallCall{nr, {0, 4096, prot | garbage, flags, 3, 0}});
}

// A real filter in a child with no tracer: the kernel fails trapped calls with ENOSYS (what
// SECCOMP_RET_TRACE does without a tracer) and runs the others. Results go through a shared
// page, because exit_group itself is trapped; the child ends with a fault.
TEST(SeccompRules, RealFilterTrapsExactlyTheDescribedCalls) {
  auto* results = static_cast<volatile long*>(
      mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(results, MAP_FAILED);
  for (int i = 0; i < 16; ++i) results[i] = -12345;
  int memfd = static_cast<int>(syscall(SYS_memfd_create, "t", 0));
  ASSERT_GE(memfd, 0);
  ASSERT_EQ(ftruncate(memfd, 4096), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    rlimit no_core{0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    scmp_filter_ctx ctx = build_filter();
    if (ctx == nullptr || seccomp_load(ctx) != 0) _exit(2);
    auto result = [](long r) { return r < 0 ? -errno : r; };
    results[0] = result(syscall(SYS_getuid));
    results[1] = result(syscall(SYS_getpid));
    long anon =
        syscall(SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    results[2] = anon < 0 ? -errno : 0;
    results[3] = result(
        syscall(SYS_mmap, 0, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    results[4] = result(syscall(SYS_mmap, 0, 4096, PROT_READ, MAP_SHARED, memfd, 0));
    long shared_anon =
        syscall(SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    results[5] = shared_anon < 0 ? -errno : 0;
    results[6] = result(syscall(SYS_mprotect, anon, 4096, PROT_READ));
    results[7] = result(syscall(SYS_mprotect, anon, 4096, PROT_READ | PROT_EXEC));
    results[8] = result(syscall(SYS_write, 1, "", 0));
    results[9] = result(syscall(SYS_rt_sigprocmask, SIG_BLOCK, nullptr, nullptr, 8));
    results[15] = 1;
    *static_cast<volatile int*>(nullptr) = 0;  // exit_group is trapped too
    _exit(3);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
  ASSERT_EQ(results[15], 1);
  EXPECT_EQ(results[0], static_cast<long>(getuid())) << "getuid is local";
  EXPECT_EQ(results[1], -ENOSYS) << "getpid is trapped";
  EXPECT_EQ(results[2], 0) << "private anonymous mmap is local";
  EXPECT_EQ(results[3], -ENOSYS) << "mmap PROT_EXEC is trapped";
  EXPECT_EQ(results[4], -ENOSYS) << "MAP_SHARED file mapping is trapped";
  EXPECT_EQ(results[5], 0) << "shared anonymous memory is local";
  EXPECT_EQ(results[6], 0) << "mprotect PROT_READ is local";
  EXPECT_EQ(results[7], -ENOSYS) << "mprotect PROT_EXEC is trapped";
  EXPECT_EQ(results[8], -ENOSYS) << "write is trapped";
  EXPECT_EQ(results[9], 0) << "rt_sigprocmask is local";
  munmap(const_cast<long*>(results), 4096);
  close(memfd);
}

}  // namespace
}  // namespace tandem
