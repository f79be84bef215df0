// Failures of a live update, as values.
//
// Every way `tandem update` can fail without a bug in tandem has a FailureKind; the command maps
// each kind to its own exit code (docs/live-update.md). Expected<T> carries a T or a Failure with
// a one-line message meant for the user. Bugs in tandem are TANDEM_CHECKs, never Failures.
#pragma once

#include <string>
#include <utility>
#include <variant>

#include "base/log.h"

namespace tandem::update {

enum class FailureKind {
  kUsage,            // malformed arguments
  kNoSuchProcess,    // the PID does not exist
  kPermission,       // the process belongs to another user, or the runtime refused us
  kNoRuntime,        // the process does not use the tandem-live runtime
  kBadBinary,        // NEW_BIN missing, not executable, not ELF, or without the runtime
  kNoDebugInfo,      // a binary lacks DWARF, or was built with LTO
  kOtherProgram,     // NEW_BIN is not a version of the running program
  kNotQuiescent,     // the process did not reach an update point in time (nothing changed)
  kBusy,             // another update of this process is in progress
  kNewCrashed,       // the new version died before the transfer completed (rolled back)
  kNewHung,          // the new version did not get ready in time (rolled back)
  kTransferRefused,  // an invariant violation or unsupported change (rolled back)
  kCallbackFailed,   // a user callback failed or crashed (rolled back)
  kSystem,           // the system refused something tandem needed
  kStateDiffers,     // validation: the state transferred back differs from the original
};

struct Failure {
  FailureKind kind;
  std::string message;
};

template <typename T>
class [[nodiscard]] Expected {
 public:
  Expected(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Expected(Failure f) : v_(std::move(f)) {}    // NOLINT
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & {
    TANDEM_CHECK(ok()) << "Expected holds a failure: " << std::get<1>(v_).message;
    return std::get<0>(v_);
  }
  T&& value() && {
    TANDEM_CHECK(ok()) << "Expected holds a failure: " << std::get<1>(v_).message;
    return std::get<0>(std::move(v_));
  }
  T* operator->() { return &value(); }
  T& operator*() & { return value(); }
  const Failure& failure() const {
    TANDEM_CHECK(!ok()) << "Expected holds a value";
    return std::get<1>(v_);
  }

 private:
  std::variant<T, Failure> v_;
};

template <>
class [[nodiscard]] Expected<void> {
 public:
  Expected() = default;
  Expected(Failure f) : failure_(std::move(f)), ok_(false) {}  // NOLINT
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Failure& failure() const {
    TANDEM_CHECK(!ok_) << "Expected<void> holds success";
    return failure_;
  }

 private:
  Failure failure_{FailureKind::kSystem, ""};
  bool ok_ = true;
};

inline Failure fail(FailureKind kind, std::string message) {
  return Failure{kind, std::move(message)};
}

// Exit codes of `tandem update`, one per failure class (docs/live-update.md lists them).
inline int exit_code(FailureKind kind) {
  switch (kind) {
    case FailureKind::kUsage:
      return 2;
    case FailureKind::kNoSuchProcess:
      return 3;
    case FailureKind::kPermission:
      return 4;
    case FailureKind::kNoRuntime:
      return 5;
    case FailureKind::kBadBinary:
      return 6;
    case FailureKind::kNoDebugInfo:
      return 7;
    case FailureKind::kOtherProgram:
      return 8;
    case FailureKind::kNotQuiescent:
      return 9;
    case FailureKind::kBusy:
      return 10;
    case FailureKind::kNewCrashed:
      return 11;
    case FailureKind::kNewHung:
      return 12;
    case FailureKind::kTransferRefused:
      return 13;
    case FailureKind::kCallbackFailed:
      return 14;
    case FailureKind::kSystem:
      return 15;
    case FailureKind::kStateDiffers:
      return 16;
  }
  return 15;
}

// True for failures after the running process parked: the update was rolled back.
inline bool is_rollback(FailureKind kind) {
  return kind == FailureKind::kNewCrashed || kind == FailureKind::kNewHung ||
         kind == FailureKind::kTransferRefused || kind == FailureKind::kCallbackFailed ||
         kind == FailureKind::kStateDiffers;
}

}  // namespace tandem::update
