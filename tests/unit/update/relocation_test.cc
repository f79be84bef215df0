// The pointer relocator's lookups: heap object by any address (base, interior, one past the
// end, freed, outside), and the batched remote I/O that moves objects.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "update/proc/remote_io.h"
#include "update/transfer/heap_index.h"

namespace tandem::update {
namespace {

// A heap region at a made-up address with objects laid out as the runtime lays them out: a
// 16-byte header (slot index | log2(pad) << 56, check word) right before each user pointer.
struct FakeHeap {
  static constexpr uint64_t kStart = 0x7f0000100000;
  std::vector<uint8_t> bytes = std::vector<uint8_t>(1 << 22, 0xab);
  std::vector<tl_slot> slots;
  uint64_t add(uint64_t offset, uint64_t size) {
    uint64_t addr = kStart + offset;
    uint64_t word0 = slots.size() | (uint64_t{4} << 56);
    std::memcpy(&bytes[offset - 16], &word0, 8);
    slots.push_back({addr, size, 0x401000 + slots.size()});
    return addr;
  }
  void free_slot(size_t i) { slots[i] = {0, 0, 0}; }
  std::unique_ptr<HeapIndex> index() { return HeapIndex::from_snapshot(slots, kStart, bytes); }
};

TEST(HeapIndex, FindsObjectsByAnyAddress) {
  FakeHeap h;
  uint64_t a = h.add(32, 40);
  uint64_t b = h.add(96, 24);
  uint64_t c = h.add(160, 8);
  uint64_t big = h.add(4096, 3 << 20);  // deeper than the back-scan limit
  h.free_slot(2);                       // c was freed
  auto idx = h.index();
  ASSERT_EQ(idx->size(), 3u);
  auto f = idx->find(a);
  EXPECT_EQ(f.where, HeapIndex::Where::kObject);
  EXPECT_EQ((*idx)[f.object].addr, a);
  EXPECT_EQ(f.offset, 0u);
  f = idx->find(b + 17);  // interior
  EXPECT_EQ(f.where, HeapIndex::Where::kObject);
  EXPECT_EQ((*idx)[f.object].addr, b);
  EXPECT_EQ(f.offset, 17u);
  f = idx->find(a + 40);  // one past the end (a vector's end pointer)
  EXPECT_EQ(f.where, HeapIndex::Where::kObject);
  EXPECT_EQ((*idx)[f.object].addr, a);
  EXPECT_EQ(f.offset, 40u);
  EXPECT_EQ(idx->find(a + 48).where, HeapIndex::Where::kDangling);  // between objects
  EXPECT_EQ(idx->find(c).where, HeapIndex::Where::kDangling);       // freed
  EXPECT_EQ(idx->find(FakeHeap::kStart - 8).where, HeapIndex::Where::kNotHeap);
  EXPECT_EQ(idx->find(0x1234).where, HeapIndex::Where::kNotHeap);
  f = idx->find(big + (2 << 20) + 5);  // 2 MiB inside: found through the sorted index
  EXPECT_EQ(f.where, HeapIndex::Where::kObject);
  EXPECT_EQ((*idx)[f.object].addr, big);
  EXPECT_EQ(f.offset, (2u << 20) + 5);
  // A header whose slot names another pointer is not an object start.
  uint64_t forged = FakeHeap::kStart + 512;
  uint64_t word0 = 1;  // slot of b
  std::memcpy(&h.bytes[512 - 16], &word0, 8);
  EXPECT_EQ(h.index()->find(forged).where, HeapIndex::Where::kDangling);
  // The local copy serves the object's bytes.
  EXPECT_EQ(idx->bytes(0), idx->local(a));
  EXPECT_EQ(idx->bytes(0)[0], 0xab);
}

TEST(RemoteIo, BatchesReadsAndCoalescesWrites) {
  std::vector<uint8_t> source(100000);
  for (size_t i = 0; i < source.size(); i++) source[i] = static_cast<uint8_t>(i * 7);
  std::vector<RemoteRange> ranges;
  for (size_t i = 0; i < 2000; i++)  // more ranges than one process_vm_readv takes
    ranges.push_back({reinterpret_cast<uint64_t>(source.data()) + i * 50, 10});
  std::vector<uint8_t> out(ranges.size() * 10);
  ASSERT_TRUE(read_many(getpid(), ranges, out.data()).ok());
  for (size_t i = 0; i < ranges.size(); i++)
    ASSERT_EQ(std::memcmp(&out[i * 10], &source[i * 50], 10), 0) << i;

  std::vector<uint8_t> target(4096, 0);
  std::vector<uint8_t> data(64);
  for (size_t i = 0; i < data.size(); i++) data[i] = static_cast<uint8_t>(200 + i);
  WriteBatch batch(getpid());
  uint64_t base = reinterpret_cast<uint64_t>(target.data());
  batch.add(base + 100, data.data(), 32);
  batch.add(base + 132, data.data() + 32, 32);  // continues both sides: one iovec
  batch.add(base + 1000, data.data(), 4);
  EXPECT_EQ(batch.bytes(), 68u);
  ASSERT_TRUE(batch.flush().ok());
  EXPECT_EQ(std::memcmp(&target[100], data.data(), 64), 0);
  EXPECT_EQ(std::memcmp(&target[1000], data.data(), 4), 0);
  EXPECT_EQ(target[99], 0);
  EXPECT_EQ(target[164], 0);

  std::vector<RemoteRange> bad = {{0x10, 8}};
  std::vector<uint8_t> sink(8);
  EXPECT_FALSE(read_many(getpid(), bad, sink.data()).ok());
}

TEST(RemoteIo, BigTransfersAreSplitBetweenTwoThreadsExactly) {
  // 21 MB in ranges of uneven sizes, cut into jobs of 4 MB shared by two threads (most ranges
  // cross a job's end): every byte lands where it belongs, read and written.
  std::vector<uint8_t> source(24u << 20);
  for (size_t i = 0; i < source.size(); i++) source[i] = static_cast<uint8_t>(i * 31 + (i >> 12));
  uint64_t base = reinterpret_cast<uint64_t>(source.data());
  std::vector<RemoteRange> ranges = {{base, 5u << 20},
                                     {base + (6u << 20), 9u << 20},  // spans three jobs
                                     {base + (16u << 20) + 3, 1000},
                                     {base + (17u << 20), 7u << 20}};
  uint64_t total = 0;
  for (const auto& r : ranges) total += r.len;
  std::vector<uint8_t> out(total);
  ASSERT_TRUE(read_many(getpid(), ranges, out.data()).ok());
  uint64_t at = 0;
  for (const auto& r : ranges) {
    ASSERT_EQ(std::memcmp(&out[at], reinterpret_cast<const uint8_t*>(r.addr), r.len), 0);
    at += r.len;
  }
  std::vector<uint8_t> target(source.size(), 0);
  uint64_t tbase = reinterpret_cast<uint64_t>(target.data());
  WriteBatch batch(getpid());
  at = 0;
  for (const auto& r : ranges) {
    batch.add(tbase + (r.addr - base), out.data() + at, r.len);
    at += r.len;
  }
  ASSERT_TRUE(batch.flush().ok());
  for (const auto& r : ranges)
    ASSERT_EQ(std::memcmp(&target[r.addr - base], &source[r.addr - base], r.len), 0);
  EXPECT_EQ(target[(5u << 20)], 0);  // between ranges: untouched
  EXPECT_EQ(target[(16u << 20) + 2], 0);
  // A bad range in the last job fails the whole transfer.
  ranges.push_back({0x10, 8});
  out.resize(total + 8);
  EXPECT_FALSE(read_many(getpid(), ranges, out.data()).ok());
}

}  // namespace
}  // namespace tandem::update
