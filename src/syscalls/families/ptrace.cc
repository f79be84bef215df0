// The ptrace family: addr and data by request.
//
// A version under tandem is already traced by the monitor, so PTRACE_TRACEME fails and tracing
// happens only of the version's own children; the leader runs each request once (LOCKSTEP,
// outputs replicated). Addresses in the tracee are never compared (its layout is the child's).
// Requests not described here are refused with EIO, the kernel's answer to an invalid request.
#include <string_view>

#include "syscalls/args.h"
#include "syscalls/families/family.h"
#include "syscalls/families/registry.h"

namespace tandem {

namespace {

struct Request {
  uint64_t req;
  ArgUse addr;
  ArgUse data;
};

constexpr uint64_t kUserRegs = 216, kUserFpregs = 512, kSiginfo = 128;
constexpr uint64_t kPtraceGetSyscallInfo = 0x420e;
constexpr uint64_t kMaxSyscallInfo = 4096;

const ArgUse kU = ArgUse::unused();
const ArgUse kV = ArgUse::value(8);
const ArgUse kSignal = ArgUse::value(8, "signal");
const ArgUse kTraceeAddr = ArgUse::address();

const Request kRequests[] = {
    {0, kU, kU},                          // PTRACE_TRACEME
    {1, kTraceeAddr, ArgUse::out(8)},     // PTRACE_PEEKTEXT
    {2, kTraceeAddr, ArgUse::out(8)},     // PTRACE_PEEKDATA
    {3, kV, ArgUse::out(8)},              // PTRACE_PEEKUSER (offset in struct user)
    {4, kTraceeAddr, kV},                 // PTRACE_POKETEXT
    {5, kTraceeAddr, kV},                 // PTRACE_POKEDATA
    {6, kV, kV},                          // PTRACE_POKEUSER
    {7, kU, kSignal},                     // PTRACE_CONT
    {8, kU, kU},                          // PTRACE_KILL
    {9, kU, kSignal},                     // PTRACE_SINGLESTEP
    {12, kU, ArgUse::out(kUserRegs)},     // PTRACE_GETREGS
    {13, kU, ArgUse::in(kUserRegs)},      // PTRACE_SETREGS
    {14, kU, ArgUse::out(kUserFpregs)},   // PTRACE_GETFPREGS
    {15, kU, ArgUse::in(kUserFpregs)},    // PTRACE_SETFPREGS
    {16, kU, kU},                         // PTRACE_ATTACH
    {17, kU, kSignal},                    // PTRACE_DETACH
    {24, kU, kSignal},                    // PTRACE_SYSCALL
    {31, kU, kSignal},                    // PTRACE_SYSEMU
    {32, kU, kSignal},                    // PTRACE_SYSEMU_SINGLESTEP
    {33, kU, kSignal},                    // PTRACE_SINGLEBLOCK
    {0x4200, kU, kV},                     // PTRACE_SETOPTIONS
    {0x4201, kU, ArgUse::out(8)},         // PTRACE_GETEVENTMSG
    {0x4202, kU, ArgUse::out(kSiginfo)},  // PTRACE_GETSIGINFO
    {0x4203, kU, ArgUse::in(kSiginfo)},   // PTRACE_SETSIGINFO
    {0x4206, kU, kV},                     // PTRACE_SEIZE (options)
    {0x4207, kU, kU},                     // PTRACE_INTERRUPT
    {0x4208, kU, kU},                     // PTRACE_LISTEN
    {0x420a, kV, ArgUse::out(8)},         // PTRACE_GETSIGMASK (addr: size)
    {0x420b, kV, ArgUse::in(8)},          // PTRACE_SETSIGMASK
    {kPtraceGetSyscallInfo, kV, ArgUse::out_up_to_ret(0)},  // PTRACE_GET_SYSCALL_INFO
};

const Request* find(uint64_t req) {
  for (const Request& r : kRequests)
    if (r.req == req) return &r;
  return nullptr;
}

class PtraceFamily final : public UseFamily {
 public:
  std::string_view name() const override { return "ptrace"; }

  std::optional<Refinement> classify(const SyscallCall& call, const SyscallInfo&,
                                     const RemoteMemory*) const override {
    if (find(call.args[0]) == nullptr)
      return Refinement{SyscallClass::kRefused, "ptrace request not described"};
    return std::nullopt;
  }

  std::optional<ArgUse> use(const SyscallCall& call, int arg, const RemoteMemory*) const override {
    if (arg != 2 && arg != 3) return std::nullopt;
    const Request* r = find(call.args[0]);
    if (r == nullptr) return ArgUse::unused();
    ArgUse u = arg == 2 ? r->addr : r->data;
    if (call.args[0] == kPtraceGetSyscallInfo && arg == 3)
      u.size = std::min<uint64_t>(call.args[2], kMaxSyscallInfo);
    return u;
  }
};

}  // namespace

const Family& ptrace_family() {
  static const PtraceFamily f;
  return f;
}

}  // namespace tandem
