// Conversion of one primitive value between two types, with the precision-loss check: integers
// widen freely and narrow only when the value fits; signedness changes only when the value is
// representable; floats narrow only when the value survives the round trip; int <-> float only
// when exact; enums convert by enumerator name (a value that names no enumerator, e.g. a flag
// combination, keeps its number); bit-fields read and write only their bits.
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "update/dwarf/types.h"

namespace tandem::update {

struct ScalarPlace {
  uint64_t offset = 0;  // bytes from the buffer start
  uint16_t bit_offset = 0;
  uint16_t bits = 0;  // 0: the whole type
};

// Converts the value at `from` (type st of table a) into `to` (type dt of table b).
// Returns an error message on precision loss or impossibility; the destination is untouched then.
std::optional<std::string> convert_scalar(const TypeTable& a, TypeId st, const uint8_t* src,
                                          ScalarPlace from, const TypeTable& b, TypeId dt,
                                          uint8_t* dst, ScalarPlace to);

}  // namespace tandem::update
