// StateTransfer: moves the state of one parked process into another, from the DWARF of both.
//
// Direction-neutral: a source (process + binary, read only) and a destination (process + binary,
// written through RemoteMemory, plus an Agent for what must run inside it). Forward updates use
// it old -> new; the validation of issue 5 runs it new -> reversed copy.
//
//   read_source()  needs the source parked and the destination binary: reads the source's heap
//                  registry and heap, pairs the roots (variables by key, registered locals by
//                  function and name, the updating thread's TLS) and reads them.
//   run()          needs the destination parked: follows typed pointers from the roots through
//                  the source heap, typing each heap object by the static type of the first
//                  pointer that reaches it and its allocation size (arrays, flexible array
//                  members, live ranges), and classifies every pointer target (heap object,
//                  variable, function, read-only data or string literal, shared library).
//                  Typed objects are allocated in the destination through its own malloc in
//                  batches while the discovery goes on (the two processes work in parallel).
//                  Then every object's new bytes are built locally (type plans, pointer
//                  relocation; two threads for big heaps), written in coalesced spans, and the
//                  user callbacks run (Agent::call).
// Invariant violations (dangling pointer, pointer to an illegal type, ambiguous union, untyped
// object holding pointers, lossy conversion) stop the transfer. Nothing is written to the
// source; a failed run() leaves a destination to be discarded.
// Threading: one caller thread; run() uses a helper thread internally for the transform.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "update/failure.h"
#include "update/match/annotations.h"
#include "update/match/plan.h"
#include "update/proc/process.h"
#include "update/transfer/heap_index.h"

#include <sys/types.h>

namespace tandem::update {

// What runs inside the destination process on request (runtime/live_abi.h). Failures are
// classified by the implementation (a dead process is not a failed callback).
class Agent {
 public:
  virtual ~Agent() = default;
  virtual Expected<uint64_t> map(uint64_t bytes) = 0;
  virtual Expected<void> unmap(uint64_t addr, uint64_t bytes) = 0;
  // Starts `count` allocations described by struct tl_alloc_req at `array` (done in place)
  // without waiting; alloc_end() waits for the oldest request still outstanding and returns how
  // many of its allocations succeeded.
  virtual Expected<void> alloc_begin(uint64_t array, uint64_t count) = 0;
  virtual Expected<uint64_t> alloc_end() = 0;
  // Frees `count` addresses stored at `array`.
  virtual Expected<void> free(uint64_t array, uint64_t count) = 0;
  // Runs `count` struct tl_call_req at `array`; returns the index of the first failing call and
  // its return value, or -1.
  virtual Expected<std::pair<int64_t, int64_t>> call(uint64_t array, uint64_t count) = 0;
  // Backward callbacks run in a disposable copy of the process (runtime/live_abi.h SANDBOX):
  // between sandbox_begin() and sandbox_end(), map() and call() are served by the copy, whose
  // pid sandbox_begin() returns.
  virtual Expected<pid_t> sandbox_begin() = 0;
  virtual Expected<void> sandbox_end() = 0;
};

// How much of a transfer the backward transfer validated: objects (variables, registered
// locals, heap objects) and the bytes of them the forward transfer read, transferred forward
// vs written back and so compared by the old process.
struct Coverage {
  uint64_t objects = 0, objects_validated = 0;
  uint64_t bytes = 0, bytes_validated = 0;
  uint64_t backward_callbacks = 0;
  // Why objects were left out, with counts ("12 objects of struct entry: forward callback
  // stamp_entry without a backward one").
  std::vector<std::string> left_out;
  double percent_bytes() const { return bytes ? 100.0 * bytes_validated / bytes : 100.0; }
};

// A word that differs between the old process and the reversed copy, named.
struct Difference {
  uint64_t addr = 0, past = 0, reversed = 0, words = 0;
  std::string where;  // "kvstore.c:stats.gets (unsigned long)" or "heap object (...)...."
};

struct TransferStats {
  uint64_t variables = 0, variables_dropped = 0, variables_added = 0;
  uint64_t locals = 0, tls = 0;
  uint64_t heap_objects = 0, heap_bytes = 0, heap_untransferred = 0;
  uint64_t reallocated = 0;  // allocated again: retyped to another size after their allocation
  uint64_t pointers = 0, converted_objects = 0, bytes_written = 0, callbacks = 0;
  uint64_t lossy_truncations = 0;
  double read_ms = 0, discover_ms = 0, alloc_ms = 0, transform_ms = 0, write_ms = 0,
         callback_ms = 0;
  double alloc_wait_ms = 0;  // waiting for the destination's allocations (during discovery too)
};

using EventFn = std::function<void(const std::string& event, const std::string& json_fields)>;

class StateTransfer {
 public:
  StateTransfer(ProcessView& src, std::shared_ptr<Program> dst_program, EventFn events);
  ~StateTransfer();

  // This transfer undoes an update (a cold rollback): the destination is the version the source
  // was updated from, and the conversions are the source version's backward callbacks, run in a
  // sandbox copy of the source process through `source_sandbox`. Call before read_source().
  void undo_with(Agent& source_sandbox);
  Expected<void> read_source();
  Expected<void> run(ProcessView& dst, Agent& agent);
  // Time-traveling validation, after run(): transfers the destination's state (`dst_again`: the
  // destination process, viewed afresh after its callbacks) back into `reversed`, a copy of the
  // source process taken before the transfer, writing every object the forward transfer moved
  // back at its original address after zeroing the bytes it read there. Nothing of the forward
  // run's results but the pairing of objects (validated against the destination's heap registry)
  // is trusted: contents, pointers and types are read again from the destination. The comparison
  // itself is the source process's (runtime/ttst.c). Backward callbacks run through `agent` in a
  // sandbox copy of the destination.
  Expected<Coverage> run_backward(ProcessView& dst_again, ProcessView& reversed, Agent& agent);
  // Names the object and member of the source process at an address (for diff reports).
  std::string describe_source_address(uint64_t addr) const;
  const TransferStats& stats() const { return stats_; }
  // Changes seen by the type matcher and findings that did not stop the transfer.
  std::vector<std::string> notes() const;

  struct Impl;  // engine_impl.h: shared by the engine's files only

 private:
  std::unique_ptr<Impl> impl_;
  TransferStats stats_;
};

}  // namespace tandem::update
