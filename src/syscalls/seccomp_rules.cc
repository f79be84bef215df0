#include "syscalls/seccomp_rules.h"

#include "syscalls/syscall_model.h"

namespace tandem {

namespace {

#include "seccomp_rules.inc"

}  // namespace

bool TrapCondition::holds(uint64_t v) const {
  switch (op) {
    case CmpOp::kNe:
      return v != value;
    case CmpOp::kLt:
      return v < value;
    case CmpOp::kLe:
      return v <= value;
    case CmpOp::kEq:
      return v == value;
    case CmpOp::kGe:
      return v >= value;
    case CmpOp::kGt:
      return v > value;
    case CmpOp::kMaskedEq:
      return (v & mask) == value;
  }
  return false;
}

FilterAction filter_action(int nr) {
  const SyscallInfo* info = syscall_info(nr);
  if (info == nullptr) return FilterAction::kAllow;
  if (info->cls != SyscallClass::kLocal) return FilterAction::kTrap;
  return trap_conditions(nr).empty() ? FilterAction::kAllow : FilterAction::kTrapWhen;
}

std::span<const TrapCondition> trap_conditions(int nr) {
  for (const ConditionRange& r : kConditionRanges)
    if (r.nr == nr) return std::span(kConditions).subspan(r.start, r.count);
  return {};
}

bool filter_traps(int nr, const uint64_t (&args)[6]) {
  switch (filter_action(nr)) {
    case FilterAction::kAllow:
      return false;
    case FilterAction::kTrap:
      return true;
    case FilterAction::kTrapWhen:
      for (const TrapCondition& c : trap_conditions(nr))
        if (c.holds(args[c.arg])) return true;
      return false;
  }
  return true;
}

std::vector<int> trapped_syscalls() {
  std::vector<int> out;
  for (const SyscallInfo& info : all_syscalls())
    if (filter_action(info.nr) != FilterAction::kAllow) out.push_back(info.nr);
  return out;
}

}  // namespace tandem
