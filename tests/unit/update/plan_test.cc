// The type matcher: plans for changed layouts (the seed's Listing 2 and more), offsets mapped
// into changed layouts, pointee pairing, type checks, unions with and without annotations.
#include "update/match/plan.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace tandem::update {
namespace {

struct Types {
  TypeTable t;
  TypeId i8 = t.int_type("char", 1, true);
  TypeId i16 = t.int_type("short int", 2, true);
  TypeId i32 = t.int_type("int", 4, true);
  TypeId i64 = t.int_type("long int", 8, true);
  TypeId f32 = flt("float", 4);

  TypeId flt(const char* name, uint64_t size) {
    Type x;
    x.kind = TypeKind::kFloat;
    x.name = name;
    x.size = size;
    x.is_signed = true;
    TypeId id = t.add(x);
    t.index_name(id);
    return id;
  }
  TypeId aggregate(TypeKind kind, const std::string& name, uint64_t size,
                   std::vector<Member> members) {
    Type x;
    x.kind = kind;
    x.name = name;
    x.size = size;
    x.members = std::move(members);
    TypeId id = t.add(x);
    t.index_name(id);
    return id;
  }
  TypeId ptr(TypeId to) { return t.pointer_to(to); }
  TypeId arr(TypeId of, uint64_t n) { return t.array_of(of, n); }
};

Member m(const char* name, TypeId type, uint64_t offset) {
  return Member{name, type, offset};
}

std::vector<const Op*> ops_of(const Plan& p, OpKind kind) {
  std::vector<const Op*> out;
  for (const Op& op : p.ops)
    if (op.kind == kind) out.push_back(&op);
  return out;
}

// Listing 2 of the seed paper: fields changed, removed and reordered.
struct Listing2 {
  Types a, b;
  TypeId s_old, s_new;
  Listing2() {
    TypeId u_old =
        a.aggregate(TypeKind::kUnion, "union u", 4, {m("i", a.i32, 0), m("f", a.f32, 0)});
    s_old = a.aggregate(
        TypeKind::kStruct, "struct s", 40,
        {m("count", a.i32, 0), m("str", a.arr(a.i8, 3), 4), m("id", a.i16, 8), m("u", u_old, 12),
         m("ptr", a.ptr(kVoid), 16), m("addr", a.i32, 24), m("inner_ptr", a.ptr(a.i16), 32)});
    TypeId u_new =
        b.aggregate(TypeKind::kUnion, "union u", 4, {m("i", b.i32, 0), m("f", b.f32, 0)});
    s_new =
        b.aggregate(TypeKind::kStruct, "struct s", 32,
                    {m("count", b.i32, 0), m("id", b.i32, 4), m("str", b.arr(b.i8, 2), 8),
                     m("u", u_new, 12), m("addr", b.i32, 16), m("inner_ptr", b.ptr(b.i32), 24)});
  }
};

TEST(TypeMatcher, Listing2) {
  Listing2 l;
  Annotations ann;
  TypeMatcher matcher(l.a.t, l.b.t, ann);
  const Plan& p = matcher.get(matcher.plan(l.s_old, l.s_new, false));
  EXPECT_TRUE(p.changed);
  EXPECT_FALSE(p.identical);
  auto conv = ops_of(p, OpKind::kConvert);
  ASSERT_EQ(conv.size(), 1u);  // id: short -> int
  EXPECT_EQ(conv[0]->src_off, 8u);
  EXPECT_EQ(conv[0]->dst_off, 4u);
  auto ptrs = ops_of(p, OpKind::kPointer);
  ASSERT_EQ(ptrs.size(), 1u);  // inner_ptr; ptr was dropped
  EXPECT_EQ(ptrs[0]->src_off, 32u);
  EXPECT_EQ(ptrs[0]->dst_off, 24u);
  EXPECT_EQ(ptrs[0]->src_type, l.a.i16);
  EXPECT_EQ(ptrs[0]->dst_type, l.b.i32);
  auto loss = ops_of(p, OpKind::kLoss);
  ASSERT_EQ(loss.size(), 1u);  // str[3] -> str[2]: the third byte
  EXPECT_EQ(loss[0]->src_off, 6u);
  EXPECT_EQ(loss[0]->len, 1u);
  // Copies: count 0->0, str 4->8 (2 bytes), u 12->12, addr 24->16.
  std::vector<std::tuple<uint64_t, uint64_t, uint64_t>> copies;
  for (const Op* op : ops_of(p, OpKind::kCopy))
    copies.emplace_back(op->src_off, op->dst_off, op->len);
  std::sort(copies.begin(), copies.end());
  std::vector<std::tuple<uint64_t, uint64_t, uint64_t>> want = {
      {0, 0, 4}, {4, 8, 2}, {12, 12, 4}, {24, 16, 4}};
  EXPECT_EQ(copies, want);
  const auto& notes = matcher.notes();
  EXPECT_TRUE(std::find(notes.begin(), notes.end(), "struct s: member ptr dropped") != notes.end());

  // Interior pointers follow their member; a pointer into a dropped member has nowhere to go.
  EXPECT_EQ(matcher.map_offset(l.s_old, l.s_new, false, 8), 4u);    // &var.id
  EXPECT_EQ(matcher.map_offset(l.s_old, l.s_new, false, 24), 16u);  // &var.addr
  EXPECT_EQ(matcher.map_offset(l.s_old, l.s_new, false, 5), 9u);    // &var.str[1]
  EXPECT_FALSE(matcher.map_offset(l.s_old, l.s_new, false, 16));    // &var.ptr
  EXPECT_FALSE(matcher.map_offset(l.s_old, l.s_new, false, 6));     // &var.str[2], truncated
  EXPECT_EQ(matcher.map_offset(l.s_old, l.s_new, false, 40), 32u);  // one past the end
}

TEST(TypeMatcher, IdenticalLayoutsCopyEverythingButPointers) {
  Types a, b;
  auto make = [](Types& x) {
    TypeId node = x.aggregate(TypeKind::kStruct, "struct node", 24, {});
    x.t.mutable_type(node).members = {m("value", x.i32, 0), m("next", x.ptr(node), 8),
                                      m("weight", x.i64, 16)};
    return node;
  };
  TypeId na = make(a), nb = make(b);
  Annotations ann;
  TypeMatcher matcher(a.t, b.t, ann);
  const Plan& p = matcher.get(matcher.plan(na, nb, false));
  EXPECT_FALSE(p.changed);
  ASSERT_EQ(p.ops.size(), 3u);  // [0,8) with the padding, the pointer, [16,24)
  EXPECT_EQ(p.ops[0].kind, OpKind::kCopy);
  EXPECT_EQ(p.ops[0].len, 8u);
  EXPECT_EQ(p.ops[1].kind, OpKind::kPointer);
  EXPECT_EQ(p.ops[2].kind, OpKind::kCopy);
  EXPECT_TRUE(p.has_pointers);
  TypeId plain_a =
      a.aggregate(TypeKind::kStruct, "struct plain", 8, {m("x", a.i32, 0), m("y", a.i32, 4)});
  TypeId plain_b =
      b.aggregate(TypeKind::kStruct, "struct plain", 8, {m("x", b.i32, 0), m("y", b.i32, 4)});
  const Plan& q = matcher.get(matcher.plan(plain_a, plain_b, false));
  EXPECT_TRUE(q.identical);
  EXPECT_FALSE(q.has_pointers);
}

TEST(TypeMatcher, ArraysOfStructsRepeatAnElementPlan) {
  Types a, b;
  TypeId pa = a.aggregate(TypeKind::kStruct, "struct p", 4, {m("x", a.i32, 0)});
  TypeId pb =
      b.aggregate(TypeKind::kStruct, "struct p", 16, {m("x", b.i64, 8), m("added", b.i64, 0)});
  Annotations ann;
  TypeMatcher matcher(a.t, b.t, ann);
  const Plan& p = matcher.get(matcher.plan(a.arr(pa, 100), b.arr(pb, 150), false));
  ASSERT_EQ(p.ops.size(), 1u);
  EXPECT_EQ(p.ops[0].kind, OpKind::kRepeat);
  EXPECT_EQ(p.ops[0].len, 100u);
  EXPECT_EQ(p.ops[0].src_stride, 4u);
  EXPECT_EQ(p.ops[0].dst_stride, 16u);
  const Plan& e = matcher.get(p.ops[0].sub);
  ASSERT_EQ(e.ops.size(), 1u);
  EXPECT_EQ(e.ops[0].kind, OpKind::kConvert);  // int -> long
  EXPECT_EQ(e.ops[0].dst_off, 8u);
  // &arr[7] as a struct p *: the element; as an int *: its member x, which moved.
  TypeId arr_a = a.arr(pa, 100), arr_b = b.arr(pb, 150);
  EXPECT_EQ(matcher.map_offset(arr_a, arr_b, false, 4 * 7, pa), 16u * 7);
  EXPECT_EQ(matcher.map_offset(arr_a, arr_b, false, 4 * 7, a.i32), 16u * 7 + 8);
  EXPECT_EQ(matcher.map_offset(arr_a, arr_b, false, 4 * 100, pa), 16u * 100);  // end pointer
}

TEST(TypeMatcher, UnionsWithPointersNeedAnAnnotation) {
  Types a, b;
  auto make = [](Types& x) {
    TypeId u = x.aggregate(TypeKind::kUnion, "", 8, {m("p", x.ptr(x.i32), 0), m("n", x.i64, 0)});
    return x.aggregate(TypeKind::kStruct, "struct msg", 16, {m("kind", x.i32, 0), m("u", u, 8)});
  };
  TypeId ma = make(a), mb = make(b);
  {
    Annotations ann;
    TypeMatcher matcher(a.t, b.t, ann);
    const Plan& p = matcher.get(matcher.plan(ma, mb, false));
    auto refuse = ops_of(p, OpKind::kRefuse);
    ASSERT_EQ(refuse.size(), 1u);
    EXPECT_EQ(refuse[0]->src_off, 8u);
    EXPECT_NE(p.names[refuse[0]->what].find("ambiguous union"), std::string::npos);
  }
  {
    Annotations ann;
    ann.add({2, "struct msg.u", "kind: 1=p 2=n", 0}, false);
    TypeMatcher matcher(a.t, b.t, ann);
    const Plan& p = matcher.get(matcher.plan(ma, mb, false));
    auto unions = ops_of(p, OpKind::kUnion);
    ASSERT_EQ(unions.size(), 1u);
    const UnionPlan& u = matcher.union_plan(unions[0]->sub);
    EXPECT_EQ(u.tag_delta, -8);  // the tag is 8 bytes before the union
    ASSERT_EQ(u.cases.size(), 2u);
    EXPECT_EQ(u.cases[0].first, 1);
    EXPECT_EQ(ops_of(matcher.get(u.cases[0].second), OpKind::kPointer).size(), 1u);
    EXPECT_TRUE(ops_of(p, OpKind::kRefuse).empty());
  }
}

TEST(TypeMatcher, RenamesAndSkips) {
  Types a, b;
  TypeId ea = a.aggregate(TypeKind::kStruct, "struct entry", 8,
                          {m("count", a.i32, 0), m("junk", a.i32, 4)});
  TypeId eb = b.aggregate(TypeKind::kStruct, "struct record", 8,
                          {m("hits", b.i32, 4), m("junk", b.i32, 0)});
  Annotations ann;
  ann.add({8, "struct record", "struct entry", 0}, true);
  ann.add({8, "struct record.hits", "struct entry.count", 0}, true);
  ann.add({7, "struct record.junk", "", 0}, true);
  TypeMatcher matcher(a.t, b.t, ann);
  EXPECT_EQ(matcher.counterpart(ea), eb);
  const Plan& p = matcher.get(matcher.plan(ea, eb, false));
  ASSERT_EQ(p.ops.size(), 1u);  // only hits <- count; junk is skipped
  EXPECT_EQ(p.ops[0].kind, OpKind::kCopy);
  EXPECT_EQ(p.ops[0].src_off, 0u);
  EXPECT_EQ(p.ops[0].dst_off, 4u);
  auto pe = matcher.pair_pointees(ea, eb);
  EXPECT_TRUE(pe.ok);
}

TEST(TypeMatcher, PointeePairing) {
  Types a, b;
  TypeId fa = a.aggregate(TypeKind::kStruct, "struct foo", 4, {m("x", a.i32, 0)});
  TypeId fb = b.aggregate(TypeKind::kStruct, "struct foo", 4, {m("x", b.i32, 0)});
  TypeId gb = b.aggregate(TypeKind::kStruct, "struct bar", 4, {m("x", b.i32, 0)});
  Annotations ann;
  TypeMatcher matcher(a.t, b.t, ann);
  auto same = matcher.pair_pointees(fa, fb);
  EXPECT_TRUE(same.ok);
  EXPECT_EQ(same.flags, 0);
  EXPECT_FALSE(matcher.pair_pointees(fa, gb).ok);  // struct foo * -> struct bar *
  auto weak = matcher.pair_pointees(kVoid, kVoid);
  EXPECT_TRUE(weak.ok);
  EXPECT_EQ(weak.flags, kPtrWeak);
  auto typed = matcher.pair_pointees(kVoid, fb);  // void * became struct foo *: typed by name
  EXPECT_TRUE(typed.ok);
  EXPECT_EQ(typed.src, fa);
  auto chars = matcher.pair_pointees(a.i8, b.i8);
  EXPECT_EQ(chars.flags, kPtrWeak);
  auto widened = matcher.pair_pointees(a.i16, b.i32);  // short * -> int *: elements convert
  EXPECT_TRUE(widened.ok);
  EXPECT_EQ(widened.flags, 0);
}

TEST(TypeMatcher, TypeChecksForPointerTargets) {
  Types a;
  TypeId base = a.aggregate(TypeKind::kStruct, "struct base", 8, {m("id", a.i64, 0)});
  TypeId derived = a.aggregate(TypeKind::kStruct, "struct derived", 16,
                               {m("base", base, 0), m("extra", a.i32, 8)});
  EXPECT_TRUE(TypeMatcher::holds_at(a.t, derived, 0, base));
  EXPECT_TRUE(TypeMatcher::holds_at(a.t, derived, 0, a.i64));  // derived.base.id
  EXPECT_TRUE(TypeMatcher::holds_at(a.t, derived, 8, a.i32));  // derived.extra
  EXPECT_FALSE(TypeMatcher::holds_at(a.t, derived, 8, a.i64));
  EXPECT_FALSE(TypeMatcher::holds_at(a.t, derived, 0, a.f32));
  EXPECT_TRUE(TypeMatcher::holds_at(a.t, derived, 4, a.i8));  // char views anything
  EXPECT_TRUE(TypeMatcher::holds_at(a.t, a.arr(a.i32, 10), 12, a.i32));
  EXPECT_TRUE(TypeMatcher::is_prefix_of(a.t, base, derived));
  EXPECT_FALSE(TypeMatcher::is_prefix_of(a.t, derived, base));
}

TEST(TypeMatcher, OldLayoutPlansKeepTheSourceTypes) {
  Types a, b;
  TypeId gone = a.aggregate(TypeKind::kStruct, "struct gone", 16,
                            {m("n", a.i32, 0), m("self", a.ptr(kVoid), 8)});
  Annotations ann;
  TypeMatcher matcher(a.t, b.t, ann);
  EXPECT_FALSE(matcher.counterpart(gone));
  const Plan& p = matcher.get(matcher.plan(gone, gone, true));
  EXPECT_TRUE(p.old_layout);
  EXPECT_EQ(p.dst_size, 16u);
  EXPECT_EQ(ops_of(p, OpKind::kPointer).size(), 1u);
  EXPECT_EQ(matcher.map_offset(gone, gone, true, 12), 12u);
}

}  // namespace
}  // namespace tandem::update
