// The `tandem` command: one file per subcommand (run.cc, update.cc, ...).
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "tools/exit_codes.h"
#include "tools/subcommand.h"

namespace tandem {

std::vector<SubcommandSetup>& subcommand_setups() {
  static std::vector<SubcommandSetup> setups;
  return setups;
}

std::vector<std::string>& trailing_args() {
  static std::vector<std::string> args;
  return args;
}

int user_error(int code, const std::string& message) {
  std::fprintf(stderr, "tandem: %s\n", message.c_str());
  return code;
}

}  // namespace tandem

int main(int argc, char** argv) {
  CLI::App app{"tandem: safe software updates (multi-version execution and live update)",
               "tandem"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "tandem 0.1.0");
  std::function<int()> action;
  for (auto setup : tandem::subcommand_setups()) setup(app, action);
  // Everything after the first "--" belongs to the program run under tandem.
  std::vector<std::string> ours;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--") {
      for (int j = i + 1; j < argc; ++j) tandem::trailing_args().emplace_back(argv[j]);
      break;
    }
    ours.emplace_back(argv[i]);
  }
  std::reverse(ours.begin(), ours.end());  // CLI11 takes a reversed vector
  try {
    app.parse(ours);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One line, whatever CLI11 would print: the first line of its message.
    std::string what = e.what();
    if (auto nl = what.find('\n'); nl != std::string::npos) what.resize(nl);
    return tandem::user_error(tandem::exit_code::kUsage,
                              what + " (see tandem --help)");
  }
  if (!action) return tandem::user_error(tandem::exit_code::kUsage, "no subcommand given");
  return action();
}
