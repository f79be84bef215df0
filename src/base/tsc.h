// Time-stamp counter values without executing rdtsc.
//
// tandem's tracer threads run with rdtsc disabled (PR_SET_TSC, PR_TSC_SIGSEGV) like the versions
// they trace: on these VMs every context switch between a task with the TSC enabled and one with
// it disabled rewrites CR4, which traps to the hypervisor and doubled the cost of an intercepted
// call (measured: 39.5 us vs 17.4 us per call). So the monitor must not execute rdtsc itself;
// the clock the versions see (emulated rdtsc) comes from CLOCK_MONOTONIC_RAW through a real
// syscall, scaled to the TSC frequency measured once at start-up.
#pragma once

#include <cstdint>

namespace tandem {

// Measures the TSC frequency (call once, on a thread that may execute rdtsc, before others).
void tsc_calibrate();
// A TSC-like value: monotonic, in TSC ticks. Async-signal-safe.
uint64_t tsc_now();
// Nanoseconds of CLOCK_MONOTONIC through a real syscall (never the vDSO). Async-signal-safe.
uint64_t monotonic_ns();
// Nanoseconds from `since_ns` to `now_ns`, 0 when `since_ns` is later: a watchdog reads the
// clock once per pass while tracer threads keep stamping newer times (the unsigned difference
// wrapped around to ~584 years and released a restored copy's replay order 12 ms after its
// restore, 1 run in 10 under load).
inline uint64_t elapsed_ns(uint64_t since_ns, uint64_t now_ns) {
  return now_ns > since_ns ? now_ns - since_ns : 0;
}
// Makes the calling process survive rdtsc/rdtscp in threads that disabled the TSC (a library
// reading the clock through the vDSO, say): SIGSEGV from those instructions is emulated with
// tsc_now(); any other SIGSEGV keeps its default action.
void install_rdtsc_emulation();
// Disables rdtsc for the calling thread (see above for why).
void disable_tsc_for_this_thread();

}  // namespace tandem
