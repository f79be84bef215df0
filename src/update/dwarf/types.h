// The type graph of one binary, built from its DWARF (debug_info.cc) or by hand (unit tests).
//
// Typedefs and cv-qualifiers are peeled away when types are built: a TypeId always names a
// structural type. Named aggregates with the same name and layout are one type even when several
// compilation units describe them (hash-consing by layout signature), so TypeIds of one table can
// be compared for identity. A struct known only by declaration in some unit resolves by name to
// its definition (resolved()). Not thread-safe; immutable once loading ended.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace tandem::update {

using TypeId = uint32_t;
inline constexpr TypeId kVoid = 0;

enum class TypeKind : uint8_t {
  kVoid,
  kInt,
  kBool,
  kFloat,
  kEnum,
  kPointer,
  kStruct,
  kUnion,
  kArray,
  kFunction
};

struct Member {
  std::string name;  // "" for anonymous members
  TypeId type = kVoid;
  uint64_t offset = 0;      // bytes from the start of the aggregate
  uint16_t bit_offset = 0;  // bit-fields: bits from `offset` (little-endian)
  uint16_t bit_size = 0;    // 0 if not a bit-field
  bool is_base = false;     // C++ base class subobject
};

struct Enumerator {
  std::string name;
  int64_t value = 0;
};

struct Type {
  TypeKind kind = TypeKind::kVoid;
  std::string name;  // "int", "struct node", "union u", "enum color", or a typedef name
  uint64_t size = 0;
  bool is_signed = false;
  bool is_char = false;     // char-like: a view of raw bytes
  TypeId target = kVoid;    // pointee, array element, enum underlying type
  uint64_t count = 0;       // array elements
  bool flexible = false;    // array without a bound (flexible member)
  bool incomplete = false;  // declaration only
  std::vector<Member> members;
  std::vector<Enumerator> enumerators;
  std::vector<TypeId> derived;  // C++: types having this one as a base
};

class TypeTable {
 public:
  TypeTable();
  TypeId add(Type type);
  Type& mutable_type(TypeId id) { return types_[id]; }
  const Type& operator[](TypeId id) const { return types_[id]; }
  size_t size() const { return types_.size(); }

  // The definition of an incomplete aggregate, found by name; the id itself otherwise.
  TypeId resolved(TypeId id) const;
  // A complete aggregate, enum or primitive by its name ("struct node", "int").
  std::optional<TypeId> find(std::string_view name) const;
  void index_name(TypeId id);
  void finish();  // after loading: link declarations to definitions, bases to derived types

  // Facts derived from the graph, cached.
  bool has_pointers(TypeId id) const;  // any pointer inside (through arrays and members)
  std::string describe(TypeId id) const;

  // Helpers for building types (also used by tests).
  TypeId int_type(std::string name, uint64_t size, bool is_signed);
  TypeId pointer_to(TypeId target);
  TypeId array_of(TypeId element, uint64_t count, bool flexible = false);

 private:
  std::vector<Type> types_;
  std::unordered_map<std::string, TypeId> by_name_;
  std::unordered_map<TypeId, TypeId> pointer_cache_;
  mutable std::vector<int8_t> has_pointers_;  // -1 unknown, 0 no, 1 yes
};

// True if values of these two primitive/pointer types are interchangeable byte-for-byte.
bool same_representation(const TypeTable& a, TypeId ta, const TypeTable& b, TypeId tb);

}  // namespace tandem::update
