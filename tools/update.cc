// `tandem update [--timeout S] [--events FILE] [--pidfile FILE] PID NEW_BIN`: live update of a
// running process to a new binary, its state transferred from the DWARF of both
// (src/update/transaction.h). One line on success (stdout) or failure (stderr); the exit code
// names the failure class (src/update/failure.h, docs/live-update.md).
#include <cstdio>
#include <memory>

#include "tools/subcommand.h"
#include "update/transaction.h"
#include "update/transfer/fault.h"

namespace tandem {
namespace {

struct UpdateArgs {
  int pid = 0;
  std::string new_binary;
  double timeout = 5;
  std::string events;
  std::string pidfile;
  bool verbose = false;
  bool no_validate = false;
};

int run(const UpdateArgs& args) {
  update::UpdateOptions opt;
  opt.pid = args.pid;
  opt.new_binary = args.new_binary;
  opt.timeout = std::chrono::milliseconds(static_cast<int64_t>(args.timeout * 1000));
  opt.events_path = args.events;
  opt.pidfile = args.pidfile;
  opt.validate = !args.no_validate;
  auto result = update::run_update(opt);
  if (*update::fi::configuration())  // the tandem-fi build under a fault-injection campaign
    std::fprintf(stderr, "tandem: fault injection (%s): %llu faults injected\n",
                 update::fi::configuration(),
                 static_cast<unsigned long long>(update::fi::activated()));
  if (!result) {
    const update::Failure& f = result.failure();
    std::string line = update::is_rollback(f.kind)
                           ? "update rolled back: " + f.message + "; process " +
                                 std::to_string(args.pid) + " keeps running unchanged"
                           : f.message;
    return user_error(update::exit_code(f.kind), line);
  }
  const update::UpdateResult& r = *result;
  if (args.verbose)
    for (const auto& n : r.notes) std::fprintf(stderr, "tandem: note: %s\n", n.c_str());
  std::string validation = "not validated (--no-validate)";
  if (r.validated) {
    const update::Coverage& c = r.coverage;
    char line[200];
    std::snprintf(line, sizeof line, "validated %.1f%% (%llu of %llu objects, %llu of %llu bytes)",
                  c.percent_bytes(), static_cast<unsigned long long>(c.objects_validated),
                  static_cast<unsigned long long>(c.objects),
                  static_cast<unsigned long long>(c.bytes_validated),
                  static_cast<unsigned long long>(c.bytes));
    validation = line;
    if (args.verbose)
      for (const auto& why : c.left_out)
        std::fprintf(stderr, "tandem: note: not validated: %s\n", why.c_str());
  }
  std::printf(
      "tandem: updated %d -> %d in %.1f ms (paused %.1f ms): %llu variables, %llu heap objects, "
      "%llu converted, %llu callbacks; %s\n",
      r.old_pid, r.new_pid, r.update_ms, r.pause_ms,
      static_cast<unsigned long long>(r.stats.variables + r.stats.locals),
      static_cast<unsigned long long>(r.stats.heap_objects),
      static_cast<unsigned long long>(r.stats.converted_objects),
      static_cast<unsigned long long>(r.stats.callbacks), validation.c_str());
  std::fflush(stdout);
  return 0;
}

void setup(CLI::App& app, std::function<int()>& action) {
  auto args = std::make_shared<UpdateArgs>();
  CLI::App* cmd = app.add_subcommand(
      "update", "Live-update a running process to NEW_BIN, transferring its state");
  cmd->add_option("PID", args->pid, "process to update (it must link the tandem-live runtime)")
      ->required();
  cmd->add_option("NEW_BIN", args->new_binary, "the new version (built with -g -fno-lto)")
      ->required();
  cmd->add_option("--timeout", args->timeout,
                  "seconds to wait for each side to reach its update point (default 5)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--events", args->events, "write the update's events to FILE (JSON lines)");
  cmd->add_option("--pidfile", args->pidfile, "rewrite FILE with the new PID after a commit");
  cmd->add_flag("--verbose", args->verbose, "print the transfer's notes on stderr");
  cmd->add_flag("--no-validate", args->no_validate,
                "transfer forward only: no backward transfer into a reversed copy, no comparison");
  cmd->callback([args, &action] { action = [args] { return run(*args); }; });
}

SubcommandRegistrar reg(setup);

}  // namespace
}  // namespace tandem
