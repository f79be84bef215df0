// `tandem run`: runs several versions of a program as one (multi-version execution).
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "base/tsc.h"
#include "intercept/backend.h"
#include "monitor/control.h"
#include "monitor/monitor.h"
#include "monitor/trap_rules.h"
#include "tools/exit_codes.h"
#include "tools/subcommand.h"

namespace tandem {
namespace {

struct RunArgs {
  std::vector<std::string> binaries;
  int copies = 0;
  int leader = 0;  // 1-based; 0 = by policy
  std::string policy = "prefer-new";
  std::string rules;
  std::string events;
  bool quiet = false;
  int reconverge = 8;
  bool no_pin = false;
  bool aslr = false;
  bool lockstep = false;
  int checkpoint = 1000;
  int max_restarts = 3;
  double hang = 10;
  std::string promote_after;
};

// "--promote-after": a duration with a unit (500ms, 30s, 5m, 2h) or a number of agreed calls
// (10000 or 10000calls). False if malformed.
bool parse_promote_after(const std::string& text, double& seconds, uint64_t& calls) {
  size_t digits = 0;
  while (digits < text.size() && (isdigit(static_cast<unsigned char>(text[digits])) ||
                                  text[digits] == '.'))
    ++digits;
  if (digits == 0) return false;
  double value = 0;
  try {
    size_t used = 0;
    value = std::stod(text.substr(0, digits), &used);
    if (used != digits) return false;
  } catch (...) {
    return false;
  }
  if (value <= 0) return false;
  std::string unit = text.substr(digits);
  if (unit.empty() || unit == "calls") {
    if (text.substr(0, digits).find('.') != std::string::npos) return false;
    calls = static_cast<uint64_t>(value);
    return true;
  }
  static const std::pair<const char*, double> units[] = {
      {"ms", 1e-3}, {"s", 1}, {"m", 60}, {"h", 3600}};
  for (const auto& [name, factor] : units) {
    if (unit == name) {
      seconds = value * factor;
      return true;
    }
  }
  return false;
}

// Resolves `name` like execvp: with a slash as given, else through $PATH. Returns an exit code
// (0 when usable) and the resolved path or the reason.
int resolve_binary(const std::string& name, std::string& resolved, std::string& why) {
  auto check = [&](const std::string& path) {
    struct stat st {};
    if (stat(path.c_str(), &st) < 0) return ENOENT;
    if (S_ISDIR(st.st_mode)) return EISDIR;
    if (access(path.c_str(), X_OK) < 0) return EACCES;
    return 0;
  };
  int err = ENOENT;
  if (name.find('/') != std::string::npos) {
    err = check(name);
    if (err == 0) resolved = name;
  } else {
    const char* path_env = getenv("PATH");
    std::stringstream dirs(path_env != nullptr ? path_env : "/usr/local/bin:/usr/bin:/bin");
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
      std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
      int e = check(candidate);
      if (e == 0) {
        resolved = candidate;
        err = 0;
        break;
      }
      if (e != ENOENT) err = e;
    }
  }
  if (err == 0) return 0;
  if (err == ENOENT) {
    why = "no such file";
    return exit_code::kNotFound;
  }
  why = err == EISDIR ? "is a directory" : "not executable";
  return exit_code::kNotExecutable;
}

// Forwards SIGINT/SIGTERM/SIGHUP/SIGQUIT sent to tandem itself (kill PID) to the program.
// Signals from the terminal reach the versions directly (same process group) and are not
// forwarded again.
void forward_signals(Monitor* monitor) {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaddset(&set, s);
  for (;;) {
    siginfo_t info{};
    int sig = sigwaitinfo(&set, &info);
    if (sig < 0) continue;
    if (info.si_code == SI_USER || info.si_code == SI_QUEUE) monitor->forward_signal(sig);
  }
}

int run_command(const RunArgs& a) {
  MonitorOptions opts;
  std::vector<std::string> bins = a.binaries;
  if (a.copies > 0) {
    if (bins.size() != 1)
      return user_error(exit_code::kUsage, "--copies takes exactly one binary");
    bins.assign(static_cast<size_t>(a.copies), bins[0]);
  }
  if (bins.empty()) return user_error(exit_code::kUsage, "no program to run");
  for (size_t i = 0; i < bins.size(); ++i) {
    VersionSpec v;
    v.path = bins[i];
    std::string why;
    if (int code = resolve_binary(bins[i], v.resolved, why); code != 0)
      return user_error(code, fmt::format("version {}: {}: {}", i + 1, bins[i], why));
    opts.versions.push_back(v);
  }
  if (!parse_policy(a.policy, opts.policy))
    return user_error(exit_code::kUsage,
                      fmt::format("unknown policy '{}' (prefer-new, prefer-old, strict, majority)",
                                  a.policy));
  if (opts.policy == Policy::kMajority && opts.versions.size() < 3)
    return user_error(exit_code::kUsage, "--policy majority needs at least 3 versions");
  if (a.leader != 0) {
    if (a.leader < 1 || a.leader > static_cast<int>(opts.versions.size()))
      return user_error(exit_code::kUsage,
                        fmt::format("--leader must be between 1 and {}", opts.versions.size()));
    opts.leader = a.leader - 1;
  }
  if (a.reconverge < 0) return user_error(exit_code::kUsage, "--reconverge must be >= 0");
  opts.reconverge_bound = a.reconverge;
  opts.args = trailing_args();
  opts.quiet = a.quiet;
  opts.pin_cpus = !a.no_pin;
  opts.aslr = a.aslr;
  opts.lockstep = a.lockstep;
  if (a.checkpoint < 0 || a.max_restarts < 0)
    return user_error(exit_code::kUsage, "--checkpoint and --max-restarts must be >= 0");
  opts.checkpoint_interval = a.checkpoint;
  opts.max_restarts = a.max_restarts;
  if (!(a.hang >= 0)) return user_error(exit_code::kUsage, "--hang must be >= 0 (seconds)");
  opts.hang_cpu_seconds = a.hang;
  if (!a.promote_after.empty()) {
    if (!parse_promote_after(a.promote_after, opts.promote_after_seconds,
                             opts.promote_after_calls))
      return user_error(exit_code::kUsage,
                        fmt::format("--promote-after '{}': expected a duration (30s, 5m, 2h, "
                                    "500ms) or a number of calls (10000)",
                                    a.promote_after));
    if (opts.versions.size() < 2)
      return user_error(exit_code::kUsage, "--promote-after needs at least 2 versions");
  }
  opts.rules_file = a.rules;
  opts.events_file = a.events;

  Rules rules = Rules::builtin();
  if (!a.rules.empty()) {
    std::ifstream in(a.rules);
    if (!in)
      return user_error(exit_code::kRulesFile,
                        fmt::format("rules file {}: {}", a.rules, std::strerror(errno)));
    std::stringstream text;
    text << in.rdbuf();
    std::string error;
    if (!Rules::parse(text.str(), rules, error))
      return user_error(exit_code::kRulesFile, fmt::format("rules file {}: {}", a.rules, error));
  }
  EventLog events;
  events.set_quiet(a.quiet);
  if (!events.open(a.events))
    return user_error(exit_code::kUsage,
                      fmt::format("events file {}: {}", a.events, std::strerror(errno)));

  tsc_calibrate();
  install_rdtsc_emulation();
  // Processes of the program that lose their parent (a crashed version's frozen copies,
  // daemonising programs) become tandem's children, which it reaps, rather than init's.
  prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  auto backend = make_ptrace_backend();
  backend->set_trap_rules(trap_rules_from_model());
  // After the backend saved the program's signal mask: tandem handles these itself.
  sigset_t ours;
  sigemptyset(&ours);
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE}) sigaddset(&ours, s);
  pthread_sigmask(SIG_BLOCK, &ours, nullptr);

  Monitor monitor(opts, std::move(rules), events, *backend);
  std::string error;
  int code = 0;
  if (!monitor.start(error, code)) return user_error(code, error);
  std::thread(forward_signals, &monitor).detach();
  // `tandem status PID`; the run goes on without it if the socket cannot be made.
  if (auto r = start_control_server(monitor); !r)
    events.emit("warning", {{"what", "control socket"}, {"error", r.error().describe()}},
                fmt::format("no control socket ({}): tandem status will not reach this run",
                            r.error().describe()));
  return monitor.run();
}

void setup(CLI::App& app, std::function<int()>& action) {
  auto args = std::make_shared<RunArgs>();
  CLI::App* run = app.add_subcommand(
      "run",
      "Run versions of a program side by side as one program.\n"
      "  tandem run [OPTIONS] BIN1 BIN2 [BIN...] [-- ARGS...]   (versions oldest to newest)\n"
      "  tandem run [OPTIONS] --copies N BIN [-- ARGS...]");
  run->add_option("binaries", args->binaries, "Versions of the program, oldest first");
  run->add_option("--copies", args->copies, "Run N copies of one binary")->check(CLI::Range(1, 16));
  run->add_option("--leader", args->leader, "Version (1-based) that executes I/O at first");
  run->add_option("--policy", args->policy,
                  "Divergence policy: prefer-new (default), prefer-old, strict, majority");
  run->add_option("--rules", args->rules, "Equivalence rules file");
  run->add_option("--events", args->events, "Write events as JSON lines to FILE");
  run->add_option("--reconverge", args->reconverge,
                  "Drop a diverged version after this many calls without reconverging (8)");
  run->add_option("--checkpoint", args->checkpoint,
                  "Checkpoint each process every N agreed calls to restart crashed versions "
                  "(1000; 0: crashed versions are dropped)");
  run->add_option("--max-restarts", args->max_restarts,
                  "Restart a crashed version at most N times (3)");
  run->add_option("--hang", args->hang,
                  "A version that computes this many CPU seconds without a call while the "
                  "others wait for it is hung: killed, then restarted like a crash (10; 0: never)");
  run->add_option("--promote-after", args->promote_after,
                  "Canary: the oldest version leads until the newest ran this long (30s, 5m) "
                  "or this many calls (10000) without diverging");
  run->add_flag("-q,--quiet", args->quiet, "No summaries on stderr");
  run->add_flag("--no-pin", args->no_pin, "Do not pin versions to CPUs");
  run->add_flag("--lockstep", args->lockstep,
                "Every call waits for all versions: the leader never makes a query (time, "
                "stat, getppid) or a read or write before the others arrive at it");
  run->add_flag("--aslr", args->aslr,
                "Keep address-space randomisation in the versions (off by default)");
  run->callback([args, &action] { action = [args] { return run_command(*args); }; });
}

SubcommandRegistrar reg(setup);

}  // namespace
}  // namespace tandem
