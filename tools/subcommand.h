// Subcommands of the `tandem` command register themselves here, one file each (run.cc,
// update.cc, ...). A subcommand adds its CLI11 options to the app and, when it is the one the
// user chose, sets `action`, which main() runs after parsing and whose value is the exit code.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

namespace tandem {

using SubcommandSetup = void (*)(CLI::App& app, std::function<int()>& action);

std::vector<SubcommandSetup>& subcommand_setups();

struct SubcommandRegistrar {
  explicit SubcommandRegistrar(SubcommandSetup setup) { subcommand_setups().push_back(setup); }
};

// The arguments after the first "--" on the command line (the program's own arguments); main()
// removes them before CLI11 parses the rest.
std::vector<std::string>& trailing_args();

// Prints "tandem: <message>" on stderr (one line) and returns `code`: the single way tandem
// reports a user error.
int user_error(int code, const std::string& message);

}  // namespace tandem
