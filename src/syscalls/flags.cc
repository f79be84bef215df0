#include "syscalls/flags.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace tandem {

namespace {

#include "flag_tables.inc"

constexpr bool sets_sorted() {
  for (size_t i = 1; i < std::size(kFlagSets); ++i)
    if (std::string_view(kFlagSets[i - 1].name) >= std::string_view(kFlagSets[i].name))
      return false;
  return true;
}
static_assert(sets_sorted(), "the generator sorts flag sets by name");

const char* find_item(std::span<const FlagItem> items, uint64_t value) {
  for (const FlagItem& item : items)
    if (item.value == value) return item.name;
  return nullptr;
}

// Linux numbers real-time signals from 32; glibc reserves the first two (SIGRTMIN is 34 in
// programs), but what the kernel sees is the raw number, so it is printed relative to 32.
constexpr int kKernelSigRtMin = 32;
constexpr int kKernelSigRtMax = 64;

}  // namespace

const FlagSet* flag_set(std::string_view name) {
  auto it = std::lower_bound(std::begin(kFlagSets), std::end(kFlagSets), name,
                             [](const FlagSet& s, std::string_view n) { return s.name < n; });
  if (it == std::end(kFlagSets) || it->name != name) return nullptr;
  return &*it;
}

std::string format_flags(const FlagSet& set, uint64_t value) {
  switch (set.kind) {
    case FlagKind::kOctal:
      return fmt::format("0{:o}", value);
    case FlagKind::kEnum:
      if (const char* name = find_item(set.items, value)) return name;
      return fmt::format("{:#x}", value);
    case FlagKind::kBits:
      break;
  }
  if (value == 0 && set.zero != nullptr) return set.zero;
  std::string out;
  auto append = [&out](std::string_view part) {
    if (!out.empty()) out += '|';
    out += part;
  };
  uint64_t rest = value & ~set.enum_mask;
  std::string field_text;
  if (set.enum_mask != 0) {
    uint64_t field = value & set.enum_mask;
    if (const char* name = find_item(set.enum_items, field)) {
      field_text = name;
    } else if (set.enum_items.empty()) {
      field_text = fmt::format("0{:o}", field);
    } else if (field != 0) {
      field_text = fmt::format("{:#x}", field);
    }
  }
  if (!set.enum_last && !field_text.empty()) append(field_text);
  for (const FlagItem& item : set.items) {
    if (item.value != 0 && (rest & item.value) == item.value) {
      append(item.name);
      rest &= ~item.value;
    }
  }
  if (set.enum_last && !field_text.empty()) append(field_text);
  if (rest != 0 || out.empty()) append(fmt::format("{:#x}", rest));
  return out;
}

std::string format_flags(const char* set, uint64_t value) {
  const FlagSet* s = set ? flag_set(set) : nullptr;
  if (s == nullptr) return fmt::format("{:#x}", value);
  return format_flags(*s, value);
}

const char* enum_name(const char* set, uint64_t value) {
  const FlagSet* s = flag_set(set);
  return s ? find_item(s->items, value) : nullptr;
}

const char* errno_name(int err) {
  return enum_name("errno", static_cast<uint64_t>(err));
}

std::string signal_name(int sig) {
  if (sig == 0) return "0";
  if (const char* name = enum_name("signal", static_cast<uint64_t>(sig))) return name;
  if (sig == kKernelSigRtMin) return "SIGRTMIN";
  if (sig > kKernelSigRtMin && sig <= kKernelSigRtMax)
    return fmt::format("SIGRTMIN+{}", sig - kKernelSigRtMin);
  return std::to_string(sig);
}

}  // namespace tandem
