#include "update/proc/remote_io.h"

#include <limits.h>
#include <sys/uio.h>

namespace tandem::update {

namespace {

constexpr size_t kMaxIov = IOV_MAX;

// One vectored call over ranges [i, j); both sides get the same iovec boundaries, so a short
// transfer can only end at a range boundary or inside an unmapped range (EFAULT either way).
template <typename Fn>
Result<void> transfer(std::span<const RemoteRange> ranges, uint8_t* const* local, Fn&& call) {
  std::vector<iovec> lv, rv;
  lv.reserve(kMaxIov);
  rv.reserve(kMaxIov);
  for (size_t i = 0; i < ranges.size();) {
    lv.clear();
    rv.clear();
    size_t expected = 0;
    for (; i < ranges.size() && lv.size() < kMaxIov; i++) {
      if (ranges[i].len == 0) continue;
      lv.push_back({local[i], ranges[i].len});
      rv.push_back({reinterpret_cast<void*>(ranges[i].addr), ranges[i].len});
      expected += ranges[i].len;
    }
    if (lv.empty()) continue;
    ssize_t n = call(lv.data(), rv.data(), lv.size());
    if (n < 0) return last_errno();
    if (static_cast<size_t>(n) != expected) return Errno{EFAULT};
  }
  return {};
}

}  // namespace

Result<void> read_many(pid_t pid, std::span<const RemoteRange> ranges, uint8_t* out) {
  std::vector<uint8_t*> local(ranges.size());
  uint64_t at = 0;
  for (size_t i = 0; i < ranges.size(); i++) {
    local[i] = out + at;
    at += ranges[i].len;
  }
  return transfer(ranges, local.data(), [&](iovec* l, iovec* r, size_t n) {
    return process_vm_readv(pid, l, n, r, n, 0);
  });
}

void WriteBatch::add(uint64_t addr, const uint8_t* data, uint64_t len) {
  if (len == 0) return;
  // Adjacent writes from adjacent buffers become one iovec.
  if (!ranges_.empty() && ranges_.back().addr + ranges_.back().len == addr &&
      data_.back() + ranges_.back().len == data) {
    ranges_.back().len += len;
  } else {
    ranges_.push_back({addr, len});
    data_.push_back(data);
  }
  bytes_ += len;
}

Result<void> WriteBatch::flush() {
  std::vector<uint8_t*> local(data_.size());
  for (size_t i = 0; i < data_.size(); i++) local[i] = const_cast<uint8_t*>(data_[i]);
  auto r = transfer(ranges_, local.data(), [&](iovec* l, iovec* rv, size_t n) {
    return process_vm_writev(pid_, l, n, rv, n, 0);
  });
  ranges_.clear();
  data_.clear();
  return r;
}

}  // namespace tandem::update
