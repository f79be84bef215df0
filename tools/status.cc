// `tandem status PID [--promote]`: the health report of a running `tandem run` (its versions,
// which one leads, divergences, crashes, restarts, a canary's probation), asked over the run's
// control socket (src/monitor/control.h). PID is tandem's own pid or that of any process of the
// program it runs (found through the process's tracer).
#include <signal.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "monitor/control.h"
#include "tools/subcommand.h"

namespace tandem {
namespace {

// Exit codes of `tandem status` (README, "tandem status").
constexpr int kNoSuchProcess = 2;
constexpr int kNotTandem = 3;
constexpr int kDenied = 4;
constexpr int kRefused = 5;   // --promote: no canary on probation, or the newest is not running
constexpr int kNoReply = 6;

struct StatusArgs {
  int pid = 0;
  bool promote = false;
  bool threads = false;
};

// A "Key:" number of /proc/PID/status (0 if absent or unreadable).
pid_t status_field(pid_t pid, const std::string& field) {
  std::ifstream in(fmt::format("/proc/{}/status", pid));
  std::string key;
  while (in >> key) {
    if (key == field) {
      pid_t t = 0;
      in >> t;
      return t;
    }
    std::string rest;
    std::getline(in, rest);
  }
  return 0;
}

int status_command(const StatusArgs& a) {
  if (a.pid <= 0) return user_error(kNoSuchProcess, fmt::format("no process {}", a.pid));
  if (kill(a.pid, 0) < 0 && errno == ESRCH)
    return user_error(kNoSuchProcess, fmt::format("no process {}", a.pid));
  std::string request = a.promote ? "promote" : a.threads ? "threads" : "status";
  auto reply = control_request(a.pid, request);
  if (!reply && (reply.error().value == ECONNREFUSED || reply.error().value == ENOENT)) {
    // Traced by one of tandem's threads (one per version): tandem is that thread's process.
    pid_t tracer = status_field(a.pid, "TracerPid:");
    pid_t tandem_pid = tracer > 0 ? status_field(tracer, "Tgid:") : 0;
    if (tandem_pid > 0) reply = control_request(tandem_pid, request);
  }
  if (!reply) {
    int e = reply.error().value;
    if (e == ECONNREFUSED || e == ENOENT)
      return user_error(kNotTandem,
                        fmt::format("process {} is not a tandem run nor run by one", a.pid));
    if (e == EACCES)
      return user_error(kDenied, fmt::format("process {}: permission denied", a.pid));
    return user_error(kNoReply, fmt::format("process {}: no reply: {}", a.pid,
                                            reply.error().describe()));
  }
  if (reply->rfind("error: ", 0) == 0) {
    std::string why = reply->substr(7);
    while (!why.empty() && why.back() == '\n') why.pop_back();
    return user_error(kRefused, why);
  }
  std::fputs(reply->c_str(), stdout);
  std::fflush(stdout);
  return 0;
}

void setup(CLI::App& app, std::function<int()>& action) {
  auto args = std::make_shared<StatusArgs>();
  CLI::App* cmd = app.add_subcommand(
      "status", "Health report of a running `tandem run` (PID: tandem's or the program's)");
  cmd->add_option("PID", args->pid, "tandem's pid, or that of a process it runs")->required();
  cmd->add_flag("--promote", args->promote,
                "End the canary's probation now: the newest version leads");
  cmd->add_flag("--threads", args->threads,
                "Also list every thread group's members: state, call, replay position (for "
                "a run that seems stuck)");
  cmd->callback([args, &action] { action = [args] { return status_command(*args); }; });
}

SubcommandRegistrar reg(setup);

}  // namespace
}  // namespace tandem
