#include "base/log.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace tandem {

LogLevel log_level() {
  static const LogLevel level = [] {
    const char* env = std::getenv("TANDEM_LOG");
    if (env == nullptr) return LogLevel::kWarn;
    if (std::strcmp(env, "debug") == 0) return LogLevel::kDebug;
    if (std::strcmp(env, "info") == 0) return LogLevel::kInfo;
    if (std::strcmp(env, "error") == 0) return LogLevel::kError;
    return LogLevel::kWarn;
  }();
  return level;
}

void log_write(LogLevel level, const std::string& message) {
  static const char* const kNames[] = {"error", "warn", "info", "debug"};
  std::string line = fmt::format("tandem[{}] {}: {}\n", getpid(), kNames[static_cast<int>(level)],
                                 message);
  // One write so that concurrent lines stay whole; a failed log write has nowhere to go.
  [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
}

FatalStream::FatalStream(const char* file, int line, const char* condition) {
  stream_ << "tandem: internal error at " << file << ":" << line << ": " << condition << ": ";
}

FatalStream::~FatalStream() {
  stream_ << "\n";
  std::string text = stream_.str();
  [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, text.data(), text.size());
  std::abort();
}

}  // namespace tandem
