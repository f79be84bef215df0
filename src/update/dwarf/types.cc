#include "update/dwarf/types.h"

#include <algorithm>

namespace tandem::update {

TypeTable::TypeTable() {
  Type v;
  v.kind = TypeKind::kVoid;
  v.name = "void";
  types_.push_back(v);
}

TypeId TypeTable::add(Type type) {
  types_.push_back(std::move(type));
  return static_cast<TypeId>(types_.size() - 1);
}

void TypeTable::index_name(TypeId id) {
  const Type& t = types_[id];
  if (t.incomplete || t.name.empty() || t.kind == TypeKind::kPointer ||
      t.kind == TypeKind::kArray || t.kind == TypeKind::kFunction)
    return;
  by_name_.try_emplace(t.name, id);
}

TypeId TypeTable::resolved(TypeId id) const {
  const Type& t = types_[id];
  if (!t.incomplete || t.name.empty()) return id;
  auto it = by_name_.find(t.name);
  return it == by_name_.end() ? id : it->second;
}

std::optional<TypeId> TypeTable::find(std::string_view name) const {
  auto it = by_name_.find(std::string(name));
  if (it == by_name_.end()) return std::nullopt;
  return it->second;
}

void TypeTable::finish() {
  for (TypeId id = 0; id < types_.size(); id++) {
    for (const Member& m : types_[id].members) {
      if (!m.is_base) continue;
      TypeId base = resolved(m.type);
      auto& derived = types_[base].derived;
      if (std::find(derived.begin(), derived.end(), id) == derived.end()) derived.push_back(id);
    }
  }
}

bool TypeTable::has_pointers(TypeId id) const {
  if (has_pointers_.size() < types_.size()) has_pointers_.resize(types_.size(), -1);
  id = resolved(id);
  if (has_pointers_[id] >= 0) return has_pointers_[id] != 0;
  const Type& t = types_[id];
  bool result = false;
  switch (t.kind) {
    case TypeKind::kPointer:
      result = true;
      break;
    case TypeKind::kArray:
      has_pointers_[id] = 0;  // provisional, arrays cannot contain themselves
      result = has_pointers(t.target);
      break;
    case TypeKind::kStruct:
    case TypeKind::kUnion:
      has_pointers_[id] = 0;
      for (const Member& m : t.members) result = result || has_pointers(m.type);
      break;
    default:
      break;
  }
  has_pointers_[id] = result ? 1 : 0;
  return result;
}

std::string TypeTable::describe(TypeId id) const {
  const Type& t = types_[id];
  switch (t.kind) {
    case TypeKind::kPointer:
      if (types_[t.target].kind == TypeKind::kFunction) return "function pointer";
      return describe(t.target) + " *";
    case TypeKind::kArray:
      return describe(t.target) + (t.flexible ? "[]" : "[" + std::to_string(t.count) + "]");
    case TypeKind::kFunction:
      return "function";
    default:
      return t.name.empty() ? "<anonymous>" : t.name;
  }
}

TypeId TypeTable::int_type(std::string name, uint64_t size, bool is_signed) {
  if (auto found = find(name)) return *found;
  Type t;
  t.kind = TypeKind::kInt;
  t.name = std::move(name);
  t.size = size;
  t.is_signed = is_signed;
  t.is_char = size == 1;
  TypeId id = add(std::move(t));
  index_name(id);
  return id;
}

TypeId TypeTable::pointer_to(TypeId target) {
  if (auto it = pointer_cache_.find(target); it != pointer_cache_.end()) return it->second;
  Type t;
  t.kind = TypeKind::kPointer;
  t.size = 8;
  t.target = target;
  TypeId id = add(std::move(t));
  pointer_cache_[target] = id;
  return id;
}

TypeId TypeTable::array_of(TypeId element, uint64_t count, bool flexible) {
  Type t;
  t.kind = TypeKind::kArray;
  t.target = element;
  t.count = flexible ? 0 : count;
  t.flexible = flexible;
  t.size = flexible ? 0 : count * types_[element].size;
  return add(std::move(t));
}

bool same_representation(const TypeTable& a, TypeId ta, const TypeTable& b, TypeId tb) {
  const Type& x = a[a.resolved(ta)];
  const Type& y = b[b.resolved(tb)];
  if (x.kind != y.kind || x.size != y.size) return false;
  switch (x.kind) {
    case TypeKind::kInt:
      return x.is_signed == y.is_signed;
    case TypeKind::kBool:
    case TypeKind::kFloat:
    case TypeKind::kPointer:
      return true;
    case TypeKind::kEnum: {
      if (x.enumerators.size() != y.enumerators.size()) return false;
      for (size_t i = 0; i < x.enumerators.size(); i++) {
        if (x.enumerators[i].name != y.enumerators[i].name ||
            x.enumerators[i].value != y.enumerators[i].value)
          return false;
      }
      return true;
    }
    default:
      return false;
  }
}

}  // namespace tandem::update
