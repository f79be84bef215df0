// Every syscall of the table through every phase, with NULL pointers and with pointers to
// zeroed memory: no phase may abort (a kSpecial argument no family handles would), and the
// phases that read memory either succeed or report an errno.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "syscalls/call.h"
#include "syscalls/syscall_model.h"
#include "test_util.h"

namespace tandem {
namespace {

void through_every_phase(const SyscallCall& call) {
  RemoteMemory mem = testing::self();
  Classification c = classify(call, &mem);
  if (c.cls == SyscallClass::kRefused) {
    EXPECT_NE(c.refuse_errno, 0);
  }
  auto sig = make_signature(call, mem);
  if (sig.ok()) {
    EXPECT_EQ(sig->nr, call.nr);
    EXPECT_EQ(sig->fields.size(), syscall_info(call.nr)->nargs);
    EXPECT_EQ(sig->first_difference(*sig), -1);
  }
  EXPECT_FALSE(format_call(call, &mem).empty());
  EXPECT_FALSE(format_call(call, nullptr).empty());
  for (int64_t ret : {int64_t{0}, int64_t{1}, int64_t{-EINTR}}) {
    auto out = capture_outputs(call, ret, mem);
    if (out.ok()) (void)apply_outputs(call, ret, *out, mem);
    EXPECT_FALSE(format_result(call, ret).empty());
  }
}

TEST(Sweep, NullPointers) {
  for (const SyscallInfo& s : all_syscalls()) {
    SCOPED_TRACE(s.name);
    through_every_phase(SyscallCall{s.nr, {}});
  }
}

TEST(Sweep, PointersToZeroedMemoryAndSmallValues) {
  // Every argument is either a small value or the address of a zeroed buffer large enough for
  // any struct the model reads; lengths stay small so that reads stay inside the buffer.
  std::vector<uint8_t> zeros(1 << 16);
  std::mt19937_64 rng(7);
  for (const SyscallInfo& s : all_syscalls()) {
    SCOPED_TRACE(s.name);
    for (int iter = 0; iter < 8; ++iter) {
      SyscallCall call{s.nr, {}};
      for (int i = 0; i < 6; ++i) {
        bool pointer = i < s.nargs && s.args[i].kind != ArgKind::kValue &&
                       s.args[i].kind != ArgKind::kFlags && s.args[i].kind != ArgKind::kFd &&
                       s.args[i].kind != ArgKind::kDirFd && s.args[i].kind != ArgKind::kPid &&
                       s.args[i].kind != ArgKind::kSignal;
        call.args[static_cast<size_t>(i)] =
            pointer ? reinterpret_cast<uint64_t>(zeros.data() + 4096) : rng() % 64;
      }
      through_every_phase(call);
    }
  }
}

}  // namespace
}  // namespace tandem
