// SpinMutex: a mutex that spins briefly before it blocks.
//
// For locks held for a few microseconds by threads pinned to different CPUs (a group's
// rendezvous lock, taken by each version's tracer thread at every stop). A blocked std::mutex
// is woken by a futex wake-up across vCPUs, which costs 20-45 us on these VMs (HAZARDS 14):
// far longer than the lock is held. Spinning first turns most contention into a sub-microsecond
// wait; past the spin it blocks as std::mutex does, so a holder that sleeps or is preempted
// costs no more CPU than a short spin.
#pragma once

#include <sched.h>

#include <mutex>

namespace tandem {

class SpinMutex {
 public:
  void lock() {
    // ~1,000 pauses: some tens of microseconds, longer than any rendezvous step holds it. The
    // holder may share this CPU (three versions on two CPUs, the watchdog thread): a yield
    // every few turns lets it run and release the lock.
    for (int i = 0; i < kSpins; ++i) {
      if (mu_.try_lock()) return;
      for (int j = 0; j < 8; ++j) __builtin_ia32_pause();
      if ((i & 7) == 7) sched_yield();
    }
    mu_.lock();
  }
  bool try_lock() { return mu_.try_lock(); }
  void unlock() { mu_.unlock(); }

 private:
  static constexpr int kSpins = 128;
  std::mutex mu_;
};

}  // namespace tandem
