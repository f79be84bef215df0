// DebugInfo: the state a binary describes in its DWARF (elfutils libdw).
//
// Variables with a static address (globals, file-scope statics, static locals) and thread-local
// ones, each with a version-independent key:
//   "name"                      external variables (C++: qualified, "ns::name")
//   "file.c:name"               file-scope statics (file = basename of the compilation unit)
//   "file.c:function:name"      static locals
// plus the types they reach (types.h), the producers (to refuse LTO builds) and the locals of
// functions (looked up on demand for registered locals). Compilation units of the tandem-live
// runtime itself (linked statically) are recognised by their marker variable and left out.
// Owns the Dwarf handle; the ElfFile must outlive it. Not thread-safe.
#pragma once

#include <elfutils/libdw.h>

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "update/dwarf/types.h"
#include "update/elf/elf_file.h"
#include "update/failure.h"

namespace tandem::update {

struct Variable {
  std::string key;
  std::string name;
  std::string file;      // basename of the compilation unit
  std::string function;  // enclosing function of a static local
  TypeId type = kVoid;
  uint64_t addr = 0;  // link-time address; for TLS the offset in the module's TLS block
  uint64_t size = 0;
  bool external = false;
  bool tls = false;
};

class DebugInfo {
 public:
  static Expected<std::unique_ptr<DebugInfo>> load(const ElfFile& elf);
  ~DebugInfo();
  DebugInfo(const DebugInfo&) = delete;
  DebugInfo& operator=(const DebugInfo&) = delete;

  TypeTable& types() { return types_; }
  const TypeTable& types() const { return types_; }
  const std::vector<Variable>& variables() const { return variables_; }
  const Variable* variable(const std::string& key) const;
  const Variable* variable_at(uint64_t addr) const;  // containing a link-time address (not TLS)

  const std::vector<std::string>& producers() const { return producers_; }
  bool built_with_lto() const { return lto_; }
  // Compilation units with debug info that are not the runtime's own.
  size_t program_units() const { return program_units_; }
  // Variables whose DWARF has no location (folded or kept in registers by the optimiser).
  const std::vector<std::string>& without_location() const { return without_location_; }
  // Address ranges [start, end) of the runtime's own variables (never transferred).
  const std::vector<std::pair<uint64_t, uint64_t>>& runtime_ranges() const {
    return runtime_ranges_;
  }

  // The type of local `name` of `function` (for registered locals).
  std::optional<TypeId> local_type(const std::string& function, const std::string& name);

 private:
  DebugInfo() = default;
  Expected<void> load_all(const ElfFile& elf);
  void walk_names(Dwarf_Die* die, const std::string& scope);
  void walk_variables(Dwarf_Die* die, const std::string& file, const std::string& function,
                      bool runtime_unit);
  void add_variable(Dwarf_Die* die, const std::string& file, const std::string& function,
                    bool runtime_unit);
  TypeId convert(Dwarf_Die* die);
  TypeId convert_type_attr(Dwarf_Die* die);
  TypeId convert_aggregate(Dwarf_Die* die, int tag);
  TypeId convert_enum(Dwarf_Die* die);
  TypeId convert_array(Dwarf_Die* die);
  std::string shallow(Dwarf_Die* die, int depth);
  std::string qualified_name(Dwarf_Die* die);

  Dwarf* dwarf_ = nullptr;
  TypeTable types_;
  std::vector<Variable> variables_;
  std::unordered_map<std::string, size_t> by_key_;
  std::vector<size_t> by_address_;
  std::vector<std::string> producers_;
  bool lto_ = false;
  size_t program_units_ = 0;
  std::vector<std::string> without_location_;
  std::vector<std::pair<uint64_t, uint64_t>> runtime_ranges_;
  std::unordered_map<Dwarf_Off, TypeId> memo_;
  std::unordered_map<std::string, TypeId> by_signature_;
  std::unordered_map<Dwarf_Off, std::string> qualified_;      // DIE -> qualified name (C++ scopes)
  std::unordered_map<Dwarf_Off, std::string> typedef_names_;  // anonymous aggregate -> typedef
  std::unordered_map<std::string, std::vector<Dwarf_Off>> functions_;
  // Named types no variable may reach (used through casts, void * annotations, callbacks) and
  // classes with bases (C++ downcasts): converted after the variables.
  std::vector<Dwarf_Off> eager_;
  TypeId function_type_ = kVoid;
};

}  // namespace tandem::update
