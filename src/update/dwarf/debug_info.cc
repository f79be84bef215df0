#include "update/dwarf/debug_info.h"

#include <dwarf.h>

#include <algorithm>
#include <cstring>

namespace tandem::update {

namespace {

constexpr const char* kRuntimeMarker = "tandem_live_runtime_unit";

bool flag(Dwarf_Die* die, unsigned name) {
  Dwarf_Attribute attr;
  bool value = false;
  if (dwarf_attr_integrate(die, name, &attr) == nullptr) return false;
  return dwarf_formflag(&attr, &value) == 0 && value;
}

std::optional<uint64_t> udata(Dwarf_Die* die, unsigned name) {
  Dwarf_Attribute attr;
  Dwarf_Word value;
  if (dwarf_attr(die, name, &attr) == nullptr) return std::nullopt;
  if (dwarf_formudata(&attr, &value) != 0) return std::nullopt;
  return value;
}

std::string basename_of(const char* path) {
  if (path == nullptr) return "";
  const char* slash = std::strrchr(path, '/');
  return slash ? slash + 1 : path;
}

bool is_peelable(int tag) {
  return tag == DW_TAG_typedef || tag == DW_TAG_const_type || tag == DW_TAG_volatile_type ||
         tag == DW_TAG_restrict_type || tag == DW_TAG_atomic_type || tag == DW_TAG_immutable_type;
}

bool type_of(Dwarf_Die* die, Dwarf_Die* out) {
  Dwarf_Attribute attr;
  if (dwarf_attr_integrate(die, DW_AT_type, &attr) == nullptr) return false;
  return dwarf_formref_die(&attr, out) != nullptr;
}

}  // namespace

Expected<std::unique_ptr<DebugInfo>> DebugInfo::load(const ElfFile& elf) {
  if (!elf.has_debug_info())
    return fail(FailureKind::kNoDebugInfo,
                elf.path() + " has no debug info (build it with -g -fno-lto)");
  std::unique_ptr<DebugInfo> info(new DebugInfo());
  info->dwarf_ = dwarf_begin_elf(elf.handle(), DWARF_C_READ, nullptr);
  if (info->dwarf_ == nullptr)
    return fail(FailureKind::kNoDebugInfo, elf.path() + ": unreadable DWARF: " + dwarf_errmsg(-1));
  if (auto r = info->load_all(elf); !r) return r.failure();
  return info;
}

DebugInfo::~DebugInfo() {
  if (dwarf_ != nullptr) dwarf_end(dwarf_);
}

Expected<void> DebugInfo::load_all(const ElfFile& elf) {
  std::unordered_map<std::string, int> file_counts;
  Dwarf_CU* cu = nullptr;
  Dwarf_Half version;
  uint8_t unit_type;
  Dwarf_Die cudie, subdie;
  std::vector<std::pair<Dwarf_Die, std::string>> units;
  while (dwarf_get_units(dwarf_, cu, &cu, &version, &unit_type, &cudie, &subdie) == 0) {
    if (unit_type != DW_UT_compile && unit_type != DW_UT_partial) continue;
    Dwarf_Attribute attr;
    if (dwarf_attr(&cudie, DW_AT_producer, &attr)) {
      const char* producer = dwarf_formstring(&attr);
      if (producer) {
        std::string p = producer;
        if (p.find("-flto") != std::string::npos || p.find("GNU GIMPLE") != std::string::npos)
          lto_ = true;
        if (std::find(producers_.begin(), producers_.end(), p) == producers_.end())
          producers_.push_back(p);
      }
    }
    std::string file = basename_of(dwarf_diename(&cudie));
    int n = ++file_counts[file];
    if (n > 1) file += "#" + std::to_string(n);
    walk_names(&cudie, "");
    units.emplace_back(cudie, file);
  }
  if (units.empty())
    return fail(FailureKind::kNoDebugInfo, elf.path() + " has no compilation units in its DWARF");
  for (auto& [die, file] : units) {
    bool runtime = false;
    Dwarf_Die child;
    if (dwarf_child(&die, &child) == 0) {
      do {
        const char* name = dwarf_diename(&child);
        if (dwarf_tag(&child) == DW_TAG_variable && name && std::strcmp(name, kRuntimeMarker) == 0)
          runtime = true;
      } while (!runtime && dwarf_siblingof(&child, &child) == 0);
    }
    if (!runtime) program_units_++;
    walk_variables(&die, file, "", runtime);
  }
  for (Dwarf_Off off : eager_) {
    Dwarf_Die die;
    if (dwarf_offdie(dwarf_, off, &die)) convert(&die);
  }
  types_.finish();
  for (size_t i = 0; i < variables_.size(); i++)
    if (!variables_[i].tls) by_address_.push_back(i);
  std::sort(by_address_.begin(), by_address_.end(),
            [&](size_t a, size_t b) { return variables_[a].addr < variables_[b].addr; });
  return {};
}

void DebugInfo::walk_names(Dwarf_Die* die, const std::string& scope) {
  Dwarf_Die child;
  if (dwarf_child(die, &child) != 0) return;
  do {
    int tag = dwarf_tag(&child);
    const char* name = dwarf_diename(&child);
    Dwarf_Off off = dwarf_dieoffset(&child);
    switch (tag) {
      case DW_TAG_namespace:
        walk_names(&child, scope + (name ? name : "(anonymous namespace)") + "::");
        break;
      case DW_TAG_structure_type:
      case DW_TAG_class_type:
      case DW_TAG_union_type:
      case DW_TAG_enumeration_type:
        if (name) {
          qualified_[off] = scope + name;
          walk_names(&child, scope + name + "::");
          // The C++ library's own types are converted only when the program's data reaches them,
          // except classes with bases, which typed downcasts need.
          bool library = scope.rfind("std::", 0) == 0 || scope.rfind("__gnu_cxx::", 0) == 0 ||
                         scope.rfind("__cxxabiv1::", 0) == 0;
          bool has_base = false;
          Dwarf_Die member;
          if (dwarf_child(&child, &member) == 0) {
            do {
              has_base = has_base || dwarf_tag(&member) == DW_TAG_inheritance;
            } while (!has_base && dwarf_siblingof(&member, &member) == 0);
          }
          if ((!library || has_base) && !flag(&child, DW_AT_declaration)) eager_.push_back(off);
        }
        break;
      case DW_TAG_typedef: {
        Dwarf_Die target;
        if (name && type_of(&child, &target)) {
          int ttag = dwarf_tag(&target);
          bool aggregate = ttag == DW_TAG_structure_type || ttag == DW_TAG_class_type ||
                           ttag == DW_TAG_union_type || ttag == DW_TAG_enumeration_type;
          if (aggregate && dwarf_diename(&target) == nullptr)
            typedef_names_.try_emplace(dwarf_dieoffset(&target), scope + name);
        }
        break;
      }
      case DW_TAG_variable:
      case DW_TAG_member:
        if (name) qualified_[off] = scope + name;
        break;
      default:
        break;
    }
  } while (dwarf_siblingof(&child, &child) == 0);
}

std::string DebugInfo::qualified_name(Dwarf_Die* die) {
  Dwarf_Attribute attr;
  Dwarf_Die spec;
  if (dwarf_attr(die, DW_AT_specification, &attr) && dwarf_formref_die(&attr, &spec))
    return qualified_name(&spec);
  if (auto it = qualified_.find(dwarf_dieoffset(die)); it != qualified_.end()) return it->second;
  const char* name = dwarf_diename(die);
  return name ? name : "";
}

void DebugInfo::walk_variables(Dwarf_Die* die, const std::string& file, const std::string& function,
                               bool runtime_unit) {
  Dwarf_Die child;
  if (dwarf_child(die, &child) != 0) return;
  do {
    switch (dwarf_tag(&child)) {
      case DW_TAG_variable:
        add_variable(&child, file, function, runtime_unit);
        break;
      case DW_TAG_namespace:
        if (function.empty()) walk_variables(&child, file, function, runtime_unit);
        break;
      case DW_TAG_subprogram: {
        Dwarf_Attribute attr;
        const char* name = nullptr;
        if (dwarf_attr_integrate(&child, DW_AT_name, &attr)) name = dwarf_formstring(&attr);
        if (name == nullptr) break;
        if (dwarf_hasattr(&child, DW_AT_low_pc) || dwarf_hasattr(&child, DW_AT_ranges))
          functions_[name].push_back(dwarf_dieoffset(&child));
        walk_variables(&child, file, name, runtime_unit);
        break;
      }
      case DW_TAG_lexical_block:
        if (!function.empty()) walk_variables(&child, file, function, runtime_unit);
        break;
      default:
        break;
    }
  } while (dwarf_siblingof(&child, &child) == 0);
}

void DebugInfo::add_variable(Dwarf_Die* die, const std::string& file, const std::string& function,
                             bool runtime_unit) {
  if (flag(die, DW_AT_declaration) && !dwarf_hasattr(die, DW_AT_location)) return;
  std::string name = qualified_name(die);
  if (name.empty()) return;
  bool external = flag(die, DW_AT_external);
  std::string key = !function.empty() ? file + ":" + function + ":" + name
                    : external        ? name
                                      : file + ":" + name;
  Dwarf_Attribute loc;
  if (dwarf_attr(die, DW_AT_location, &loc) == nullptr) {
    // A local of a function (stack or register) is not state; a global without a location was
    // folded away (constant) or lost by the optimiser.
    if (function.empty() && !dwarf_hasattr(die, DW_AT_const_value) && !runtime_unit)
      without_location_.push_back(key);
    return;
  }
  Dwarf_Op* ops = nullptr;
  size_t nops = 0;
  if (dwarf_getlocation(&loc, &ops, &nops) != 0 || nops == 0) {
    if (function.empty() && !runtime_unit) without_location_.push_back(key);
    return;
  }
  Variable v;
  bool ok = false;
  if (nops == 1 && ops[0].atom == DW_OP_addr) {
    v.addr = ops[0].number;
    ok = true;
  } else if (nops == 1 && (ops[0].atom == DW_OP_addrx || ops[0].atom == DW_OP_GNU_addr_index)) {
    Dwarf_Attribute addr_attr;
    Dwarf_Addr addr;
    if (dwarf_getlocation_attr(&loc, &ops[0], &addr_attr) == 0 &&
        dwarf_formaddr(&addr_attr, &addr) == 0) {
      v.addr = addr;
      ok = true;
    }
  } else if (nops == 2 &&
             (ops[1].atom == DW_OP_form_tls_address || ops[1].atom == DW_OP_GNU_push_tls_address) &&
             (ops[0].atom == DW_OP_const8u || ops[0].atom == DW_OP_const4u ||
              ops[0].atom == DW_OP_constu || ops[0].atom == DW_OP_const1u ||
              ops[0].atom == DW_OP_const2u)) {
    v.addr = ops[0].number;
    v.tls = true;
    ok = true;
  }
  if (!ok) {
    if (function.empty() && !runtime_unit) without_location_.push_back(key);
    return;
  }
  v.type = convert_type_attr(die);
  v.size = types_[types_.resolved(v.type)].size;
  if (runtime_unit) {
    if (!v.tls) runtime_ranges_.emplace_back(v.addr, v.addr + std::max<uint64_t>(v.size, 1));
    return;
  }
  v.name = name;
  v.file = file;
  v.function = function;
  v.external = external;
  std::string unique = key;
  for (int n = 2; by_key_.count(unique); n++) unique = key + "#" + std::to_string(n);
  v.key = unique;
  by_key_[unique] = variables_.size();
  variables_.push_back(std::move(v));
}

const Variable* DebugInfo::variable(const std::string& key) const {
  auto it = by_key_.find(key);
  return it == by_key_.end() ? nullptr : &variables_[it->second];
}

const Variable* DebugInfo::variable_at(uint64_t addr) const {
  auto it = std::upper_bound(by_address_.begin(), by_address_.end(), addr,
                             [&](uint64_t a, size_t i) { return a < variables_[i].addr; });
  if (it == by_address_.begin()) return nullptr;
  const Variable& v = variables_[*std::prev(it)];
  return addr < v.addr + std::max<uint64_t>(v.size, 1) ? &v : nullptr;
}

std::optional<TypeId> DebugInfo::local_type(const std::string& function, const std::string& name) {
  auto it = functions_.find(function);
  if (it == functions_.end()) return std::nullopt;
  for (Dwarf_Off off : it->second) {
    Dwarf_Die fn;
    if (dwarf_offdie(dwarf_, off, &fn) == nullptr) continue;
    // Breadth-first through lexical blocks: the outermost declaration wins.
    std::vector<Dwarf_Die> scopes{fn};
    for (size_t i = 0; i < scopes.size(); i++) {
      Dwarf_Die child;
      if (dwarf_child(&scopes[i], &child) != 0) continue;
      do {
        int tag = dwarf_tag(&child);
        const char* n = dwarf_diename(&child);
        if ((tag == DW_TAG_variable || tag == DW_TAG_formal_parameter) && n && name == n)
          return convert_type_attr(&child);
        if (tag == DW_TAG_lexical_block) scopes.push_back(child);
      } while (dwarf_siblingof(&child, &child) == 0);
    }
  }
  return std::nullopt;
}

// ---- types ----

TypeId DebugInfo::convert_type_attr(Dwarf_Die* die) {
  Dwarf_Die target;
  if (!type_of(die, &target)) return kVoid;
  return convert(&target);
}

std::string DebugInfo::shallow(Dwarf_Die* die, int depth) {
  Dwarf_Die cur = *die;
  int tag = dwarf_tag(&cur);
  while (is_peelable(tag)) {
    Dwarf_Die next;
    if (!type_of(&cur, &next)) return "void";
    cur = next;
    tag = dwarf_tag(&cur);
  }
  Dwarf_Off off = dwarf_dieoffset(&cur);
  const char* name = dwarf_diename(&cur);
  switch (tag) {
    case DW_TAG_base_type:
      return name ? name : "?";
    case DW_TAG_pointer_type:
    case DW_TAG_reference_type:
    case DW_TAG_rvalue_reference_type: {
      Dwarf_Die target;
      if (!type_of(&cur, &target)) return "void*";
      return depth > 0 ? shallow(&target, depth - 1) + "*" : "*";
    }
    case DW_TAG_structure_type:
    case DW_TAG_class_type:
    case DW_TAG_union_type:
    case DW_TAG_enumeration_type: {
      if (auto it = qualified_.find(off); it != qualified_.end()) return it->second;
      if (auto it = typedef_names_.find(off); it != typedef_names_.end()) return it->second;
      if (depth <= 0) return "{anon}";
      std::string s = "{";
      Dwarf_Die child;
      if (dwarf_child(&cur, &child) == 0) {
        do {
          int ctag = dwarf_tag(&child);
          const char* cname = dwarf_diename(&child);
          if (ctag == DW_TAG_member) {
            Dwarf_Die mt;
            s += std::string(cname ? cname : "") + ":" +
                 std::to_string(udata(&child, DW_AT_data_member_location).value_or(0)) + ":" +
                 (type_of(&child, &mt) ? shallow(&mt, depth - 1) : "void") + ";";
          } else if (ctag == DW_TAG_enumerator) {
            s += std::string(cname ? cname : "") + ";";
          }
        } while (dwarf_siblingof(&child, &child) == 0);
      }
      return s + "}";
    }
    case DW_TAG_array_type: {
      Dwarf_Die elem;
      std::string s = type_of(&cur, &elem) ? shallow(&elem, depth) : "void";
      Dwarf_Die child;
      if (dwarf_child(&cur, &child) == 0) {
        do {
          auto count = udata(&child, DW_AT_count);
          auto ub = udata(&child, DW_AT_upper_bound);
          s += "[" + (count ? std::to_string(*count) : ub ? std::to_string(*ub + 1) : "") + "]";
        } while (dwarf_siblingof(&child, &child) == 0);
      }
      return s;
    }
    case DW_TAG_subroutine_type:
      return "fn";
    default:
      return "?";
  }
}

TypeId DebugInfo::convert(Dwarf_Die* die) {
  Dwarf_Off off = dwarf_dieoffset(die);
  if (auto it = memo_.find(off); it != memo_.end()) return it->second;
  int tag = dwarf_tag(die);
  TypeId id = kVoid;
  if (is_peelable(tag)) {
    id = convert_type_attr(die);
  } else {
    switch (tag) {
      case DW_TAG_base_type: {
        const char* name = dwarf_diename(die);
        int size = dwarf_bytesize(die);
        auto enc = udata(die, DW_AT_encoding).value_or(DW_ATE_signed);
        std::string sig = std::string("base:") + (name ? name : "?") + "/" + std::to_string(size) +
                          "/" + std::to_string(enc);
        if (auto it = by_signature_.find(sig); it != by_signature_.end()) {
          id = it->second;
          break;
        }
        Type t;
        t.name = name ? name : "?";
        t.size = size > 0 ? static_cast<uint64_t>(size) : 0;
        switch (enc) {
          case DW_ATE_boolean:
            t.kind = TypeKind::kBool;
            break;
          case DW_ATE_float:
            t.kind = TypeKind::kFloat;
            t.is_signed = true;
            break;
          case DW_ATE_signed:
          case DW_ATE_signed_char:
            t.kind = TypeKind::kInt;
            t.is_signed = true;
            break;
          default:  // unsigned, unsigned_char, UTF, and anything else: bytes as unsigned
            t.kind = TypeKind::kInt;
            break;
        }
        t.is_char = t.kind == TypeKind::kInt && t.size == 1;
        if (t.size > 8) {  // long double, __int128: opaque bytes
          id = types_.array_of(types_.int_type("unsigned char", 1, false), t.size);
          by_signature_[sig] = id;
          break;
        }
        id = types_.add(std::move(t));
        types_.index_name(id);
        by_signature_[sig] = id;
        break;
      }
      case DW_TAG_pointer_type:
      case DW_TAG_reference_type:
      case DW_TAG_rvalue_reference_type:
        id = types_.pointer_to(convert_type_attr(die));
        break;
      case DW_TAG_ptr_to_member_type: {
        int size = dwarf_bytesize(die);
        id = types_.array_of(types_.int_type("unsigned char", 1, false), size > 0 ? size : 8);
        break;
      }
      case DW_TAG_structure_type:
      case DW_TAG_class_type:
      case DW_TAG_union_type:
        return convert_aggregate(die, tag);
      case DW_TAG_enumeration_type:
        return convert_enum(die);
      case DW_TAG_array_type:
        id = convert_array(die);
        break;
      case DW_TAG_subroutine_type:
        if (function_type_ == kVoid) {
          Type t;
          t.kind = TypeKind::kFunction;
          t.name = "function";
          function_type_ = types_.add(std::move(t));
        }
        id = function_type_;
        break;
      default:
        id = kVoid;
        break;
    }
  }
  memo_[off] = id;
  return id;
}

TypeId DebugInfo::convert_aggregate(Dwarf_Die* die, int tag) {
  Dwarf_Off off = dwarf_dieoffset(die);
  bool is_union = tag == DW_TAG_union_type;
  std::string name;
  if (auto it = qualified_.find(off); it != qualified_.end())
    name = (is_union ? "union " : "struct ") + it->second;
  else if (auto t = typedef_names_.find(off); t != typedef_names_.end())
    name = t->second;
  bool declaration = flag(die, DW_AT_declaration);
  int size = dwarf_bytesize(die);
  std::string sig = (declaration ? "decl:" : "agg:") + name + "/" + std::to_string(size) + "/" +
                    (declaration || !name.empty() ? "" : std::to_string(off)) +
                    (declaration ? "" : shallow(die, 2));
  // A named type's signature is its name plus layout; an anonymous one is only ever itself
  // when it is not typedef'd (two anonymous structs with equal layout are still distinct).
  if (!name.empty() || declaration) {
    if (auto it = by_signature_.find(sig); it != by_signature_.end()) {
      memo_[off] = it->second;
      return it->second;
    }
  }
  Type t;
  t.kind = is_union ? TypeKind::kUnion : TypeKind::kStruct;
  t.name = name;
  t.size = size > 0 ? static_cast<uint64_t>(size) : 0;
  t.incomplete = declaration;
  TypeId id = types_.add(std::move(t));
  memo_[off] = id;
  by_signature_[sig] = id;
  if (declaration) return id;

  std::vector<Member> members;
  Dwarf_Die child;
  if (dwarf_child(die, &child) == 0) {
    do {
      int ctag = dwarf_tag(&child);
      if (ctag != DW_TAG_member && ctag != DW_TAG_inheritance) continue;
      if (ctag == DW_TAG_member &&
          (flag(&child, DW_AT_external) || flag(&child, DW_AT_declaration)))
        continue;  // C++ static data member: a variable of its own
      Member m;
      const char* cname = dwarf_diename(&child);
      m.name = cname ? cname : "";
      m.is_base = ctag == DW_TAG_inheritance;
      m.type = convert_type_attr(&child);
      if (m.is_base && m.name.empty()) m.name = "<base " + types_.describe(m.type) + ">";
      auto loc = udata(&child, DW_AT_data_member_location);
      if (!loc && !is_union && dwarf_hasattr(&child, DW_AT_data_member_location))
        continue;  // a location expression: virtual base, not at a fixed offset
      auto bit_size = udata(&child, DW_AT_bit_size);
      if (bit_size) {
        uint64_t bits;
        if (auto dbo = udata(&child, DW_AT_data_bit_offset)) {
          bits = *dbo;
        } else {
          uint64_t storage = udata(&child, DW_AT_byte_size).value_or(types_[m.type].size);
          uint64_t be_offset = udata(&child, DW_AT_bit_offset).value_or(0);
          bits = loc.value_or(0) * 8 + storage * 8 - be_offset - *bit_size;
        }
        m.offset = bits / 8;
        m.bit_offset = static_cast<uint16_t>(bits % 8);
        m.bit_size = static_cast<uint16_t>(*bit_size);
      } else {
        m.offset = loc.value_or(0);
      }
      members.push_back(std::move(m));
    } while (dwarf_siblingof(&child, &child) == 0);
  }
  // libstdc++ keeps container values in __aligned_membuf<T> / __aligned_buffer<T>: a byte array
  // in DWARF. Its template argument says what the bytes are: let the storage be a T.
  if (name.rfind("struct __gnu_cxx::__aligned_membuf<", 0) == 0 ||
      name.rfind("struct __gnu_cxx::__aligned_buffer<", 0) == 0) {
    Dwarf_Die param;
    if (dwarf_child(die, &param) == 0) {
      do {
        if (dwarf_tag(&param) != DW_TAG_template_type_parameter) continue;
        TypeId t = convert_type_attr(&param);
        uint64_t tsize = types_[types_.resolved(t)].size;
        if (tsize > 0 && tsize <= static_cast<uint64_t>(std::max(size, 0))) {
          Member storage;
          storage.name = "_M_storage";
          storage.type = t;
          members.assign(1, storage);
        }
        break;
      } while (dwarf_siblingof(&param, &param) == 0);
    }
  }
  types_.mutable_type(id).members = std::move(members);
  types_.index_name(id);
  return id;
}

TypeId DebugInfo::convert_enum(Dwarf_Die* die) {
  Dwarf_Off off = dwarf_dieoffset(die);
  std::string name;
  if (auto it = qualified_.find(off); it != qualified_.end())
    name = "enum " + it->second;
  else if (auto t = typedef_names_.find(off); t != typedef_names_.end())
    name = t->second;
  std::string sig = "enum:" + name + "/" + std::to_string(dwarf_bytesize(die)) + shallow(die, 1);
  if (auto it = by_signature_.find(sig); it != by_signature_.end() && !name.empty()) {
    memo_[off] = it->second;
    return it->second;
  }
  Type t;
  t.kind = TypeKind::kEnum;
  t.name = name;
  int size = dwarf_bytesize(die);
  t.size = size > 0 ? static_cast<uint64_t>(size) : 4;
  Dwarf_Die child;
  if (dwarf_child(die, &child) == 0) {
    do {
      if (dwarf_tag(&child) != DW_TAG_enumerator) continue;
      Dwarf_Attribute attr;
      Dwarf_Sword value = 0;
      if (dwarf_attr(&child, DW_AT_const_value, &attr)) dwarf_formsdata(&attr, &value);
      const char* cname = dwarf_diename(&child);
      t.enumerators.push_back({cname ? cname : "", static_cast<int64_t>(value)});
      if (value < 0) t.is_signed = true;
    } while (dwarf_siblingof(&child, &child) == 0);
  }
  Dwarf_Die underlying;
  if (type_of(die, &underlying)) {
    auto enc = udata(&underlying, DW_AT_encoding);
    if (enc && (*enc == DW_ATE_signed || *enc == DW_ATE_signed_char)) t.is_signed = true;
  }
  TypeId id = types_.add(std::move(t));
  memo_[off] = id;
  by_signature_[sig] = id;
  types_.index_name(id);
  return id;
}

TypeId DebugInfo::convert_array(Dwarf_Die* die) {
  TypeId element = convert_type_attr(die);
  std::vector<std::pair<uint64_t, bool>> dims;  // count, flexible
  Dwarf_Die child;
  if (dwarf_child(die, &child) == 0) {
    do {
      if (dwarf_tag(&child) != DW_TAG_subrange_type) continue;
      auto count = udata(&child, DW_AT_count);
      auto ub = udata(&child, DW_AT_upper_bound);
      if (count)
        dims.emplace_back(*count, false);
      else if (ub && *ub != ~0ull)
        dims.emplace_back(*ub + 1, false);
      else
        dims.emplace_back(0, true);
    } while (dwarf_siblingof(&child, &child) == 0);
  }
  if (dims.empty()) dims.emplace_back(0, true);
  std::string sig = "arr:" + std::to_string(element);
  for (auto& [n, flexible] : dims) sig += flexible ? "[]" : "[" + std::to_string(n) + "]";
  if (auto it = by_signature_.find(sig); it != by_signature_.end()) return it->second;
  TypeId t = element;
  for (size_t i = dims.size(); i-- > 0;) t = types_.array_of(t, dims[i].first, dims[i].second);
  by_signature_[sig] = t;
  return t;
}

}  // namespace tandem::update
