#include "base/tsc.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>
#include <x86intrin.h>

#include <ctime>

namespace tandem {

namespace {

uint64_t g_base_tsc = 0;
uint64_t g_base_ns = 0;
double g_ticks_per_ns = 1.0;

uint64_t raw_ns(clockid_t clock) {
  timespec ts{};
  syscall(SYS_clock_gettime, clock, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

void on_segv(int sig, siginfo_t* info, void* context) {
  auto* uc = static_cast<ucontext_t*>(context);
  auto* pc = reinterpret_cast<const uint8_t*>(uc->uc_mcontext.gregs[REG_RIP]);
  bool rdtsc = info->si_code == SI_KERNEL && pc[0] == 0x0f && pc[1] == 0x31;
  bool rdtscp = info->si_code == SI_KERNEL && pc[0] == 0x0f && pc[1] == 0x01 && pc[2] == 0xf9;
  if (!rdtsc && !rdtscp) {
    // A real fault: crash as if there were no handler.
    signal(sig, SIG_DFL);
    raise(sig);
    return;
  }
  uint64_t t = tsc_now();
  uc->uc_mcontext.gregs[REG_RAX] = static_cast<greg_t>(t & 0xffffffffu);
  uc->uc_mcontext.gregs[REG_RDX] = static_cast<greg_t>(t >> 32);
  if (rdtscp) uc->uc_mcontext.gregs[REG_RCX] = 0;
  uc->uc_mcontext.gregs[REG_RIP] += rdtscp ? 3 : 2;
}

}  // namespace

void tsc_calibrate() {
  uint64_t ns0 = raw_ns(CLOCK_MONOTONIC_RAW);
  uint64_t tsc0 = __rdtsc();
  timespec pause{0, 20 * 1000 * 1000};
  nanosleep(&pause, nullptr);
  uint64_t ns1 = raw_ns(CLOCK_MONOTONIC_RAW);
  uint64_t tsc1 = __rdtsc();
  g_base_tsc = tsc1;
  g_base_ns = ns1;
  if (ns1 > ns0 && tsc1 > tsc0) g_ticks_per_ns = static_cast<double>(tsc1 - tsc0) / (ns1 - ns0);
}

uint64_t tsc_now() {
  uint64_t ns = raw_ns(CLOCK_MONOTONIC_RAW);
  return g_base_tsc + static_cast<uint64_t>(static_cast<double>(ns - g_base_ns) * g_ticks_per_ns);
}

uint64_t monotonic_ns() { return raw_ns(CLOCK_MONOTONIC); }

void install_rdtsc_emulation() {
  struct sigaction sa {};
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGSEGV, &sa, nullptr);
}

void disable_tsc_for_this_thread() { prctl(PR_SET_TSC, PR_TSC_SIGSEGV, 0, 0, 0); }

}  // namespace tandem
