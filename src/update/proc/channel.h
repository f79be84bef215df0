// Channel: the tool's end of a control connection to a tandem-live runtime (runtime/live_abi.h).
//
// One SOCK_SEQPACKET connection, one struct tl_msg per packet, optionally with one descriptor.
// Receives wait until a deadline. Thread-compatible: one thread talks on a channel at a time.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>

#include "base/scoped_fd.h"
#include "runtime/live_abi.h"
#include "update/failure.h"

namespace tandem::update {

using Clock = std::chrono::steady_clock;

class Channel {
 public:
  Channel() = default;
  explicit Channel(ScopedFd fd) : fd_(std::move(fd)) {}
  // Connects to the control socket of pid. kNoRuntime if nothing listens there.
  static Expected<Channel> connect_to(pid_t pid);

  bool valid() const { return fd_.valid(); }
  int fd() const { return fd_.get(); }
  void close() { fd_.reset(); }

  // Returns false if the peer is gone.
  bool send(uint32_t type, int64_t a = 0, int64_t b = 0, const std::string& path = "",
            int pass_fd = -1);

  enum class Status { kMessage, kEof, kTimeout };
  struct Received {
    Status status;
    tl_msg msg;
  };
  Received receive(Clock::time_point deadline);

 private:
  ScopedFd fd_;
};

// Name of a message type, for errors and events.
const char* message_name(uint32_t type);

}  // namespace tandem::update
