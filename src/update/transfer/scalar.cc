#include "update/transfer/scalar.h"

#include <cmath>
#include <cstring>
#include <limits>

namespace tandem::update {

namespace {

struct Value {
  bool is_float = false;
  bool negative = false;  // for integers: the value is below zero (then `i` holds it)
  int64_t i = 0;
  uint64_t u = 0;  // integers: the value when not negative
  long double f = 0;
};

uint64_t load_bits(const uint8_t* p, ScalarPlace at, uint64_t size) {
  uint64_t raw = 0;
  if (at.bits == 0) {
    std::memcpy(&raw, p + at.offset, size);
    return raw;
  }
  size_t bytes = (at.bit_offset + at.bits + 7) / 8;
  std::memcpy(&raw, p + at.offset, bytes);
  raw >>= at.bit_offset;
  return at.bits >= 64 ? raw : raw & ((1ull << at.bits) - 1);
}

void store_bits(uint8_t* p, ScalarPlace at, uint64_t size, uint64_t v) {
  if (at.bits == 0) {
    std::memcpy(p + at.offset, &v, size);
    return;
  }
  size_t bytes = (at.bit_offset + at.bits + 7) / 8;
  uint64_t raw = 0;
  std::memcpy(&raw, p + at.offset, bytes);
  uint64_t mask = (at.bits >= 64 ? ~0ull : ((1ull << at.bits) - 1)) << at.bit_offset;
  raw = (raw & ~mask) | ((v << at.bit_offset) & mask);
  std::memcpy(p + at.offset, &raw, bytes);
}

Value read(const Type& t, const uint8_t* p, ScalarPlace at) {
  Value v;
  uint64_t width = at.bits ? at.bits : t.size * 8;
  uint64_t raw = load_bits(p, at, t.size);
  if (t.kind == TypeKind::kFloat) {
    v.is_float = true;
    if (t.size == 4) {
      float f;
      std::memcpy(&f, &raw, 4);
      v.f = f;
    } else {
      double d;
      std::memcpy(&d, &raw, 8);
      v.f = d;
    }
    return v;
  }
  if (t.kind == TypeKind::kBool) {
    v.u = raw != 0;
    return v;
  }
  if (t.is_signed && width < 64 && (raw >> (width - 1)) & 1) raw |= ~0ull << width;
  if (t.is_signed && static_cast<int64_t>(raw) < 0) {
    v.negative = true;
    v.i = static_cast<int64_t>(raw);
  } else {
    v.u = raw;
  }
  return v;
}

std::string show(const Value& v) {
  if (v.is_float) return std::to_string(static_cast<double>(v.f));
  return v.negative ? std::to_string(v.i) : std::to_string(v.u);
}

}  // namespace

std::optional<std::string> convert_scalar(const TypeTable& a, TypeId st, const uint8_t* src,
                                          ScalarPlace from, const TypeTable& b, TypeId dt,
                                          uint8_t* dst, ScalarPlace to) {
  const Type& S = a[a.resolved(st)];
  const Type& D = b[b.resolved(dt)];
  Value v = read(S, src, from);
  // Enums: by enumerator name.
  if (S.kind == TypeKind::kEnum && D.kind == TypeKind::kEnum && !v.is_float) {
    int64_t value = v.negative ? v.i : static_cast<int64_t>(v.u);
    for (const auto& e : S.enumerators) {
      if (e.value != value) continue;
      for (const auto& f : D.enumerators) {
        if (f.name == e.name) {
          v.negative = f.value < 0;
          v.i = f.value;
          v.u = static_cast<uint64_t>(f.value);
          goto write;
        }
      }
      return "enumerator " + e.name + " no longer exists in " + D.name;
    }
  }
write:
  if (D.kind == TypeKind::kFloat) {
    long double f = v.is_float ? v.f : (v.negative ? static_cast<long double>(v.i) : v.u);
    if (D.size == 4) {
      float x = static_cast<float>(f);
      if (!std::isnan(static_cast<double>(f)) && static_cast<long double>(x) != f)
        return "value " + show(v) + " loses precision as float";
      uint32_t raw;
      std::memcpy(&raw, &x, 4);
      store_bits(dst, to, 4, raw);
    } else {
      double x = static_cast<double>(f);
      if (!std::isnan(x) && static_cast<long double>(x) != f)
        return "value " + show(v) + " loses precision as double";
      uint64_t raw;
      std::memcpy(&raw, &x, 8);
      store_bits(dst, to, 8, raw);
    }
    return std::nullopt;
  }
  if (v.is_float) {
    if (std::isnan(static_cast<double>(v.f)) || v.f != std::trunc(v.f))
      return "value " + show(v) + " is not an integer";
    if (v.f < 0) {
      v.negative = true;
      if (v.f < static_cast<long double>(std::numeric_limits<int64_t>::min()))
        return "value " + show(v) + " does not fit";
      v.i = static_cast<int64_t>(v.f);
    } else {
      if (v.f > static_cast<long double>(std::numeric_limits<uint64_t>::max()))
        return "value " + show(v) + " does not fit";
      v.u = static_cast<uint64_t>(v.f);
    }
  }
  if (D.kind == TypeKind::kBool) {
    store_bits(dst, to, D.size, (v.negative || v.u) ? 1 : 0);
    return std::nullopt;
  }
  uint64_t width = to.bits ? to.bits : D.size * 8;
  if (v.negative) {
    if (!D.is_signed) return "negative value " + show(v) + " does not fit in " + b.describe(dt);
    int64_t min = width >= 64 ? std::numeric_limits<int64_t>::min() : -(int64_t{1} << (width - 1));
    if (v.i < min)
      return "value " + show(v) + " does not fit in " + std::to_string(width) + " bits";
    store_bits(dst, to, D.size,
               static_cast<uint64_t>(v.i) & (width >= 64 ? ~0ull : (1ull << width) - 1));
    return std::nullopt;
  }
  uint64_t max = D.is_signed
                     ? (width >= 64 ? static_cast<uint64_t>(std::numeric_limits<int64_t>::max())
                                    : (1ull << (width - 1)) - 1)
                     : (width >= 64 ? ~0ull : (1ull << width) - 1);
  if (v.u > max) return "value " + show(v) + " does not fit in " + std::to_string(width) + " bits";
  store_bits(dst, to, D.size, v.u);
  return std::nullopt;
}

}  // namespace tandem::update
