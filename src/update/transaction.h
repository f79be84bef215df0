// The update transaction: one `tandem update PID NEW_BIN`, from checks to commit or rollback.
//
//  1. checks that cost nothing to the target: the process exists and is ours, NEW_BIN is an
//     executable with DWARF, built without LTO, linked with the runtime, and a version of the
//     same program (TANDEM_PROGRAM identity, else most variables in common);
//  2. asks the runtime to update (control socket), handing it one end of a socketpair for the
//     new version; waits for the old process to park at an update point (--timeout);
//  3. while the new version starts, reads the old state and plans the transfer (discover);
//  4. waits for the new version to park at its first update point (--timeout, crash detection
//     through the old process, which is its parent), then transfers the state (apply);
//  5. validation (time-traveling state transfer, unless --no-validate): the old process forked a
//     reversed copy of itself when it parked; the state is transferred back from the new version
//     into that copy, and the old process compares the copy with its own memory (VALIDATE);
//  6. commit: the old process rewrites its pidfile, tells systemd MAINPID, exits; the new one
//     resumes; or rollback: the old process kills the new one and returns to its loop. With
//     validation the old process accepts COMMIT only after an equal comparison.
// The old process is the arbiter: nothing commits unless it acknowledged COMMIT, and it rolls
// back on its own if the tool disappears. Single-threaded.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "update/failure.h"
#include "update/transfer/engine.h"

namespace tandem::update {

struct UpdateOptions {
  pid_t pid = 0;
  std::string new_binary;
  std::chrono::milliseconds timeout{5000};
  std::string pidfile;      // rewritten with the new PID after a commit ("" for none)
  std::string events_path;  // JSON lines ("" for none)
  // Time-traveling validation: transfer the state back into a reversed copy of the old process
  // and commit only if it equals the original (the old process compares). False: forward only.
  bool validate = true;
};

struct UpdateResult {
  pid_t old_pid = 0;
  pid_t new_pid = 0;
  double total_ms = 0;   // the whole command
  double update_ms = 0;  // from the request to the new version resuming
  double pause_ms = 0;   // from the old version parking to the new version resuming
  TransferStats stats;
  bool validated = false;  // a backward transfer was compared equal
  Coverage coverage;
  double backward_ms = 0, diff_ms = 0;
  uint64_t diff_bytes = 0;  // bytes the old process compared
  std::vector<std::string> notes;
};

// Runs an update. A Failure means nothing changed for the running process (it was rolled back
// or never touched), except kSystem after a commit, which the message says.
Expected<UpdateResult> run_update(const UpdateOptions& options);

}  // namespace tandem::update
