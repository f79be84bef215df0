// Software fault injection into the state-transfer framework (issue 5's campaign, the seed's §6).
//
// The transfer code marks its candidate fault locations with the hooks below. In a normal build
// (the `tandem` command) every hook is the identity and costs nothing. The `tandem-fi` build
// (experiments/ttst) compiles the same engine with TANDEM_FAULT_INJECTION: then each execution of
// a hook of the configured kind misbehaves with probability phi, as a programming error would:
//   branch    a branch or loop condition is flipped, once or stuck (FI_BRANCH)
//   init      an initialisation is skipped, leaving what was in memory (FI_SKIP_INIT)
//   pointer   a pointer value is corrupted: a random value or off by one byte (FI_PTR)
//   overflow  a copy is longer than it should be by 1 to 100 % (FI_SIZE)
//   leak      a release (free, unmap) is skipped (FI_SKIP_FREE)
// Configured by the environment: TANDEM_FAULTS="kind=pointer,phi=0.01,seed=7". The validation
// itself (the zeroing before the write-back, the old process's comparison) has no hooks: it is
// the trusted part that the campaign tests.
// Threading: hooks may run on the transform's two threads; the generator is one atomic counter.
#pragma once

#include <atomic>
#include <cstdint>

namespace tandem::update::fi {

enum class Kind : int { kNone = 0, kBranch, kInit, kPointer, kOverflow, kLeak };

// Does this execution of a hook of `kind` misbehave?
bool fire(Kind kind);
uint64_t random64();
bool flip(bool cond);
// A branch hook: each firing flips the condition once, or leaves it stuck at the flipped value
// for the rest of the run (a stuck-at fault: loops that never end, or never start).
template <int Site>
bool branch(bool cond) {
  static std::atomic<int> stuck{0};  // 0: healthy, 1: stuck at false, 2: stuck at true
  if (int s = stuck.load(std::memory_order_relaxed)) return s == 2;
  if (!fire(Kind::kBranch)) return cond;
  if (random64() & 1) stuck.store(cond ? 1 : 2, std::memory_order_relaxed);
  return !cond;
}
uint64_t corrupt_pointer(uint64_t value);
uint64_t overflow(uint64_t size);
// How many faults were injected so far (for the events file).
uint64_t activated();
const char* configuration();  // "" when fault injection is off

}  // namespace tandem::update::fi

#ifdef TANDEM_FAULT_INJECTION
#define FI_BRANCH(cond) (::tandem::update::fi::branch<__COUNTER__>(static_cast<bool>(cond)))
#define FI_SKIP_INIT() (::tandem::update::fi::fire(::tandem::update::fi::Kind::kInit))
#define FI_PTR(value) (::tandem::update::fi::corrupt_pointer(value))
#define FI_SIZE(size) (::tandem::update::fi::overflow(size))
#define FI_SKIP_FREE() (::tandem::update::fi::fire(::tandem::update::fi::Kind::kLeak))
#else
#define FI_BRANCH(cond) (cond)
#define FI_SKIP_INIT() false
#define FI_PTR(value) (value)
#define FI_SIZE(size) (size)
#define FI_SKIP_FREE() false
#endif
