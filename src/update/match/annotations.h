// Annotations: what the program declared with the macros of tandem/live.h, from both versions.
//
// Read-side kinds (union, void type, pointer in integer, tagged pointer, opaque) describe memory
// and apply to both sides by path, whichever version declared them. Write-side kinds (skip,
// rename, transform and init callbacks) come from the version being written (the destination).
// Paths: "struct T.member.member" (a member of a named type) or "var.member" / "file.c:var"
// (a variable and an optional member path). Immutable after construction.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "update/program.h"

namespace tandem::update {

enum class AnnKind : uint32_t {
  kUnion = 2,
  kVoidType = 3,
  kPtrInInt = 4,
  kTagged = 5,
  kOpaque = 6,
  kSkip = 7,
  kRename = 8,
  kTransformVar = 9,
  kTransformType = 10,
  kInitVar = 11,
  kRange = 12,
  kBackwardVar = 13,
  kBackwardType = 14,
};

struct Annotation {
  AnnKind kind;
  std::string path;
  std::string arg;
  uint64_t fn = 0;  // link-time address in the destination binary
};

struct UnionSpec {
  std::string tag;                                     // sibling member holding the tag
  std::vector<std::pair<int64_t, std::string>> cases;  // tag value -> member ("-" for none)
  std::optional<std::string> otherwise;                // "*=member"
};

class Annotations {
 public:
  Annotations() = default;
  Annotations(const Program& src, const Program& dst);

  const Annotation* find(AnnKind kind, const std::string& path) const;
  std::vector<const Annotation*> all(AnnKind kind) const;
  // The source path an annotated destination path was renamed from.
  std::optional<std::string> renamed_from(const std::string& dst_path) const;
  // Parses the TANDEM_UNION argument of path; nullopt if there is none or it is malformed.
  std::optional<UnionSpec> union_spec(const std::string& path) const;
  // True if some annotation path starts with prefix ("struct T." ...).
  bool mentions(const std::string& prefix) const;
  const std::vector<std::string>& errors() const { return errors_; }
  // The annotations of the backward transfer (validation): from the new version's state back into
  // the old one. Read-side kinds of both; the new version's skips, its renames inverted, and its
  // backward callbacks.
  static Annotations backward(const Program& new_program, const Program& old_program);
  // The same without any callback (transform, init, backward).
  Annotations without_callbacks() const;
  // Adds one annotation as if the source (from_dst = false) or destination binary declared it.
  void add(const RawAnnotation& raw, bool from_dst);

 private:
  std::multimap<std::string, Annotation> by_path_;
  std::vector<std::string> errors_;
};

// Splits "file.c:var.member.sub" into the variable key and the member chain.
std::pair<std::string, std::string> split_variable_path(const std::string& path);

}  // namespace tandem::update
