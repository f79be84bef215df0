// The calls the monitor needs to see, from the syscall model: every call that is not kLocal,
// and kLocal calls under their trap conditions (mprotect with PROT_EXEC, ...).
#pragma once

#include <vector>

#include "intercept/backend.h"

namespace tandem {

std::vector<TrapRule> trap_rules_from_model();

}  // namespace tandem
