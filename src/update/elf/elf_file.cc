#include "update/elf/elf_file.h"

#include <fcntl.h>
#include <gelf.h>

#include <algorithm>
#include <cstring>

namespace tandem::update {

namespace {

Failure bad(const std::string& path, const std::string& what) {
  return fail(FailureKind::kBadBinary, path + ": " + what);
}

}  // namespace

Expected<std::unique_ptr<ElfFile>> ElfFile::open(const std::string& path) {
  std::unique_ptr<ElfFile> file(new ElfFile());
  file->path_ = path;
  file->fd_.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!file->fd_.valid()) return bad(path, std::strerror(errno));
  if (elf_version(EV_CURRENT) == EV_NONE) return bad(path, "libelf is unusable");
  file->elf_ = elf_begin(file->fd_.get(), ELF_C_READ_MMAP, nullptr);
  if (file->elf_ == nullptr || elf_kind(file->elf_) != ELF_K_ELF)
    return bad(path, "not an ELF file");
  if (auto r = file->load(); !r) return r.failure();
  return file;
}

ElfFile::~ElfFile() {
  if (elf_ != nullptr) elf_end(elf_);
}

Expected<void> ElfFile::load() {
  GElf_Ehdr ehdr;
  if (gelf_getehdr(elf_, &ehdr) == nullptr || gelf_getclass(elf_) != ELFCLASS64 ||
      ehdr.e_machine != EM_X86_64)
    return bad(path_, "not an x86-64 ELF file");
  if (ehdr.e_type != ET_EXEC && ehdr.e_type != ET_DYN) return bad(path_, "not an executable");
  is_pie_ = ehdr.e_type == ET_DYN;
  image_ = reinterpret_cast<const uint8_t*>(elf_rawfile(elf_, &image_size_));

  size_t nphdr = 0;
  elf_getphdrnum(elf_, &nphdr);
  for (size_t i = 0; i < nphdr; i++) {
    GElf_Phdr ph;
    if (gelf_getphdr(elf_, static_cast<int>(i), &ph) == nullptr) continue;
    segments_.push_back(
        {ph.p_type, ph.p_flags, ph.p_vaddr, ph.p_memsz, ph.p_filesz, ph.p_offset, ph.p_align});
    if (ph.p_type == PT_GNU_RELRO) {
      relro_start_ = ph.p_vaddr;
      relro_end_ = ph.p_vaddr + ph.p_memsz;
    }
  }

  size_t shstrndx = 0;
  elf_getshdrstrndx(elf_, &shstrndx);
  Elf_Scn* symtab = nullptr;
  Elf_Scn* dynsym = nullptr;
  std::vector<Elf_Scn*> relas;
  for (Elf_Scn* scn = elf_nextscn(elf_, nullptr); scn; scn = elf_nextscn(elf_, scn)) {
    GElf_Shdr sh;
    if (gelf_getshdr(scn, &sh) == nullptr) continue;
    const char* name = elf_strptr(elf_, shstrndx, sh.sh_name);
    sections_.push_back(
        {name ? name : "", sh.sh_type, sh.sh_flags, sh.sh_addr, sh.sh_size, sh.sh_offset});
    if (sh.sh_type == SHT_SYMTAB) symtab = scn;
    if (sh.sh_type == SHT_DYNSYM) dynsym = scn;
    if (sh.sh_type == SHT_RELA) relas.push_back(scn);
    if (sh.sh_type == SHT_NOTE && name && std::strcmp(name, ".note.gnu.build-id") == 0 &&
        sh.sh_offset + sh.sh_size <= image_size_ && sh.sh_size > 16) {
      const uint8_t* note = image_ + sh.sh_offset;
      uint32_t namesz, descsz;
      std::memcpy(&namesz, note, 4);
      std::memcpy(&descsz, note + 4, 4);
      size_t desc = 12 + ((namesz + 3) & ~3u);
      static const char kHex[] = "0123456789abcdef";
      for (size_t k = 0; k < descsz && desc + k < sh.sh_size; k++) {
        build_id_ += kHex[note[desc + k] >> 4];
        build_id_ += kHex[note[desc + k] & 15];
      }
    }
  }
  has_symtab_ = symtab != nullptr;

  auto read_symbols = [&](Elf_Scn* scn, bool track_files) {
    GElf_Shdr sh;
    gelf_getshdr(scn, &sh);
    Elf_Data* data = elf_getdata(scn, nullptr);
    if (data == nullptr || sh.sh_entsize == 0) return;
    size_t count = sh.sh_size / sh.sh_entsize;
    std::string file;
    for (size_t i = 1; i < count; i++) {
      GElf_Sym sym;
      if (gelf_getsym(data, static_cast<int>(i), &sym) == nullptr) continue;
      const char* name = elf_strptr(elf_, sh.sh_link, sym.st_name);
      if (name == nullptr) continue;
      uint8_t type = GELF_ST_TYPE(sym.st_info);
      uint8_t bind = GELF_ST_BIND(sym.st_info);
      if (type == STT_FILE) {
        file = name;
        if (auto slash = file.rfind('/'); slash != std::string::npos) file.erase(0, slash + 1);
        continue;
      }
      if (*name == 0) continue;
      if (sym.st_shndx == SHN_UNDEF) {
        referenced_[name] = true;
        continue;
      }
      ElfSymbol s{name,         (bind == STB_LOCAL && track_files) ? file : std::string(),
                  sym.st_value, sym.st_size,
                  type,         bind,
                  sym.st_shndx};
      // Versioned names from .dynsym ("stdout@GLIBC_2.2.5") stay as they are.
      referenced_[name] = true;
      by_key_.emplace(s.key(), static_cast<uint32_t>(symbols_.size()));
      symbols_.push_back(std::move(s));
    }
  };
  if (symtab) read_symbols(symtab, true);
  std::vector<std::string> dyn_names;
  if (dynsym) {
    GElf_Shdr sh;
    gelf_getshdr(dynsym, &sh);
    Elf_Data* data = elf_getdata(dynsym, nullptr);
    size_t count = (data && sh.sh_entsize) ? sh.sh_size / sh.sh_entsize : 0;
    dyn_names.resize(count);
    for (size_t i = 1; i < count; i++) {
      GElf_Sym sym;
      if (gelf_getsym(data, static_cast<int>(i), &sym) == nullptr) continue;
      const char* name = elf_strptr(elf_, sh.sh_link, sym.st_name);
      if (name) dyn_names[i] = name;
      if (name && *name) referenced_[name] = true;
    }
    if (!symtab) read_symbols(dynsym, false);
  }
  for (uint32_t i = 0; i < symbols_.size(); i++) {
    const auto& s = symbols_[i];
    if ((s.type == STT_FUNC || s.type == STT_OBJECT || s.type == STT_TLS) && s.size > 0)
      by_address_.push_back(i);
  }
  std::sort(by_address_.begin(), by_address_.end(), [&](uint32_t a, uint32_t b) {
    return symbols_[a].value != symbols_[b].value ? symbols_[a].value < symbols_[b].value
                                                  : symbols_[a].size > symbols_[b].size;
  });

  for (Elf_Scn* scn : relas) {
    GElf_Shdr sh;
    gelf_getshdr(scn, &sh);
    Elf_Data* data = elf_getdata(scn, nullptr);
    if (data == nullptr || sh.sh_entsize == 0) continue;
    // Only dynamic relocations (against .dynsym) describe the loaded image.
    if (dynsym == nullptr || elf_ndxscn(dynsym) != sh.sh_link) continue;
    size_t count = sh.sh_size / sh.sh_entsize;
    for (size_t i = 0; i < count; i++) {
      GElf_Rela rela;
      if (gelf_getrela(data, static_cast<int>(i), &rela) == nullptr) continue;
      uint32_t type = GELF_R_TYPE(rela.r_info);
      uint32_t sym = GELF_R_SYM(rela.r_info);
      if (type == R_X86_64_RELATIVE) {
        relative_[rela.r_offset] = static_cast<uint64_t>(rela.r_addend);
      } else if ((type == R_X86_64_JUMP_SLOT || type == R_X86_64_GLOB_DAT) &&
                 sym < dyn_names.size()) {
        got_imports_[rela.r_offset] = dyn_names[sym];
      }
    }
  }
  return {};
}

const ElfSection* ElfFile::section(const std::string& name) const {
  for (const auto& s : sections_)
    if (s.name == name) return &s;
  return nullptr;
}

const ElfSection* ElfFile::section_at(uint64_t vaddr) const {
  for (const auto& s : sections_) {
    if ((s.flags & SHF_ALLOC) && s.size > 0 && vaddr >= s.addr && vaddr < s.addr + s.size &&
        !(s.flags & SHF_TLS))
      return &s;
  }
  return nullptr;
}

const ElfSegment* ElfFile::tls_segment() const {
  for (const auto& s : segments_)
    if (s.type == PT_TLS) return &s;
  return nullptr;
}

const ElfSymbol* ElfFile::symbol_containing(uint64_t vaddr) const {
  auto it = std::upper_bound(by_address_.begin(), by_address_.end(), vaddr,
                             [&](uint64_t v, uint32_t i) { return v < symbols_[i].value; });
  // Walk back over symbols starting at or before vaddr; nested ranges are rare, so few steps.
  for (int steps = 0; it != by_address_.begin() && steps < 8; steps++) {
    --it;
    const ElfSymbol& s = symbols_[*it];
    if (s.type != STT_TLS && vaddr >= s.value && vaddr < s.value + s.size) return &s;
  }
  return nullptr;
}

const ElfSymbol* ElfFile::symbol(const std::string& key) const {
  auto it = by_key_.find(key);
  return it == by_key_.end() ? nullptr : &symbols_[it->second];
}

bool ElfFile::references(const std::string& name) const {
  return referenced_.count(name) != 0;
}

std::span<const uint8_t> ElfFile::bytes_at(uint64_t vaddr, uint64_t len) const {
  for (const auto& s : sections_) {
    if (s.type != SHT_PROGBITS || !(s.flags & SHF_ALLOC)) continue;
    if (vaddr >= s.addr && vaddr + len <= s.addr + s.size && s.offset + s.size <= image_size_)
      return {image_ + s.offset + (vaddr - s.addr), len};
  }
  return {};
}

std::optional<std::string> ElfFile::string_at(uint64_t vaddr, size_t max_len) const {
  const ElfSection* s = section_at(vaddr);
  if (s == nullptr || s->type != SHT_PROGBITS || s->offset + s->size > image_size_)
    return std::nullopt;
  const char* start = reinterpret_cast<const char*>(image_ + s->offset + (vaddr - s->addr));
  size_t room = std::min<uint64_t>(max_len, s->addr + s->size - vaddr);
  size_t n = strnlen(start, room);
  if (n == room) return std::nullopt;
  return std::string(start, n);
}

std::optional<uint64_t> ElfFile::pointer_at(uint64_t vaddr) const {
  if (auto it = relative_.find(vaddr); it != relative_.end()) return it->second;
  auto bytes = bytes_at(vaddr, 8);
  if (bytes.size() != 8) return std::nullopt;
  uint64_t v;
  std::memcpy(&v, bytes.data(), 8);
  return v;
}

bool ElfFile::is_writable_data(uint64_t vaddr) const {
  if (vaddr >= relro_start_ && vaddr < relro_end_) return false;
  for (const auto& s : segments_) {
    if (s.type == PT_LOAD && (s.flags & PF_W) && vaddr >= s.vaddr && vaddr < s.vaddr + s.memsz)
      return true;
  }
  return false;
}

bool ElfFile::is_code(uint64_t vaddr) const {
  for (const auto& s : segments_) {
    if (s.type == PT_LOAD && (s.flags & PF_X) && vaddr >= s.vaddr && vaddr < s.vaddr + s.memsz)
      return true;
  }
  return false;
}

}  // namespace tandem::update
