#include "update/program.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "tandem/live.h"

namespace tandem::update {

Expected<std::shared_ptr<Program>> Program::load(const std::string& path) {
  if (access(path.c_str(), F_OK) != 0)
    return fail(FailureKind::kBadBinary, path + ": " + std::strerror(errno));
  auto elf = ElfFile::open(path);
  if (!elf) return elf.failure();
  std::shared_ptr<Program> p(new Program());
  p->elf_ = std::move(elf).value();
  if (!p->elf_->has_debug_info())
    return fail(FailureKind::kNoDebugInfo,
                path + " has no debug info: build it with -g -fno-lto (and do not strip it)");
  auto debug = DebugInfo::load(*p->elf_);
  if (!debug) return debug.failure();
  p->debug_ = std::move(debug).value();
  if (p->debug_->program_units() == 0)
    return fail(FailureKind::kNoDebugInfo,
                path + " has debug info only for the tandem-live runtime: build the program "
                       "itself with -g -fno-lto");
  if (p->debug_->built_with_lto())
    return fail(FailureKind::kNoDebugInfo,
                path +
                    " was built with -flto: link-time optimisation drops and merges variables; "
                    "build it with -g -fno-lto");
  p->sites_ = std::make_unique<AllocSites>(*p->elf_);
  p->uses_runtime_ = p->elf_->references("tandem_update_point");
  if (const ElfSymbol* id = p->elf_->symbol("tandem_program_id")) {
    if (auto s = p->elf_->string_at(id->value)) p->program_id_ = *s;
  }
  if (const ElfSymbol* v = p->elf_->symbol("tandem_program_version")) {
    if (auto s = p->elf_->string_at(v->value)) {
      size_t nl = s->find('\n');
      p->version_ = s->substr(0, nl);
      if (nl != std::string::npos) p->previous_ = s->substr(nl + 1);
    }
  }
  p->read_annotations();
  p->cross_check();
  return p;
}

bool Program::is_state_address(uint64_t vaddr) const {
  if (!elf_->is_writable_data(vaddr)) return false;
  const ElfSection* ann = elf_->section("tandem_ann");
  return ann == nullptr || vaddr < ann->addr || vaddr >= ann->addr + ann->size;
}

void Program::read_annotations() {
  const ElfSection* sec = elf_->section("tandem_ann");
  if (sec == nullptr) return;
  constexpr uint64_t kSize = sizeof(struct tandem_annotation);
  for (uint64_t at = sec->addr; at + kSize <= sec->addr + sec->size; at += kSize) {
    auto head = elf_->bytes_at(at, 8);
    if (head.size() != 8) break;
    uint32_t abi, kind;
    std::memcpy(&abi, head.data(), 4);
    std::memcpy(&kind, head.data() + 4, 4);
    if (abi != TANDEM_ANNOTATION_ABI) continue;
    RawAnnotation a;
    a.kind = kind;
    auto path = elf_->pointer_at(at + offsetof(struct tandem_annotation, path));
    auto arg = elf_->pointer_at(at + offsetof(struct tandem_annotation, arg));
    auto fn = elf_->pointer_at(at + offsetof(struct tandem_annotation, fn));
    if (path && *path) a.path = elf_->string_at(*path).value_or("");
    if (arg && *arg) a.arg = elf_->string_at(*arg).value_or("");
    a.fn = fn.value_or(0);
    annotations_.push_back(std::move(a));
  }
}

void Program::cross_check() {
  // Address ranges DWARF describes (the runtime's own included: they are known, not lost).
  std::vector<std::pair<uint64_t, uint64_t>> described = debug_->runtime_ranges();
  for (const auto& v : debug_->variables())
    if (!v.tls) described.emplace_back(v.addr, v.addr + std::max<uint64_t>(v.size, 1));
  std::sort(described.begin(), described.end());
  auto covered = [&](uint64_t addr) {
    auto it =
        std::upper_bound(described.begin(), described.end(), std::make_pair(addr, ~uint64_t{0}));
    return it != described.begin() && addr < std::prev(it)->second;
  };
  for (const auto& s : elf_->symbols()) {
    if (s.type != STT_OBJECT || s.size == 0 || !is_state_address(s.value)) continue;
    // Toolchain and libc symbols (reserved names, copy-relocated imports, crtstuff's flag, the
    // C++ personality routine's reference).
    if (s.name[0] == '_' || s.name.find('@') != std::string::npos ||
        s.name.rfind("completed.", 0) == 0 || s.name.rfind("DW.ref.", 0) == 0)
      continue;
    if (!covered(s.value))
      warnings_.push_back(s.key() + " (" + std::to_string(s.size) +
                          " bytes) has no debug info: not transferred");
  }
  for (const auto& key : debug_->without_location()) {
    std::string name = key.substr(key.rfind(':') + 1);
    bool in_memory = elf_->symbol(key) != nullptr || elf_->symbol(name) != nullptr;
    if (in_memory)
      warnings_.push_back(key +
                          " has no location in the debug info (optimised build?): "
                          "not transferred");
  }
}

}  // namespace tandem::update
