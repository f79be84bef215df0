// classify / effective_class: the model's class refined by the call's family.
#include "syscalls/args.h"
#include "syscalls/families/family.h"

namespace tandem {

Classification classify(const SyscallCall& call, const RemoteMemory* mem) {
  Classification c;
  const SyscallInfo* info = syscall_info(call.nr);
  if (info == nullptr) {
    c.cls = SyscallClass::kLocal;
    c.every_version_runs = true;
    c.why = "not a syscall on x86-64: the kernel answers ENOSYS";
    return c;
  }
  c.cls = info->cls;
  c.why = info->why;
  if (const Family* family = family_of(*info)) {
    if (auto r = family->classify(call, *info, mem)) {
      c.cls = r->cls;
      if (r->why != nullptr) c.why = r->why;
    }
  }
  switch (c.cls) {
    case SyscallClass::kLocal:
    case SyscallClass::kEveryone:
      c.every_version_runs = true;
      break;
    case SyscallClass::kLockstep:
      c.every_version_runs = info->own_process;
      break;
    case SyscallClass::kRefused:
      c.refuse_errno = info->refuse_errno;
      TANDEM_CHECK(c.refuse_errno != 0) << info->name << " refused without an errno in the model";
      break;
    case SyscallClass::kReplicated:
    case SyscallClass::kEmulated:
      break;
  }
  return c;
}

SyscallClass effective_class(const SyscallCall& call, const RemoteMemory* mem) {
  return classify(call, mem).cls;
}

}  // namespace tandem
