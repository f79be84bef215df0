// remote_ptr<T>: an address in another process.
//
// It cannot be dereferenced locally; all reads and writes go through RemoteMemory (remote_mem.h).
// Arithmetic is in units of T, like a real pointer.
#pragma once

#include <cstdint>
#include <type_traits>

namespace tandem {

template <typename T>
class remote_ptr {
 public:
  constexpr remote_ptr() = default;
  constexpr explicit remote_ptr(uint64_t addr) : addr_(addr) {}
  template <typename U>
  static constexpr remote_ptr cast(remote_ptr<U> other) {
    return remote_ptr(other.addr());
  }

  constexpr uint64_t addr() const { return addr_; }
  constexpr bool is_null() const { return addr_ == 0; }
  constexpr explicit operator bool() const { return addr_ != 0; }
  static constexpr uint64_t element_size() {
    if constexpr (std::is_void_v<T>) {
      return 1;
    } else {
      return sizeof(T);
    }
  }
  constexpr remote_ptr operator+(int64_t n) const { return remote_ptr(addr_ + n * element_size()); }
  constexpr remote_ptr operator-(int64_t n) const { return remote_ptr(addr_ - n * element_size()); }
  constexpr auto operator<=>(const remote_ptr&) const = default;

 private:
  uint64_t addr_ = 0;
};

using remote_addr = remote_ptr<void>;

}  // namespace tandem
