// Logging and checks.
//
// Checks stay on in release builds: a failed TANDEM_CHECK is a bug in tandem and aborts loudly
// with the context streamed into it (which version, which syscall). User errors never go through
// TANDEM_CHECK: they end in one clear line (see tools/) and a distinct exit code.
//
// Threading: every function here may be called from any thread; each message is written with a
// single write(2) so that lines from different tracer threads do not interleave.
#pragma once

#include <fmt/core.h>

#include <sstream>
#include <string>

namespace tandem {

enum class LogLevel { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3 };

// The level comes from $TANDEM_LOG (error|warn|info|debug), read once; default warn.
LogLevel log_level();
void log_write(LogLevel level, const std::string& message);

// Streams a fatal message and aborts in its destructor.
class FatalStream {
 public:
  FatalStream(const char* file, int line, const char* condition);
  [[noreturn]] ~FatalStream();
  template <typename T>
  FatalStream& operator<<(const T& value) {
    stream_ << value;
    return *this;
  }

 private:
  std::ostringstream stream_;
};

}  // namespace tandem

#define TANDEM_LOG(level, ...)                                              \
  do {                                                                      \
    if (::tandem::log_level() >= ::tandem::LogLevel::level)                 \
      ::tandem::log_write(::tandem::LogLevel::level, fmt::format(__VA_ARGS__)); \
  } while (0)

// Usage: TANDEM_CHECK(x > 0) << "version " << v;
#define TANDEM_CHECK(cond) \
  if (__builtin_expect(!!(cond), 1)) {} else ::tandem::FatalStream(__FILE__, __LINE__, #cond)
#define TANDEM_FATAL() ::tandem::FatalStream(__FILE__, __LINE__, "fatal")
