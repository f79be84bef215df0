#include "update/transfer/heap_index.h"

#include <algorithm>
#include <cstring>

#include "update/proc/remote_io.h"

namespace tandem::update {

namespace {
constexpr uint64_t kIndexMask = (1ull << 56) - 1;
constexpr uint64_t kMaxScan = 1 << 20;  // bytes scanned back from an interior pointer
}  // namespace

Expected<std::unique_ptr<HeapIndex>> HeapIndex::load(const ProcessView& process) {
  std::unique_ptr<HeapIndex> h(new HeapIndex());
  const tl_block& b = process.block();
  h->untracked_ = b.untracked;
  if (b.slot_size != sizeof(tl_slot))
    return fail(FailureKind::kNoRuntime, "incompatible heap registry in the running process");
  h->slots_.resize(b.slot_count);
  if (!h->slots_.empty()) {
    auto r = process.memory().read(remote_addr(b.slots),
                                   {reinterpret_cast<uint8_t*>(h->slots_.data()),
                                    h->slots_.size() * sizeof(tl_slot)});
    if (!r)
      return fail(FailureKind::kSystem, "cannot read the heap registry: " + r.error().describe());
  }
  const Mapping* last = nullptr;
  std::vector<const Mapping*> needed;
  for (const tl_slot& slot : h->slots_) {
    if (slot.ptr == 0) continue;
    h->live_++;
    if (last && slot.ptr >= last->start && slot.ptr < last->end) continue;
    last = process.maps().find(slot.ptr);
    if (last == nullptr)
      return fail(FailureKind::kSystem, "the heap registry names unmapped memory");
    if (std::find(needed.begin(), needed.end(), last) == needed.end()) needed.push_back(last);
  }
  std::sort(needed.begin(), needed.end(),
            [](const Mapping* a, const Mapping* b) { return a->start < b->start; });
  std::vector<RemoteRange> ranges;
  size_t total = 0;
  for (const Mapping* m : needed) {
    h->regions_.push_back({m->start, m->end, total});
    ranges.push_back({m->start, m->end - m->start});
    total += m->end - m->start;
  }
  h->data_ = BigBuffer(total);
  if (auto r = read_many(process.pid(), ranges, h->data_.get()); !r)
    return fail(FailureKind::kSystem, "cannot read the heap: " + r.error().describe());
  return h;
}

std::unique_ptr<HeapIndex> HeapIndex::from_snapshot(std::span<const tl_slot> slots,
                                                    uint64_t region_start,
                                                    std::span<const uint8_t> bytes) {
  std::unique_ptr<HeapIndex> h(new HeapIndex());
  h->slots_.assign(slots.begin(), slots.end());
  for (const tl_slot& slot : slots) h->live_ += slot.ptr != 0;
  h->regions_.push_back({region_start, region_start + bytes.size(), 0});
  h->data_ = BigBuffer(bytes.size());
  std::memcpy(h->data_.get(), bytes.data(), bytes.size());
  return h;
}

std::optional<uint32_t> HeapIndex::object_at_base(const Region& r, uint64_t base) const {
  if (base < r.start + 16 || base >= r.end) return std::nullopt;
  uint64_t word0;
  std::memcpy(&word0, data_.get() + r.local + (base - 16 - r.start), 8);
  uint64_t slot = word0 & kIndexMask;
  if (slot >= slots_.size() || slots_[slot].ptr != base) return std::nullopt;
  return static_cast<uint32_t>(slot);
}

HeapIndex::Found HeapIndex::find(uint64_t addr) const {
  const Region* r = region_of(addr);
  if (r == nullptr) {
    // One past the end of an object that fills its mapping up to the last byte.
    if (const Region* prev = region_of(addr - 1))
      r = prev;
    else
      return {};
  }
  uint64_t base = addr & ~uint64_t{15};
  uint64_t floor = addr > kMaxScan ? addr - kMaxScan : 0;
  for (; base >= r->start + 16 && base >= floor; base -= 16) {
    if (auto o = object_at_base(*r, base)) {
      uint64_t off = addr - base;
      if (off <= slots_[*o].size) return {Where::kObject, *o, off};
      return {Where::kDangling, 0, 0};
    }
  }
  if (base >= r->start + 16) return find_sorted(addr);
  return {Where::kDangling, 0, 0};
}

HeapIndex::Found HeapIndex::find_sorted(uint64_t addr) const {
  if (sorted_.empty()) {
    sorted_.reserve(live_);
    for (uint32_t i = 0; i < slots_.size(); i++)
      if (slots_[i].ptr) sorted_.emplace_back(slots_[i].ptr, i);
    std::sort(sorted_.begin(), sorted_.end());
  }
  auto it = std::upper_bound(sorted_.begin(), sorted_.end(), std::make_pair(addr, ~0u));
  if (it == sorted_.begin()) return {Where::kDangling, 0, 0};
  --it;
  const tl_slot& o = slots_[it->second];
  if (addr - o.ptr <= o.size) return {Where::kObject, it->second, addr - o.ptr};
  return {Where::kDangling, 0, 0};
}

}  // namespace tandem::update
