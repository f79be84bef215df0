// HeapIndex: the live heap objects of a parked source process and a local copy of their bytes.
//
// Built from the runtime's registry (runtime/alloc.c): one read of the slot table, then one read
// of every writable anonymous mapping that holds a live object. find() maps any address to
// (object, offset) without sorting: a base pointer is checked through the 16-byte header in front
// of it (the slot it names must hold exactly that pointer); an interior pointer scans
// back 16 bytes at a time to the nearest valid header (a sorted index is built only for pointers
// deep inside large objects). One past the end of an object still belongs to it: headers keep
// objects at least 24 bytes apart, so it cannot be the next object's start.
// Immutable after load(); safe to read from several threads.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "update/failure.h"
#include "update/proc/big_alloc.h"
#include "update/proc/process.h"

namespace tandem::update {

// Allocations the transfer made in a new version carry this bit in their registry site (the
// runtime stores the site it is given): the validation tells them from objects a callback freed
// and whose address malloc then handed out again. Sites are user-space addresses (< 2^47).
inline constexpr uint64_t kSiteTransferred = uint64_t{1} << 63;

struct HeapObject {
  uint64_t addr = 0;
  uint64_t size = 0;
  uint64_t site = 0;
  bool transferred = false;  // allocated by a state transfer (kSiteTransferred)
};

class HeapIndex {
 public:
  static Expected<std::unique_ptr<HeapIndex>> load(const ProcessView& process);
  // From a snapshot already in memory: the registry's slots and a copy of the memory
  // [region_start, region_start + bytes.size()) that holds the objects (unit tests, tools).
  static std::unique_ptr<HeapIndex> from_snapshot(std::span<const tl_slot> slots,
                                                  uint64_t region_start,
                                                  std::span<const uint8_t> bytes);

  // Objects are named by their registry slot: ids run up to capacity(), free slots included
  // (their addr is 0); size() counts the live objects.
  size_t size() const { return live_; }
  size_t capacity() const { return slots_.size(); }
  HeapObject operator[](uint32_t i) const {
    return {slots_[i].ptr, slots_[i].size, slots_[i].site & ~kSiteTransferred,
            (slots_[i].site & kSiteTransferred) != 0};
  }
  const uint8_t* bytes(uint32_t i) const { return local(slots_[i].ptr); }
  void prefetch_slot(uint32_t i) const { __builtin_prefetch(&slots_[i]); }
  uint64_t untracked() const { return untracked_; }

  enum class Where { kNotHeap, kObject, kDangling };
  struct Found {
    Where where = Where::kNotHeap;
    uint32_t object = 0;
    uint64_t offset = 0;
  };
  // kNotHeap: not in a mapping holding live objects; kDangling: in one, but in no live object.
  Found find(uint64_t addr) const;
  // Local copy of a remote address inside a heap region (nullptr if not inside one).
  const uint8_t* local(uint64_t addr) const;

 private:
  struct Region {
    uint64_t start, end;
    size_t local;  // offset in data_
  };
  const Region* region_of(uint64_t addr) const;
  std::optional<uint32_t> object_at_base(const Region& r, uint64_t base) const;
  Found find_sorted(uint64_t addr) const;

  BigVector<tl_slot> slots_;  // the registry as read; a free slot has ptr == 0
  size_t live_ = 0;
  std::vector<Region> regions_;
  BigBuffer data_;  // not zero-filled: read_many overwrites all of it
  uint64_t untracked_ = 0;
  mutable BigVector<std::pair<uint64_t, uint32_t>> sorted_;  // built on demand
};

// Inline: these run several times per object (its bytes, its header, the allocator's word).
inline const HeapIndex::Region* HeapIndex::region_of(uint64_t addr) const {
  // A heap is usually one to a few mappings (brk heap, malloc's mmapped arenas): scanning them
  // costs less than a binary search, and this runs for every pointer and object.
  if (regions_.size() <= 4) {
    for (const Region& r : regions_)
      if (addr - r.start < r.end - r.start) return &r;
    return nullptr;
  }
  auto it = std::upper_bound(regions_.begin(), regions_.end(), addr,
                             [](uint64_t a, const Region& r) { return a < r.start; });
  if (it == regions_.begin()) return nullptr;
  --it;
  return addr < it->end ? &*it : nullptr;
}

inline const uint8_t* HeapIndex::local(uint64_t addr) const {
  const Region* r = region_of(addr);
  return r ? data_.get() + r->local + (addr - r->start) : nullptr;
}

}  // namespace tandem::update
