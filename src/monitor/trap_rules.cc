#include "monitor/trap_rules.h"

#include "syscalls/seccomp_rules.h"

namespace tandem {

std::vector<TrapRule> trap_rules_from_model() {
  std::vector<TrapRule> rules;
  for (int nr : trapped_syscalls()) {
    TrapRule rule;
    rule.nr = nr;
    if (filter_action(nr) == FilterAction::kTrapWhen) {
      auto conds = trap_conditions(nr);
      rule.any_of.assign(conds.begin(), conds.end());
    }
    rules.push_back(std::move(rule));
  }
  return rules;
}

}  // namespace tandem
