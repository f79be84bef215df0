// What the seccomp filter must do with each syscall, derived from the model.
//
// The intercept layer turns this into a BPF program (libseccomp); nothing here depends on
// libseccomp, but CmpOp uses the numeric values of libseccomp's `enum scmp_compare` so that a
// condition converts one to one (SCMP_CMP64(c.arg, static_cast<scmp_compare>(c.op), c.mask,
// c.value)); the unit tests check both the values and that libseccomp accepts every rule.
//
// Semantics: a call whose action is kTrap always stops for the monitor. A kTrapWhen call stops
// when ANY of its conditions holds; each condition tests one argument: (arg & mask) == value
// for kMaskedEq. (libseccomp ORs rules of one syscall, so each condition becomes one rule.)
// Everything else (kLocal calls without conditions) runs at native speed.
//
// Immutable generated data (seccomp_rules.inc); any thread.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace tandem {

// Same values as libseccomp's enum scmp_compare.
enum class CmpOp : uint8_t {
  kNe = 1,
  kLt = 2,
  kLe = 3,
  kEq = 4,
  kGe = 5,
  kGt = 6,
  kMaskedEq = 7,
};

struct TrapCondition {
  uint8_t arg = 0;  // argument index 0..5
  CmpOp op = CmpOp::kMaskedEq;
  uint64_t mask = 0;
  uint64_t value = 0;
  // Whether the condition holds for this argument value (what the kernel's filter computes).
  bool holds(uint64_t arg_value) const;
};

enum class FilterAction : uint8_t {
  kAllow,     // never stops (kLocal without conditions, and numbers that are not syscalls)
  kTrap,      // always stops
  kTrapWhen,  // stops when any of trap_conditions(nr) holds
};

FilterAction filter_action(int nr);
// The conditions of a kTrapWhen call (empty for the others).
std::span<const TrapCondition> trap_conditions(int nr);
// Whether the filter stops a call with these arguments (for tests and for backends that filter
// in user space).
bool filter_traps(int nr, const uint64_t (&args)[6]);
// Every syscall number the filter must know about (kTrap or kTrapWhen), in number order.
std::vector<int> trapped_syscalls();

}  // namespace tandem
