#include "update/proc/remote_io.h"

#include <limits.h>
#include <sys/uio.h>

#include <algorithm>
#include <atomic>
#include <thread>

namespace tandem::update {

namespace {

constexpr size_t kMaxIov = IOV_MAX;
// Transfers of at least this many bytes are shared by two threads: the copy is the kernel's
// (page pinning, memcpy, copy-on-write faults in the destination), and with the target parked
// the second CPU is otherwise idle. Both threads take the target's mmap lock for reading only.
constexpr uint64_t kSplitBytes = uint64_t{8} << 20;
constexpr uint64_t kJobBytes = uint64_t{4} << 20;

struct Piece {
  uint8_t* local;
  uint64_t addr, len;
};

// One vectored call per IOV_MAX pieces; both sides get the same iovec boundaries, so a short
// transfer can only end at a piece boundary or inside an unmapped range (EFAULT either way).
template <typename Fn>
Result<void> transfer_pieces(std::span<const Piece> pieces, Fn& call) {
  std::vector<iovec> lv, rv;
  lv.reserve(std::min(kMaxIov, pieces.size()));
  rv.reserve(std::min(kMaxIov, pieces.size()));
  for (size_t i = 0; i < pieces.size();) {
    lv.clear();
    rv.clear();
    size_t expected = 0;
    for (; i < pieces.size() && lv.size() < kMaxIov; i++) {
      lv.push_back({pieces[i].local, pieces[i].len});
      rv.push_back({reinterpret_cast<void*>(pieces[i].addr), pieces[i].len});
      expected += pieces[i].len;
    }
    ssize_t n = call(lv.data(), rv.data(), lv.size());
    if (n < 0) return last_errno();
    if (static_cast<size_t>(n) != expected) return Errno{EFAULT};
  }
  return {};
}

template <typename Fn>
Result<void> transfer(std::span<const RemoteRange> ranges, uint8_t* const* local, Fn&& call) {
  std::vector<Piece> pieces;
  pieces.reserve(ranges.size());
  uint64_t total = 0;
  for (size_t i = 0; i < ranges.size(); i++) {
    if (ranges[i].len == 0) continue;
    pieces.push_back({local[i], ranges[i].addr, ranges[i].len});
    total += ranges[i].len;
  }
  if (total < kSplitBytes) return transfer_pieces(std::span<const Piece>(pieces), call);
  // Jobs of kJobBytes (a piece that crosses a job's end is cut in two), taken in order from a
  // counter by this thread and a helper: if the helper gets no CPU (a loaded machine), this
  // thread does them all instead of waiting for a fixed half.
  std::vector<Piece> cut;
  std::vector<size_t> job_start = {0};
  cut.reserve(pieces.size() + total / kJobBytes + 1);
  uint64_t in_job = 0;
  for (Piece p : pieces) {
    while (p.len > 0) {
      uint64_t take = std::min(p.len, kJobBytes - in_job);
      cut.push_back({p.local, p.addr, take});
      p.local += take;
      p.addr += take;
      p.len -= take;
      in_job += take;
      if (in_job == kJobBytes) {
        job_start.push_back(cut.size());
        in_job = 0;
      }
    }
  }
  if (job_start.back() != cut.size()) job_start.push_back(cut.size());
  size_t jobs = job_start.size() - 1;
  std::vector<Result<void>> results(jobs);
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t j; (j = next.fetch_add(1)) < jobs;)
      results[j] = transfer_pieces(
          std::span<const Piece>(cut.data() + job_start[j], job_start[j + 1] - job_start[j]), call);
  };
  std::thread helper(work);
  work();
  helper.join();
  for (const Result<void>& r : results)
    if (!r) return r;
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
