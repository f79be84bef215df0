// The arena of the transfer's big allocations: freed blocks are reused, so that a validated
// update's way back fits in the memory faulted in before the pause.
#include "update/proc/big_alloc.h"

#include <gtest/gtest.h>

namespace tandem::update {
namespace {

constexpr size_t kMiB = size_t{1} << 20;

TEST(BigArena, ReusesFreedBlocksFirstFit) {
  BigArena arena(8 * kMiB);
  auto* a = static_cast<uint8_t*>(arena.take(2 * kMiB));
  auto* b = static_cast<uint8_t*>(arena.take(2 * kMiB));
  ASSERT_NE(a, nullptr);
  ASSERT_EQ(b, a + 2 * kMiB);
  arena.give_back(a, 2 * kMiB);              // below the top: kept for reuse
  EXPECT_EQ(arena.take(1 * kMiB), a);        // first fit, split
  EXPECT_EQ(arena.take(1 * kMiB), a + kMiB);  // the rest of the block
  EXPECT_EQ(arena.used(), 4 * kMiB);
  EXPECT_EQ(arena.missed(), 0u);
}

TEST(BigArena, TopBlockLowersTheMarkAndPeakStays) {
  BigArena arena(4 * kMiB);
  void* a = arena.take(3 * kMiB);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(arena.take(2 * kMiB), nullptr);  // does not fit
  arena.give_back(a, 3 * kMiB);
  EXPECT_EQ(arena.take(4 * kMiB), a);  // the whole arena again
  EXPECT_EQ(arena.used(), 4 * kMiB);
}

TEST(BigArena, VectorsGrowInsideTheArena) {
  ScopedBigArena scope(16 * kMiB);
  {
    BigVector<uint64_t> v;
    for (uint64_t i = 0; i < (4 * kMiB) / 8; i++) v.push_back(i);
    EXPECT_TRUE(scope.arena().owns(v.data()));
    EXPECT_EQ(v.back(), (4 * kMiB) / 8 - 1);
  }
  // The vector grew through blocks of 1, 2 and 4 MiB; the 2 MiB one it grew out of is taken again.
  BigBuffer again(2 * kMiB);
  EXPECT_TRUE(scope.arena().owns(again.get()));
  EXPECT_EQ(scope.arena().missed(), 0u);
  EXPECT_EQ(scope.arena().used(), 7 * kMiB);
}

}  // namespace
}  // namespace tandem::update
