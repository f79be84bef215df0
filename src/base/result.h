// Expected failures as values.
//
// Result<T> holds either a T or an Errno. ESRCH from a vanished tracee, EFAULT from a bad pointer
// in a version, a version that died: these are normal outcomes in a monitor and are returned, not
// thrown. Both types are [[nodiscard]] so that a dropped error is a compile warning.
#pragma once

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <variant>

#include "base/log.h"

namespace tandem {

struct [[nodiscard]] Errno {
  int value = 0;
  std::string describe() const { return std::strerror(value); }
  bool operator==(const Errno&) const = default;
};

inline Errno last_errno() { return Errno{errno}; }

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Errno e) : v_(e) {}                 // NOLINT
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & {
    TANDEM_CHECK(ok()) << "Result holds errno " << std::get<1>(v_).value;
    return std::get<0>(v_);
  }
  const T& value() const& {
    TANDEM_CHECK(ok()) << "Result holds errno " << std::get<1>(v_).value;
    return std::get<0>(v_);
  }
  T&& value() && {
    TANDEM_CHECK(ok()) << "Result holds errno " << std::get<1>(v_).value;
    return std::get<0>(std::move(v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  Errno error() const {
    TANDEM_CHECK(!ok()) << "Result holds a value";
    return std::get<1>(v_);
  }
  T value_or(T other) const { return ok() ? std::get<0>(v_) : other; }

 private:
  std::variant<T, Errno> v_;
};

// Result<void>: success or an errno.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Errno e) : err_(e.value) {}  // NOLINT
  bool ok() const { return err_ == 0; }
  explicit operator bool() const { return ok(); }
  Errno error() const { return Errno{err_}; }

 private:
  int err_ = 0;
};

inline Result<void> ok_result() { return {}; }

}  // namespace tandem
