#include "monitor/events.h"

#include <unistd.h>

#include "base/tsc.h"

namespace tandem {

EventLog::~EventLog() {
  if (file_ != nullptr) fclose(file_);
}

bool EventLog::open(const std::string& path) {
  if (path.empty()) return true;
  file_ = fopen(path.c_str(), "we");
  return file_ != nullptr;
}

void EventLog::emit(const std::string& kind, nlohmann::json fields, const std::string& summary) {
  double t = static_cast<double>(monotonic_ns() - start_ns_) / 1e9;
  fields["event"] = kind;
  fields["time"] = t;
  std::string line = fields.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  std::lock_guard lock(mu_);
  if (file_ != nullptr) {
    fwrite(line.data(), 1, line.size(), file_);
    fflush(file_);
  }
  std::string text = summary;
  constexpr int kMaxDivergenceSummaries = 10;
  if (kind == "divergence" && !text.empty() && ++divergence_summaries_ > kMaxDivergenceSummaries) {
    text = divergence_summaries_ == kMaxDivergenceSummaries + 1
               ? "further divergences are reported only in the events file (--events)"
               : "";
  }
  if (!quiet_ && !text.empty()) {
    std::string s = "tandem: " + text + "\n";
    [[maybe_unused]] ssize_t n = write(STDERR_FILENO, s.data(), s.size());
  }
}

}  // namespace tandem
