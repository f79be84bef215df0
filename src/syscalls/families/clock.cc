// clock_gettime by clock: the clocks of the whole system (realtime, monotonic, boottime, their
// coarse and raw variants, TAI, the alarm clocks) read the same in the monitor as in any
// version, so the monitor reads one value for all versions (kEmulated: no version runs the
// call, and the leader pays no exit stop). CPU-time clocks (the process's, a thread's, or
// another process's: negative ids) belong to the caller: the leader's reading is replicated.
#include <time.h>

#include "syscalls/args.h"
#include "syscalls/families/family.h"
#include "syscalls/families/registry.h"

namespace tandem {

namespace {

class ClockFamily final : public Family {
 public:
  std::string_view name() const override { return "clock"; }

  std::optional<Refinement> classify(const SyscallCall& call, const SyscallInfo&,
                                     const RemoteMemory*) const override {
    if (system_clock(arg_i32(call, 0))) return Refinement{SyscallClass::kEmulated};
    return std::nullopt;
  }
};

}  // namespace

bool system_clock(int clockid) {
  switch (clockid) {
    case CLOCK_REALTIME:
    case CLOCK_MONOTONIC:
    case CLOCK_MONOTONIC_RAW:
    case CLOCK_REALTIME_COARSE:
    case CLOCK_MONOTONIC_COARSE:
    case CLOCK_BOOTTIME:
    case CLOCK_REALTIME_ALARM:
    case CLOCK_BOOTTIME_ALARM:
    case CLOCK_TAI:
      return true;
    default:
      return false;
  }
}

const Family& clock_family() {
  static const ClockFamily f;
  return f;
}

}  // namespace tandem
