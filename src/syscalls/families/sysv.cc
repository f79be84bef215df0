// The sysv_ctl family: shmctl, msgctl and semctl, whose buffer depends on the command.
//
// The objects are system-wide: reads are replicated, changes of permissions and removals are
// compared first (LOCKSTEP). x86-64 always uses the IPC_64 layouts, so the IPC_64 bit of the
// command changes nothing here. Unknown commands are refused with EINVAL, as the kernel would.
#include <sys/sem.h>

#include <string_view>

#include "syscalls/args.h"
#include "syscalls/families/family.h"
#include "syscalls/families/registry.h"

namespace tandem {

namespace {

constexpr SyscallClass kRepl = SyscallClass::kReplicated;
constexpr SyscallClass kLock = SyscallClass::kLockstep;

struct Cmd {
  uint32_t cmd;
  SyscallClass cls;
  ArgUse arg;
  bool per_semaphore = false;  // GETALL/SETALL: an array of nsems unsigned shorts
};

constexpr uint64_t kShmidDs = 112, kShminfo = 72, kShmInfo = 48;
constexpr uint64_t kMsqidDs = 120, kMsginfo = 32;
constexpr uint64_t kSemidDs = 104, kSeminfo = 40;

const Cmd kShmCmds[] = {
    {0, kLock, ArgUse::unused()},       {1, kLock, ArgUse::in(kShmidDs)},
    {2, kRepl, ArgUse::out(kShmidDs)},  {3, kRepl, ArgUse::out(kShminfo)},
    {11, kLock, ArgUse::unused()},      {12, kLock, ArgUse::unused()},
    {13, kRepl, ArgUse::out(kShmidDs)}, {14, kRepl, ArgUse::out(kShmInfo)},
    {15, kRepl, ArgUse::out(kShmidDs)},
};
const Cmd kMsgCmds[] = {
    {0, kLock, ArgUse::unused()},       {1, kLock, ArgUse::in(kMsqidDs)},
    {2, kRepl, ArgUse::out(kMsqidDs)},  {3, kRepl, ArgUse::out(kMsginfo)},
    {11, kRepl, ArgUse::out(kMsqidDs)}, {12, kRepl, ArgUse::out(kMsginfo)},
    {13, kRepl, ArgUse::out(kMsqidDs)},
};
const Cmd kSemCmds[] = {
    {0, kLock, ArgUse::unused()},       {1, kLock, ArgUse::in(kSemidDs)},
    {2, kRepl, ArgUse::out(kSemidDs)},  {3, kRepl, ArgUse::out(kSeminfo)},
    {11, kRepl, ArgUse::unused()},      {12, kRepl, ArgUse::unused()},
    {13, kRepl, ArgUse::out(0), true},  {14, kRepl, ArgUse::unused()},
    {15, kRepl, ArgUse::unused()},      {16, kRepl, ArgUse::value(4)},
    {17, kRepl, ArgUse::in(0), true},   {18, kRepl, ArgUse::out(kSemidDs)},
    {19, kRepl, ArgUse::out(kSeminfo)}, {20, kRepl, ArgUse::out(kSemidDs)},
};

class SysvCtlFamily final : public UseFamily {
 public:
  std::string_view name() const override { return "sysv_ctl"; }

  std::optional<Refinement> classify(const SyscallCall& call, const SyscallInfo&,
                                     const RemoteMemory*) const override {
    const Cmd* c = find(call);
    if (c == nullptr) return Refinement{SyscallClass::kRefused, "unknown System V IPC command"};
    return Refinement{c->cls};
  }

  std::optional<ArgUse> use(const SyscallCall& call, int arg, const RemoteMemory*) const override {
    if (arg != buf_arg(call)) return std::nullopt;
    const Cmd* c = find(call);
    if (c == nullptr) return ArgUse::unused();
    if (!c->per_semaphore) return c->arg;
    // The array length is the set's size, which only the kernel knows: ask it. The monitor
    // shares the versions' IPC namespace and user, so it sees the same set.
    semid_ds ds{};
    if (::semctl(arg_i32(call, 0), 0, IPC_STAT, &ds) < 0) return ArgUse::address();
    ArgUse u = c->arg;
    u.size = ds.sem_nsems * sizeof(unsigned short);
    return u;
  }

 private:
  static std::string_view which(const SyscallCall& call) { return info_of(call).name; }
  static int buf_arg(const SyscallCall& call) { return which(call) == "semctl" ? 3 : 2; }
  static const Cmd* find(const SyscallCall& call) {
    std::string_view name = which(call);
    uint32_t cmd = arg_u32(call, name == "semctl" ? 2 : 1) & ~uint32_t{0x100};  // IPC_64
    std::span<const Cmd> cmds = name == "shmctl"   ? std::span<const Cmd>(kShmCmds)
                                : name == "msgctl" ? std::span<const Cmd>(kMsgCmds)
                                                   : std::span<const Cmd>(kSemCmds);
    for (const Cmd& c : cmds)
      if (c.cmd == cmd) return &c;
    return nullptr;
  }
};

}  // namespace

const Family& sysv_ctl_family() {
  static const SysvCtlFamily f;
  return f;
}

}  // namespace tandem
