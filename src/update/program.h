// Program: everything tandem knows about one binary from its file alone.
//
// ELF (symbols, sections), DWARF (types, variables), allocation-site keys, the annotations the
// program declared with the macros of tandem/live.h (read from the file's "tandem_ann" section,
// applying its dynamic relocations), the program identity (TANDEM_PROGRAM) and the findings of the
// cross-check of DWARF against .symtab (variables an optimised build lost: hazard 2).
// Refuses binaries without DWARF and LTO builds. Not thread-safe; shared by the views of the
// processes that run it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "update/dwarf/debug_info.h"
#include "update/elf/alloc_sites.h"
#include "update/elf/elf_file.h"
#include "update/failure.h"

namespace tandem::update {

struct RawAnnotation {
  uint32_t kind = 0;  // enum tandem_annotation_kind
  std::string path;
  std::string arg;
  uint64_t fn = 0;  // link-time address of the callback, 0 if none
};

class Program {
 public:
  static Expected<std::shared_ptr<Program>> load(const std::string& path);

  const std::string& path() const { return elf_->path(); }
  const ElfFile& elf() const { return *elf_; }
  DebugInfo& debug() { return *debug_; }
  const DebugInfo& debug() const { return *debug_; }
  TypeTable& types() { return debug_->types(); }
  AllocSites& sites() { return *sites_; }
  const std::string& program_id() const { return program_id_; }
  // TANDEM_VERSION: this binary's version and the one its callbacks convert from/back to.
  const std::string& version() const { return version_; }
  const std::string& previous_version() const { return previous_; }
  bool uses_runtime() const { return uses_runtime_; }
  const std::vector<RawAnnotation>& annotations() const { return annotations_; }
  // True if a link-time address holds program state: writable, not RELRO, not the annotations.
  bool is_state_address(uint64_t vaddr) const;
  // Variables that exist in memory but cannot be transferred, with the reason.
  const std::vector<std::string>& warnings() const { return warnings_; }

 private:
  Program() = default;
  void read_annotations();
  void cross_check();

  std::unique_ptr<ElfFile> elf_;
  std::unique_ptr<DebugInfo> debug_;
  std::unique_ptr<AllocSites> sites_;
  std::string program_id_;
  std::string version_, previous_;
  bool uses_runtime_ = false;
  std::vector<RawAnnotation> annotations_;
  std::vector<std::string> warnings_;
};

}  // namespace tandem::update
