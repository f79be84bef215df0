// Primitive conversions with the precision-loss check.
#include "update/transfer/scalar.h"

#include <gtest/gtest.h>

#include <cstring>

namespace tandem::update {
namespace {

struct Prims {
  TypeTable t;
  TypeId u8 = t.int_type("unsigned char", 1, false);
  TypeId i16 = t.int_type("short int", 2, true);
  TypeId i32 = t.int_type("int", 4, true);
  TypeId u32 = t.int_type("unsigned int", 4, false);
  TypeId i64 = t.int_type("long int", 8, true);
  TypeId f32 = add(TypeKind::kFloat, "float", 4);
  TypeId f64 = add(TypeKind::kFloat, "double", 8);
  TypeId b = add(TypeKind::kBool, "_Bool", 1);
  TypeId add(TypeKind k, const char* name, uint64_t size) {
    Type x;
    x.kind = k;
    x.name = name;
    x.size = size;
    x.is_signed = k == TypeKind::kFloat;
    return t.add(x);
  }
  TypeId enumeration(const char* name, std::vector<Enumerator> values) {
    Type x;
    x.kind = TypeKind::kEnum;
    x.name = name;
    x.size = 4;
    x.enumerators = std::move(values);
    return t.add(x);
  }
};

template <typename From, typename To>
std::optional<std::string> convert(Prims& p, TypeId st, From from, TypeId dt, To* to) {
  uint8_t src[16] = {}, dst[16] = {};
  std::memcpy(src, &from, sizeof from);
  auto err = convert_scalar(p.t, st, src, {}, p.t, dt, dst, {});
  std::memcpy(to, dst, sizeof *to);
  return err;
}

TEST(Scalar, WidensAndNarrowsWithChecks) {
  Prims p;
  int64_t wide = 0;
  EXPECT_FALSE(convert(p, p.i16, int16_t{-1234}, p.i64, &wide));
  EXPECT_EQ(wide, -1234);
  uint8_t small = 0;
  EXPECT_FALSE(convert(p, p.i32, int32_t{255}, p.u8, &small));
  EXPECT_EQ(small, 255);
  auto err = convert(p, p.i32, int32_t{300}, p.u8, &small);
  ASSERT_TRUE(err);
  EXPECT_EQ(*err, "value 300 does not fit in 8 bits");
  EXPECT_TRUE(convert(p, p.i32, int32_t{-1}, p.u32, &wide));  // sign lost
  uint32_t u = 0;
  EXPECT_FALSE(convert(p, p.i64, int64_t{4000000000}, p.u32, &u));
  EXPECT_EQ(u, 4000000000u);
  int32_t i = 0;
  EXPECT_TRUE(convert(p, p.u32, uint32_t{4000000000}, p.i32, &i));
}

TEST(Scalar, FloatsAndIntegers) {
  Prims p;
  double d = 0;
  EXPECT_FALSE(convert(p, p.f32, 1.5f, p.f64, &d));
  EXPECT_EQ(d, 1.5);
  float f = 0;
  EXPECT_FALSE(convert(p, p.f64, 0.25, p.f32, &f));
  EXPECT_EQ(f, 0.25f);
  EXPECT_TRUE(convert(p, p.f64, 0.1, p.f32, &f));  // 0.1 is not a float
  int64_t n = 0;
  EXPECT_FALSE(convert(p, p.f64, 42.0, p.i64, &n));
  EXPECT_EQ(n, 42);
  EXPECT_TRUE(convert(p, p.f64, 42.5, p.i64, &n));
  EXPECT_FALSE(convert(p, p.i32, int32_t{16777216}, p.f32, &f));
  EXPECT_TRUE(convert(p, p.i32, int32_t{16777217}, p.f32, &f));  // needs 25 bits of mantissa
  uint8_t flag = 7;
  EXPECT_FALSE(convert(p, p.i32, int32_t{5}, p.b, &flag));
  EXPECT_EQ(flag, 1);
}

TEST(Scalar, EnumsByName) {
  Prims p;
  TypeId old_e = p.enumeration("enum color", {{"RED", 1}, {"GREEN", 2}, {"GONE", 3}});
  TypeId new_e = p.enumeration("enum color", {{"BLUE", 1}, {"RED", 5}, {"GREEN", 7}});
  int32_t v = 0;
  EXPECT_FALSE(convert(p, old_e, int32_t{2}, new_e, &v));
  EXPECT_EQ(v, 7);
  EXPECT_FALSE(convert(p, old_e, int32_t{1}, new_e, &v));
  EXPECT_EQ(v, 5);
  auto err = convert(p, old_e, int32_t{3}, new_e, &v);
  ASSERT_TRUE(err);
  EXPECT_NE(err->find("GONE no longer exists"), std::string::npos);
  EXPECT_FALSE(convert(p, old_e, int32_t{12}, new_e, &v));  // a flag combination: kept
  EXPECT_EQ(v, 12);
}

TEST(Scalar, BitFields) {
  Prims p;
  // Source: 5-bit field at bit 3 of byte 0 holding 17, neighbours set to ones.
  uint8_t src[4] = {static_cast<uint8_t>(0x07 | (17 << 3)), 0xff, 0, 0};
  uint8_t dst[4] = {0xff, 0xff, 0xff, 0xff};
  EXPECT_FALSE(convert_scalar(p.t, p.u32, src, {0, 3, 5}, p.t, p.u32, dst, {1, 2, 7}));
  // Destination: 7 bits at bit 2 of byte 1; the other bits are untouched.
  EXPECT_EQ(dst[0], 0xff);
  EXPECT_EQ((dst[1] >> 2) & 0x7f, 17);
  EXPECT_EQ(dst[1] & 0x3, 0x3);
  auto err = convert_scalar(p.t, p.u32, src, {0, 3, 5}, p.t, p.u32, dst, {0, 0, 4});
  ASSERT_TRUE(err);  // 17 needs 5 bits
  // Signed bit-fields sign-extend.
  uint8_t neg[1] = {0x1f};  // -1 in 5 bits
  int32_t out = 0;
  uint8_t o[4] = {};
  EXPECT_FALSE(convert_scalar(p.t, p.i32, neg, {0, 0, 5}, p.t, p.i32, o, {}));
  std::memcpy(&out, o, 4);
  EXPECT_EQ(out, -1);
}

}  // namespace
}  // namespace tandem::update
