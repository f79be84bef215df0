// Memory for the transfer's big tables and buffers (one entry per heap object, copies of heaps).
//
// At a million objects the tool touches a few hundred megabytes of fresh memory; with 4 KiB pages
// the page faults alone cost tens of milliseconds. Allocations of 1 MiB and more are mmap'ed and
// advised as transparent huge pages (THP is usually in "madvise" mode); smaller ones go to
// operator new. BigAllocator plugs this into std::vector. Thread-safe (no state).
#pragma once

#include <sys/mman.h>

#include <cstdlib>

#include <cstddef>
#include <memory>
#include <new>

namespace tandem::update {

inline constexpr size_t kBigAllocation = size_t{1} << 20;

inline void* big_alloc(size_t bytes) {
  if (bytes < kBigAllocation) return ::operator new(bytes);
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  if (!getenv("TANDEM_NO_THP")) madvise(p, bytes, MADV_HUGEPAGE);
  return p;
}

inline void big_free(void* p, size_t bytes) {
  if (p == nullptr) return;
  if (bytes < kBigAllocation) ::operator delete(p);
  else munmap(p, bytes);
}

template <typename T>
struct BigAllocator {
  using value_type = T;
  BigAllocator() = default;
  template <typename U>
  BigAllocator(const BigAllocator<U>&) {}  // NOLINT: rebinding
  T* allocate(size_t n) { return static_cast<T*>(big_alloc(n * sizeof(T))); }
  void deallocate(T* p, size_t n) { big_free(p, n * sizeof(T)); }
  bool operator==(const BigAllocator&) const { return true; }
};

template <typename T>
using BigVector = std::vector<T, BigAllocator<T>>;

// A byte buffer that is not zero-filled (the kernel or the caller writes all of it).
class BigBuffer {
 public:
  BigBuffer() = default;
  explicit BigBuffer(size_t bytes) : data_(static_cast<uint8_t*>(big_alloc(bytes))), size_(bytes) {}
  BigBuffer(BigBuffer&& o) noexcept : data_(o.data_), size_(o.size_) { o.data_ = nullptr, o.size_ = 0; }
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
