// The prctl family: the option decides what arg2..arg5 are and how versions run the call.
//
// Most options set or read an attribute of the calling process: every version runs its own
// (EVERYONE). Options that change privileges or confinement are compared first (LOCKSTEP; prctl
// is own_process, so every version then runs its own). PR_GET_TSC/PR_SET_TSC are EMULATED: the
// monitor keeps rdtsc trapping (HAZARDS 2) and reports the mode the program asked for.
// Arguments an option ignores are not compared: callers leave anything in those registers.
#include <fmt/format.h>

#include "syscalls/args.h"
#include "syscalls/families/family.h"
#include "syscalls/families/registry.h"
#include "syscalls/flags.h"

namespace tandem {

namespace {

constexpr SyscallClass kEvery = SyscallClass::kEveryone;
constexpr SyscallClass kLock = SyscallClass::kLockstep;
constexpr SyscallClass kEmul = SyscallClass::kEmulated;

struct Option {
  uint32_t option;
  SyscallClass cls;
  ArgUse args[4];  // arg2..arg5
};

const ArgUse kU = ArgUse::unused();
const ArgUse kV = ArgUse::value(8);
const ArgUse kSig = ArgUse::value(8, "signal");
const ArgUse kOutInt = ArgUse::out(4);
const ArgUse kOutU64 = ArgUse::out(8);
const ArgUse kAddr = ArgUse::address();
constexpr uint64_t kTaskCommLen = 16;

const Option kOptions[] = {
    {1, kEvery, {kSig, kU, kU, kU}},                        // PR_SET_PDEATHSIG
    {2, kEvery, {kOutInt, kU, kU, kU}},                     // PR_GET_PDEATHSIG
    {3, kEvery, {kU, kU, kU, kU}},                          // PR_GET_DUMPABLE
    {4, kEvery, {kV, kU, kU, kU}},                          // PR_SET_DUMPABLE
    {5, kEvery, {kOutInt, kU, kU, kU}},                     // PR_GET_UNALIGN
    {6, kEvery, {kV, kU, kU, kU}},                          // PR_SET_UNALIGN
    {7, kEvery, {kU, kU, kU, kU}},                          // PR_GET_KEEPCAPS
    {8, kLock, {kV, kU, kU, kU}},                           // PR_SET_KEEPCAPS: survives setuid
    {9, kEvery, {kOutInt, kU, kU, kU}},                     // PR_GET_FPEMU
    {10, kEvery, {kV, kU, kU, kU}},                         // PR_SET_FPEMU
    {11, kEvery, {kOutInt, kU, kU, kU}},                    // PR_GET_FPEXC
    {12, kEvery, {kV, kU, kU, kU}},                         // PR_SET_FPEXC
    {13, kEvery, {kU, kU, kU, kU}},                         // PR_GET_TIMING
    {14, kEvery, {kV, kU, kU, kU}},                         // PR_SET_TIMING
    {15, kEvery, {ArgUse::in(kTaskCommLen), kU, kU, kU}},   // PR_SET_NAME
    {16, kEvery, {ArgUse::out(kTaskCommLen), kU, kU, kU}},  // PR_GET_NAME
    {19, kEvery, {kOutInt, kU, kU, kU}},                    // PR_GET_ENDIAN
    {20, kEvery, {kV, kU, kU, kU}},                         // PR_SET_ENDIAN
    {21, kEvery, {kU, kU, kU, kU}},                         // PR_GET_SECCOMP
    {22, kLock, {kV, kAddr, kU, kU}},                       // PR_SET_SECCOMP (filter: see sign)
    {23, kEvery, {kV, kU, kU, kU}},                         // PR_CAPBSET_READ
    {24, kLock, {kV, kU, kU, kU}},                          // PR_CAPBSET_DROP
    {25, kEmul, {kOutInt, kU, kU, kU}},                     // PR_GET_TSC
    {26, kEmul, {kV, kU, kU, kU}},                          // PR_SET_TSC
    {27, kEvery, {kU, kU, kU, kU}},                         // PR_GET_SECUREBITS
    {28, kLock, {kV, kU, kU, kU}},                          // PR_SET_SECUREBITS
    {29, kEvery, {kV, kU, kU, kU}},                         // PR_SET_TIMERSLACK
    {30, kEvery, {kU, kU, kU, kU}},                         // PR_GET_TIMERSLACK
    {31, kEvery, {kU, kU, kU, kU}},                         // PR_TASK_PERF_EVENTS_DISABLE
    {32, kEvery, {kU, kU, kU, kU}},                         // PR_TASK_PERF_EVENTS_ENABLE
    {33, kEvery, {kV, kV, kU, kU}},                         // PR_MCE_KILL
    {34, kEvery, {kU, kU, kU, kU}},                         // PR_MCE_KILL_GET
    // PR_SET_MM rewrites the process's memory map description (CAP_SYS_RESOURCE): arg3 is an
    // address or a struct of addresses (PR_SET_MM_MAP) that cannot be compared between
    // versions; the sub-option and sizes are.
    {35, kLock, {kV, kAddr, kV, kU}},     // PR_SET_MM
    {36, kEvery, {kV, kU, kU, kU}},       // PR_SET_CHILD_SUBREAPER
    {37, kEvery, {kOutInt, kU, kU, kU}},  // PR_GET_CHILD_SUBREAPER
    {38, kLock, {kV, kU, kU, kU}},        // PR_SET_NO_NEW_PRIVS
    {39, kEvery, {kU, kU, kU, kU}},       // PR_GET_NO_NEW_PRIVS
    {40, kEvery, {kOutU64, kU, kU, kU}},  // PR_GET_TID_ADDRESS
    {41, kEvery, {kV, kU, kU, kU}},       // PR_SET_THP_DISABLE
    {42, kEvery, {kU, kU, kU, kU}},       // PR_GET_THP_DISABLE
    {43, kEvery, {kU, kU, kU, kU}},       // PR_MPX_ENABLE_MANAGEMENT (removed)
    {44, kEvery, {kU, kU, kU, kU}},       // PR_MPX_DISABLE_MANAGEMENT (removed)
    {45, kEvery, {kV, kU, kU, kU}},       // PR_SET_FP_MODE
    {46, kEvery, {kU, kU, kU, kU}},       // PR_GET_FP_MODE
    {47, kLock, {kV, kV, kU, kU}},        // PR_CAP_AMBIENT
    {50, kEvery, {kV, kU, kU, kU}},       // PR_SVE_SET_VL (arm64)
    {51, kEvery, {kU, kU, kU, kU}},       // PR_SVE_GET_VL (arm64)
    {52, kEvery, {kV, kU, kU, kU}},       // PR_GET_SPECULATION_CTRL
    {53, kEvery, {kV, kV, kU, kU}},       // PR_SET_SPECULATION_CTRL
    {54, kEvery, {kV, kU, kU, kU}},       // PR_PAC_RESET_KEYS (arm64)
    {55, kEvery, {kV, kU, kU, kU}},       // PR_SET_TAGGED_ADDR_CTRL
    {56, kEvery, {kU, kU, kU, kU}},       // PR_GET_TAGGED_ADDR_CTRL
    {57, kEvery, {kU, kU, kU, kU}},       // PR_SET_IO_FLUSHER
    {58, kEvery, {kU, kU, kU, kU}},       // PR_GET_IO_FLUSHER
    // Syscall user dispatch: the region and selector are addresses in the caller.
    {59, kEvery, {kV, kAddr, kV, kAddr}},  // PR_SET_SYSCALL_USER_DISPATCH
    {60, kEvery, {kV, kV, kU, kU}},        // PR_PAC_SET_ENABLED_KEYS (arm64)
    {61, kEvery, {kU, kU, kU, kU}},        // PR_PAC_GET_ENABLED_KEYS (arm64)
    {62, kEvery, {kV, kV, kV, kOutU64}},   // PR_SCHED_CORE (arg5: cookie for GET)
    {63, kEvery, {kV, kU, kU, kU}},        // PR_SME_SET_VL (arm64)
    {64, kEvery, {kU, kU, kU, kU}},        // PR_SME_GET_VL (arm64)
    {65, kLock, {kV, kU, kU, kU}},         // PR_SET_MDWE: memory-deny-write-exec
    {66, kEvery, {kU, kU, kU, kU}},        // PR_GET_MDWE
    {67, kEvery, {kV, kU, kU, kU}},        // PR_SET_MEMORY_MERGE
    {68, kEvery, {kU, kU, kU, kU}},        // PR_GET_MEMORY_MERGE
    {69, kEvery, {kV, kU, kU, kU}},        // PR_RISCV_V_SET_CONTROL
    {70, kEvery, {kU, kU, kU, kU}},        // PR_RISCV_V_GET_CONTROL
    {71, kEvery, {kV, kV, kU, kU}},        // PR_RISCV_SET_ICACHE_FLUSH_CTX
    {72, kEvery, {kV, kU, kU, kU}},        // PR_PPC_GET_DEXCR
    {73, kEvery, {kV, kV, kU, kU}},        // PR_PPC_SET_DEXCR
    {74, kEvery, {kOutU64, kU, kU, kU}},   // PR_GET_SHADOW_STACK_STATUS
    {75, kEvery, {kV, kU, kU, kU}},        // PR_SET_SHADOW_STACK_STATUS
    {76, kEvery, {kV, kU, kU, kU}},        // PR_LOCK_SHADOW_STACK_STATUS
    {77, kEvery, {kV, kU, kU, kU}},        // PR_TIMER_CREATE_RESTORE_IDS
    {78, kEvery, {kV, kV, kV, kU}},        // PR_FUTEX_HASH
    {0x53564d41, kEvery, {kV, kAddr, kV, ArgUse::string()}},  // PR_SET_VMA (anon name)
    {0x59616d61, kEvery, {kV, kU, kU, kU}},                   // PR_SET_PTRACER (virtual pid)
};

constexpr uint32_t kPrSetSeccomp = 22;
constexpr uint64_t kSeccompModeFilter = 2;
constexpr uint32_t kPrSetMm = 35;
constexpr uint64_t kPrSetMmAuxv = 12, kPrSetMmMapSize = 15;

const Option* find_option(uint32_t option) {
  for (const Option& o : kOptions)
    if (o.option == option) return &o;
  return nullptr;
}

class PrctlFamily final : public UseFamily {
 public:
  std::string_view name() const override { return "prctl"; }

  std::optional<Refinement> classify(const SyscallCall& call, const SyscallInfo&,
                                     const RemoteMemory*) const override {
    // Unknown options fail with EINVAL in every version's kernel: harmless to let each run.
    const Option* o = find_option(arg_u32(call, 0));
    return Refinement{o ? o->cls : kEvery};
  }

  std::optional<ArgUse> use(const SyscallCall& call, int arg, const RemoteMemory*) const override {
    if (arg < 1) return std::nullopt;
    uint32_t option = arg_u32(call, 0);
    // Sub-options of PR_SET_MM with a real buffer.
    if (option == kPrSetMm && arg == 2) {
      if (call.args[1] == kPrSetMmAuxv) return ArgUse::in(std::min<uint64_t>(call.args[3], 512));
      if (call.args[1] == kPrSetMmMapSize) return ArgUse::out(4);
    }
    const Option* o = find_option(option);
    return o ? o->args[arg - 1] : kV;
  }

  Result<bool> sign(const SyscallCall& call, int arg, const RemoteMemory& mem,
                    SigWriter& w) const override {
    // PR_SET_SECCOMP with SECCOMP_MODE_FILTER: arg3 is a struct sock_fprog whose instructions
    // are the filter; compare the instructions.
    if (arg == 2 && arg_u32(call, 0) == kPrSetSeccomp && call.args[1] == kSeccompModeFilter) {
      if (auto r = sign_fprog(mem, arg_ptr(call, 2), w); !r) return r.error();
      return true;
    }
    return UseFamily::sign(call, arg, mem, w);
  }

  static Result<void> sign_fprog(const RemoteMemory& mem, remote_addr addr, SigWriter& w) {
    if (addr.is_null()) {
      w.null();
      return {};
    }
    auto prog = mem.read_value(remote_ptr<abi::SockFprog>(addr.addr()));
    if (!prog) return prog.error();
    return w.remote_bytes(mem, remote_addr(prog->filter), prog->len * abi::kSockFilterSize);
  }
};

}  // namespace

// Shared with the seccomp family (seccomp(SECCOMP_SET_MODE_FILTER) takes the same struct).
Result<void> sign_sock_fprog(const RemoteMemory& mem, remote_addr addr, SigWriter& w) {
  return PrctlFamily::sign_fprog(mem, addr, w);
}

const Family& prctl_family() {
  static const PrctlFamily f;
  return f;
}

}  // namespace tandem
