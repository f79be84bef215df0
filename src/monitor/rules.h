// Equivalence rules: which calls made by only some versions are benign ("absorbed": the version
// runs them locally, the others do not wait for them), and which arguments are not compared.
//
// Built-in rules cover calls without external side effects (fstat, getuid, an extra read-only
// open, an extra getrandom, fcntl F_SETFD, ...). A rules file adds more:
//
//   # comment
//   absorb <syscall>              calls of this kind are benign when only some versions make them
//   absorb-path <glob>            read-only opens of matching paths are benign (fnmatch syntax)
//   ignore <syscall> <arg>        argument <arg> (0-5) of <syscall> is never compared
//
// Immutable after parsing; safe to read from any thread.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "syscalls/call.h"

namespace tandem {

class Rules {
 public:
  // The built-in rules only.
  static Rules builtin();
  // Built-in rules plus those of `text`; on error returns false and sets `error` to
  // "line N: what is wrong".
  static bool parse(std::string_view text, Rules& out, std::string& error);

  // True if `call` (with `path` read from its path argument, if any) may run in a version
  // without the others making it. `read_only_open` tells if the call is an open without write
  // access or creation.
  bool absorbable(const SyscallCall& call, const std::string& path, bool read_only_open) const;
  // True if argument `arg` of syscall `nr` must not be compared.
  bool ignored_arg(int nr, int arg) const { return ignored_.count({nr, arg}) != 0; }
  bool has_ignored_args(int nr) const;

 private:
  std::set<int> absorb_;
  std::vector<std::string> absorb_paths_;
  std::set<std::pair<int, int>> ignored_;
};

}  // namespace tandem
