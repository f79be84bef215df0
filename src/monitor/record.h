// SyscallRecord: one call as the executing version made it, with its result and outputs.
//
// Records form each group's stream: produced by the version that executed the call (the
// leader), consumed by the followers, whose own call is skipped and given the record's result
// and outputs. The stream is the interface later parts build on (an in-process fast path that
// hands records through shared memory, crash recovery that replays them).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "base/scoped_fd.h"
#include "syscalls/call.h"

namespace tandem {

struct SyscallRecord {
  uint64_t seq = 0;
  int executor_version = -1;
  SyscallCall call;        // the executor's call (its own pointers)
  int64_t result = 0;      // as the program sees it (pids virtual)
  Outputs outputs;
  // The monitor's own copies of descriptors the call created, taken before the executor could
  // close them; followers get copies of these at the same numbers.
  struct NewFd {
    int number = -1;       // in the program
    bool cloexec = false;
    std::shared_ptr<ScopedFd> copy;
  };
  std::vector<NewFd> new_fds;
};

}  // namespace tandem
