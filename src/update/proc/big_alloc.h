// Memory for the transfer's big tables and buffers (one entry per heap object, copies of heaps).
//
// At a million objects the tool touches a few hundred megabytes of fresh memory; with 4 KiB pages
// the page faults alone cost tens of milliseconds, and all of it would fall inside the update's
// pause. Allocations of 1 MiB and more come from a BigArena faulted in before the pause when one
// is installed, else from mmap advised as transparent huge pages (THP is usually in "madvise"
// mode); smaller ones go to operator new. BigAllocator plugs this into std::vector.
// Threading: the arena is used by the update's threads only while ScopedBigArena lives; take()
// and give_back() are called from one thread at a time (the transform's helper thread allocates
// and frees nothing big).
#pragma once

#include <sys/mman.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

namespace tandem::update {

inline constexpr size_t kBigAllocation = size_t{1} << 20;

// Memory faulted in before the update's pause: big allocations are carved from it while it
// lasts. A freed block is reused by later allocations (first fit: a validated update's way back
// reuses what the forward run has released, and vectors reuse what they grew out of); the arena
// is unmapped as a whole. One arena at a time, installed by ScopedBigArena on the thread that
// runs the update.
class BigArena {
 public:
  explicit BigArena(size_t bytes) : size_((bytes + kHuge - 1) & ~(kHuge - 1)) {
    if (size_ == 0) return;
    void* p = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      size_ = 0;
      return;
    }
    base_ = static_cast<uint8_t*>(p);
    madvise(base_, size_, MADV_HUGEPAGE);
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
    madvise(base_, size_, MADV_POPULATE_WRITE);  // Linux >= 5.14; otherwise faults come later
  }
  ~BigArena() {
    if (base_) munmap(base_, size_);
  }
  BigArena(const BigArena&) = delete;
  BigArena& operator=(const BigArena&) = delete;

  void* take(size_t bytes) {
    bytes = (bytes + 63) & ~size_t{63};
    if (base_ == nullptr) return nullptr;
    for (size_t i = 0; i < free_.size(); i++) {
      auto& [at, len] = free_[i];
      if (len < bytes) continue;
      void* p = at;
      at += bytes;
      len -= bytes;
      if (len == 0) free_.erase(free_.begin() + static_cast<std::ptrdiff_t>(i));
      return p;
    }
    if (used_ + bytes > size_) return nullptr;
    void* p = base_ + used_;
    used_ += bytes;
    peak_ = std::max(peak_, used_);
    return p;
  }
  void give_back(void* p, size_t bytes) {
    bytes = (bytes + 63) & ~size_t{63};
    uint8_t* at = static_cast<uint8_t*>(p);
    if (at + bytes == base_ + used_) {
      used_ -= bytes;
      return;
    }
    free_.push_back({at, bytes});
  }
  // The high-water mark.
  size_t used() const { return peak_; }
  size_t size() const { return size_; }
  // Bytes of big allocations that did not fit (faulted in during the update instead).
  size_t missed() const { return missed_; }
  void note_miss(size_t bytes) { missed_ += bytes; }
  bool owns(const void* p) const {
    return base_ && p >= base_ && static_cast<const uint8_t*>(p) < base_ + size_;
  }
  static BigArena*& current() {
    static BigArena* arena = nullptr;
    return arena;
  }

 private:
  static constexpr size_t kHuge = size_t{2} << 20;
  uint8_t* base_ = nullptr;
  size_t size_ = 0;
  size_t used_ = 0;
  size_t peak_ = 0;
  size_t missed_ = 0;
  std::vector<std::pair<uint8_t*, size_t>> free_;  // freed blocks below used_ (few: big ones)
};

class ScopedBigArena {
 public:
  explicit ScopedBigArena(size_t bytes) : arena_(bytes) { BigArena::current() = &arena_; }
  ~ScopedBigArena() { BigArena::current() = nullptr; }
  const BigArena& arena() const { return arena_; }

 private:
  BigArena arena_;
};

inline void* big_alloc(size_t bytes) {
  if (bytes < kBigAllocation) return ::operator new(bytes);
  if (BigArena* arena = BigArena::current()) {
    if (void* p = arena->take(bytes)) return p;
    if (arena->size()) arena->note_miss(bytes);
  }
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  madvise(p, bytes, MADV_HUGEPAGE);
  return p;
}

inline void big_free(void* p, size_t bytes) {
  if (p == nullptr) return;
  if (bytes < kBigAllocation) {
    ::operator delete(p);
    return;
  }
  BigArena* arena = BigArena::current();
  if (arena && arena->owns(p)) {
    arena->give_back(p, bytes);
    return;
  }
  munmap(p, bytes);
}

template <typename T>
struct BigAllocator {
  using value_type = T;
  BigAllocator() = default;
  template <typename U>
  BigAllocator(const BigAllocator<U>&) {}  // NOLINT: rebinding
  T* allocate(size_t n) { return static_cast<T*>(big_alloc(n * sizeof(T))); }
  void deallocate(T* p, size_t n) { big_free(p, n * sizeof(T)); }
  // resize() default-initialises: plain data is left as it is (a heap registry, a batch of
  // requests: written whole right after, and zero-filling them first was a pass of its own over
  // tens of megabytes); types with member initialisers still get them.
  template <typename U>
  void construct(U* p) noexcept(std::is_nothrow_default_constructible_v<U>) {
    ::new (static_cast<void*>(p)) U;
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
  bool operator==(const BigAllocator&) const { return true; }
};

template <typename T>
using BigVector = std::vector<T, BigAllocator<T>>;

// A byte buffer that is not zero-filled (the kernel or the caller writes all of it).
class BigBuffer {
 public:
  BigBuffer() = default;
  explicit BigBuffer(size_t bytes) : data_(static_cast<uint8_t*>(big_alloc(bytes))), size_(bytes) {}
  BigBuffer(BigBuffer&& o) noexcept : data_(o.data_), size_(o.size_) {
    o.data_ = nullptr, o.size_ = 0;
  }
  BigBuffer& operator=(BigBuffer&& o) noexcept {
    if (this != &o) {
      big_free(data_, size_);
      data_ = o.data_;
      size_ = o.size_;
      o.data_ = nullptr;
      o.size_ = 0;
    }
    return *this;
  }
  BigBuffer(const BigBuffer&) = delete;
  BigBuffer& operator=(const BigBuffer&) = delete;
  ~BigBuffer() { big_free(data_, size_); }
  uint8_t* get() const { return data_; }
  size_t size() const { return size_; }

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace tandem::update
