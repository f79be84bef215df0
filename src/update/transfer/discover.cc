// The source side of a state transfer: roots, heap discovery, typing, pointer classification.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <optional>

#include <fmt/format.h>

#include "update/proc/remote_io.h"
#include "update/transfer/engine_impl.h"
#include "update/transfer/fault.h"

namespace tandem::update {

namespace {

constexpr size_t kMaxViolations = 20;

double ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

uint64_t load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

}  // namespace

std::string member_path(const TypeTable& t, TypeId type, uint64_t off) {
  std::string path;
  for (int depth = 0; depth < 16; depth++) {
    const Type& T = t[t.resolved(type)];
    if (T.kind == TypeKind::kArray) {
      uint64_t esz = t[t.resolved(T.target)].size;
      if (esz == 0) break;
      path += "[" + std::to_string(off / esz) + "]";
      off %= esz;
      type = T.target;
      continue;
    }
    if (T.kind != TypeKind::kStruct && T.kind != TypeKind::kUnion) break;
    const Member* best = nullptr;
    for (const Member& m : T.members) {
      uint64_t size = t[t.resolved(m.type)].size;
      if (off >= m.offset && off < m.offset + std::max<uint64_t>(size, 1)) best = &m;
    }
    if (best == nullptr) {
      if (off) path += "+" + std::to_string(off);
      break;
    }
    path += "." + best->name;
    off -= best->offset;
    type = best->type;
  }
  return path;
}

StateTransfer::StateTransfer(ProcessView& src, std::shared_ptr<Program> dst_program, EventFn events)
    : impl_(std::make_unique<Impl>(src, std::move(dst_program), std::move(events), stats_)) {}

StateTransfer::~StateTransfer() = default;

void StateTransfer::undo_with(Agent& source_sandbox) {
  impl_->undo_agent = &source_sandbox;
}

std::vector<std::string> StateTransfer::notes() const {
  std::vector<std::string> all =
      impl_->matcher ? impl_->matcher->notes() : std::vector<std::string>{};
  all.insert(all.end(), impl_->notes.begin(), impl_->notes.end());
  return all;
}

void StateTransfer::Impl::violation(const std::string& message) {
  violation_count++;
  if (violations.size() < kMaxViolations) violations.push_back(message);
}

void StateTransfer::Impl::violation_at(uint32_t o, uint64_t off, const std::string& why) {
  // describe() consults caches (allocation sites): the whole message is built under the lock.
  std::lock_guard<std::mutex> lock(violations_lock);
  violation(describe(o, off) + ": " + why);
}

std::string StateTransfer::Impl::describe(uint32_t o, uint64_t off, int depth) const {
  const Obj& x = objs[o];
  const TypeTable& t = src.program().types();
  std::string s;
  switch (x.kind) {
    case ObjKind::kGlobal:
    case ObjKind::kTls:
      s = src.program().debug().variables()[x.ref].key + member_path(t, x.src_type, off);
      break;
    case ObjKind::kLocal:
      s = src.locals()[x.ref].function + "::" + src.locals()[x.ref].name +
          member_path(t, x.src_type, off);
      break;
    case ObjKind::kHeap: {
      const HeapObject& h = (*heap)[x.ref];
      std::string type = x.state == ObjState::kTyped ? t.describe(x.src_type) : "untyped";
      std::string site = "?";
      if (src.in_executable(h.site)) {
        if (auto k = src.program().sites().key_of(h.site - src.bias())) site = k->str();
      } else if (const Mapping* m = src.maps().find(h.site); m && !m->path.empty()) {
        // Inside a library (operator new, fopen): name the library and the offset.
        const Mapping* first = src.maps().first_of(m->inode, m->dev_major, m->dev_minor);
        site = m->path.substr(m->path.rfind('/') + 1) + "+0x" +
               fmt::format("{:x}", h.site - (first ? first->start : m->start));
      }
      s = "heap object (" + type + ", " + std::to_string(h.size) + " bytes, allocated at " + site +
          ")";
      if (x.state == ObjState::kTyped && off) {
        uint64_t esz = std::max<uint64_t>(t[t.resolved(x.src_type)].size, 1);
        s += (x.count > 1 ? "[" + std::to_string(off / esz) + "]" : std::string()) +
             member_path(t, x.src_type, off % esz);
      } else if (off) {
        s += "+" + std::to_string(off);
      }
      if (x.parent >= 0 && depth < 3)
        s += " reached from " + describe(static_cast<uint32_t>(x.parent), x.parent_off, depth + 1);
      break;
    }
  }
  return s;
}

Expected<void> StateTransfer::read_source() {
  Impl& m = *impl_;
  auto t0 = std::chrono::steady_clock::now();
  // Undoing an update converts like a validation does: the source (the newer version) says how
  // to go back, with its renames inverted and its backward callbacks.
  m.ann = m.undo_agent ? Annotations::backward(m.src.program(), *m.dstp)
                       : Annotations(m.src.program(), *m.dstp);
  for (const auto& e : m.ann.errors()) m.notes.push_back(e);
  m.matcher = std::make_unique<TypeMatcher>(m.src.program().types(), m.dstp->types(), m.ann);
  auto heap = HeapIndex::load(m.src);
  if (!heap) return heap.failure();
  m.heap = std::move(heap).value();
  if (m.heap->untracked())
    m.notes.push_back(std::to_string(m.heap->untracked()) +
                      " heap allocations were not recorded (registry full): objects they hold "
                      "cannot be transferred");
  m.heap_obj.assign(m.heap->capacity(), ~0u);
  m.objs.reserve(m.heap->size() + m.src.program().debug().variables().size() + 64);
  if (auto r = m.pair_roots(); !r) return r.failure();
  if (auto r = m.read_roots(); !r) return r.failure();
  stats_.read_ms = ms_since(t0);
  return {};
}

Expected<void> StateTransfer::Impl::discover() {
  auto t1 = std::chrono::steady_clock::now();
  // Roots are scanned in declaration order (the queue is a stack): the first typed pointer to
  // reach a heap object decides its type, and messages then name the natural culprit.
  for (uint32_t o = root_count; o-- > 0;)
    if (objs[o].transfer) queue.push_back(o);
  while (!queue.empty()) {
    while (!queue.empty()) {
      uint32_t o = queue.back();
      queue.pop_back();
      scan(o);
      if (pending.size() >= kBatch && violations.empty())
        if (auto r = send_batch(); !r) return r.failure();
    }
    finish_untyped();
  }
  for (uint32_t o = root_count; o < objs.size(); o++) {
    const Obj& x = objs[o];
    if (!x.transfer) continue;
    stats.heap_objects++;
    stats.heap_bytes += x.src_size;
  }
  stats.heap_untransferred = heap->size() - stats.heap_objects;
  stats.discover_ms = ms_since(t1);
  if (events)
    events("discovered", "\"heap_objects\":" + std::to_string(stats.heap_objects) +
                             ",\"heap_bytes\":" + std::to_string(stats.heap_bytes) +
                             ",\"unreachable\":" + std::to_string(stats.heap_untransferred) +
                             ",\"variables\":" + std::to_string(stats.variables) +
                             ",\"ms\":" + std::to_string(stats.discover_ms));
  if (!violations.empty()) {
    std::string more =
        violation_count > 1 ? " (and " + std::to_string(violation_count - 1) + " more)" : "";
    return fail(FailureKind::kTransferRefused, violations.front() + more);
  }
  return {};
}

Expected<void> StateTransfer::Impl::pair_roots() {
  Program& sp = src.program();
  const auto& svars = sp.debug().variables();
  const auto& dvars = dstp->debug().variables();
  std::unordered_map<std::string, uint32_t> dst_by_key;
  for (uint32_t i = 0; i < dvars.size(); i++) dst_by_key[dvars[i].key] = i;
  std::unordered_map<std::string, std::string> renamed;  // source key -> destination key
  for (const Annotation* a : ann.all(AnnKind::kRename))
    if (a->path.find('.') == std::string::npos || a->path.find(':') != std::string::npos)
      renamed[a->arg] = a->path;
  std::vector<bool> dst_used(dvars.size(), false);
  for (uint32_t i = 0; i < svars.size(); i++) {
    const Variable& v = svars[i];
    if (v.tls ? !src.tls_block() : !sp.is_state_address(v.addr)) continue;
    Obj x;
    x.kind = v.tls ? ObjKind::kTls : ObjKind::kGlobal;
    x.state = ObjState::kTyped;
    x.ref = i;
    x.src_addr = v.tls ? *src.tls_block() + v.addr : src.bias() + v.addr;
    x.src_size = v.size;
    x.src_type = v.type;
    std::string dkey = renamed.count(v.key) ? renamed[v.key] : v.key;
    auto it = dst_by_key.find(dkey);
    x.transfer = false;
    if (it != dst_by_key.end()) {
      const Variable& d = dvars[it->second];
      dst_used[it->second] = true;
      if (d.tls != v.tls || (!d.tls && !dstp->is_state_address(d.addr))) {
        notes.push_back(v.key + " is no longer writable state in the new version: not transferred");
      } else if (ann.find(AnnKind::kSkip, d.key)) {
        notes.push_back(d.key + ": TANDEM_SKIP, the new version keeps its own value");
      } else {
        x.transfer = true;
        x.dst_ref = it->second;
        x.dst_type = d.type;
        x.plan = matcher->plan(v.type, d.type, false, d.key);
        stats.variables++;
        if (v.tls) stats.tls++;
      }
    } else {
      stats.variables_dropped++;
      notes.push_back(v.key + " dropped in the new version");
    }
    roots.push_back({x.src_addr, x.src_addr + std::max<uint64_t>(v.size, 1),
                     static_cast<uint32_t>(objs.size())});
    objs.push_back(x);
  }
  for (uint32_t i = 0; i < dvars.size(); i++) {
    if (!dst_used[i] && !dvars[i].tls && dstp->is_state_address(dvars[i].addr)) {
      stats.variables_added++;
      notes.push_back(dvars[i].key + " added by the new version (keeps its initial value)");
    }
  }
  const auto& locals = src.locals();
  for (uint32_t i = 0; i < locals.size(); i++) {
    auto type = sp.debug().local_type(locals[i].function, locals[i].name);
    auto dtype = dstp->debug().local_type(locals[i].function, locals[i].name);
    if (!type) {
      notes.push_back("registered local " + locals[i].function + "::" + locals[i].name +
                      " has no debug info: not transferred");
      continue;
    }
    Obj x;
    x.kind = ObjKind::kLocal;
    x.state = ObjState::kTyped;
    x.ref = i;
    x.src_addr = locals[i].addr;
    x.src_size = locals[i].size;
    x.src_type = *type;
    x.transfer = dtype.has_value();
    if (dtype) {
      x.dst_type = *dtype;
      x.plan = matcher->plan(*type, *dtype, false);
      stats.locals++;
    } else {
      notes.push_back("registered local " + locals[i].function + "::" + locals[i].name +
                      " does not exist in the new version");
    }
    roots.push_back({x.src_addr, x.src_addr + std::max<uint64_t>(x.src_size, 1),
                     static_cast<uint32_t>(objs.size())});
    objs.push_back(x);
  }
  std::sort(roots.begin(), roots.end(),
            [](const RootRange& a, const RootRange& b) { return a.start < b.start; });
  root_count = static_cast<uint32_t>(objs.size());
  return {};
}

Expected<void> StateTransfer::Impl::read_roots() {
  std::vector<RemoteRange> ranges;
  size_t total = 0;
  for (Obj& x : objs) {
    x.bytes = static_cast<uint32_t>(root_bytes.size());
    root_bytes.emplace_back();
    ranges.push_back({x.src_addr, x.src_size});
    total += x.src_size;
  }
  std::vector<uint8_t> all(total);
  if (auto r = read_many(src.pid(), ranges, all.data()); !r)
    return fail(FailureKind::kSystem,
                "cannot read the running process's variables: " + r.error().describe());
  size_t at = 0;
  for (Obj& x : objs) {
    root_bytes[x.bytes].assign(all.begin() + at, all.begin() + at + x.src_size);
    at += x.src_size;
  }
  return {};
}

const uint8_t* StateTransfer::Impl::src_bytes(const Obj& x) const {
  if (x.kind == ObjKind::kHeap) return heap->bytes(x.ref);
  return root_bytes[x.bytes].data();
}

uint32_t StateTransfer::Impl::heap_object(uint32_t h) {
  if (heap_obj[h] != ~0u) return heap_obj[h];
  uint32_t o = static_cast<uint32_t>(objs.size());
  Obj& x = objs.emplace_back();
  untyped++;
  HeapObject slot = (*heap)[h];
  x.kind = ObjKind::kHeap;
  x.ref = h;
  x.src_addr = slot.addr;
  x.src_size = slot.size;
  x.site = slot.site;
  heap_obj[h] = o;
  return o;
}

Target StateTransfer::Impl::classify(uint64_t v) const {
  Target t;
  if (v == 0) return t;
  if (v < 4096 || v >= 0xffff800000000000ull) {
    t.kind = Target::kSentinel;
    return t;
  }
  HeapIndex::Found f = heap->find(v);
  if (f.where == HeapIndex::Where::kObject) {
    t.kind = Target::kObject;
    t.obj = heap_obj[f.object] == ~0u ? ~0u - 1 - f.object : heap_obj[f.object];
    t.off = f.offset;
    return t;
  }
  if (f.where == HeapIndex::Where::kDangling) {
    t.kind = Target::kInvalid;
    t.text = "dangling pointer into the heap (to freed memory)";
    return t;
  }
  auto it = std::upper_bound(roots.begin(), roots.end(), v,
                             [](uint64_t a, const RootRange& r) { return a < r.start; });
  if (it != roots.begin()) {
    --it;
    if (v <= it->end - 1 || v == objs[it->obj].src_addr + objs[it->obj].src_size) {
      t.kind = Target::kObject;
      t.obj = it->obj;
      t.off = v - it->start;
      return t;
    }
  }
  const ElfFile& elf = src.program().elf();
  if (src.in_executable(v)) {
    uint64_t vaddr = v - src.bias();
    const ElfSymbol* sym = elf.symbol_containing(vaddr);
    if (elf.is_code(vaddr)) {
      if (sym && sym->type == STT_FUNC && sym->value == vaddr) {
        t.kind = Target::kFunction;
        t.sym = sym;
        return t;
      }
      t.kind = Target::kInvalid;
      t.text = "pointer into the code of " + (sym ? sym->key() : std::string("the executable")) +
               " (not at a function's start)";
      return t;
    }
    if (sym && sym->type == STT_OBJECT) {
      t.kind = Target::kStatic;
      t.sym = sym;
      t.off = vaddr - sym->value;
      return t;
    }
    const ElfSection* sec = elf.section_at(vaddr);
    if (sec && sec->name.rfind(".rodata", 0) == 0) {
      if (auto s = elf.string_at(vaddr)) {
        t.kind = Target::kString;
        t.text = *s;
        return t;
      }
    }
    t.kind = Target::kInvalid;
    t.text = "pointer into " + (sec ? sec->name : std::string("the executable")) +
             " at no known variable";
    return t;
  }
  const Mapping* m = src.maps().find(v);
  t.kind = Target::kInvalid;
  if (m == nullptr) {
    t.text = "dangling pointer to unmapped memory";
  } else if (!m->path.empty() && m->path[0] == '/') {
    const Mapping* first = src.maps().first_of(m->inode, m->dev_major, m->dev_minor);
    t.kind = Target::kLibrary;
    t.text = m->path;
    t.off = v - first->start;
  } else if (m->path == "[stack]") {
    t.text = "pointer to the stack (register the local with TANDEM_LOCAL)";
  } else {
    t.text = "pointer to memory not allocated through malloc (" +
             (m->path.empty() ? std::string("anonymous mapping") : m->path) + ")";
  }
  return t;
}

void StateTransfer::Impl::scan(uint32_t o) {
  // walk() may append objects (and move objs): keep copies of what is needed, not a reference.
  const Obj& ref = objs[o];
  if (ref.state != ObjState::kTyped || ref.plan == kNoPlan) return;
  uint32_t plan = ref.plan, flex = ref.flex;
  uint64_t count = ref.count;
  const uint8_t* base = src_bytes(ref);
  objs[o].targets = static_cast<uint32_t>(ptr_targets.size());
  const Plan& p = matcher->get(plan);
  uint64_t esz = p.src_size;
  if (p.has_pointers)
    for (uint64_t i = 0; FI_BRANCH(i < count); i++) walk(plan, base + i * esz, o, i * esz);
  if (flex != ~0u) {
    Flex f = flexes[flex];
    if (matcher->get(f.plan).has_pointers)
      for (uint64_t j = 0; j < f.count; j++)
        walk(f.plan, base + f.src_off + j * f.src_stride, o, f.src_off + j * f.src_stride);
  }
}

void StateTransfer::Impl::walk(uint32_t plan, const uint8_t* base, uint32_t o, uint64_t obj_off) {
  const Plan& p = matcher->get(plan);
  for (const Op& op : p.ops) {
    switch (op.kind) {
      case OpKind::kPointer: {
        uint64_t v = FI_PTR(load64(base + op.src_off));
        if (op.flags & kPtrTagged) v &= ~op.tag_mask;
        uint64_t end = (op.flags & kPtrRange) ? load64(base + op.src_off + op.range_delta) : 0;
        on_pointer(o, obj_off + op.src_off, op, v, end);
        break;
      }
      case OpKind::kRepeat:
        if (matcher->get(op.sub).has_pointers)
          for (uint64_t k = 0; FI_BRANCH(k < op.len); k++)
            walk(op.sub, base + op.src_off + k * op.src_stride, o,
                 obj_off + op.src_off + k * op.src_stride);
        break;
      case OpKind::kUnion: {
        const UnionPlan& u = matcher->union_plan(op.sub);
        uint64_t raw = 0;
        std::memcpy(&raw, base + op.src_off + u.tag_delta, std::min<uint32_t>(u.tag_size, 8));
        if (u.tag_bits) raw = (raw >> u.tag_bit_off) & ((1ull << u.tag_bits) - 1);
        int64_t tag = static_cast<int64_t>(raw);
        if (u.tag_signed && u.tag_size < 8 && !u.tag_bits && (raw >> (u.tag_size * 8 - 1)) & 1)
          tag = static_cast<int64_t>(raw | (~0ull << (u.tag_size * 8)));
        uint32_t sub = kNoPlan;
        bool found = false;
        for (const auto& [value, pl] : u.cases)
          if (value == tag) sub = pl, found = true;
        if (!found && u.otherwise) sub = *u.otherwise, found = true;
        if (!found) {
          violation(describe(o, obj_off + op.src_off) + ": union tag " + std::to_string(tag) +
                    " names no member in TANDEM_UNION");
          break;
        }
        if (sub != kNoPlan) walk(sub, base + op.src_off, o, obj_off + op.src_off);
        break;
      }
      default:
        break;
    }
  }
}

void StateTransfer::Impl::on_pointer(uint32_t o, uint64_t off, const Op& op, uint64_t value,
                                     uint64_t range_end) {
  bool discover_only = op.flags & kPtrNoWrite;
  uint32_t target = kTargetOther;
  uint64_t target_off = 0;
  // Most pointers of a big state point to heap objects: look them up directly, without building
  // a Target (classify() would look the heap up the same way first).
  HeapIndex::Found found;
  if (value >= 4096 && value < 0xffff800000000000ull) found = heap->find(value);
  if (found.where == HeapIndex::Where::kObject) {
    target = heap_obj[found.object];
    if (target == ~0u) target = heap_object(found.object);  // seen first now
    target_off = found.offset;
    ptr_targets.push_back(target);
  } else {
    Target t = classify(value);
    if (t.kind == Target::kObject) {
      target = t.obj;
      target_off = t.off;
      if (target >= objs.size()) target = heap_object(~0u - 1 - target);  // seen first now
    }
    ptr_targets.push_back(t.kind == Target::kNull ? kTargetNull : target);
    if (t.kind == Target::kInvalid) {
      if (!discover_only) violation(describe(o, off) + ": " + t.text);
      return;
    }
    if (t.kind != Target::kObject) {
      if (t.kind == Target::kFunction && !(op.flags & (kPtrFunction | kPtrWeak)) && !discover_only)
        violation(describe(o, off) + ": data pointer to function " + t.sym->key());
      return;
    }
  }
  Obj& x = objs[target];
  if (x.kind != ObjKind::kHeap) {
    bool weak = op.flags & (kPtrWeak | kPtrFunction);
    const TypeTable& st = src.program().types();
    if (!weak && x.state == ObjState::kTyped &&
        !TypeMatcher::holds_at(st, x.src_type, target_off, op.src_type) && !discover_only)
      violation(describe(o, off) + ": a " + st.describe(op.src_type) + " pointer points to " +
                describe(target, target_off) + ", which holds no " + st.describe(op.src_type));
    return;
  }
  if (x.parent < 0) {
    x.parent = static_cast<int32_t>(o);
    x.parent_off = static_cast<uint32_t>(off);
  }
  if (op.flags & kPtrFunction) {
    violation(describe(o, off) + ": function pointer into the heap");
    return;
  }
  const TypeTable& st = src.program().types();
  uint64_t psize = st[st.resolved(op.src_type)].size;
  if ((op.flags & kPtrWeak) || psize == 0) {
    if (x.state == ObjState::kUntyped)
      x.reach |= st[st.resolved(op.src_type)].is_char ? kReachChar : kReachVoid;
    return;
  }
  bool old_layout = op.flags & kPtrOldLayout;
  if (FI_BRANCH(x.state == ObjState::kUntyped)) {
    if (target_off == 0) {
      // The begin of a [begin, end) range: only the live elements are typed.
      uint64_t live = ~uint64_t{0};
      if ((op.flags & kPtrRange) && range_end >= value && range_end <= value + x.src_size)
        live = (range_end - value) / psize;
      type_heap(target, op.src_type, op.dst_type, old_layout, live);
      queue.push_back(target);
    } else {
      hints[target].push_back({target_off, op.src_type, op.dst_type, old_layout});
    }
    return;
  }
  if (x.state != ObjState::kTyped) return;
  uint64_t esz = std::max<uint64_t>(st[st.resolved(x.src_type)].size, 1);
  uint64_t inner = target_off < x.count * esz ? target_off % esz : target_off;
  // Past the live elements (a vector's spare capacity, its end): element-aligned slots only.
  bool in_spare = target_off >= x.count * esz && (target_off - x.count * esz) % esz == 0 &&
                  TypeMatcher::is_prefix_of(st, op.src_type, x.src_type);
  bool ok = TypeMatcher::holds_at(st, x.src_type, inner, op.src_type) || in_spare;
  if (!ok && x.flex != ~0u && target_off >= flexes[x.flex].src_off) ok = true;
  if (ok) return;
  if (target_off == 0 && TypeMatcher::is_prefix_of(st, x.src_type, op.src_type) &&
      psize <= x.src_size) {
    // A more derived type ("struct derived" begins with the "struct base" seen first): retype.
    type_heap(target, op.src_type, op.dst_type, old_layout);
    queue.push_back(target);
    return;
  }
  if (!discover_only)
    violation(describe(o, off) + ": a " + st.describe(op.src_type) + " pointer points to " +
              describe(target, target_off) + ", which holds no " + st.describe(op.src_type));
}

// C++ containers reach their nodes through a base class pointer (std::map: _Rb_tree_node_base):
// an allocation larger than the pointee is the one class derived from it with exactly that size.
TypeId StateTransfer::Impl::downcast(TypeId src_t, uint64_t size) const {
  const TypeTable& st = src.program().types();
  src_t = st.resolved(src_t);
  if (st[src_t].derived.empty() || size <= st[src_t].size) return src_t;
  TypeId found = kVoid;
  int matches = 0;
  std::vector<TypeId> todo = st[src_t].derived;
  for (size_t i = 0; i < todo.size() && i < 64; i++) {
    TypeId d = st.resolved(todo[i]);
    if (st[d].size == size && found != d) found = d, matches++;
    for (TypeId more : st[d].derived) todo.push_back(more);
  }
  return matches == 1 ? found : src_t;
}

StateTransfer::Impl::Shape StateTransfer::Impl::make_shape(TypeId src_t, TypeId dst_t,
                                                           bool old_layout, uint64_t size) {
  Shape sh;
  sh.key_src = src_t;
  sh.key_dst = dst_t;
  sh.key_old = old_layout;
  const TypeTable& st = src.program().types();
  src_t = st.resolved(src_t);
  if (TypeId derived = downcast(src_t, size); derived != src_t) {
    src_t = derived;
    if (old_layout) {
      dst_t = derived;
    } else if (auto c = matcher->counterpart(derived)) {
      dst_t = *c;
    } else {
      dst_t = derived;
      old_layout = true;
    }
  }
  const TypeTable& dt = old_layout ? st : dstp->types();
  dst_t = dt.resolved(dst_t);
  sh.src = src_t;
  sh.dst = dst_t;
  sh.old_layout = old_layout;
  // libc's FILE: its buffers, lock and list links belong to libc, which keeps its own list of
  // open streams; a copy would be a stream libc does not know about.
  sh.file = st[src_t].name == "struct _IO_FILE";
  if (sh.file) return sh;
  const Type& S = st[src_t];
  const Type& D = dt[dst_t];
  sh.plan = matcher->plan(src_t, dst_t, old_layout);
  sh.src_size = S.size;
  sh.dst_size = D.size;
  if (S.kind != TypeKind::kStruct || S.members.empty() || D.kind != TypeKind::kStruct) return sh;
  const Member& last = S.members.back();
  const Type& LT = st[st.resolved(last.type)];
  const Member* dlast = nullptr;
  for (const Member& m : D.members)
    if (m.name == last.name) dlast = &m;
  if (LT.kind != TypeKind::kArray || !dlast ||
      dt[dt.resolved(dlast->type)].kind != TypeKind::kArray)
    return sh;
  const Type& DL = dt[dt.resolved(dlast->type)];
  sh.flex_candidate = true;
  sh.flex_declared = LT.flexible;
  sh.flex_bound = LT.count;
  Flex& f = sh.flex;
  f.src_elem = st.resolved(LT.target);
  f.dst_elem = dt.resolved(DL.target);
  f.src_stride = st[f.src_elem].size;
  f.dst_stride = dt[f.dst_elem].size;
  f.src_off = last.offset;
  f.dst_off = dlast->offset;
  return sh;
}

void StateTransfer::Impl::type_heap(uint32_t h, TypeId src_t, TypeId dst_t, bool old_layout,
                                    uint64_t live_count) {
  Obj& x = objs[h];
  if (x.state == ObjState::kUntyped) untyped--;  // every way out below sets another state
  const TypeTable& st = src.program().types();
  // No Shape on the stack unless the cache misses: zeroing one (a std::optional's storage) was a
  // quarter of this function's time.
  Shape* sh = &shapes[(src_t * 31 + dst_t * 2 + old_layout) % kShapes];
  if (sh->key_src != src_t || sh->key_dst != dst_t || sh->key_old != old_layout) {
    // Cached: the same for every allocation size, unless the type has derived types (then it
    // depends on this allocation's size).
    Shape* into = st[st.resolved(src_t)].derived.empty() ? sh : &uncached_shape;
    *into = make_shape(src_t, dst_t, old_layout, x.src_size);
    sh = into;
  }
  if (sh->file) {
    x.state = ObjState::kRefused;
    x.transfer = false;
    violation(describe(h, 0) +
              ": a FILE from fopen() cannot be transferred (TANDEM_SKIP the "
              "pointer and reopen the file in the new version)");
    return;
  }
  x.src_type = sh->src;
  x.dst_type = sh->dst;
  x.old_layout = sh->old_layout;
  x.state = ObjState::kTyped;
  x.flex = ~0u;
  x.spare = 0;
  x.plan = sh->plan;
  // A struct whose last member is a flexible array (or the [0]/[1] "struct hack") owns the
  // bytes past its fixed part.
  if (sh->flex_candidate && x.src_size >= sh->src_size &&
      (sh->flex_declared || (sh->flex_bound <= 1 && x.src_size > sh->src_size)) &&
      sh->flex.src_stride > 0) {
    Flex f = sh->flex;
    if (f.plan == kNoPlan)
      f.plan = sh->flex.plan = matcher->plan(f.src_elem, f.dst_elem, x.old_layout);
    f.count = (x.src_size - f.src_off) / f.src_stride;
    x.count = 1;
    x.tail = (x.src_size - f.src_off) % f.src_stride;
    x.dst_size = std::max(sh->dst_size, f.dst_off + f.count * f.dst_stride) + x.tail;
    x.flex = static_cast<uint32_t>(flexes.size());
    flexes.push_back(f);
    queue_allocation(h);
    return;
  }
  uint64_t esz = sh->src_size;
  if (esz == 0 || x.src_size < esz) {
    x.state = ObjState::kRefused;
    x.transfer = false;
    violation(describe(h, 0) + ": " + std::to_string(x.src_size) + " bytes are too small for " +
              st.describe(sh->src));
    return;
  }
  // Spare capacity stays capacity of the new element type, so that an end-of-storage pointer
  // still lands on an element boundary (std::vector compares its end pointers for equality).
  x.count = std::min(x.src_size / esz, live_count);
  x.spare = x.src_size / esz - x.count;
  x.tail = x.src_size - (x.count + x.spare) * esz;
  x.dst_size = (x.count + x.spare) * sh->dst_size + x.tail;
  queue_allocation(h);
}

void StateTransfer::Impl::finish_untyped() {
  const TypeTable& st = src.program().types();
  for (auto it = hints.begin(); it != hints.end();) {
    Obj& x = objs[it->first];
    if (x.state != ObjState::kUntyped) {
      it = hints.erase(it);
      continue;
    }
    // Only interior pointers reached it: an array of the pointee type if they line up.
    for (const Hint& h : it->second) {
      uint64_t psize = st[st.resolved(h.src)].size;
      if (psize && h.off % psize == 0 && x.src_size % psize == 0) {
        type_heap(it->first, h.src, h.dst, h.old_layout);
        queue.push_back(it->first);
        break;
      }
    }
    if (x.state == ObjState::kUntyped)
      violation(describe(it->first, it->second.front().off) +
                ": reached only through interior pointers of type " +
                st.describe(it->second.front().src) + "; cannot tell its type");
    if (x.state == ObjState::kUntyped) {
      x.state = ObjState::kRefused;
      untyped--;
    }
    it = hints.erase(it);
  }
  if (!queue.empty()) return;
  // The objects still untyped are counted: the scan ends with the last of them (usually there
  // are none, and a million-entry table is not read once more).
  for (uint32_t o = root_count; o < objs.size() && untyped > 0; o++) {
    Obj& x = objs[o];
    if (x.state != ObjState::kUntyped) continue;
    x.state = ObjState::kBytes;
    untyped--;
    x.count = 1;
    x.dst_size = x.src_size;
    queue_allocation(o);
    if (x.reach & kReachChar) continue;  // strings and buffers: bytes
    // Reached only through void*: copying is safe only if nothing in it looks like a pointer.
    const uint8_t* b = heap->bytes(x.ref);
    for (uint64_t off = 0; off + 8 <= x.src_size; off += 8) {
      Target t = classify(load64(b + off));
      if (t.kind == Target::kObject || t.kind == Target::kFunction || t.kind == Target::kStatic ||
          t.kind == Target::kLibrary) {
        violation(describe(o, off) +
                  ": object reached only through void* holds a pointer; "
                  "give the void* its type with TANDEM_VOID_TYPE");
        x.state = ObjState::kRefused;
        break;
      }
    }
  }
}

}  // namespace tandem::update
