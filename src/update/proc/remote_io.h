// Batched remote memory I/O for state transfer.
//
// RemoteMemory (src/base) moves one range per call; a transfer moves up to millions of small
// objects, so this batches them: up to IOV_MAX ranges per process_vm_readv/writev. This belongs in
// RemoteMemory (base), as read_many/write_many; it lives here until the lead moves it.
// Thread-compatible: one instance per transfer. Big transfers (8 MB and more) are shared, in
// 4 MB jobs, by the calling thread and a helper thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <span>
#include <vector>

#include "base/result.h"

namespace tandem::update {

struct RemoteRange {
  uint64_t addr = 0;
  uint64_t len = 0;
};

// Reads every range, in order, into `out` (which must hold the sum of the lengths).
Result<void> read_many(pid_t pid, std::span<const RemoteRange> ranges, uint8_t* out);

// Collects writes and performs them in batches.
class WriteBatch {
 public:
  explicit WriteBatch(pid_t pid) : pid_(pid) {}
  // `data` must stay valid until flush().
  void add(uint64_t addr, const uint8_t* data, uint64_t len);
  Result<void> flush();
  uint64_t bytes() const { return bytes_; }

 private:
  pid_t pid_;
  std::vector<RemoteRange> ranges_;
  std::vector<const uint8_t*> data_;
  uint64_t bytes_ = 0;
};

}  // namespace tandem::update
