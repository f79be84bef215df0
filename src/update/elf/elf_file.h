// ElfFile: the parts of an ELF executable that state transfer needs, read with libelf.
//
// Symbols (from .symtab, else .dynsym) carry the compilation unit of local symbols (the STT_FILE
// entry that precedes them), so that static functions and variables have version-independent keys
// "file.c:name" (hazard 7). Addresses are link-time addresses; add a process's load bias.
// Immutable after open(); safe to share between threads for reading.
#pragma once

#include <elf.h>
#include <libelf.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/scoped_fd.h"
#include "update/failure.h"

namespace tandem::update {

struct ElfSymbol {
  std::string name;
  std::string file;  // source file of a local symbol ("" for global ones)
  uint64_t value = 0;
  uint64_t size = 0;
  uint8_t type = STT_NOTYPE;
  uint8_t bind = STB_LOCAL;
  uint16_t section = SHN_UNDEF;
  // "name" for global symbols, "file:name" for local ones.
  std::string key() const { return file.empty() ? name : file + ":" + name; }
};

struct ElfSection {
  std::string name;
  uint32_t type = 0;
  uint64_t flags = 0;
  uint64_t addr = 0;
  uint64_t size = 0;
  uint64_t offset = 0;
};

struct ElfSegment {
  uint32_t type = 0;
  uint32_t flags = 0;
  uint64_t vaddr = 0;
  uint64_t memsz = 0;
  uint64_t filesz = 0;
  uint64_t offset = 0;
  uint64_t align = 0;
};

class ElfFile {
 public:
  static Expected<std::unique_ptr<ElfFile>> open(const std::string& path);
  ~ElfFile();
  ElfFile(const ElfFile&) = delete;
  ElfFile& operator=(const ElfFile&) = delete;

  const std::string& path() const { return path_; }
  Elf* handle() const { return elf_; }
  bool is_pie() const { return is_pie_; }
  bool has_symtab() const { return has_symtab_; }
  bool has_debug_info() const { return section(".debug_info") != nullptr; }
  const std::string& build_id() const { return build_id_; }

  const std::vector<ElfSection>& sections() const { return sections_; }
  const std::vector<ElfSegment>& segments() const { return segments_; }
  const ElfSection* section(const std::string& name) const;
  const ElfSection* section_at(uint64_t vaddr) const;
  const ElfSegment* tls_segment() const;

  const std::vector<ElfSymbol>& symbols() const { return symbols_; }
  // The symbol (function or object, size > 0) whose range contains vaddr.
  const ElfSymbol* symbol_containing(uint64_t vaddr) const;
  // A defined symbol by key ("name" or "file:name").
  const ElfSymbol* symbol(const std::string& key) const;
  // Undefined or defined dynamic symbols referenced by name (imports included).
  bool references(const std::string& name) const;

  // Bytes of the file image at a link-time address (PROGBITS only); empty if out of range.
  std::span<const uint8_t> bytes_at(uint64_t vaddr, uint64_t len) const;
  // A NUL-terminated string at vaddr, from the file.
  std::optional<std::string> string_at(uint64_t vaddr, size_t max_len = 4096) const;
  // Dynamic relocations of type R_X86_64_RELATIVE: place -> addend (the value after loading,
  // minus the bias). Used to read initialised pointers from the file.
  const std::unordered_map<uint64_t, uint64_t>& relative_relocs() const { return relative_; }
  // Reads an 8-byte pointer as it will be after relocation (minus the bias).
  std::optional<uint64_t> pointer_at(uint64_t vaddr) const;
  // Import relocations (JUMP_SLOT, GLOB_DAT): GOT slot -> symbol name.
  const std::unordered_map<uint64_t, std::string>& got_imports() const { return got_imports_; }

  // True if vaddr lies in a writable, non-RELRO part of the image (where state lives).
  bool is_writable_data(uint64_t vaddr) const;
  bool is_code(uint64_t vaddr) const;

 private:
  ElfFile() = default;
  Expected<void> load();

  std::string path_;
  ScopedFd fd_;
  Elf* elf_ = nullptr;
  const uint8_t* image_ = nullptr;
  size_t image_size_ = 0;
  bool is_pie_ = false;
  bool has_symtab_ = false;
  std::string build_id_;
  std::vector<ElfSection> sections_;
  std::vector<ElfSegment> segments_;
  std::vector<ElfSymbol> symbols_;
  std::vector<uint32_t> by_address_;  // indices of sized FUNC/OBJECT symbols, sorted by value
  std::unordered_map<std::string, uint32_t> by_key_;
  std::unordered_map<std::string, bool> referenced_;
  std::unordered_map<uint64_t, uint64_t> relative_;
  std::unordered_map<uint64_t, std::string> got_imports_;
  uint64_t relro_start_ = 0, relro_end_ = 0;
};

}  // namespace tandem::update
