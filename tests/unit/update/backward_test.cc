// Pieces of the validation (time-traveling state transfer) that need no process: the bytes a plan
// writes (what the way back may leave to its callbacks' judgement), the discovery of pointers in
// the elements an update truncates when a converter runs, and annotation sets without callbacks.
#include <gtest/gtest.h>

#include "update/match/annotations.h"
#include "update/match/plan.h"
#include "update/transfer/engine_impl.h"

namespace tandem::update {
namespace {

struct Types {
  TypeTable t;
  TypeId i16 = t.int_type("short int", 2, true);
  TypeId i32 = t.int_type("int", 4, true);
  TypeId i64 = t.int_type("long int", 8, true);
  TypeId aggregate(const std::string& name, uint64_t size, std::vector<Member> members) {
    Type x;
    x.kind = TypeKind::kStruct;
    x.name = name;
    x.size = size;
    x.members = std::move(members);
    TypeId id = t.add(x);
    t.index_name(id);
    return id;
  }
};

// struct s { int a; short b; long c; } -> struct s { long c; int a; } (b dropped, moved, padding).
TEST(WriteMask, CoversWrittenMembersOnly) {
  Types o, n;
  TypeId so = o.aggregate("struct s", 16, {{"a", o.i32, 0}, {"b", o.i16, 4}, {"c", o.i64, 8}});
  TypeId sn = n.aggregate("struct s", 16, {{"c", n.i64, 0}, {"a", n.i32, 8}});
  Annotations none;
  TypeMatcher m(o.t, n.t, none);
  uint32_t plan = m.plan(so, sn, false);
  std::vector<uint8_t> mask = plan_write_mask(m, plan);
  ASSERT_EQ(mask.size(), 16u);
  for (int i = 0; i < 8; i++) EXPECT_EQ(mask[i], 1) << i;        // c
  for (int i = 8; i < 12; i++) EXPECT_EQ(mask[i], 1) << i;       // a
  for (int i = 12; i < 16; i++) EXPECT_EQ(mask[i], 0) << i;      // padding: never written
}

// A converter for the enclosing variable makes the pointers of truncated elements discovered
// (not written): the objects they reach are still transferred, for the converter to use.
TEST(Discovery, TruncatedElementsAreDiscoveredForConverters) {
  Types o, n;
  TypeId node_o = o.aggregate("struct node", 8, {{"v", o.i64, 0}});
  TypeId node_n = n.aggregate("struct node", 8, {{"v", n.i64, 0}});
  TypeId table_o = o.aggregate("struct table", 64, {{"b", o.t.array_of(o.t.pointer_to(node_o), 8), 0}});
  TypeId table_n = n.aggregate("struct table", 32, {{"b", n.t.array_of(n.t.pointer_to(node_n), 4), 0}});
  (void)node_n;
  Annotations plain;
  TypeMatcher m1(o.t, n.t, plain);
  const Plan& p1 = m1.get(m1.plan(table_o, table_n, false, "t.c:table"));
  int discovered = 0;
  for (const Op& op : p1.ops) discovered += op.kind == OpKind::kPointer && (op.flags & kPtrNoWrite);
  EXPECT_EQ(discovered, 0);

  Annotations conv;
  conv.add(RawAnnotation{static_cast<uint32_t>(AnnKind::kBackwardVar), "t.c:table", "", 0x10},
           true);
  TypeMatcher m2(o.t, n.t, conv);
  const Plan& p2 = m2.get(m2.plan(table_o, table_n, false, "t.c:table"));
  discovered = 0;
  for (const Op& op : p2.ops) discovered += op.kind == OpKind::kPointer && (op.flags & kPtrNoWrite);
  EXPECT_EQ(discovered, 4);  // elements 4..7
}

TEST(Annotations, WithoutCallbacksKeepsDescriptions) {
  Annotations a;
  a.add({static_cast<uint32_t>(AnnKind::kOpaque), "struct s.blob", "", 0}, false);
  a.add({static_cast<uint32_t>(AnnKind::kTransformType), "struct s", "", 0x10}, true);
  a.add({static_cast<uint32_t>(AnnKind::kBackwardType), "struct s", "", 0x20}, true);
  a.add({static_cast<uint32_t>(AnnKind::kBackwardVar), "v", "", 0x30}, true);
  Annotations b = a.without_callbacks();
  EXPECT_NE(b.find(AnnKind::kOpaque, "struct s.blob"), nullptr);
  EXPECT_EQ(b.find(AnnKind::kTransformType, "struct s"), nullptr);
  EXPECT_EQ(b.find(AnnKind::kBackwardType, "struct s"), nullptr);
  EXPECT_EQ(b.find(AnnKind::kBackwardVar, "v"), nullptr);
  EXPECT_NE(a.find(AnnKind::kBackwardType, "struct s"), nullptr);  // the original is unchanged
}

}  // namespace
}  // namespace tandem::update
