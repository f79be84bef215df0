// The event log: JSON lines for --events FILE, and one-line summaries on stderr (unless -q).
//
// Event kinds: start, exit, crash, divergence, absorbed, promotion, drop, refusal, signal.
// Thread-safe: tracer threads report concurrently; each event is written whole.
#pragma once

#include <nlohmann/json.hpp>

#include "base/tsc.h"

#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>

namespace tandem {

class EventLog {
 public:
  EventLog() = default;
  ~EventLog();
  // Opens FILE for JSON lines ("" for none). Returns false with errno set on failure.
  bool open(const std::string& path);
  void set_quiet(bool quiet) { quiet_ = quiet; }

  // Records an event of `kind`; `summary` (may be empty) goes to stderr unless quiet.
  void emit(const std::string& kind, nlohmann::json fields, const std::string& summary = "");

 private:
  std::mutex mu_;
  FILE* file_ = nullptr;
  bool quiet_ = false;
  int divergence_summaries_ = 0;  // more than a few go to the events file only
  uint64_t start_ns_ = monotonic_ns();  // not std::chrono: see base/tsc.h
};

}  // namespace tandem
