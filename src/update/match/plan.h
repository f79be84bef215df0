// TypeMatcher: how one object of a source type becomes one object of a destination type.
//
// A Plan is a flat list of operations over byte offsets relative to the object's start, built
// once per (source type, destination type) pair by matching members by name (renames from
// annotations), recursively through nested structs, unions and arrays:
//   copy     bytes that keep their representation (padding included when layouts are identical)
//   convert  a primitive whose type changed: widened, narrowed with a precision-loss check,
//            signedness, int <-> float, bool, enums by enumerator name, bit-fields
//   pointer  a pointer to relocate (pointee types of both sides for typing heap objects)
//   repeat   an array: a sub-plan per element
//   union    a union with a TANDEM_UNION selector: the sub-plan of the active member
//   refuse   data that cannot be transferred (ambiguous union, incompatible type change): an
//            invariant violation if any of its bytes is non-zero, fine if it is all zero
//   loss     bytes dropped by a truncated array: reported if non-zero
// Members only in the destination are left alone (zero for heap objects, the new version's
// initial value for variables); members only in the source are dropped, and reported.
// A destination may also be laid out with the *source* types ("old layout"): used for objects
// whose type no longer exists and for the old copies handed to user callbacks.
// Not thread-safe; plans are referenced by index and never move once built.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "update/dwarf/types.h"
#include "update/match/annotations.h"

namespace tandem::update {

enum class OpKind : uint8_t { kCopy, kConvert, kPointer, kRepeat, kUnion, kRefuse, kLoss };

enum PointerFlags : uint8_t {
  kPtrWeak = 1,        // pointee is void/char/incomplete: says nothing about the target's type
  kPtrFunction = 2,    // function pointer
  kPtrInInt = 4,       // an integer holding a pointer (TANDEM_PTR_IN_INT)
  kPtrTagged = 8,      // low bits are a tag (TANDEM_TAGGED_PTR)
  kPtrNoWrite = 16,    // only discovered (member dropped or skipped, kept for callbacks)
  kPtrOldLayout = 32,  // the pointee has no counterpart type: transferred in the old layout
  kPtrRange = 64,      // begin of a [begin, end) range: `range_delta` finds the end pointer
};

inline constexpr uint32_t kNoPlan = ~0u;

struct Op {
  OpKind kind = OpKind::kCopy;
  uint8_t flags = 0;
  uint16_t src_bit_off = 0, src_bits = 0, dst_bit_off = 0, dst_bits = 0;
  uint64_t src_off = 0, dst_off = 0;
  uint64_t len = 0;  // copy/refuse/loss: bytes; repeat: element count
  uint64_t src_stride = 0, dst_stride = 0;
  TypeId src_type = kVoid, dst_type = kVoid;  // convert: the primitives; pointer: pointees
  uint32_t sub = kNoPlan;                     // repeat: element plan; union: union plan
  uint64_t tag_mask = 0;                      // tagged pointers
  int64_t range_delta = 0;  // kPtrRange: offset of the end pointer minus this one's
  uint32_t what = 0;        // index in Plan::names (member path for messages)
};

struct Plan {
  TypeId src = kVoid, dst = kVoid;
  bool old_layout = false;
  uint64_t src_size = 0, dst_size = 0;
  std::vector<Op> ops;
  std::vector<std::string> names;
  bool has_pointers = false;  // discovery must look at it
  bool identical = false;     // one copy of the whole object
  bool changed = false;       // a type transformation (not just copies and pointers)
};

// Where the union is comes from its Op (src_off/dst_off), so that plans can be inlined at other
// offsets; the tag is found relative to it.
struct UnionPlan {
  int64_t tag_delta = 0;  // tag offset minus the union's offset (both in the source)
  uint32_t tag_size = 0;
  uint16_t tag_bit_off = 0, tag_bits = 0;
  bool tag_signed = false;
  uint64_t src_size = 0;
  std::vector<std::pair<int64_t, uint32_t>> cases;  // tag -> plan (kNoPlan: no member active)
  std::optional<uint32_t> otherwise;
  std::string name;
};

class TypeMatcher {
 public:
  TypeMatcher(const TypeTable& src, const TypeTable& dst, const Annotations& annotations);

  // The plan for one element. context: a variable key, for annotations on its member paths.
  uint32_t plan(TypeId src, TypeId dst, bool old_layout, const std::string& context = "");
  const Plan& get(uint32_t id) const { return plans_[id]; }
  const UnionPlan& union_plan(uint32_t id) const { return unions_[id]; }

  // The destination type of a source type for pointee pairing: same name, or renamed.
  std::optional<TypeId> counterpart(TypeId src) const;

  struct Pointee {
    TypeId src = kVoid, dst = kVoid;
    uint8_t flags = 0;
    bool ok = true;  // false: incompatible pointee types
  };
  Pointee pair_pointees(TypeId src_target, TypeId dst_target) const;

  // Where a byte offset of a source object lands in the destination object. `want` is the type
  // the pointer sees there (its pointee): at offset 0 of a struct, a struct pointer means the
  // struct and an int pointer its first int member, which an update may move apart.
  std::optional<uint64_t> map_offset(TypeId src, TypeId dst, bool old_layout, uint64_t off,
                                     TypeId want = kVoid) const;

  // Does an object of type `object` (in `table`) hold a `want` at byte `off`? char/void always do.
  static bool holds_at(const TypeTable& table, TypeId object, uint64_t off, TypeId want);
  // Is `derived` an extension of `base` (base is its first member, recursively)?
  static bool is_prefix_of(const TypeTable& table, TypeId base, TypeId derived);

  // Notes about the changes seen while planning ("struct entry: member flags dropped").
  const std::vector<std::string>& notes() const { return notes_; }
  bool is_weak(const TypeTable& table, TypeId pointee) const;

 private:
  struct Ctx {
    std::string type_path;  // "struct T.a.b"
    std::string var_path;   // "var.a.b" when planning a variable
    bool discover_dropped = false;
    const TypeTable* dst_table = nullptr;
  };
  void emit(Plan& p, TypeId s, TypeId d, uint64_t so, uint64_t dof, const Ctx& ctx);
  void emit_struct(Plan& p, TypeId s, TypeId d, uint64_t so, uint64_t dof, const Ctx& ctx);
  void emit_union(Plan& p, TypeId s, TypeId d, uint64_t so, uint64_t dof, const Ctx& ctx);
  void emit_array(Plan& p, TypeId s, TypeId d, uint64_t so, uint64_t dof, const Ctx& ctx);
  void emit_pointer(Plan& p, TypeId s, TypeId d, uint64_t so, uint64_t dof, const Ctx& ctx);
  void emit_discover(Plan& p, TypeId s, uint64_t so, const Ctx& ctx);
  void refuse(Plan& p, uint64_t so, uint64_t len, const Ctx& ctx, const std::string& why);
  uint32_t name(Plan& p, const std::string& s);
  const Annotation* annotation(AnnKind kind, const Ctx& ctx) const;
  bool identical(TypeId s, TypeId d, const TypeTable& dt);
  std::optional<TypeId> named(const TypeTable& table, const std::string& name) const;
  bool same_name(TypeId s, TypeId d, const TypeTable& dt) const;
  void note(const std::string& s);

  const TypeTable& src_;
  const TypeTable& dst_;
  const Annotations& ann_;
  std::vector<Plan> plans_;
  std::vector<UnionPlan> unions_;
  std::map<std::tuple<TypeId, TypeId, bool, std::string>, uint32_t> cache_;
  std::unordered_map<uint64_t, uint32_t> fast_cache_;  // (src, dst, old layout) without context
  std::map<std::tuple<TypeId, TypeId, bool>, bool> identical_;
  std::vector<std::string> notes_;
  std::map<std::string, bool> noted_;
  struct Frame {  // the struct being emitted, where a union finds its tag member
    TypeId src_struct;
    uint64_t src_off;
  };
  std::vector<Frame> frames_;
};

}  // namespace tandem::update
