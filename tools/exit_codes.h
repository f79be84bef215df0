// Exit codes of the tandem command for its own errors.
//
// `tandem run` otherwise exits with the program's own status, so its errors use the codes that
// env(1), timeout(1) and nohup(1) use for theirs: 125 and up. `tandem update` has no program
// status to pass through and uses small codes (see tools/update.cc and the README).
#pragma once

namespace tandem::exit_code {

constexpr int kOk = 0;
constexpr int kUsage = 125;          // unknown flag, malformed option value, bad rules file
constexpr int kNotExecutable = 126;  // a version binary exists but cannot be executed
constexpr int kNotFound = 127;       // a version binary does not exist
constexpr int kRulesFile = 124;      // the rules file cannot be read or parsed
constexpr int kDiverged = 123;       // --policy strict stopped the program at a divergence
constexpr int kMonitorFailure = 122; // tandem itself failed (e.g. ptrace not permitted)

}  // namespace tandem::exit_code
