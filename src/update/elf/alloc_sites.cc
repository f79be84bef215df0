#include "update/elf/alloc_sites.h"

#include <algorithm>
#include <cstring>

namespace tandem::update {

bool is_allocator_name(const std::string& full) {
  std::string name = full.substr(0, full.find('@'));
  static const char* const kNames[] = {"malloc",
                                       "calloc",
                                       "realloc",
                                       "reallocarray",
                                       "strdup",
                                       "strndup",
                                       "aligned_alloc",
                                       "posix_memalign",
                                       "memalign",
                                       "valloc",
                                       "pvalloc",
                                       "_Znwm",
                                       "_Znam",
                                       "_ZnwmRKSt9nothrow_t",
                                       "_ZnamRKSt9nothrow_t",
                                       "_ZnwmSt11align_val_t",
                                       "_ZnamSt11align_val_t"};
  for (const char* n : kNames)
    if (name == n) return true;
  return false;
}

AllocSites::AllocSites(const ElfFile& elf) : elf_(elf) {
  for (const auto& s : elf.symbols())
    if (s.type == STT_FUNC && s.bind != STB_LOCAL && is_allocator_name(s.name))
      direct_.insert(s.value);
  for (const auto& [slot, name] : elf.got_imports())
    if (is_allocator_name(name)) got_slots_.insert(slot);
}

bool AllocSites::is_allocator_target(uint64_t target) const {
  if (direct_.count(target)) return true;
  // A PLT stub: [endbr64] [bnd] jmp *disp32(%rip).
  auto code = elf_.bytes_at(target, 16);
  if (code.size() < 16) return false;
  size_t i = 0;
  if (code[0] == 0xf3 && code[1] == 0x0f && code[2] == 0x1e && code[3] == 0xfa) i = 4;
  if (code[i] == 0xf2) i++;
  if (code[i] != 0xff || code[i + 1] != 0x25) return false;
  int32_t disp;
  std::memcpy(&disp, &code[i + 2], 4);
  uint64_t slot = target + i + 6 + static_cast<int64_t>(disp);
  return got_slots_.count(slot) != 0;
}

const std::vector<uint64_t>& AllocSites::calls_in(const ElfSymbol& fn) {
  auto [it, inserted] = calls_.try_emplace(fn.key());
  if (!inserted) return it->second;
  auto code = elf_.bytes_at(fn.value, fn.size);
  std::vector<uint64_t>& out = it->second;
  for (size_t i = 0; i + 5 <= code.size(); i++) {
    if (code[i] == 0xe8) {
      int32_t rel;
      std::memcpy(&rel, &code[i + 1], 4);
      uint64_t ret = fn.value + i + 5;
      uint64_t target = ret + static_cast<int64_t>(rel);
      bool known =
          stubs_.count(target) ? stubs_[target] : (stubs_[target] = is_allocator_target(target));
      if (known) out.push_back(ret);
    } else if (code[i] == 0xff && i + 6 <= code.size() && code[i + 1] == 0x15) {
      int32_t disp;
      std::memcpy(&disp, &code[i + 2], 4);
      uint64_t ret = fn.value + i + 6;
      if (got_slots_.count(ret + static_cast<int64_t>(disp))) out.push_back(ret);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<SiteKey> AllocSites::key_of(uint64_t ret) {
  const ElfSymbol* fn = elf_.symbol_containing(ret - 1);
  if (fn == nullptr || fn->type != STT_FUNC) return std::nullopt;
  const auto& calls = calls_in(*fn);
  auto it = std::lower_bound(calls.begin(), calls.end(), ret);
  if (it != calls.end() && *it == ret)
    return SiteKey{fn->key(), static_cast<int>(it - calls.begin())};
  return SiteKey{fn->key(), -1};
}

std::optional<uint64_t> AllocSites::address_of(const SiteKey& key) {
  const ElfSymbol* fn = elf_.symbol(key.function);
  if (fn == nullptr || fn->type != STT_FUNC) return std::nullopt;
  if (key.ordinal < 0) return std::nullopt;
  const auto& calls = calls_in(*fn);
  if (static_cast<size_t>(key.ordinal) >= calls.size()) return std::nullopt;
  return calls[static_cast<size_t>(key.ordinal)];
}

}  // namespace tandem::update
