// The destination side of a state transfer: placement, allocation, transformation, writes and
// user callbacks.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>
#include <type_traits>
#include <utility>

#include "base/log.h"
#include "tandem/live.h"
#include "update/proc/remote_io.h"
#include "update/transfer/engine_impl.h"
#include "update/transfer/fault.h"
#include "update/transfer/scalar.h"

namespace tandem::update {

namespace {

double ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

uint64_t load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

// Most copies are a few bytes (one member): avoid a call to memcpy for them.
inline void copy_bytes(uint8_t* d, const uint8_t* s, uint64_t n) {
  if (n >= 8 && n <= 16) {
    uint64_t a, b;
    std::memcpy(&a, s, 8);
    std::memcpy(&b, s + n - 8, 8);
    std::memcpy(d, &a, 8);
    std::memcpy(d + n - 8, &b, 8);
  } else if (n >= 4 && n < 8) {
    uint32_t a, b;
    std::memcpy(&a, s, 4);
    std::memcpy(&b, s + n - 4, 4);
    std::memcpy(d, &a, 4);
    std::memcpy(d + n - 4, &b, 4);
  } else if (n < 4) {
    for (uint64_t i = 0; i < n; i++) d[i] = s[i];
  } else {
    std::memcpy(d, s, n);
  }
}

bool all_zero(const uint8_t* p, uint64_t n) {
  for (uint64_t i = 0; i < n; i++)
    if (p[i]) return false;
  return true;
}

// Sorts (address, object) pairs by address. Big inputs (the way back of a validated update gets
// its objects in discovery order) take an LSD radix sort over the bits in which the addresses
// differ: a heap spans at most a few GB, so two or three passes of 16 bits, several times faster
// than a comparison sort at a million objects. Stable: equal addresses keep their order.
using Keyed = StateTransfer::Impl::Keyed;

void sort_by_address(BigVector<Keyed>& v) {
  if (v.size() < (size_t{1} << 16)) {
    std::sort(v.begin(), v.end());
    return;
  }
  uint64_t lo = ~uint64_t{0}, hi = 0, varying = 0;
  for (const auto& e : v) lo = std::min(lo, e.addr), hi = std::max(hi, e.addr);
  for (const auto& e : v) varying |= e.addr - lo;
  if (varying == 0) return;
  int from = __builtin_ctzll(varying), to = 64 - __builtin_clzll(hi - lo);
  // The passes alternate between v and a scratch buffer that is not zero-filled first (a
  // vector's would be: one more pass over the whole array).
  static_assert(std::is_trivially_copyable_v<Keyed>);
  BigBuffer scratch(v.size() * sizeof(Keyed));
  Keyed* in = v.data();
  Keyed* out = reinterpret_cast<Keyed*>(scratch.get());
  std::vector<size_t> at(size_t{1} << 16);
  for (int shift = from; shift < to; shift += 16) {
    std::fill(at.begin(), at.end(), 0);
    for (size_t i = 0; i < v.size(); i++) at[((in[i].addr - lo) >> shift) & 0xffff]++;
    size_t sum = 0;
    for (size_t& n : at) sum += std::exchange(n, sum);
    for (size_t i = 0; i < v.size(); i++) out[at[((in[i].addr - lo) >> shift) & 0xffff]++] = in[i];
    std::swap(in, out);
  }
  if (in != v.data()) std::memcpy(v.data(), in, v.size() * sizeof(Keyed));
}

Failure refused(const std::vector<std::string>& violations, uint64_t count) {
  std::string more = count > 1 ? " (and " + std::to_string(count - 1) + " more)" : "";
  return fail(FailureKind::kTransferRefused, violations.front() + more);
}

}  // namespace

Expected<void> StateTransfer::run(ProcessView& dst, Agent& agent) {
  Impl& m = *impl_;
  m.dst = &dst;
  m.agent = &agent;
  uint64_t scratch_bytes = 2 * Impl::kBatch * sizeof(tl_alloc_req);
  auto scratch = agent.map(scratch_bytes);
  if (!scratch) return scratch.failure();
  m.scratch[0] = *scratch;
  m.scratch[1] = *scratch + scratch_bytes / 2;
  if (auto r = m.discover(); !r) return r.failure();
  auto t0 = std::chrono::steady_clock::now();
  if (auto r = m.place_roots(); !r) return r.failure();
  if (auto r = m.finish_allocation(); !r) return r.failure();
  if (!FI_SKIP_FREE())
    if (auto r = agent.unmap(*scratch, scratch_bytes); !r) return r.failure();
  stats_.alloc_ms = ms_since(t0);  // what the discovery did not hide
  if (m.events)
    m.events("allocated", "\"objects\":" + std::to_string(stats_.heap_objects) +
                              ",\"reallocated\":" + std::to_string(stats_.reallocated));
  auto t1 = std::chrono::steady_clock::now();
  if (auto r = m.transform(); !r) return r.failure();
  if (m.undo_agent) {
    // The source version's backward callbacks, in a copy of the source process.
    TypeMatcher image_matcher(m.dstp->types(), m.dstp->types(), m.ann);
    auto converted = run_converters(m, *m.undo_agent, image_matcher, [&](uint32_t o, TypeId) {
      return m.objs[o].plan != kNoPlan ? plan_write_mask(*m.matcher, m.objs[o].plan)
                                       : std::vector<uint8_t>();
    });
    if (!converted) return converted.failure();
    if (!m.violations.empty()) return refused(m.violations, m.violation_count);
    stats_.callbacks += *converted;
  }
  stats_.transform_ms = ms_since(t1);
  auto t2 = std::chrono::steady_clock::now();
  WriteBatch batch(dst.pid());
  for (uint32_t o = 0; o < m.root_count; o++)  // the roots; heap objects go in spans
    if (m.objs[o].transfer) batch.add(m.objs[o].dst_addr, m.out_ptr(m.objs[o]), m.objs[o].dst_size);
  for (const auto& span : m.spans)
    batch.add(span.start, m.span_data.get() + span.local, span.end - span.start);
  stats_.bytes_written = batch.bytes();
  if (auto r = batch.flush(); !r)
    return fail(FailureKind::kSystem,
                "cannot write the new version's memory: " + r.error().describe());
  stats_.write_ms = ms_since(t2);
  auto t3 = std::chrono::steady_clock::now();
  if (auto r = m.run_callbacks(agent); !r) return r.failure();
  stats_.callback_ms = ms_since(t3);
  return {};
}

Expected<void> StateTransfer::Impl::place_roots() {
  const auto& dvars = dstp->debug().variables();
  for (uint32_t o = 0; o < root_count; o++) {
    Obj& x = objs[o];
    if (!x.transfer) continue;
    switch (x.kind) {
      case ObjKind::kGlobal:
        x.dst_addr = dst->bias() + dvars[x.dst_ref].addr;
        x.dst_size = dvars[x.dst_ref].size;
        break;
      case ObjKind::kTls:
        if (!dst->tls_block()) {
          x.transfer = false;
          continue;
        }
        x.dst_addr = *dst->tls_block() + dvars[x.dst_ref].addr;
        x.dst_size = dvars[x.dst_ref].size;
        break;
      case ObjKind::kLocal: {
        const RegisteredLocal& s = src.locals()[x.ref];
        x.transfer = false;
        for (uint32_t i = 0; i < dst->locals().size(); i++) {
          const RegisteredLocal& d = dst->locals()[i];
          if (d.function == s.function && d.name == s.name) {
            x.dst_ref = i;
            x.dst_addr = d.addr;
            x.dst_size = d.size;
            x.transfer = true;
          }
        }
        if (!x.transfer)
          notes.push_back("registered local " + s.function + "::" + s.name +
                          " is not registered by the new version: not transferred");
        break;
      }
      case ObjKind::kHeap:
        break;
    }
  }
  return {};
}

uint64_t StateTransfer::Impl::dst_site(uint64_t site) {
  if (site == last_site && site != 0) return last_site_result;
  last_site = site;
  if (auto it = site_map.find(site); it != site_map.end()) return last_site_result = it->second;
  uint64_t result = 0;
  if (src.in_executable(site)) {
    if (auto key = src.program().sites().key_of(site - src.bias()))
      if (auto addr = dstp->sites().address_of(*key)) result = dst->bias() + *addr;
  } else if (const Mapping* m = src.maps().find(site); m && !m->path.empty() && m->path[0] == '/') {
    const Mapping* first = src.maps().first_of(m->inode, m->dev_major, m->dev_minor);
    const Mapping* there = dst->maps().first_of(m->inode, m->dev_major, m->dev_minor);
    if (first && there) result = there->start + (site - first->start);
  }
  site_map[site] = result;
  return last_site_result = result;
}

Expected<void> StateTransfer::Impl::send_batch() {
  if (pending.empty()) return {};
  if (in_flight.size() == 2)
    if (auto r = finish_batch(); !r) return r.failure();
  Batch b;
  b.buffer = in_flight.empty() ? 0 : 1 - in_flight.back().buffer;
  size_t n = std::min<size_t>(pending.size(), kBatch);
  b.objs.assign(pending.end() - static_cast<ptrdiff_t>(n), pending.end());
  pending.resize(pending.size() - n);
  if (reqs.size() < n) reqs.resize(n);  // one buffer for every batch: no fresh pages
  for (size_t i = 0; i < n; i++) {
    // The batch's objects were typed up to 64k objects ago: their entries are out of the cache
    // by now. Ask for them well ahead (the loop is short).
    if (i + 32 < n) prefetch_obj(&objs[b.objs[i + 32]]);
    Obj& x = objs[b.objs[i]];
    reqs[i].size = x.dst_size;
    reqs[i].site = dst_site(x.site) | kSiteTransferred;
    x.alloc_size = x.dst_size + 1;
  }
  RemoteMemory mem(dst->pid());
  if (auto r = mem.write(remote_addr(scratch[b.buffer]),
                         {reinterpret_cast<uint8_t*>(reqs.data()), n * sizeof(tl_alloc_req)});
      !r)
    return fail(FailureKind::kSystem, "cannot write allocation requests: " + r.error().describe());
  if (auto r = agent->alloc_begin(scratch[b.buffer], n); !r) return r.failure();
  in_flight.push_back(std::move(b));
  return {};
}

Expected<void> StateTransfer::Impl::finish_batch() {
  Batch b = std::move(in_flight.front());
  in_flight.erase(in_flight.begin());
  auto waited = std::chrono::steady_clock::now();
  auto done = agent->alloc_end();
  stats.alloc_wait_ms += ms_since(waited);
  if (!done) return done.failure();
  if (*done != b.objs.size())
    return fail(FailureKind::kTransferRefused,
                "the new version ran out of memory allocating "
                "the transferred heap objects");
  if (reqs.size() < b.objs.size()) reqs.resize(b.objs.size());
  RemoteMemory mem(dst->pid());
  if (auto r = mem.read(remote_addr(scratch[b.buffer]), {reinterpret_cast<uint8_t*>(reqs.data()),
                                                         b.objs.size() * sizeof(tl_alloc_req)});
      !r)
    return fail(FailureKind::kSystem, "cannot read the allocations: " + r.error().describe());
  for (size_t i = 0; FI_BRANCH(i < b.objs.size()); i++) {
    if (i + 32 < b.objs.size()) __builtin_prefetch(&objs[b.objs[i + 32]].dst_addr, 1);
    objs[b.objs[i]].dst_addr = FI_PTR(reqs[i].size);
  }
  return {};
}

Expected<void> StateTransfer::Impl::finish_allocation() {
  for (int round = 0; round < 2; round++) {
    while (!pending.empty())
      if (auto r = send_batch(); !r) return r.failure();
    while (!in_flight.empty())
      if (auto r = finish_batch(); !r) return r.failure();
    // An object retyped after its allocation went out (a derived type seen later) needs another
    // size: free the first allocation and make a new one.
    std::vector<uint64_t> stale;
    for (uint32_t o : std::exchange(retyped, {})) {
      Obj& x = objs[o];
      if (!x.transfer || x.alloc_size == 0 || x.alloc_size == kQueued ||
          x.alloc_size == x.dst_size + 1)
        continue;  // freed and queued again already, or still the right size
      stale.push_back(x.dst_addr);
      x.alloc_size = 0;
      queue_allocation(o);
    }
    if (stale.empty()) return {};
    stats.reallocated += stale.size();
    for (size_t at = 0; at < stale.size(); at += kBatch) {
      size_t n = std::min<size_t>(kBatch, stale.size() - at);
      RemoteMemory mem(dst->pid());
      if (auto r = mem.write(remote_addr(scratch[0]),
                             {reinterpret_cast<uint8_t*>(stale.data() + at), n * 8});
          !r)
        return fail(FailureKind::kSystem, "cannot write free requests: " + r.error().describe());
      if (!FI_SKIP_FREE())
        if (auto r = agent->free(scratch[0], n); !r) return r.failure();
    }
  }
  return {};
}

std::optional<uint64_t> StateTransfer::Impl::map_into(const Obj& x, uint64_t off,
                                                      TypeId want) const {
  if (x.state == ObjState::kBytes || x.old_layout) return off;
  // The common case: a pointer to the start of an object of its own type.
  if (off == 0 && (want == kVoid || want == x.src_type)) return 0;
  if (x.kind != ObjKind::kHeap)
    return matcher->map_offset(x.src_type, x.dst_type, false, off, want);
  const TypeTable& st = src.program().types();
  const TypeTable& dt = dstp->types();
  uint64_t esz = st[x.src_type].size, dsz = dt[x.dst_type].size;
  if (x.flex != ~0u && off >= flexes[x.flex].src_off) {
    const Flex& f = flexes[x.flex];
    uint64_t j = (off - f.src_off) / f.src_stride, r = (off - f.src_off) % f.src_stride;
    if (j >= f.count)
      return f.dst_off + f.count * f.dst_stride + (off - f.src_off - f.count * f.src_stride);
    auto inner = matcher->map_offset(f.src_elem, f.dst_elem, false, r, want);
    if (!inner) return std::nullopt;
    return f.dst_off + j * f.dst_stride + *inner;
  }
  uint64_t idx = off / esz, r = off % esz;
  uint64_t slots = x.count + x.spare;  // live and spare elements
  if (idx >= slots) return slots * dsz + (off - slots * esz);  // the raw tail
  auto inner = matcher->map_offset(x.src_type, x.dst_type, false, r, want);
  if (!inner) return std::nullopt;
  return idx * dsz + *inner;
}

std::optional<uint64_t> StateTransfer::Impl::dst_string(const std::string& s) {
  const ElfFile& elf = dstp->elf();
  if (!strings_indexed) {
    strings_indexed = true;
    for (const auto& sec : elf.sections()) {
      if (sec.name.rfind(".rodata", 0) != 0 || sec.type != SHT_PROGBITS) continue;
      auto bytes = elf.bytes_at(sec.addr, sec.size);
      size_t start = 0;
      for (size_t i = 0; i < bytes.size(); i++) {
        if (bytes[i] != 0) continue;
        dst_strings.try_emplace(
            std::string(reinterpret_cast<const char*>(bytes.data()) + start, i - start),
            sec.addr + start);
        start = i + 1;
      }
    }
  }
  if (auto it = dst_strings.find(s); it != dst_strings.end()) return dst->bias() + it->second;
  // The linker merges a literal into the tail of a longer one ("bar" inside "foobar").
  for (const auto& [text, addr] : dst_strings)
    if (text.size() > s.size() && text.compare(text.size() - s.size(), s.size(), s) == 0)
      return dst->bias() + addr + (text.size() - s.size());
  return std::nullopt;
}

// A pointer to a variable or heap object (at `t_off` into object `t_obj`): where that place is
// in the new version, or nullopt after a violation.
std::optional<uint64_t> StateTransfer::Impl::relocate_object(uint32_t t_obj, uint64_t t_off,
                                                             const Op& op, uint32_t o,
                                                             uint64_t off) {
  auto bad = [&](const std::string& why) -> std::optional<uint64_t> {
    if (!lenient) violation_at(o, off, why);
    return std::nullopt;
  };
  if (t_obj >= objs.size()) return bad("points to a heap object that is not transferred");
  const Obj& x = objs[t_obj];
  if (FI_BRANCH(!x.transfer || x.state == ObjState::kRefused))
    return bad("points to " + describe(t_obj, t_off) + ", which does not exist in the new version");
  TypeId want = (op.flags & (kPtrWeak | kPtrInInt)) || image_pass ? kVoid : op.src_type;
  auto mapped = map_into(x, t_off, want);
  if (!mapped)
    return bad("points into " + describe(t_obj, t_off) +
               ", a member that no longer exists in the new version");
  return x.dst_addr + *mapped;
}

std::optional<uint64_t> StateTransfer::Impl::relocate(uint64_t value, const Op& op, uint32_t o,
                                                      uint64_t off, Counters& c, uint32_t known) {
  uint64_t tag = 0;
  if (op.flags & kPtrTagged) {
    tag = value & op.tag_mask;
    value &= ~op.tag_mask;
  }
  // A heap object, resolved by the discovery or found now (going back, every pointer is
  // classified afresh): no Target to build.
  uint32_t target = kTargetOther;
  uint64_t target_off = 0;
  if (known < objs.size()) {
    target = known;
    target_off = value - objs[known].src_addr;
  } else if (known == kTargetOther && value >= 4096 && value < 0xffff800000000000ull) {
    HeapIndex::Found f = heap->find(value);
    if (f.where == HeapIndex::Where::kObject) {
      target = heap_obj[f.object] == ~0u ? ~0u - 1 - f.object : heap_obj[f.object];
      target_off = f.offset;
    }
  }
  if (target != kTargetOther) {
    auto r = relocate_object(target, target_off, op, o, off);
    if (!r) return r;
    c.pointers++;
    return FI_PTR(*r | tag);
  }
  Target t;
  if (known == kTargetNull && value == 0)
    t.kind = Target::kNull;
  else
    t = classify(value);
  auto bad = [&](const std::string& why) -> std::optional<uint64_t> {
    if (!lenient) violation_at(o, off, why);
    return std::nullopt;
  };
  std::optional<uint64_t> result;
  switch (t.kind) {
    case Target::kNull:
      return tag;
    case Target::kSentinel:
      return value | tag;
    case Target::kObject:
      result = relocate_object(t.obj, t.off, op, o, off);
      if (!result) return result;
      break;
    case Target::kFunction: {
      const ElfSymbol* s = dstp->elf().symbol(t.sym->key());
      if (s == nullptr || s->type != STT_FUNC) s = dstp->elf().symbol(t.sym->name);
      if (s == nullptr || s->type != STT_FUNC)
        return bad("function " + t.sym->key() + " no longer exists in the new version");
      result = dst->bias() + s->value;
      break;
    }
    case Target::kStatic: {
      const ElfSymbol* s = dstp->elf().symbol(t.sym->key());
      if (s == nullptr) s = dstp->elf().symbol(t.sym->name);
      if (s == nullptr || t.off > s->size)
        return bad("points into " + t.sym->key() + ", which no longer exists in the new version");
      result = dst->bias() + s->value + t.off;
      break;
    }
    case Target::kString: {
      auto a = dst_string(t.text);
      if (!a)
        return bad("string literal \"" + t.text.substr(0, 40) +
                   "\" does not exist in the new version");
      result = *a;
      break;
    }
    case Target::kLibrary: {
      const Mapping* m = dst->maps().first_of(t.text);
      if (m == nullptr) return bad("points into " + t.text + ", not loaded by the new version");
      result = m->start + t.off;
      break;
    }
    case Target::kInvalid:
      return bad(t.text);
  }
  c.pointers++;
  return FI_PTR(*result | tag);
}

void StateTransfer::Impl::apply_plan(uint32_t plan, const uint8_t* s, uint8_t* d, uint32_t o,
                                     uint64_t obj_off, Counters& c, const uint32_t** cursor) {
  const Plan& p = matcher->get(plan);
  const TypeTable& st = src.program().types();
  const TypeTable& dt = p.old_layout ? st : dstp->types();
  for (const Op& op : p.ops) {
    switch (op.kind) {
      case OpKind::kCopy:
        copy_bytes(d + op.dst_off, s + op.src_off, FI_SIZE(op.len));
        break;
      case OpKind::kConvert: {
        auto err = convert_scalar(st, op.src_type, s, {op.src_off, op.src_bit_off, op.src_bits}, dt,
                                  op.dst_type, d, {op.dst_off, op.dst_bit_off, op.dst_bits});
        if (err && !lenient) violation_at(o, obj_off + op.src_off, *err);
        break;
      }
      case OpKind::kPointer: {
        uint32_t known = cursor ? *(*cursor)++ : kTargetOther;
        if (op.flags & kPtrNoWrite) break;
        uint64_t v = load64(s + op.src_off);
        if (raw_pointers) {  // an image for a backward callback: addresses of the new version
          std::memcpy(d + op.dst_off, &v, 8);
          break;
        }
        auto r = relocate(v, op, o, obj_off + op.src_off, c, known);
        uint64_t w = r.value_or(0);
        std::memcpy(d + op.dst_off, &w, 8);
        break;
      }
      case OpKind::kRepeat:
        for (uint64_t k = 0; FI_BRANCH(k < op.len); k++)
          apply_plan(op.sub, s + op.src_off + k * op.src_stride, d + op.dst_off + k * op.dst_stride,
                     o, obj_off + op.src_off + k * op.src_stride, c,
                     matcher->get(op.sub).has_pointers ? cursor : nullptr);
        break;
      case OpKind::kUnion: {
        const UnionPlan& u = matcher->union_plan(op.sub);
        uint64_t raw = 0;
        std::memcpy(&raw, s + op.src_off + u.tag_delta, std::min<uint32_t>(u.tag_size, 8));
        if (u.tag_bits) raw = (raw >> u.tag_bit_off) & ((1ull << u.tag_bits) - 1);
        int64_t tag = static_cast<int64_t>(raw);
        if (u.tag_signed && u.tag_size < 8 && !u.tag_bits && (raw >> (u.tag_size * 8 - 1)) & 1)
          tag = static_cast<int64_t>(raw | (~0ull << (u.tag_size * 8)));
        std::optional<uint32_t> sub;
        for (const auto& [value, pl] : u.cases)
          if (value == tag) sub = pl;
        if (!sub) sub = u.otherwise;
        if (sub && *sub != kNoPlan)
          apply_plan(*sub, s + op.src_off, d + op.dst_off, o, obj_off + op.src_off, c, cursor);
        break;
      }
      case OpKind::kRefuse:
        if (!all_zero(s + op.src_off, op.len) && !lenient)
          violation_at(o, obj_off + op.src_off, p.names[op.what]);
        break;
      case OpKind::kLoss:
        if (!all_zero(s + op.src_off, op.len)) c.lossy++;
        break;
    }
  }
}

Expected<void> StateTransfer::Impl::transform() {
  // Roots start from the new version's own bytes: members it added keep their initial values.
  uint64_t root_total = 0;
  std::vector<RemoteRange> initial;
  BigVector<uint32_t> heap_objs;
  heap_objs.reserve(objs.size());
  bool sorted = true;  // by new address (one batch allocation is usually sorted already)
  uint64_t last_addr = 0;
  // Going back, the objects come in discovery order, far from address order: their (address,
  // object) pairs are taken in this pass over the table, not in another one.
  BigVector<Keyed> keyed;
  // Going back, the pairing loop collected the heap objects to write back already: only the
  // roots are looked at here.
  bool keys_given = heap_keys_ready;
  if (keys_given) {
    keyed.swap(heap_keys);
    heap_keys_ready = false;
    heap_objs.resize(keyed.size());
    sorted = false;  // (sorting a sorted list changes nothing: stable)
  } else if (forward) {
    keyed.reserve(objs.size());
  }
  // Heap spans: objects sorted by their new address, merged when the gap between them is a few
  // allocator headers. Where each heap object lies in span_data, in span order, is also kept
  // apart: the gap checksums read it, not the 128-byte entries (twice over the whole table).
  constexpr uint64_t kGap = 256;
  spans.clear();
  uint64_t local = 0;
  BigVector<Extent> placed;
  if (!forward) placed.reserve(objs.size());
  auto place = [&](Obj& x) {
    if (spans.empty() || x.dst_addr > spans.back().end + kGap || x.dst_addr < spans.back().end)
      spans.push_back({x.dst_addr, x.dst_addr, local});
    Span& sp = spans.back();
    uint64_t end = std::max(sp.end, x.dst_addr + x.dst_size);
    local += end - sp.end;
    sp.end = end;
    x.out = sp.local + (x.dst_addr - sp.start);
    if (!forward) placed.push_back({x.out, x.out + x.dst_size});
  };
  // Forward, the objects usually come sorted already (allocated in their order): they are
  // placed in this same pass, until one is out of order.
  for (uint32_t o = 0; o < (keys_given ? root_count : objs.size()); o++) {
    Obj& x = objs[o];
    // The discovery types, refuses or copies as bytes every object it reached (it counts the
    // untyped ones instead of reading the table once more: a miscount would show here).
    TANDEM_CHECK(forward || x.state != ObjState::kUntyped || !x.transfer)
        << "heap object " << o << " left untyped by the discovery";
    if (!x.transfer || x.state == ObjState::kRefused || x.state == ObjState::kUntyped) {
      x.transfer = false;
      continue;
    }
    if (forward && !x.validate) continue;  // backward: left as the old process has it
    if (x.kind == ObjKind::kHeap) {
      heap_objs.push_back(o);
      if (forward) keyed.push_back({x.dst_addr, o});
      sorted = sorted && x.dst_addr >= last_addr;
      last_addr = x.dst_addr;
      if (sorted && !forward) place(x);
      continue;
    }
    x.out = root_total;
    initial.push_back({x.dst_addr, x.dst_size});
    root_total += x.dst_size;
  }
  root_out.resize(root_total);
  if (auto r = read_many(dst->pid(), initial, root_out.data()); !r)
    return fail(FailureKind::kSystem,
                "cannot read the new version's variables: " + r.error().describe());
  if (!sorted) {
    // Sorted as (address, object) pairs: the comparisons stay in one array.
    if (!forward) {
      keyed.reserve(heap_objs.size());
      for (size_t i = 0; i < heap_objs.size(); i++)
        keyed.push_back({objs[heap_objs[i]].dst_addr, heap_objs[i]});
    }
    sort_by_address(keyed);
    for (size_t i = 0; i < keyed.size(); i++) heap_objs[i] = keyed[i].obj;
  }
  BigVector<Keyed>().swap(keyed);  // its memory serves the span buffer below (arena, first fit)
  if (!sorted || forward) {
    spans.clear();
    local = 0;
    placed.clear();
    for (size_t i = 0; i < heap_objs.size(); i++) {
      // Going back the objects come in address order, far from the table's: entries ahead.
      if (i + 16 < heap_objs.size()) prefetch_obj(&objs[heap_objs[i + 16]]);
      place(objs[heap_objs[i]]);
    }
  }
  span_data = BigBuffer(local);
  std::vector<RemoteRange> ranges;
  ranges.reserve(spans.size());
  for (const Span& sp : spans) ranges.push_back({sp.start, sp.end - sp.start});
  if (auto r = read_many(dst->pid(), ranges, span_data.get()); !r)
    return fail(FailureKind::kSystem,
                "cannot read the new version's heap: " + r.error().describe());
  dst_string(std::string());  // builds the literal index now: the threads only read it
  Counters main;
  for (uint32_t o = 0; o < root_count; o++)
    if (objs[o].transfer && (!forward || objs[o].validate)) transform_object(o, main);
  // Heap objects are independent of one another: big heaps are shared by two threads in chunks
  // taken from a counter, so that a thread slowed down by another process does not hold the
  // other back.
  constexpr size_t kChunk = 4096, kAhead = 8;
  size_t chunks = (heap_objs.size() + kChunk - 1) / kChunk;
  Counters helper_counters;
  auto parallel = [&](auto&& chunk_fn) {
    std::atomic<size_t> next{0};
    auto work = [&](Counters& c) {
      for (size_t k; (k = next.fetch_add(1)) < chunks;)
        chunk_fn(k * kChunk, std::min((k + 1) * kChunk, heap_objs.size()), c);
    };
    std::thread helper;
    if (chunks >= 4) helper = std::thread([&] { work(helper_counters); });
    work(main);
    if (helper.joinable()) helper.join();
  };
  // The spans are written back whole, allocator headers between the objects included: a
  // transform that wrote past an object would corrupt them, unseen by the validation (which
  // compares objects). Checksums of the gaps before and after tell (forward runs only: going
  // back, the gaps are the old process's bytes and the comparison sees them); one per chunk,
  // computed by the two threads.
  std::vector<uint64_t> gap_sums(forward ? 0 : chunks);
  if (!forward)
    parallel([&](size_t from, size_t to, Counters&) {
      gap_sums[from / kChunk] = gap_checksum(placed, from, to);
    });
  parallel([&](size_t from, size_t to, Counters& c) {
    for (size_t i = from; i < to; i++) {
      // An object's entry, its registry slot and its source bytes are each a cache miss when
      // the objects come in another order than the tables (going back: discovery order vs
      // address order; forward: the heap copy is in discovery order). Each is asked for
      // ahead of its use, in three stages so that no address waits for a miss.
      if (i + 3 * kAhead < to) prefetch_obj(&objs[heap_objs[i + 3 * kAhead]]);
      if (i + 2 * kAhead < to) {
        heap->prefetch_slot(objs[heap_objs[i + 2 * kAhead]].ref);
        if (forward) prefetch_obj(&forward->objs[heap_objs[i + 2 * kAhead]]);
      }
      if (i + kAhead < to) {
        const Obj& ahead = objs[heap_objs[i + kAhead]];
        const uint8_t* s = heap->bytes(ahead.ref);
        __builtin_prefetch(s);
        __builtin_prefetch(s + std::min<uint64_t>(ahead.src_size, 64) - 1);
      }
      transform_object(heap_objs[i], c);
    }
  });
  if (!forward) {
    std::vector<uint64_t> after(chunks);
    parallel([&](size_t from, size_t to, Counters&) {
      after[from / kChunk] = gap_checksum(placed, from, to);
    });
    for (size_t k = 0; k < chunks; k++) {
      if (after[k] == gap_sums[k]) continue;
      violation_at(heap_objs[k * kChunk], 0,
                   "the transfer wrote outside the new version's objects near this one (past the "
                   "end of an object, over the allocator's bookkeeping)");
      break;
    }
  }
  stats.pointers += main.pointers + helper_counters.pointers;
  stats.converted_objects += main.converted + helper_counters.converted;
  stats.lossy_truncations += main.lossy + helper_counters.lossy;
  if (!violations.empty()) return refused(violations, violation_count);
  return {};
}

// A checksum of the bytes of span_data between the objects placed[from, to) and their
// predecessors (allocator headers, slack): spans lie end to end in span_data, and the objects in
// it in their order without overlapping, so these gaps are every byte no object covers.
uint64_t StateTransfer::Impl::gap_checksum(const BigVector<Extent>& placed, size_t from,
                                           size_t to) const {
  uint64_t h = 0;
  for (size_t i = std::max<size_t>(from, 1); i < to; i++) {
    const uint8_t* p = span_data.get() + placed[i - 1].end;
    const uint8_t* q = span_data.get() + placed[i].out;
    for (; p + 8 <= q; p += 8) h = (h ^ load64(p)) * 0x9e3779b97f4a7c15ull + 1;
    for (; p < q; p++) h = (h ^ *p) * 0x100000001b3ull;
  }
  return h;
}

void StateTransfer::Impl::transform_object(uint32_t o, Counters& c) {
  const Obj& x = objs[o];
  const uint8_t* s = src_bytes(x);
  uint8_t* d = out_ptr(x);
  // A new heap object starts as zeros (members the update added), then gets its bytes. Going
  // back, what the forward transfer read is zeroed first, so that a missing write shows.
  if (forward)
    zero_read_bytes(x, d);
  else if (x.kind == ObjKind::kHeap && !FI_SKIP_INIT())
    std::memset(d, 0, x.dst_size);
  if (FI_BRANCH(x.state == ObjState::kBytes)) {
    std::memcpy(d, s, FI_SIZE(x.src_size));
    return;
  }
  const Plan& p = matcher->get(x.plan);
  if (p.changed) c.converted++;
  uint64_t esz = p.src_size, dsz = p.dst_size;
  // The same walk as the discovery's scan(): main elements, then the flexible array's.
  const uint32_t* at = x.targets != ~0u ? ptr_targets.data() + x.targets : nullptr;
  const uint32_t** cursor = at ? &at : nullptr;
  if (p.identical && x.flex == ~0u && x.count > 1) {
    std::memcpy(d, s, FI_SIZE(x.count * esz));  // arrays of plain data: one copy
  } else {
    for (uint64_t i = 0; FI_BRANCH(i < x.count); i++)
      apply_plan(x.plan, s + i * esz, d + i * dsz, o, i * esz, c,
                 p.has_pointers ? cursor : nullptr);
  }
  if (x.flex != ~0u) {
    const Flex& f = flexes[x.flex];
    bool flex_pointers = matcher->get(f.plan).has_pointers;
    for (uint64_t j = 0; FI_BRANCH(j < f.count); j++)
      apply_plan(f.plan, s + f.src_off + j * f.src_stride, d + f.dst_off + j * f.dst_stride, o,
                 f.src_off + j * f.src_stride, c, flex_pointers ? cursor : nullptr);
    if (x.tail)
      std::memcpy(d + f.dst_off + f.count * f.dst_stride, s + f.src_off + f.count * f.src_stride,
                  x.tail);
  } else if (x.tail) {
    uint64_t slots = x.count + x.spare;
    std::memcpy(d + slots * dsz, s + slots * esz, x.tail);
  }
}

Expected<void> StateTransfer::Impl::run_callbacks(Agent& agent) {
  struct Call {
    uint64_t fn;
    uint64_t new_obj;
    int32_t obj;  // -1: INIT_VAR (no old copy)
    uint64_t elem;
    std::string path;
    uint64_t new_size;
  };
  std::vector<Call> calls;
  const auto& dvars = dstp->debug().variables();
  const TypeTable& st = src.program().types();
  const TypeTable& dt = dstp->types();
  for (const Annotation* a : ann.all(AnnKind::kTransformType)) {
    for (uint32_t o = 0; o < objs.size(); o++) {
      const Obj& x = objs[o];
      if (!x.transfer || x.old_layout || x.state != ObjState::kTyped) continue;
      TypeId elem = x.dst_type;
      uint64_t n = x.count;
      if (x.kind != ObjKind::kHeap && dt[dt.resolved(elem)].kind == TypeKind::kArray) {
        n = dt[dt.resolved(elem)].count;
        elem = dt[dt.resolved(elem)].target;
      }
      if (dt[dt.resolved(elem)].name != a->path) continue;
      uint64_t dsz = dt[dt.resolved(elem)].size;
      for (uint64_t i = 0; i < n; i++)
        calls.push_back({a->fn, x.dst_addr + i * dsz, static_cast<int32_t>(o), i, a->path, dsz});
    }
  }
  for (const Annotation* a : ann.all(AnnKind::kTransformVar)) {
    bool found = false;
    for (uint32_t o = 0; o < objs.size(); o++) {
      const Obj& x = objs[o];
      if (x.kind != ObjKind::kGlobal || !x.transfer || dvars[x.dst_ref].key != a->path) continue;
      calls.push_back({a->fn, x.dst_addr, static_cast<int32_t>(o), 0, a->path, x.dst_size});
      found = true;
    }
    if (!found)
      notes.push_back("TANDEM_TRANSFORM_VAR(" + a->path + "): no such transferred variable");
  }
  for (const Annotation* a : ann.all(AnnKind::kInitVar)) {
    const Variable* v = dstp->debug().variable(a->path);
    if (v == nullptr || v->tls) {
      notes.push_back("TANDEM_INIT_VAR(" + a->path +
                      "): no such variable in memory (a static the program never writes is "
                      "folded into a constant by the optimiser)");
      continue;
    }
    calls.push_back({a->fn, dst->bias() + v->addr, -1, 0, a->path, v->size});
  }
  if (calls.empty()) return {};
  // Scratch layout: calls, xfer records, path strings, old copies.
  struct Xfer {
    uint64_t path, old_size, new_size, index;
    int32_t direction, pad;
  };
  static_assert(sizeof(Xfer) == sizeof(struct tandem_xfer));
  uint64_t calls_bytes = calls.size() * sizeof(tl_call_req);
  uint64_t xfer_at = calls_bytes, strings_at = xfer_at + calls.size() * sizeof(Xfer);
  uint64_t strings_bytes = 0;
  for (const Call& c : calls) strings_bytes += c.path.size() + 1;
  uint64_t copies_at = (strings_at + strings_bytes + 15) & ~uint64_t{15};
  std::vector<uint64_t> copy_size(calls.size(), 0);
  uint64_t copies_bytes = 0;
  for (size_t i = 0; i < calls.size(); i++) {
    if (calls[i].obj < 0) continue;
    const Obj& x = objs[calls[i].obj];
    TypeId e = x.src_type;
    if (x.kind != ObjKind::kHeap && !calls[i].path.empty() &&
        ann.find(AnnKind::kTransformType, calls[i].path) &&
        st[st.resolved(e)].kind == TypeKind::kArray)
      e = st[st.resolved(e)].target;
    copy_size[i] = st[st.resolved(e)].size;
    copies_bytes += (copy_size[i] + 15) & ~uint64_t{15};
  }
  uint64_t total = copies_at + copies_bytes;
  auto scratch = agent.map(total);
  if (!scratch) return scratch.failure();
  std::vector<uint8_t> buf(total, 0);
  uint64_t str_cursor = strings_at, copy_cursor = copies_at;
  lenient = true;  // old copies: a pointer whose target is gone becomes NULL
  for (size_t i = 0; i < calls.size(); i++) {
    const Call& c = calls[i];
    tl_call_req req{*scratch + 0, c.new_obj, 0, *scratch + xfer_at + i * sizeof(Xfer)};
    req.fn = dst->bias() + c.fn;
    Xfer xf{*scratch + str_cursor, copy_size[i], c.new_size, c.elem, 0, 0};
    std::memcpy(buf.data() + str_cursor, c.path.c_str(), c.path.size() + 1);
    str_cursor += c.path.size() + 1;
    if (c.obj >= 0) {
      const Obj& x = objs[c.obj];
      TypeId e = st.resolved(x.src_type);
      const uint8_t* s = src_bytes(x) + c.elem * copy_size[i];
      if (x.kind != ObjKind::kHeap && st[e].kind == TypeKind::kArray && copy_size[i] != x.src_size)
        e = st.resolved(st[e].target);
      uint32_t old_plan = matcher->plan(e, e, true);
      Counters ignored;
      apply_plan(old_plan, s, buf.data() + copy_cursor, static_cast<uint32_t>(c.obj),
                 c.elem * copy_size[i], ignored, nullptr);
      req.old_obj = *scratch + copy_cursor;
      copy_cursor += (copy_size[i] + 15) & ~uint64_t{15};
    }
    std::memcpy(buf.data() + i * sizeof(tl_call_req), &req, sizeof req);
    std::memcpy(buf.data() + xfer_at + i * sizeof(Xfer), &xf, sizeof xf);
  }
  lenient = false;
  RemoteMemory mem(dst->pid());
  if (auto r = mem.write(remote_addr(*scratch), buf); !r)
    return fail(FailureKind::kSystem,
                "cannot write the callback requests: " + r.error().describe());
  if (events) events("callbacks", "\"count\":" + std::to_string(calls.size()));
  auto result = agent.call(*scratch, calls.size());
  if (!result) return result.failure();
  if (result->first >= 0) {
    const Call& c = calls[static_cast<size_t>(result->first)];
    const ElfSymbol* fn = dstp->elf().symbol_containing(c.fn);
    return fail(FailureKind::kCallbackFailed,
                "callback " + (fn ? fn->name : std::string("?")) + " for " + c.path +
                    " refused the update (returned " + std::to_string(result->second) + ")");
  }
  stats.callbacks = calls.size();
  if (!FI_SKIP_FREE())
    if (auto r = agent.unmap(*scratch, total); !r) return r.failure();
  return {};
}

}  // namespace tandem::update
