#include "update/match/plan.h"

#include <algorithm>

namespace tandem::update {

namespace {

bool is_primitive(TypeKind k) {
  return k == TypeKind::kInt || k == TypeKind::kBool || k == TypeKind::kFloat ||
         k == TypeKind::kEnum;
}

std::string member_name(const std::string& path) {
  size_t dot = path.rfind('.');
  return dot == std::string::npos ? path : path.substr(dot + 1);
}

// Two types of one table are the same for pointer-type checks: identical, same named aggregate,
// same-size integers (signedness aside), or both pointers.
bool same_in_table(const TypeTable& t, TypeId a, TypeId b) {
  a = t.resolved(a);
  b = t.resolved(b);
  if (a == b) return true;
  const Type& x = t[a];
  const Type& y = t[b];
  if (x.kind != y.kind) {
    bool ints = (x.kind == TypeKind::kInt || x.kind == TypeKind::kEnum) &&
                (y.kind == TypeKind::kInt || y.kind == TypeKind::kEnum);
    return ints && x.size == y.size;
  }
  switch (x.kind) {
    case TypeKind::kStruct:
    case TypeKind::kUnion:
      return !x.name.empty() && x.name == y.name;
    case TypeKind::kPointer:
      return true;
    case TypeKind::kArray:
      return x.count == y.count && same_in_table(t, x.target, y.target);
    default:
      return x.size == y.size;
  }
}

}  // namespace

TypeMatcher::TypeMatcher(const TypeTable& src, const TypeTable& dst, const Annotations& annotations)
    : src_(src), dst_(dst), ann_(annotations) {}

void TypeMatcher::note(const std::string& s) {
  if (noted_.emplace(s, true).second) notes_.push_back(s);
}

uint32_t TypeMatcher::name(Plan& p, const std::string& s) {
  if (!p.names.empty() && p.names.back() == s) return static_cast<uint32_t>(p.names.size() - 1);
  p.names.push_back(s);
  return static_cast<uint32_t>(p.names.size() - 1);
}

const Annotation* TypeMatcher::annotation(AnnKind kind, const Ctx& ctx) const {
  if (!ctx.type_path.empty())
    if (const Annotation* a = ann_.find(kind, ctx.type_path)) return a;
  if (!ctx.var_path.empty()) return ann_.find(kind, ctx.var_path);
  return nullptr;
}

std::optional<TypeId> TypeMatcher::named(const TypeTable& table, const std::string& n) const {
  return table.find(n);
}

bool TypeMatcher::is_weak(const TypeTable& table, TypeId pointee) const {
  const Type& t = table[table.resolved(pointee)];
  return t.kind == TypeKind::kVoid || t.is_char || t.incomplete ||
         (t.kind == TypeKind::kStruct && t.size == 0);
}

bool TypeMatcher::same_name(TypeId s, TypeId d, const TypeTable& dt) const {
  const Type& S = src_[s];
  const Type& D = dt[d];
  if (!S.name.empty() && S.name == D.name) return true;
  if (&dt == &dst_ && !D.name.empty()) {
    auto from = ann_.renamed_from(D.name);
    return from && *from == S.name;
  }
  return S.name.empty() && D.name.empty();
}

std::optional<TypeId> TypeMatcher::counterpart(TypeId s) const {
  s = src_.resolved(s);
  const Type& S = src_[s];
  if (S.kind == TypeKind::kPointer) {
    auto t = counterpart(S.target);
    return t ? std::optional<TypeId>(const_cast<TypeTable&>(dst_).pointer_to(*t)) : std::nullopt;
  }
  if (S.name.empty()) return std::nullopt;
  for (const Annotation* a : ann_.all(AnnKind::kRename))
    if (a->arg == S.name)
      if (auto t = dst_.find(a->path)) return t;
  return dst_.find(S.name);
}

TypeMatcher::Pointee TypeMatcher::pair_pointees(TypeId st, TypeId dtarget) const {
  Pointee pe;
  TypeId s = src_.resolved(st);
  TypeId d = dst_.resolved(dtarget);
  const Type& S = src_[s];
  const Type& D = dst_[d];
  if (S.kind == TypeKind::kFunction || D.kind == TypeKind::kFunction) {
    pe.flags = kPtrFunction;
    pe.ok = (S.kind == TypeKind::kFunction || S.kind == TypeKind::kVoid) &&
            (D.kind == TypeKind::kFunction || D.kind == TypeKind::kVoid);
    return pe;
  }
  bool sweak = is_weak(src_, s), dweak = is_weak(dst_, d);
  if (sweak && !dweak && !D.name.empty()) {
    // void* in the old version, a typed pointer in the new one: type the target by name.
    if (auto back = src_.find(D.name)) return {*back, d, 0, true};
  }
  if (sweak) {
    pe.src = s;
    pe.dst = dweak ? d : kVoid;
    pe.flags = kPtrWeak;
    return pe;
  }
  if (dweak) {
    if (auto c = counterpart(s)) return {s, *c, 0, true};
    return {s, s, kPtrOldLayout, true};
  }
  if (is_primitive(S.kind) && is_primitive(D.kind)) return {s, d, 0, true};
  if (S.kind == TypeKind::kPointer && D.kind == TypeKind::kPointer) return {s, d, 0, true};
  if (same_name(s, d, dst_) && S.kind == D.kind) return {s, d, 0, true};
  pe.src = s;
  pe.dst = d;
  pe.ok = false;
  return pe;
}

uint32_t TypeMatcher::plan(TypeId s, TypeId d, bool old_layout, const std::string& context) {
  const TypeTable& dt = old_layout ? src_ : dst_;
  s = src_.resolved(s);
  d = dt.resolved(d);
  // Heap objects ask once each: a hash lookup, not a map of strings.
  uint64_t fast = (uint64_t{s} << 33) | (uint64_t{d} << 1) | (old_layout ? 1 : 0);
  if (context.empty())
    if (auto it = fast_cache_.find(fast); it != fast_cache_.end()) return it->second;
  auto key = std::make_tuple(s, d, old_layout, context);
  if (auto it = cache_.find(key); it != cache_.end()) return it->second;
  uint32_t id = static_cast<uint32_t>(plans_.size());
  plans_.emplace_back();
  cache_[key] = id;
  Plan p;
  p.src = s;
  p.dst = d;
  p.old_layout = old_layout;
  p.src_size = src_[s].size;
  p.dst_size = dt[d].size;
  Ctx ctx;
  ctx.var_path = context;
  ctx.dst_table = &dt;
  const std::string& dname = dt[d].name;
  // Objects reachable only through what the update drops are still transferred when a callback
  // converts the enclosing object (a transform, or the converters that undo an update).
  ctx.discover_dropped = (!dname.empty() && (ann_.find(AnnKind::kTransformType, dname) ||
                                             ann_.find(AnnKind::kBackwardType, dname))) ||
                         (!context.empty() && (ann_.find(AnnKind::kTransformVar, context) ||
                                               ann_.find(AnnKind::kBackwardVar, context)));
  std::vector<Frame> saved;
  saved.swap(frames_);
  emit(p, s, d, 0, 0, ctx);
  frames_.swap(saved);

  // Merge copies that continue each other on both sides.
  std::vector<Op> merged;
  for (const Op& op : p.ops) {
    if (!merged.empty() && op.kind == OpKind::kCopy && merged.back().kind == OpKind::kCopy &&
        merged.back().src_off + merged.back().len == op.src_off &&
        merged.back().dst_off + merged.back().len == op.dst_off) {
      merged.back().len += op.len;
      continue;
    }
    merged.push_back(op);
  }
  p.ops = std::move(merged);
  for (const Op& op : p.ops) {
    switch (op.kind) {
      case OpKind::kPointer:
      case OpKind::kUnion:
        p.has_pointers = true;
        break;
      case OpKind::kRepeat:
        p.has_pointers = p.has_pointers || plans_[op.sub].has_pointers;
        p.changed = p.changed || plans_[op.sub].changed || op.src_stride != op.dst_stride;
        break;
      case OpKind::kConvert:
      case OpKind::kRefuse:
      case OpKind::kLoss:
        p.changed = true;
        break;
      case OpKind::kCopy:
        p.changed = p.changed || op.src_off != op.dst_off;
        break;
    }
  }
  p.changed = p.changed || p.src_size != p.dst_size;
  p.identical = p.ops.size() == 1 && p.ops[0].kind == OpKind::kCopy && p.ops[0].src_off == 0 &&
                p.ops[0].dst_off == 0 && p.ops[0].len == p.src_size && p.src_size == p.dst_size;
  if (p.ops.empty() && p.src_size == 0 && p.dst_size == 0) p.identical = true;
  plans_[id] = std::move(p);
  if (context.empty()) fast_cache_[fast] = id;
  return id;
}

bool TypeMatcher::identical(TypeId s, TypeId d, const TypeTable& dt) {
  s = src_.resolved(s);
  d = dt.resolved(d);
  auto key = std::make_tuple(s, d, &dt == &src_);
  if (auto it = identical_.find(key); it != identical_.end()) return it->second;
  identical_[key] = true;  // provisional: cycles go through pointers, which do not recurse
  const Type& S = src_[s];
  const Type& D = dt[d];
  bool same = S.kind == D.kind && S.size == D.size;
  if (same) {
    switch (S.kind) {
      case TypeKind::kInt:
      case TypeKind::kBool:
      case TypeKind::kFloat:
      case TypeKind::kEnum:
        same = same_representation(src_, s, dt, d);
        break;
      case TypeKind::kArray:
        same = S.count == D.count && S.flexible == D.flexible && identical(S.target, D.target, dt);
        break;
      case TypeKind::kStruct:
      case TypeKind::kUnion:
        same = S.name == D.name && S.members.size() == D.members.size() && !S.incomplete &&
               !D.incomplete;
        for (size_t i = 0; same && i < S.members.size(); i++) {
          const Member& a = S.members[i];
          const Member& b = D.members[i];
          same = a.name == b.name && a.offset == b.offset && a.bit_offset == b.bit_offset &&
                 a.bit_size == b.bit_size && identical(a.type, b.type, dt);
        }
        break;
      default:
        break;
    }
  }
  identical_[key] = same;
  return same;
}

void TypeMatcher::refuse(Plan& p, uint64_t so, uint64_t len, const Ctx& ctx,
                         const std::string& why) {
  Op op;
  op.kind = OpKind::kRefuse;
  op.src_off = so;
  op.len = len;
  std::string where = !ctx.var_path.empty() ? ctx.var_path : ctx.type_path;
  op.what = name(p, (where.empty() ? "" : where + ": ") + why);
  p.ops.push_back(op);
  note(p.names[op.what]);
}

void TypeMatcher::emit(Plan& p, TypeId s, TypeId d, uint64_t so, uint64_t dof, const Ctx& ctx) {
  const TypeTable& dt = *ctx.dst_table;
  s = src_.resolved(s);
  d = dt.resolved(d);
  const Type& S = src_[s];
  const Type& D = dt[d];
  bool member_level = !ctx.type_path.empty() || !ctx.var_path.empty();
  if (member_level && annotation(AnnKind::kOpaque, ctx)) {
    Op op;
    op.src_off = so;
    op.dst_off = dof;
    op.len = std::min(S.size, D.size);
    p.ops.push_back(op);
    return;
  }
  if (member_level && &dt == &dst_ && annotation(AnnKind::kSkip, ctx)) {
    if (ctx.discover_dropped) emit_discover(p, s, so, ctx);
    return;
  }
  if (const Annotation* a = member_level ? annotation(AnnKind::kPtrInInt, ctx) : nullptr) {
    if (S.kind != TypeKind::kInt || S.size != 8 || D.kind != TypeKind::kInt || D.size != 8) {
      refuse(p, so, S.size, ctx, "TANDEM_PTR_IN_INT needs a 64-bit integer on both sides");
      return;
    }
    auto st = named(src_, a->arg);
    auto dtt = named(dt, a->arg);
    if (!st || !dtt) {
      refuse(p, so, S.size, ctx, "TANDEM_PTR_IN_INT names an unknown type '" + a->arg + "'");
      return;
    }
    Op op;
    op.kind = OpKind::kPointer;
    op.flags = kPtrInInt | (&dt == &src_ ? kPtrOldLayout : 0);
    op.src_off = so;
    op.dst_off = dof;
    op.src_type = *st;
    op.dst_type = *dtt;
    op.what = name(p, ctx.var_path.empty() ? ctx.type_path : ctx.var_path);
    p.ops.push_back(op);
    return;
  }
  if (S.incomplete || D.incomplete) {
    refuse(p, so, S.size, ctx, "incomplete type " + S.name);
    return;
  }
  auto mismatch = [&] {
    refuse(p, so, S.size, ctx,
           "type changed from " + src_.describe(s) + " to " + dt.describe(d) +
               ": not convertible (transfer it in a callback and TANDEM_SKIP it)");
  };
  switch (S.kind) {
    case TypeKind::kInt:
    case TypeKind::kBool:
    case TypeKind::kFloat:
    case TypeKind::kEnum: {
      if (!is_primitive(D.kind)) return mismatch();
      Op op;
      op.src_off = so;
      op.dst_off = dof;
      if (same_representation(src_, s, dt, d)) {
        op.len = S.size;
      } else {
        op.kind = OpKind::kConvert;
        op.src_type = s;
        op.dst_type = d;
        op.what = name(p, ctx.var_path.empty() ? ctx.type_path : ctx.var_path);
        note((ctx.type_path.empty() ? ctx.var_path : ctx.type_path) + ": " + src_.describe(s) +
             " -> " + dt.describe(d));
      }
      p.ops.push_back(op);
      return;
    }
    case TypeKind::kPointer:
      if (D.kind != TypeKind::kPointer) return mismatch();
      return emit_pointer(p, s, d, so, dof, ctx);
    case TypeKind::kStruct:
      if (D.kind != TypeKind::kStruct) return mismatch();
      return emit_struct(p, s, d, so, dof, ctx);
    case TypeKind::kUnion:
      if (D.kind != TypeKind::kUnion) return mismatch();
      return emit_union(p, s, d, so, dof, ctx);
    case TypeKind::kArray:
      if (D.kind != TypeKind::kArray) return mismatch();
      return emit_array(p, s, d, so, dof, ctx);
    default:
      return;
  }
}

void TypeMatcher::emit_pointer(Plan& p, TypeId s, TypeId d, uint64_t so, uint64_t dof,
                               const Ctx& ctx) {
  const TypeTable& dt = *ctx.dst_table;
  bool old_layout = &dt == &src_;
  TypeId st = src_[s].target, dtarget = dt[d].target;
  uint64_t mask = 0;
  if (const Annotation* a = annotation(AnnKind::kVoidType, ctx)) {
    auto x = named(src_, a->arg);
    auto y = named(dt, a->arg);
    if (!x || !y) {
      refuse(p, so, 8, ctx, "TANDEM_VOID_TYPE names an unknown type '" + a->arg + "'");
      return;
    }
    st = *x;
    dtarget = *y;
  }
  if (const Annotation* a = annotation(AnnKind::kTagged, ctx))
    mask = std::strtoull(a->arg.c_str(), nullptr, 0);
  Pointee pe;
  if (old_layout) {
    pe = {src_.resolved(st), src_.resolved(st), 0, true};
    if (is_weak(src_, st))
      pe.flags = kPtrWeak;
    else if (src_[src_.resolved(st)].kind == TypeKind::kFunction)
      pe.flags = kPtrFunction;
    else if (auto c = counterpart(st))
      pe.dst = *c;
    else
      pe.flags = kPtrOldLayout;
  } else {
    pe = pair_pointees(st, dtarget);
  }
  if (!pe.ok) {
    refuse(p, so, 8, ctx,
           "pointer type changed from " + src_.describe(s) + " to " + dt.describe(d) +
               " (TANDEM_RENAME the type, or TANDEM_SKIP the member and convert it in a callback)");
    return;
  }
  Op op;
  // A range's end: TANDEM_RANGE, or libstdc++'s vector (_Vector_impl_data: start, finish).
  std::string end_member;
  if (const Annotation* a = annotation(AnnKind::kRange, ctx)) end_member = a->arg;
  const std::string kVectorData = "::_Vector_impl_data._M_start";
  if (ctx.type_path.rfind("struct std::_Vector_base<", 0) == 0 &&
      ctx.type_path.size() > kVectorData.size() &&
      ctx.type_path.compare(ctx.type_path.size() - kVectorData.size(), kVectorData.size(),
                            kVectorData) == 0)
    end_member = "_M_finish";
  if (!end_member.empty() && !frames_.empty()) {
    for (const Member& m : src_[frames_.back().src_struct].members) {
      if (m.name != end_member) continue;
      op.flags |= kPtrRange;
      op.range_delta =
          static_cast<int64_t>(frames_.back().src_off + m.offset) - static_cast<int64_t>(so);
    }
  }
  op.kind = OpKind::kPointer;
  op.flags |= pe.flags | (mask ? kPtrTagged : 0);
  op.src_off = so;
  op.dst_off = dof;
  op.src_type = pe.src;
  op.dst_type = pe.dst;
  op.tag_mask = mask;
  op.what = name(p, ctx.var_path.empty() ? ctx.type_path : ctx.var_path);
  p.ops.push_back(op);
}

void TypeMatcher::emit_discover(Plan& p, TypeId s, uint64_t so, const Ctx& ctx) {
  // Old-only pointers: discovered (so a callback's old copy can reach their targets) but not
  // written into the new object.
  Plan tmp;
  Ctx c = ctx;
  c.dst_table = &src_;
  c.discover_dropped = false;
  emit(tmp, s, s, so, 0, c);
  for (Op op : tmp.ops) {
    if (op.kind == OpKind::kPointer) {
      op.flags |= kPtrNoWrite;
      op.what = name(p, tmp.names.empty() ? "" : tmp.names[op.what]);
      p.ops.push_back(op);
    }
  }
}

void TypeMatcher::emit_struct(Plan& p, TypeId s, TypeId d, uint64_t so, uint64_t dof,
                              const Ctx& ctx) {
  const TypeTable& dt = *ctx.dst_table;
  const Type& S = src_[s];
  const Type& D = dt[d];
  std::string base = !D.name.empty() ? D.name : ctx.type_path;
  bool annotated = (!D.name.empty() && ann_.mentions(D.name + ".")) ||
                   (!ctx.var_path.empty() && ann_.mentions(ctx.var_path + "."));
  if (!annotated && identical(s, d, dt)) {
    if (!src_.has_pointers(s)) {
      Op op;
      op.src_off = so;
      op.dst_off = dof;
      op.len = S.size;
      p.ops.push_back(op);
      return;
    }
    // Same layout with pointers inside: copy everything (padding too) around the pointers.
    uint64_t cursor = 0;
    frames_.push_back({s, so});
    for (const Member& m : S.members) {
      if (!src_.has_pointers(m.type) || m.bit_size) continue;
      if (m.offset > cursor) {
        Op op;
        op.src_off = so + cursor;
        op.dst_off = dof + cursor;
        op.len = m.offset - cursor;
        p.ops.push_back(op);
      }
      Ctx c = ctx;
      c.type_path = base + "." + m.name;
      c.var_path = ctx.var_path.empty() ? "" : ctx.var_path + "." + m.name;
      emit(p, m.type, m.type == kVoid ? kVoid : D.members[&m - S.members.data()].type,
           so + m.offset, dof + m.offset, c);
      cursor = std::max(cursor, m.offset + src_[src_.resolved(m.type)].size);
    }
    frames_.pop_back();
    if (S.size > cursor) {
      Op op;
      op.src_off = so + cursor;
      op.dst_off = dof + cursor;
      op.len = S.size - cursor;
      p.ops.push_back(op);
    }
    return;
  }
  if (!same_name(s, d, dt)) note(S.name + " -> " + D.name);
  frames_.push_back({s, so});
  std::vector<bool> used(S.members.size(), false);
  size_t anon_d = 0;
  for (const Member& dm : D.members) {
    std::string want = dm.name;
    if (&dt == &dst_ && !D.name.empty() && !dm.name.empty())
      if (auto from = ann_.renamed_from(D.name + "." + dm.name)) want = member_name(*from);
    const Member* sm = nullptr;
    size_t anon_s = 0;
    for (size_t i = 0; i < S.members.size(); i++) {
      const Member& cand = S.members[i];
      bool match = dm.name.empty() ? (cand.name.empty() && anon_s++ == anon_d) : cand.name == want;
      if (match && !used[i]) {
        sm = &cand;
        used[i] = true;
        break;
      }
    }
    if (dm.name.empty()) anon_d++;
    Ctx c = ctx;
    c.type_path = base + "." + dm.name;
    c.var_path = ctx.var_path.empty() ? "" : ctx.var_path + "." + dm.name;
    if (sm == nullptr) {
      note((base.empty() ? dt.describe(d) : base) + ": member " + dm.name + " added");
      continue;
    }
    if (sm->bit_size || dm.bit_size) {
      const Type& st = src_[src_.resolved(sm->type)];
      const Type& dtt = dt[dt.resolved(dm.type)];
      if (!is_primitive(st.kind) || !is_primitive(dtt.kind)) {
        refuse(p, so + sm->offset, st.size, c, "bit-field changed to a non-scalar");
        continue;
      }
      if (&dt == &dst_ && annotation(AnnKind::kSkip, c)) continue;
      Op op;
      op.kind = OpKind::kConvert;
      op.src_off = so + sm->offset;
      op.dst_off = dof + dm.offset;
      op.src_bit_off = sm->bit_offset;
      op.src_bits = sm->bit_size;
      op.dst_bit_off = dm.bit_offset;
      op.dst_bits = dm.bit_size;
      op.src_type = src_.resolved(sm->type);
      op.dst_type = dt.resolved(dm.type);
      op.what = name(p, c.var_path.empty() ? c.type_path : c.var_path);
      p.ops.push_back(op);
      continue;
    }
    emit(p, sm->type, dm.type, so + sm->offset, dof + dm.offset, c);
  }
  for (size_t i = 0; i < S.members.size(); i++) {
    if (used[i]) continue;
    const Member& sm = S.members[i];
    note(base + ": member " + sm.name + " dropped");
    if (ctx.discover_dropped && src_.has_pointers(sm.type)) {
      Ctx c = ctx;
      c.type_path = base + "." + sm.name;
      emit_discover(p, sm.type, so + sm.offset, c);
    }
  }
  frames_.pop_back();
}

void TypeMatcher::emit_union(Plan& p, TypeId s, TypeId d, uint64_t so, uint64_t dof,
                             const Ctx& ctx) {
  const TypeTable& dt = *ctx.dst_table;
  const Type& S = src_[s];
  const Type& D = dt[d];
  std::optional<UnionSpec> spec;
  if (!ctx.type_path.empty()) spec = ann_.union_spec(ctx.type_path);
  if (!spec && !ctx.var_path.empty()) spec = ann_.union_spec(ctx.var_path);
  if (!spec) {
    bool annotated = annotation(AnnKind::kUnion, ctx) != nullptr;
    if (!annotated && !src_.has_pointers(s) && !dt.has_pointers(d)) {
      Op op;
      op.src_off = so;
      op.dst_off = dof;
      op.len = std::min(S.size, D.size);
      p.ops.push_back(op);
      if (S.size != D.size) note(src_.describe(s) + ": union size changed, bytes copied");
      return;
    }
    refuse(p, so, S.size, ctx,
           annotated ? "malformed TANDEM_UNION (expected \"tag: value=member ...\")"
                     : "ambiguous union " + src_.describe(s) +
                           " holds pointers: say which member is active with TANDEM_UNION");
    return;
  }
  const Member* tag = nullptr;
  if (!frames_.empty()) {
    for (const Member& m : src_[frames_.back().src_struct].members)
      if (m.name == spec->tag) tag = &m;
  }
  if (tag == nullptr) {
    refuse(p, so, S.size, ctx, "TANDEM_UNION: no member '" + spec->tag + "' next to the union");
    return;
  }
  const Type& tt = src_[src_.resolved(tag->type)];
  UnionPlan u;
  u.tag_delta =
      static_cast<int64_t>(frames_.back().src_off + tag->offset) - static_cast<int64_t>(so);
  u.tag_size = static_cast<uint32_t>(tt.size);
  u.tag_bit_off = tag->bit_offset;
  u.tag_bits = tag->bit_size;
  u.tag_signed = tt.is_signed;
  u.src_size = S.size;
  u.name = ctx.var_path.empty() ? ctx.type_path : ctx.var_path;
  bool old_layout = &dt == &src_;
  auto member_plan = [&](const std::string& member) -> std::optional<uint32_t> {
    if (member == "-") return kNoPlan;
    const Member* sm = nullptr;
    const Member* dm = nullptr;
    for (const Member& m : S.members)
      if (m.name == member) sm = &m;
    for (const Member& m : D.members)
      if (m.name == member) dm = &m;
    if (sm == nullptr || dm == nullptr) {
      note(u.name + ": union member " + member + " missing in one version");
      return std::nullopt;
    }
    return plan(sm->type, dm->type, old_layout);
  };
  for (const auto& [value, member] : spec->cases)
    if (auto pl = member_plan(member)) u.cases.emplace_back(value, *pl);
  if (spec->otherwise) u.otherwise = member_plan(*spec->otherwise);
  Op op;
  op.kind = OpKind::kUnion;
  op.src_off = so;
  op.dst_off = dof;
  op.len = S.size;
  op.sub = static_cast<uint32_t>(unions_.size());
  op.what = name(p, u.name);
  unions_.push_back(std::move(u));
  p.ops.push_back(op);
}

void TypeMatcher::emit_array(Plan& p, TypeId s, TypeId d, uint64_t so, uint64_t dof,
                             const Ctx& ctx) {
  const TypeTable& dt = *ctx.dst_table;
  const Type& S = src_[s];
  const Type& D = dt[d];
  if (S.flexible || D.flexible) return;  // flexible array members: per object (engine)
  TypeId es = src_.resolved(S.target), ed = dt.resolved(D.target);
  uint64_t ssz = src_[es].size, dsz = dt[ed].size;
  uint64_t n = std::min(S.count, D.count);
  std::string where = ctx.var_path.empty() ? ctx.type_path : ctx.var_path;
  if (where.empty()) where = src_.describe(s) + " -> " + dt.describe(d);
  if (S.count > D.count) {
    note(where + ": array truncated from " + std::to_string(S.count) + " to " +
         std::to_string(D.count) + " elements");
    Op op;
    op.kind = OpKind::kLoss;
    op.src_off = so + n * ssz;
    op.len = (S.count - n) * ssz;
    op.what = name(p, where + " (truncated array)");
    p.ops.push_back(op);
    if (ctx.discover_dropped && src_.has_pointers(es))
      for (uint64_t i = n; i < S.count; i++) emit_discover(p, es, so + i * ssz, ctx);
  } else if (S.count < D.count) {
    note(where + ": array grown from " + std::to_string(S.count) + " to " +
         std::to_string(D.count) + " elements");
  }
  if (n == 0 || ssz == 0) return;
  uint32_t sub = plan(es, ed, &dt == &src_);
  const Plan& element = plans_[sub];
  if (element.identical && ssz == dsz) {
    Op op;
    op.src_off = so;
    op.dst_off = dof;
    op.len = n * ssz;
    p.ops.push_back(op);
    return;
  }
  if (n <= 4 && !element.ops.empty()) {
    // Small arrays inline their elements (a copy per element would defeat merging anyway).
    for (uint64_t i = 0; i < n; i++) {
      for (Op op : element.ops) {
        op.src_off += so + i * ssz;
        op.dst_off += dof + i * dsz;
        op.what = name(p, where + "[" + std::to_string(i) + "]");
        p.ops.push_back(op);
      }
    }
    return;
  }
  Op op;
  op.kind = OpKind::kRepeat;
  op.src_off = so;
  op.dst_off = dof;
  op.len = n;
  op.src_stride = ssz;
  op.dst_stride = dsz;
  op.sub = sub;
  op.what = name(p, where);
  p.ops.push_back(op);
}

std::optional<uint64_t> TypeMatcher::map_offset(TypeId s, TypeId d, bool old_layout, uint64_t off,
                                                TypeId want) const {
  if (old_layout) return off;
  s = src_.resolved(s);
  d = dst_.resolved(d);
  const Type& S = src_[s];
  const Type& D = dst_[d];
  bool whole = want == kVoid || is_weak(src_, want) || same_in_table(src_, s, want) ||
               is_primitive(S.kind) || S.kind == TypeKind::kPointer;
  if (whole && off == 0) return 0;
  if (whole && off == S.size) return D.size;  // one past the end
  switch (S.kind) {
    case TypeKind::kStruct: {
      if (D.kind != TypeKind::kStruct) return std::nullopt;
      for (const Member& sm : S.members) {
        uint64_t size = src_[src_.resolved(sm.type)].size;
        if (sm.bit_size || off < sm.offset || off > sm.offset + size) continue;
        if (off == sm.offset + size && src_[src_.resolved(sm.type)].kind != TypeKind::kArray)
          continue;  // one past a member: only array ends are pointed at
        if (want != kVoid && !holds_at(src_, sm.type, off - sm.offset, want)) continue;
        for (const Member& dm : D.members) {
          std::string from = dm.name;
          if (!D.name.empty())
            if (auto r = ann_.renamed_from(D.name + "." + dm.name)) from = member_name(*r);
          if (from != sm.name || dm.bit_size) continue;
          auto inner = map_offset(sm.type, dm.type, false, off - sm.offset, want);
          if (inner) return dm.offset + *inner;
        }
        return std::nullopt;
      }
      return std::nullopt;
    }
    case TypeKind::kArray: {
      if (D.kind != TypeKind::kArray) return std::nullopt;
      uint64_t ssz = src_[src_.resolved(S.target)].size;
      uint64_t dsz = dst_[dst_.resolved(D.target)].size;
      if (ssz == 0) return std::nullopt;
      // Elements keep their index. Past the new end: only the old end maps (to the new end);
      // anything else pointed into elements a truncation dropped.
      uint64_t idx = off / ssz;
      if (!D.flexible && idx >= D.count) {
        if (off == S.size) return D.size;
        return std::nullopt;
      }
      auto inner = map_offset(S.target, D.target, false, off % ssz, want);
      if (!inner) return std::nullopt;
      return idx * dsz + *inner;
    }
    case TypeKind::kUnion:
      return off == 0 ? std::optional<uint64_t>(0) : std::nullopt;
    default:
      return S.size == D.size ? std::optional<uint64_t>(off) : std::nullopt;
  }
}

bool TypeMatcher::holds_at(const TypeTable& t, TypeId object, uint64_t off, TypeId want) {
  object = t.resolved(object);
  want = t.resolved(want);
  const Type& W = t[want];
  if (W.kind == TypeKind::kVoid || W.is_char || W.incomplete) return true;
  if (off == 0 && same_in_table(t, object, want)) return true;
  const Type& O = t[object];
  switch (O.kind) {
    case TypeKind::kStruct:
    case TypeKind::kUnion:
      for (const Member& m : O.members) {
        uint64_t size = t[t.resolved(m.type)].size;
        if (off >= m.offset && off <= m.offset + size && holds_at(t, m.type, off - m.offset, want))
          return true;
      }
      return off == O.size && same_in_table(t, object, want);
    case TypeKind::kArray: {
      uint64_t esz = t[t.resolved(O.target)].size;
      if (esz == 0) return false;
      if (!O.flexible && off > O.size) return false;
      return holds_at(t, O.target, off % esz, want) ||
             (off % esz == 0 && same_in_table(t, O.target, want));
    }
    default:
      return false;
  }
}

bool TypeMatcher::is_prefix_of(const TypeTable& t, TypeId base, TypeId derived) {
  base = t.resolved(base);
  for (int depth = 0; depth < 8; depth++) {
    derived = t.resolved(derived);
    if (same_in_table(t, base, derived)) return true;
    const Type& D = t[derived];
    if (D.kind != TypeKind::kStruct || D.members.empty() || D.members[0].offset != 0) return false;
    derived = D.members[0].type;
  }
  return false;
}

}  // namespace tandem::update
