#include "update/match/annotations.h"

#include <sstream>

namespace tandem::update {

namespace {

bool is_write_side(AnnKind k) {
  return k == AnnKind::kSkip || k == AnnKind::kRename || k == AnnKind::kTransformVar ||
         k == AnnKind::kTransformType || k == AnnKind::kInitVar || k == AnnKind::kBackwardVar ||
         k == AnnKind::kBackwardType;
}

std::string trim(std::string s) {
  while (!s.empty() && s.back() == ' ') s.pop_back();
  size_t i = 0;
  while (i < s.size() && s[i] == ' ') i++;
  return s.substr(i);
}

}  // namespace

std::pair<std::string, std::string> split_variable_path(const std::string& path) {
  size_t colon = path.rfind(':');
  size_t dot = path.find('.', colon == std::string::npos ? 0 : colon);
  if (dot == std::string::npos) return {path, ""};
  return {path.substr(0, dot), path.substr(dot + 1)};
}

Annotations::Annotations(const Program& src, const Program& dst) {
  for (const auto& raw : src.annotations())
    if (!is_write_side(static_cast<AnnKind>(raw.kind))) add(raw, false);
  // The destination's backward callbacks convert back to its predecessor: the validation's
  // (Annotations::backward), never a forward transfer's.
  for (const auto& raw : dst.annotations()) {
    auto kind = static_cast<AnnKind>(raw.kind);
    if (kind != AnnKind::kBackwardVar && kind != AnnKind::kBackwardType) add(raw, true);
  }
}

Annotations Annotations::backward(const Program& new_program, const Program& old_program) {
  Annotations a;
  for (const auto* p : {&new_program, &old_program})
    for (const auto& raw : p->annotations())
      if (!is_write_side(static_cast<AnnKind>(raw.kind))) a.add(raw, false);
  for (const auto& raw : new_program.annotations()) {
    auto kind = static_cast<AnnKind>(raw.kind);
    if (kind == AnnKind::kRename) {
      RawAnnotation inverted = raw;
      inverted.path = raw.arg;
      inverted.arg = raw.path;
      a.add(inverted, true);
    } else if (kind == AnnKind::kSkip || kind == AnnKind::kBackwardVar ||
               kind == AnnKind::kBackwardType) {
      a.add(raw, true);
    }
  }
  return a;
}

Annotations Annotations::without_callbacks() const {
  Annotations a = *this;
  for (auto it = a.by_path_.begin(); it != a.by_path_.end();) {
    AnnKind k = it->second.kind;
    bool callback = k == AnnKind::kTransformVar || k == AnnKind::kTransformType ||
                    k == AnnKind::kInitVar || k == AnnKind::kBackwardVar ||
                    k == AnnKind::kBackwardType;
    it = callback ? a.by_path_.erase(it) : std::next(it);
  }
  return a;
}

void Annotations::add(const RawAnnotation& raw, bool from_dst) {
  auto kind = static_cast<AnnKind>(raw.kind);
  if (raw.kind < static_cast<uint32_t>(AnnKind::kUnion) ||
      raw.kind > static_cast<uint32_t>(AnnKind::kBackwardType)) {
    errors_.push_back("unknown annotation kind " + std::to_string(raw.kind) + " on " + raw.path);
    return;
  }
  std::string path = trim(raw.path);
  // The same read-side annotation declared by both versions counts once.
  auto range = by_path_.equal_range(path);
  for (auto it = range.first; it != range.second; ++it)
    if (it->second.kind == kind && it->second.arg == raw.arg && !is_write_side(kind)) return;
  by_path_.emplace(path, Annotation{kind, path, trim(raw.arg), from_dst ? raw.fn : 0});
}

const Annotation* Annotations::find(AnnKind kind, const std::string& path) const {
  auto range = by_path_.equal_range(path);
  for (auto it = range.first; it != range.second; ++it)
    if (it->second.kind == kind) return &it->second;
  return nullptr;
}

std::vector<const Annotation*> Annotations::all(AnnKind kind) const {
  std::vector<const Annotation*> out;
  for (const auto& [path, a] : by_path_)
    if (a.kind == kind) out.push_back(&a);
  return out;
}

std::optional<std::string> Annotations::renamed_from(const std::string& dst_path) const {
  const Annotation* a = find(AnnKind::kRename, dst_path);
  if (a == nullptr) return std::nullopt;
  return a->arg;
}

bool Annotations::mentions(const std::string& prefix) const {
  auto it = by_path_.lower_bound(prefix);
  return it != by_path_.end() && it->first.compare(0, prefix.size(), prefix) == 0;
}

std::optional<UnionSpec> Annotations::union_spec(const std::string& path) const {
  const Annotation* a = find(AnnKind::kUnion, path);
  if (a == nullptr) return std::nullopt;
  UnionSpec spec;
  size_t colon = a->arg.find(':');
  if (colon == std::string::npos) return std::nullopt;
  spec.tag = trim(a->arg.substr(0, colon));
  std::istringstream cases(a->arg.substr(colon + 1));
  std::string item;
  while (cases >> item) {
    size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == item.size()) return std::nullopt;
    std::string key = item.substr(0, eq), member = item.substr(eq + 1);
    if (key == "*") {
      spec.otherwise = member;
      continue;
    }
    char* end = nullptr;
    long long value = std::strtoll(key.c_str(), &end, 0);
    if (end == nullptr || *end != 0) return std::nullopt;
    spec.cases.emplace_back(value, member);
  }
  if (spec.tag.empty() || (spec.cases.empty() && !spec.otherwise)) return std::nullopt;
  return spec;
}

}  // namespace tandem::update
