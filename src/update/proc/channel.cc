#include "update/proc/channel.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstddef>
#include <cstring>

namespace tandem::update {

Expected<Channel> Channel::connect_to(pid_t pid) {
  ScopedFd fd(socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!fd.valid())
    return fail(FailureKind::kSystem, std::string("socket: ") + std::strerror(errno));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string name = TL_SOCKET_PREFIX + std::to_string(pid);
  std::memcpy(addr.sun_path + 1, name.data(), name.size());
  socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    if (errno == ECONNREFUSED || errno == ENOENT)
      return fail(FailureKind::kNoRuntime,
                  "process " + std::to_string(pid) +
                      " does not use the tandem-live runtime (no control socket)");
    return fail(FailureKind::kSystem,
                "cannot connect to process " + std::to_string(pid) + ": " + std::strerror(errno));
  }
  return Channel(std::move(fd));
}

bool Channel::send(uint32_t type, int64_t a, int64_t b, const std::string& path, int pass_fd) {
  tl_msg msg{};
  msg.type = type;
  msg.abi = TL_ABI_VERSION;
  msg.a = a;
  msg.b = b;
  std::strncpy(msg.path, path.c_str(), TL_PATH_MAX - 1);
  iovec iov{&msg, offsetof(tl_msg, path) + std::strlen(msg.path) + 1};
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  if (pass_fd >= 0) {
    mh.msg_control = control;
    mh.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
  }
  ssize_t n;
  do {
    n = sendmsg(fd_.get(), &mh, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return n >= 0;
}

Channel::Received Channel::receive(Clock::time_point deadline) {
  Received r{Status::kTimeout, {}};
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() < 0) return r;
    pollfd p{fd_.get(), POLLIN, 0};
    int n = poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 1 << 30)));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return r;
    ssize_t got;
    do {
      got = recv(fd_.get(), &r.msg, sizeof r.msg, 0);
    } while (got < 0 && errno == EINTR);
    if (got <= 0 || static_cast<size_t>(got) < offsetof(tl_msg, path) ||
        r.msg.abi != TL_ABI_VERSION) {
      r.status = Status::kEof;
      return r;
    }
    r.msg.path[TL_PATH_MAX - 1] = 0;
    r.status = Status::kMessage;
    return r;
  }
}

const char* message_name(uint32_t type) {
  static const char* const kNames[] = {
      "?",           "UPDATE",       "QUEUED",       "BUSY",   "REFUSED",   "PARKED",
      "SPAWNED",     "SPAWN_FAILED", "CHILD_EXITED", "COMMIT", "COMMITTED", "ROLLBACK",
      "ROLLED_BACK", "READY",        "MAP",          "MAPPED", "UNMAP",     "UNMAPPED",
      "ALLOC",       "ALLOCATED",    "CALL",         "CALLED", "RESUME",    "RESUMED",
      "FREE",        "FREED"};
  return type < sizeof(kNames) / sizeof(kNames[0]) ? kNames[type] : "?";
}

}  // namespace tandem::update
