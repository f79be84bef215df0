// The control socket of a running `tandem run` (`tandem status PID`).
//
// Each `tandem run` listens on the abstract unix socket "tandem-run-<its pid>". A client sends
// one request line and reads the reply until the server closes the connection:
//   "status\n"   -> Monitor::status_report()
//   "threads\n"  -> Monitor::threads_report(): the status, then every group's members
//   "promote\n"  -> ends a canary's probation now (Monitor::promote_canary); "ok\n" or
//                   "error: <reason>\n"
// Only the user tandem runs as (or root) may ask (SO_PEERCRED). Abstract sockets vanish with
// the process: there is no file to clean up after a crash.
#pragma once

#include <sys/types.h>

#include <string>

#include "base/result.h"

namespace tandem {

class Monitor;

std::string control_socket_name(pid_t tandem_pid);

// Starts the server thread (detached; it lives as long as tandem). Errno when the socket
// cannot be bound (another tandem with this pid in another network namespace, no memory).
Result<void> start_control_server(Monitor& monitor);

// Sends `request` (one line, without the newline) to the `tandem run` with pid `tandem_pid`
// and returns its reply. ECONNREFUSED/ENOENT: no tandem run with that pid; EACCES: refused.
Result<std::string> control_request(pid_t tandem_pid, const std::string& request,
                                    int timeout_ms = 5000);

}  // namespace tandem
