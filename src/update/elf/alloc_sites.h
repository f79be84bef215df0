// AllocSites: allocation-site identities that survive a recompile (hazard 6).
//
// The runtime records the return address of each allocation call. A return address changes
// whenever any code before it moves, so sites are compared across versions by a stable key: the
// function that contains the call (by symbol key, static functions qualified by file) and the
// ordinal of the call among the allocator calls of that function. The calls are found by scanning
// the function's bytes for `call rel32` to an allocator (directly, or through its PLT stub) and
// `call *disp32(%rip)` through an allocator's GOT slot; a spurious match would need four bytes
// to encode exactly that target, and is then the same in both versions if the code did not change.
// Not thread-safe (caches per function); one instance per binary, used by one thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "update/elf/elf_file.h"

namespace tandem::update {

struct SiteKey {
  std::string function;  // symbol key of the containing function
  int ordinal = -1;      // index among the function's allocator calls; -1 if not a known call
  bool operator==(const SiteKey&) const = default;
  std::string str() const {
    return ordinal >= 0 ? function + "#" + std::to_string(ordinal) : function + "+?";
  }
};

class AllocSites {
 public:
  explicit AllocSites(const ElfFile& elf);

  // The key of a return address (link-time). nullopt if it is not inside a known function.
  std::optional<SiteKey> key_of(uint64_t return_address);
  // The return address (link-time) of the call with this key, if the function has such a call.
  std::optional<uint64_t> address_of(const SiteKey& key);
  // Return addresses of the allocator calls in a function (sorted).
  const std::vector<uint64_t>& calls_in(const ElfSymbol& function);

 private:
  bool is_allocator_target(uint64_t target) const;

  const ElfFile& elf_;
  std::unordered_set<uint64_t> direct_;       // allocator functions defined in the binary
  std::unordered_set<uint64_t> got_slots_;    // GOT slots of imported allocators
  std::unordered_map<uint64_t, bool> stubs_;  // PLT stub address -> jumps through an allocator slot
  std::unordered_map<std::string, std::vector<uint64_t>> calls_;
};

// Names of the functions whose calls are allocation sites.
bool is_allocator_name(const std::string& name);

}  // namespace tandem::update
