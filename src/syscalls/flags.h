// Named values for printing arguments: flag sets, errno and signal names.
//
// The sets are data in syscalls.py (FLAGSETS), generated into flag_tables.inc; ArgSpec::flagset
// names one. Values are the x86-64 uapi values of Linux 6.18, independent of the build host's
// headers. Immutable; any thread.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace tandem {

enum class FlagKind : uint8_t {
  kBits,   // NAME|NAME|0x<rest>; items with several bits (O_SYNC) match only as a whole
  kEnum,   // exactly one item, else the number
  kOctal,  // file modes: 0644
};

struct FlagItem {
  const char* name;
  uint64_t value;
};

struct FlagSet {
  const char* name;
  FlagKind kind;
  std::span<const FlagItem> items;
  // For kBits: a field that is an enumeration (O_ACCMODE, MAP_TYPE, clone's exit signal),
  // printed first from enum_items; without items it is printed in octal (IPC permission bits).
  uint64_t enum_mask;
  std::span<const FlagItem> enum_items;
  const char* zero;  // name of 0 (F_OK, PROT_NONE), or nullptr
  bool enum_last;    // the enumerated field is printed after the bits (clone's exit signal)
};

// nullptr when no set has that name.
const FlagSet* flag_set(std::string_view name);
// Formats `value` with the named set; a null or unknown set gives hexadecimal.
std::string format_flags(const char* set, uint64_t value);
std::string format_flags(const FlagSet& set, uint64_t value);
// The name of the item of `set` equal to `value`, or nullptr.
const char* enum_name(const char* set, uint64_t value);

// "ENOENT"; also the kernel-internal restart codes (ERESTARTSYS...). nullptr if unknown.
const char* errno_name(int err);
// "SIGTERM", "SIGRTMIN+3" (kernel numbering: SIGRTMIN is 32, glibc's SIGRTMIN is 34 = the
// kernel's SIGRTMIN+2); "0" for 0; the number for values out of range.
std::string signal_name(int sig);

}  // namespace tandem
