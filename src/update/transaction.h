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
//  5. commit: the old process rewrites its pidfile, tells systemd MAINPID, exits; the new one
//     resumes; or rollback: the old process kills the new one and returns to its loop.
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
};

struct UpdateResult {
  pid_t old_pid = 0;
  pid_t new_pid = 0;
  double total_ms = 0;   // the whole command
  double update_ms = 0;  // from the request to the new version resuming
  double pause_ms = 0;   // from the old version parking to the new version resuming
  TransferStats stats;
  std::vector<std::string> notes;
};

// Runs an update. A Failure means nothing changed for the running process (it was rolled back
// or never touched), except kSystem after a commit, which the message says.
Expected<UpdateResult> run_update(const UpdateOptions& options);

}  // namespace tandem::update
