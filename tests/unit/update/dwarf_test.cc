// The DWARF/ELF readers on binaries compiled by the build (tests/unit/update/fixtures):
// variable keys, types, locations, allocation-site keys across a recompile, and the refusals
// (no debug info, LTO) and findings (symbols without debug info) of Program.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "update/program.h"

namespace tandem::update {
namespace {

const std::string kDir = UPDATE_FIXTURE_DIR;

std::shared_ptr<Program> load(const std::string& name) {
  auto p = Program::load(kDir + "/" + name);
  EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.failure().message);
  return p.ok() ? *p : nullptr;
}

const Member* member(const Type& t, const std::string& name) {
  for (const Member& m : t.members)
    if (m.name == name) return &m;
  return nullptr;
}

TEST(DebugInfo, VariablesHaveVersionIndependentKeys) {
  auto p = load("update_fixture");
  ASSERT_TRUE(p);
  const DebugInfo& d = p->debug();
  ASSERT_NE(d.variable("head"), nullptr);                   // external
  ASSERT_NE(d.variable("fixture.c:pairs"), nullptr);        // file-scope static
  ASSERT_NE(d.variable("fixture.c:count:calls"), nullptr);  // static local
  EXPECT_EQ(d.variable("pairs"), nullptr);
  const Variable* tls = d.variable("per_thread");
  ASSERT_NE(tls, nullptr);
  EXPECT_TRUE(tls->tls);
  // Every variable with an address matches its symbol.
  const Variable* head = d.variable("head");
  const ElfSymbol* sym = p->elf().symbol("head");
  ASSERT_NE(sym, nullptr);
  EXPECT_EQ(head->addr, sym->value);
  EXPECT_EQ(head->size, 8u);
  EXPECT_TRUE(p->is_state_address(head->addr));
  // const data is not state.
  const Variable* limit = d.variable("limit");
  ASSERT_NE(limit, nullptr);
  EXPECT_FALSE(p->is_state_address(limit->addr));
  EXPECT_FALSE(d.built_with_lto());
}

TEST(DebugInfo, TypesDescribeLayouts) {
  auto p = load("update_fixture");
  ASSERT_TRUE(p);
  const TypeTable& t = p->types();
  auto node_id = t.find("struct node");
  ASSERT_TRUE(node_id);
  const Type& node = t[*node_id];
  EXPECT_EQ(node.kind, TypeKind::kStruct);
  EXPECT_EQ(node.size, 24u);
  const Member* next = member(node, "next");
  ASSERT_NE(next, nullptr);
  EXPECT_EQ(next->offset, 0u);
  EXPECT_EQ(t[next->type].kind, TypeKind::kPointer);
  EXPECT_EQ(t.resolved(t[next->type].target), *node_id);  // self-reference
  const Member* flag = member(node, "flag");
  const Member* other = member(node, "other");
  ASSERT_TRUE(flag && other);
  EXPECT_EQ(flag->bit_size, 3);
  EXPECT_EQ(other->bit_size, 5);
  EXPECT_EQ(other->offset * 8 + other->bit_offset, flag->offset * 8 + flag->bit_offset + 3);
  EXPECT_EQ(member(node, "name")->offset, 13u);  // right after the bit-fields' byte
  EXPECT_TRUE(t.has_pointers(*node_id));

  const Variable* pairs = p->debug().variable("fixture.c:pairs");
  const Type& arr = t[t.resolved(pairs->type)];
  ASSERT_EQ(arr.kind, TypeKind::kArray);
  EXPECT_EQ(arr.count, 4u);
  EXPECT_EQ(t[t.resolved(arr.target)].name, "pair_t");  // anonymous struct named by typedef
  EXPECT_EQ(t[t.resolved(arr.target)].size, 16u);
  EXPECT_FALSE(t.has_pointers(pairs->type));

  const Type& grid = t[t.resolved(p->debug().variable("grid")->type)];
  ASSERT_EQ(grid.kind, TypeKind::kArray);
  EXPECT_EQ(grid.count, 2u);
  EXPECT_EQ(t[grid.target].kind, TypeKind::kArray);
  EXPECT_EQ(t[grid.target].count, 3u);
  EXPECT_EQ(grid.size, 24u);

  const Type& lvl = t[t.resolved(p->debug().variable("lvl")->type)];
  ASSERT_EQ(lvl.kind, TypeKind::kEnum);
  ASSERT_EQ(lvl.enumerators.size(), 3u);
  EXPECT_EQ(lvl.enumerators[1].name, "MID");
  EXPECT_EQ(lvl.enumerators[1].value, 5);

  const Type& number = t[t.resolved(p->debug().variable("num")->type)];
  EXPECT_EQ(number.kind, TypeKind::kUnion);
  EXPECT_EQ(number.members.size(), 2u);

  auto buffer = t.find("struct buffer");
  ASSERT_TRUE(buffer);
  const Member* data = member(t[*buffer], "data");
  ASSERT_NE(data, nullptr);
  EXPECT_TRUE(t[t.resolved(data->type)].flexible);
  EXPECT_EQ(data->offset, 8u);
}

TEST(AllocSites, KeysSurviveARecompileThatMovesCode) {
  auto a = load("update_fixture");
  auto b = load("update_fixture_shifted");
  ASSERT_TRUE(a && b);
  const ElfSymbol* make_a = a->elf().symbol("make");
  const ElfSymbol* make_b = b->elf().symbol("make");
  ASSERT_TRUE(make_a && make_b);
  EXPECT_NE(make_a->value, make_b->value);  // the code moved
  const auto& calls_a = a->sites().calls_in(*make_a);
  const auto& calls_b = b->sites().calls_in(*make_b);
  ASSERT_EQ(calls_a.size(), 2u);  // malloc(sizeof *n), malloc(16)
  ASSERT_EQ(calls_b.size(), 2u);
  for (int i = 0; i < 2; i++) {
    auto key = a->sites().key_of(calls_a[i]);
    ASSERT_TRUE(key);
    EXPECT_EQ(key->function, "make");
    EXPECT_EQ(key->ordinal, i);
    EXPECT_EQ(key->str(), "make#" + std::to_string(i));
    auto there = b->sites().address_of(*key);
    ASSERT_TRUE(there);
    EXPECT_EQ(*there, calls_b[i]);
  }
  // main calls calloc once; its key is qualified by nothing (main is global).
  const ElfSymbol* main_a = a->elf().symbol("main");
  ASSERT_EQ(a->sites().calls_in(*main_a).size(), 1u);
  // An address that is not an allocation call has no ordinal.
  auto inside = a->sites().key_of(make_a->value + 1);
  ASSERT_TRUE(inside);
  EXPECT_EQ(inside->ordinal, -1);
  EXPECT_FALSE(b->sites().address_of(*inside));
}

TEST(Program, RefusesBinariesWithoutDebugInfo) {
  auto p = Program::load(kDir + "/update_fixture_stripped");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.failure().kind, FailureKind::kNoDebugInfo);
  EXPECT_NE(p.failure().message.find("-g -fno-lto"), std::string::npos);
}

TEST(Program, RefusesBinariesWhoseOnlyDebugInfoIsTheRuntimes) {
  auto p = Program::load(kDir + "/update_fixture_runtime_only");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.failure().kind, FailureKind::kNoDebugInfo);
  EXPECT_NE(p.failure().message.find("only for the tandem-live runtime"), std::string::npos);
}

TEST(Program, RefusesLtoBuilds) {
  auto p = Program::load(kDir + "/update_fixture_lto");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.failure().kind, FailureKind::kNoDebugInfo);
  EXPECT_NE(p.failure().message.find("-flto"), std::string::npos);
}

TEST(Program, ReportsStateWithoutDebugInfo) {
  auto p = load("update_fixture_mixed");
  ASSERT_TRUE(p);
  const auto& w = p->warnings();
  EXPECT_TRUE(std::any_of(w.begin(), w.end(), [](const std::string& s) {
    return s.find("hidden_counter (4 bytes) has no debug info") != std::string::npos;
  })) << (w.empty() ? "no warnings" : w.front());
  // Variables that do have debug info are not reported.
  EXPECT_FALSE(std::any_of(w.begin(), w.end(), [](const std::string& s) {
    return s.find("head") != std::string::npos;
  }));
}

TEST(Program, RejectsWhatIsNotAnElfExecutable) {
  auto p = Program::load(kDir + "/does-not-exist");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.failure().kind, FailureKind::kBadBinary);
  auto q = Program::load(std::string(UPDATE_SOURCE_DIR) + "/dwarf_test.cc");
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(q.failure().kind, FailureKind::kBadBinary);
}

}  // namespace
}  // namespace tandem::update
