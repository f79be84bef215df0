// Options of a multi-version run (the `tandem run` command line, as a value).
#pragma once

#include <string>
#include <vector>

namespace tandem {

// How a divergence between versions is resolved (docs/architecture.md, "Divergence").
enum class Policy {
  kPreferNew,  // the newest surviving version's behaviour wins (the seed's rule; default)
  kPreferOld,  // the oldest surviving version's behaviour wins
  kStrict,     // every version is stopped before the diverging call executes
  kMajority,   // the behaviour of more than half of the versions wins; ties -> prefer-new
};

const char* to_string(Policy p);
bool parse_policy(const std::string& text, Policy& out);

struct VersionSpec {
  std::string path;   // as given by the user
  std::string resolved;  // absolute, checked executable
};

struct MonitorOptions {
  std::vector<VersionSpec> versions;  // oldest first
  std::vector<std::string> args;      // program arguments after argv[0]
  Policy policy = Policy::kPreferNew;
  int leader = -1;                    // -1: chosen by the policy
  std::string rules_file;
  std::string events_file;
  bool quiet = false;
  // A version that diverged is dropped when it has not reconverged after this many of the
  // winners' calls.
  int reconverge_bound = 8;
  // ... or after this many seconds held (the others may have stopped making calls).
  double reconverge_seconds = 10;
  bool pin_cpus = true;
  // Restart of crashed versions: a checkpoint of each (single-threaded) process every this many
  // agreed calls (0: never, crashed versions are dropped), and at most this many restarts per
  // version.
  int checkpoint_interval = 1000;
  // Canary: the newest version becomes the leader (and its behaviour wins divergences) only
  // after it ran this long (seconds) or this many agreed calls without diverging. 0: from the
  // start (no canary).
  double promote_after_seconds = 0;
  uint64_t promote_after_calls = 0;
  int max_restarts = 3;
  // A version that used this many seconds of CPU without reaching its next call while the
  // other versions wait at theirs is hung (an endless loop): it is killed, and restarted like a
  // crashed version. 0: never.
  double hang_cpu_seconds = 10;
  // Keep address-space randomisation (off by default: addresses leak into names and hash
  // seeds, and versions then diverge; see docs/limits.md).
  bool aslr = false;
  // Every call is a full rendezvous: no early execution of queries, reads and writes by the
  // leader before the followers arrived (docs/architecture.md, "Early execution").
  bool lockstep = false;
};

}  // namespace tandem
