#include "monitor/control.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <thread>

#include <fmt/format.h>

#include "base/scoped_fd.h"
#include "monitor/monitor.h"

namespace tandem {
namespace {

socklen_t abstract_address(pid_t pid, sockaddr_un& addr) {
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  std::string name = control_socket_name(pid);
  // sun_path[0] = '\0': the abstract namespace.
  memcpy(addr.sun_path + 1, name.data(), name.size());
  return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
}

bool write_all(int fd, const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = send(fd, text.data() + done, text.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// Reads one line (up to 256 bytes) within `timeout_ms`.
std::string read_line(int fd, int timeout_ms) {
  std::string line;
  char c;
  while (line.size() < 256) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) break;
    ssize_t n = recv(fd, &c, 1, 0);
    if (n <= 0 || c == '\n') break;
    line += c;
  }
  return line;
}

void serve_one(Monitor& monitor, int fd) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
      (cred.uid != 0 && cred.uid != geteuid())) {
    write_all(fd, "error: permission denied\n");
    return;
  }
  std::string request = read_line(fd, 2000);
  if (request == "status") {
    write_all(fd, monitor.status_report());
  } else if (request == "threads") {
    write_all(fd, monitor.threads_report());
  } else if (request == "promote") {
    std::string why_not;
    if (monitor.promote_canary("promoted by tandem status --promote", why_not))
      write_all(fd, "ok\n");
    else
      write_all(fd, "error: " + why_not + "\n");
  } else {
    write_all(fd, fmt::format("error: unknown request '{}'\n", request));
  }
}

}  // namespace

std::string control_socket_name(pid_t tandem_pid) {
  return fmt::format("tandem-run-{}", tandem_pid);
}

Result<void> start_control_server(Monitor& monitor) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return last_errno();
  sockaddr_un addr;
  socklen_t len = abstract_address(getpid(), addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), len) < 0 || listen(fd, 8) < 0) {
    Errno e = last_errno();
    close(fd);
    return e;
  }
  std::thread([&monitor, fd] {
    for (;;) {
      int c = accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        return;
      }
      serve_one(monitor, c);
      close(c);
    }
  }).detach();
  return ok_result();
}

Result<std::string> control_request(pid_t tandem_pid, const std::string& request,
                                    int timeout_ms) {
  ScopedFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return last_errno();
  sockaddr_un addr;
  socklen_t len = abstract_address(tandem_pid, addr);
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), len) < 0) return last_errno();
  if (!write_all(fd.get(), request + "\n")) return last_errno();
  std::string reply;
  char buf[4096];
  for (;;) {
    pollfd p{fd.get(), POLLIN, 0};
    int r = poll(&p, 1, timeout_ms);
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) return Errno{ETIMEDOUT};
    if (r < 0) return last_errno();
    ssize_t n = recv(fd.get(), buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return last_errno();
    if (n == 0) break;
    reply.append(buf, static_cast<size_t>(n));
  }
  if (reply.rfind("error: permission denied", 0) == 0) return Errno{EACCES};
  return reply;
}

}  // namespace tandem
