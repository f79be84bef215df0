// The backward transfer of time-traveling state transfer (issue 5): the new version's state,
// read again from the new process, transferred back into the reversed copy of the old process,
// each object at the address it has in the old process.
//
// It is a second run of the same engine in the other direction (a second Impl: source = the new
// process, destination = the reversed copy), with three differences from a forward run:
//   - no discovery and no allocation: objects are the forward run's, placed at their original
//     addresses. What is taken from the forward run is only that pairing, checked against the new
//     process's own heap registry (each object must still be a live allocation of the size the
//     forward run asked for); bytes, pointers and types are read again from the new process, and
//     the plans come from a second type matcher built from new types to old ones;
//   - before an object is written back, the bytes the forward transfer read from it are zeroed
//     (a missing write then differs from the original); bytes it did not read (members the update
//     dropped, truncated array elements, padding of changed layouts) keep the old process's value;
//   - objects a forward callback changed without a backward callback are left as they are in the
//     old process (they cannot be validated), and so are objects the new version freed in a
//     callback. Coverage says how much was validated.
// The comparison of the reversed copy with the old process is not here: the old process does it
// (runtime/ttst.c), so that a faulty transfer cannot vouch for itself.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/log.h"
#include "tandem/live.h"
#include "update/proc/remote_io.h"
#include "update/transfer/engine_impl.h"

namespace tandem::update {

namespace {

uint64_t load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

// The element type and count a type callback sees in an object (arrays of roots by element).
std::pair<TypeId, uint64_t> element_of(const TypeTable& t, const Obj& x, TypeId type) {
  TypeId e = t.resolved(type);
  if (x.kind != ObjKind::kHeap && t[e].kind == TypeKind::kArray)
    return {t.resolved(t[e].target), t[e].count};
  return {e, x.count};
}

}  // namespace

const StateTransfer::Impl::ReadMask& StateTransfer::Impl::read_mask(uint32_t fplan) {
  if (fplan < read_masks.size() && read_masks[fplan]) return *read_masks[fplan];
  auto& fm = *forward->matcher;
  const TypeTable& ot = forward->src.program().types();
  ReadMask mask;
  mask.bytes.assign(fm.get(fplan).src_size, 0);
  auto set = [&](uint64_t at, uint64_t n) {
    for (uint64_t i = at; i < at + n && i < mask.bytes.size(); i++) mask.bytes[i] = 1;
  };
  std::function<void(uint32_t, uint64_t)> mark = [&](uint32_t plan, uint64_t base) {
    for (const Op& op : fm.get(plan).ops) {
      switch (op.kind) {
        case OpKind::kCopy:
          set(base + op.src_off, op.len);
          break;
        case OpKind::kConvert:
          set(base + op.src_off, op.src_bits ? (op.src_bit_off + op.src_bits + 7) / 8
                                             : ot[ot.resolved(op.src_type)].size);
          break;
        case OpKind::kPointer:
          if (!(op.flags & kPtrNoWrite)) set(base + op.src_off, 8);
          break;
        case OpKind::kRepeat:
          for (uint64_t k = 0; k < op.len; k++) mark(op.sub, base + op.src_off + k * op.src_stride);
          break;
        default:  // unions: only the active member is written back; loss/refuse: not transferred
          break;
      }
    }
  };
  mark(fplan, 0);
  mask.count = static_cast<uint64_t>(std::count(mask.bytes.begin(), mask.bytes.end(), 1));
  mask.full = mask.count == mask.bytes.size();
  for (uint32_t i = 0; i < mask.bytes.size();) {
    if (!mask.bytes[i]) {
      i++;
      continue;
    }
    uint32_t j = i;
    while (j < mask.bytes.size() && mask.bytes[j]) j++;
    mask.runs.emplace_back(i, j - i);
    i = j;
  }
  if (read_masks.size() <= fplan) read_masks.resize(fplan + 1);
  read_masks[fplan] = std::make_unique<ReadMask>(std::move(mask));
  return *read_masks[fplan];
}

const StateTransfer::Impl::ReadMask& StateTransfer::Impl::built_read_mask(uint32_t fplan) const {
  TANDEM_CHECK(fplan < read_masks.size() && read_masks[fplan])
      << "read mask of forward plan " << fplan << " used before it was built";
  return *read_masks[fplan];
}

namespace {

// Most runs are a member or two (a few bytes): no call to memset for them.
inline void zero_bytes(uint8_t* d, uint64_t n) {
  const uint64_t z = 0;
  if (n >= 8 && n <= 16) {
    std::memcpy(d, &z, 8);
    std::memcpy(d + n - 8, &z, 8);
  } else if (n >= 4 && n < 8) {
    std::memcpy(d, &z, 4);
    std::memcpy(d + n - 4, &z, 4);
  } else if (n < 4) {
    for (uint64_t i = 0; i < n; i++) d[i] = 0;
  } else {
    std::memset(d, 0, n);
  }
}

void zero_masked(uint8_t* d, const StateTransfer::Impl::ReadMask& m) {
  if (m.full) {
    std::memset(d, 0, m.bytes.size());
    return;
  }
  for (const auto& [at, len] : m.runs) zero_bytes(d + at, len);
}

}  // namespace

void StateTransfer::Impl::zero_read_bytes(const Obj& x, uint8_t* d) {
  const Obj& fx = forward->objs[static_cast<size_t>(&x - objs.data())];
  if (fx.state != ObjState::kTyped || fx.plan == kNoPlan || fx.old_layout) {
    std::memset(d, 0, x.dst_size);
    return;
  }
  const ReadMask& m = built_read_mask(fx.plan);
  uint64_t esz = m.bytes.size();
  for (uint64_t i = 0; i < fx.count; i++) zero_masked(d + i * esz, m);
  if (fx.flex != ~0u) {
    const Flex& f = forward->flexes[fx.flex];
    const ReadMask& fm = built_read_mask(f.plan);
    for (uint64_t j = 0; j < f.count; j++) zero_masked(d + f.src_off + j * f.src_stride, fm);
    if (fx.tail) std::memset(d + f.src_off + f.count * f.src_stride, 0, fx.tail);
  } else if (fx.tail) {
    std::memset(d + (fx.count + fx.spare) * esz, 0, fx.tail);
  }
}

uint64_t StateTransfer::Impl::read_bytes(const Obj& x) {
  const Obj& fx = forward->objs[static_cast<size_t>(&x - objs.data())];
  if (fx.state != ObjState::kTyped || fx.plan == kNoPlan || fx.old_layout) return fx.src_size;
  uint64_t n = fx.count * read_mask(fx.plan).count + fx.tail;
  if (fx.flex != ~0u) n += forward->flexes[fx.flex].count * read_mask(forward->flexes[fx.flex].plan).count;
  return n;
}

namespace {

// Relocates, in place, the pointers of an image in the old layout whose pointers hold addresses
// of the new process (what a backward callback produced), walking a plan of old types.
// Only pointers that hold new-process addresses are relocated: those the default conversion
// wrote (bytes the forward transfer read) and those the callback changed; the others still hold
// the old process's value (a member the update dropped).
struct ImageSpan {
  const uint8_t* base;    // the image
  const uint8_t* before;  // the image before the callback
  const std::vector<uint8_t>* mask;
  bool fresh(const uint8_t* p) const {
    uint64_t k = static_cast<uint64_t>(p - base);
    return (k < mask->size() && (*mask)[k]) || std::memcmp(p, before + k, 8) != 0;
  }
};

void relocate_image(StateTransfer::Impl& b, const TypeMatcher& m, uint32_t plan, uint8_t* img,
                    uint32_t o, uint64_t off, StateTransfer::Impl::Counters& c,
                    const ImageSpan& span) {
  for (const Op& op : m.get(plan).ops) {
    switch (op.kind) {
      case OpKind::kPointer: {
        if (op.flags & kPtrNoWrite || !span.fresh(img + op.src_off)) break;
        uint64_t v = load64(img + op.src_off);
        uint64_t tag = (op.flags & kPtrTagged) ? v & op.tag_mask : 0;
        Op weak = op;
        weak.flags = static_cast<uint8_t>(weak.flags & ~kPtrTagged);
        auto r = b.relocate(v & ~tag, weak, o, off + op.src_off, c);
        uint64_t w = r.value_or(0) | tag;
        std::memcpy(img + op.src_off, &w, 8);
        break;
      }
      case OpKind::kRepeat:
        for (uint64_t k = 0; k < op.len; k++)
          relocate_image(b, m, op.sub, img + op.src_off + k * op.src_stride, o,
                         off + op.src_off + k * op.src_stride, c, span);
        break;
      case OpKind::kUnion: {
        const UnionPlan& u = m.union_plan(op.sub);
        uint64_t raw = 0;
        std::memcpy(&raw, img + op.src_off + u.tag_delta, std::min<uint32_t>(u.tag_size, 8));
        if (u.tag_bits) raw = (raw >> u.tag_bit_off) & ((1ull << u.tag_bits) - 1);
        for (const auto& [value, pl] : u.cases)
          if (static_cast<uint64_t>(value) == raw && pl != kNoPlan)
            relocate_image(b, m, pl, img + op.src_off, o, off + op.src_off, c, span);
        break;
      }
      default:
        break;
    }
  }
}

struct BackCall {
  uint64_t fn = 0;
  uint32_t obj = 0;
  uint64_t elem = 0;
  uint64_t new_addr = 0, new_size = 0;
  uint64_t old_size = 0;
  TypeId old_type = kVoid;
  std::string path;
};

// The allocator's bookkeeping around a transferred object of the new version: runtime/alloc.c's
// header (slot | pad, check word p ^ key ^ word 0), and glibc's chunk size in front of it. A
// write past another object that landed there would break a later free() without changing any
// object the comparison sees.
std::optional<std::string> heap_integrity(const StateTransfer::Impl& b, uint64_t addr,
                                          uint64_t size, std::optional<uint64_t>& key) {
  const uint8_t* h = b.heap->local(addr - 16);
  const uint8_t* c = b.heap->local(addr - 24);
  if (h == nullptr || c == nullptr) return std::nullopt;
  uint64_t w0 = load64(h), w1 = load64(h + 8);
  uint64_t k = w1 ^ addr ^ w0;
  if (!key) key = k;
  auto broken = [&](const char* what) {
    return fmt::format("the allocator's {} in front of the new version's object at {:#x} ({} bytes) "
                       "was overwritten (a write past the end of the object before it?)",
                       what, addr, size);
  };
  if (k != *key) return broken("header");
  if ((w0 >> 56) != 4) return std::nullopt;  // over-aligned: another layout
  uint64_t chunk = load64(c);
  if (chunk & 2) return std::nullopt;  // mmapped chunk: page-rounded
  uint64_t want = std::max<uint64_t>(32, (size + 16 + 8 + 15) & ~uint64_t{15});
  // glibc hands out a free chunk whole when the rest would be smaller than its minimum (32).
  uint64_t have = chunk & ~uint64_t{7};
  if (have < want || have >= want + 32) return broken("chunk size");
  return std::nullopt;
}


// Bytes of one destination element a plan writes (copies, conversions, pointers).
std::vector<uint8_t> write_mask(const TypeMatcher& m, uint32_t plan) {
  std::vector<uint8_t> mask(m.get(plan).dst_size, 0);
  std::function<void(uint32_t, uint64_t)> mark = [&](uint32_t pl, uint64_t base) {
    for (const Op& op : m.get(pl).ops) {
      uint64_t n = op.kind == OpKind::kCopy ? op.len : op.kind == OpKind::kPointer ? 8 : 0;
      if (op.kind == OpKind::kConvert) n = op.dst_bits ? (op.dst_bit_off + op.dst_bits + 7) / 8 : 8;
      if (op.kind == OpKind::kRepeat)
        for (uint64_t k = 0; k < op.len; k++) mark(op.sub, base + op.dst_off + k * op.dst_stride);
      for (uint64_t i = base + op.dst_off; i < base + op.dst_off + n && i < mask.size(); i++)
        mask[i] = 1;
    }
  };
  mark(plan, 0);
  return mask;
}

}  // namespace

std::vector<uint8_t> plan_write_mask(const TypeMatcher& m, uint32_t plan) {
  return write_mask(m, plan);
}

// Runs callbacks that convert objects of an Impl's source into its destination's layout, in a
// sandbox copy of the source process, and puts their images in place of the default conversion:
// the new version's backward callbacks during a validation (the source is the new version), or
// the running version's when an update is undone (the source is the old process). Returns how
// many ran. `image_matcher` plans over the destination's types; `fresh` gives, per call, the
// bytes of the image the default conversion wrote (their pointers are source addresses).
Expected<uint64_t> run_converters(StateTransfer::Impl& b, Agent& agent, TypeMatcher& image_matcher,
                                  const std::function<std::vector<uint8_t>(uint32_t o,
                                                                           TypeId old_type)>& fresh) {
  const TypeTable& nt = b.src.program().types();
  const TypeTable& ot = b.dstp->types();
  const auto& nvars = b.src.program().debug().variables();
  std::vector<BackCall> calls;
  for (const Annotation* a : b.ann.all(AnnKind::kBackwardType)) {
    for (uint32_t o = 0; o < b.objs.size(); o++) {
      const Obj& y = b.objs[o];
      if (!y.transfer || !y.validate || y.state != ObjState::kTyped || y.old_layout) continue;
      auto [ne, n] = element_of(nt, y, y.src_type);
      if (nt[ne].name != a->path) continue;
      TypeId oe = element_of(ot, y, y.dst_type).first;
      for (uint64_t i = 0; i < n; i++)
        calls.push_back({a->fn, o, i, y.src_addr + i * nt[ne].size, nt[ne].size, ot[oe].size, oe,
                         a->path});
    }
  }
  for (const Annotation* a : b.ann.all(AnnKind::kBackwardVar)) {
    for (uint32_t o = 0; o < b.root_count; o++) {
      const Obj& y = b.objs[o];
      if (y.kind != ObjKind::kGlobal || !y.transfer || !y.validate || nvars[y.ref].key != a->path)
        continue;
      calls.push_back({a->fn, o, 0, y.src_addr, y.src_size, y.dst_size, ot.resolved(y.dst_type),
                       a->path});
    }
  }
  if (calls.empty()) return uint64_t{0};
  // Images: the default conversion, pointers left as addresses of the new process.
  struct Xfer {
    uint64_t path, old_size, new_size, index;
    int32_t direction, pad;
  };
  static_assert(sizeof(Xfer) == sizeof(struct tandem_xfer));
  uint64_t calls_bytes = calls.size() * sizeof(tl_call_req);
  uint64_t xfer_at = calls_bytes, strings_at = xfer_at + calls.size() * sizeof(Xfer);
  uint64_t strings_bytes = 0;
  for (const BackCall& c : calls) strings_bytes += c.path.size() + 1;
  uint64_t images_at = (strings_at + strings_bytes + 15) & ~uint64_t{15};
  std::vector<uint64_t> image_off(calls.size());
  uint64_t total = images_at;
  for (size_t i = 0; i < calls.size(); i++) {
    image_off[i] = total;
    total += (calls[i].old_size + 15) & ~uint64_t{15};
  }
  // Each image starts as the element about to be written back (the old process's bytes, those
  // the forward transfer read replaced by the default conversion) with its pointers left as
  // addresses of the new process: the callback sees objects of its own process, and a member it
  // does not write keeps the old value, while one it writes wrong differs.
  std::vector<uint8_t> buf(total, 0);
  StateTransfer::Impl::Counters ignored;
  b.raw_pointers = true;
  for (size_t i = 0; i < calls.size(); i++) {
    const BackCall& c = calls[i];
    const Obj& y = b.objs[c.obj];
    uint32_t plan = y.plan;
    if (y.kind != ObjKind::kHeap && c.path.size() && b.ann.find(AnnKind::kBackwardType, c.path))
      plan = b.matcher->plan(nt.resolved(element_of(nt, y, y.src_type).first), c.old_type, false);
    std::memcpy(buf.data() + image_off[i], b.out_ptr(y) + c.elem * c.old_size, c.old_size);
    b.apply_plan(plan, b.src_bytes(y) + c.elem * c.new_size, buf.data() + image_off[i], c.obj,
                 c.elem * c.new_size, ignored, nullptr);
  }
  b.raw_pointers = false;
  std::vector<uint8_t> before = buf;
  auto pid = agent.sandbox_begin();
  if (!pid) return pid.failure();
  auto scratch = agent.map(total);
  if (!scratch) return scratch.failure();
  uint64_t str_cursor = strings_at;
  for (size_t i = 0; i < calls.size(); i++) {
    const BackCall& c = calls[i];
    tl_call_req req{b.src.bias() + c.fn, *scratch + image_off[i], c.new_addr,
                    *scratch + xfer_at + i * sizeof(Xfer)};
    Xfer xf{*scratch + str_cursor, c.old_size, c.new_size, c.elem, 1, 0};
    std::memcpy(buf.data() + str_cursor, c.path.c_str(), c.path.size() + 1);
    str_cursor += c.path.size() + 1;
    std::memcpy(buf.data() + i * sizeof(tl_call_req), &req, sizeof req);
    std::memcpy(buf.data() + xfer_at + i * sizeof(Xfer), &xf, sizeof xf);
  }
  RemoteMemory mem(*pid);
  if (auto r = mem.write(remote_addr(*scratch), buf); !r)
    return fail(FailureKind::kSystem, "cannot write the backward callback requests: " +
                                          r.error().describe());
  if (b.events) b.events("backward_callbacks", "\"count\":" + std::to_string(calls.size()));
  auto result = agent.call(*scratch, calls.size());
  if (!result) return result.failure();
  if (result->first >= 0) {
    const BackCall& c = calls[static_cast<size_t>(result->first)];
    const ElfSymbol* fn = b.src.program().elf().symbol_containing(c.fn);
    return fail(FailureKind::kCallbackFailed,
                "backward callback " + (fn ? fn->name : std::string("?")) + " for " + c.path +
                    " refused the update (returned " + std::to_string(result->second) + ")");
  }
  if (auto r = mem.read(remote_addr(*scratch), {buf.data(), buf.size()}); !r)
    return fail(FailureKind::kSystem, "cannot read the backward callbacks' results: " +
                                          r.error().describe());
  if (auto r = agent.sandbox_end(); !r) return r.failure();
  // Map the images' pointers back and put them in place of the default conversion.
  auto& fm = image_matcher;
  b.image_pass = true;
  StateTransfer::Impl::Counters c;
  for (size_t i = 0; i < calls.size(); i++) {
    const BackCall& call = calls[i];
    uint8_t* img = buf.data() + image_off[i];
    std::vector<uint8_t> mask = fresh(call.obj, call.old_type);
    ImageSpan span{img, before.data() + image_off[i], &mask};
    relocate_image(b, fm, fm.plan(call.old_type, call.old_type, true), img, call.obj,
                   call.elem * call.old_size, c, span);
    // The callback answers for the whole element: members the update dropped that it restores
    // are validated too.
    std::memcpy(b.out_ptr(b.objs[call.obj]) + call.elem * call.old_size, img, call.old_size);
  }
  b.image_pass = false;
  return uint64_t{calls.size()};
}

Expected<Coverage> StateTransfer::run_backward(ProcessView& fut, ProcessView& rev, Agent& agent) {
  Impl& f = *impl_;
  // The forward run's image of the new heap is written and no longer needed: its memory (taken
  // from the arena faulted in before the pause) serves the way back.
  f.span_data = BigBuffer();
  auto t0 = std::chrono::steady_clock::now();
  auto ms = [](auto a) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - a).count();
  };
  TransferStats bstats;
  Impl b(fut, rev.shared_program(), f.events, bstats);
  b.forward = &f;
  b.dst = &rev;
  b.agent = &agent;
  // Undoing an update: the destination (older) version's backward callbacks lead further back,
  // not here; the source's converters are the "forward callbacks" whose objects are left out.
  b.ann = f.undo_agent ? Annotations(*f.dstp, rev.program()).without_callbacks()
                       : Annotations::backward(*f.dstp, rev.program());
  b.matcher = std::make_unique<TypeMatcher>(f.dstp->types(), rev.program().types(), b.ann);
  auto heap = HeapIndex::load(fut);
  if (!heap) return heap.failure();
  b.heap = std::move(heap).value();
  double read_ms = ms(t0);
  b.heap_obj.assign(b.heap->capacity(), ~0u);
  const TypeTable& nt = f.dstp->types();
  const auto& ovars = f.src.program().debug().variables();
  const auto& nvars = f.dstp->debug().variables();
  std::set<std::string> fwd_types, fwd_vars, back_types, back_vars;
  for (const Annotation* a : f.ann.all(AnnKind::kTransformType)) fwd_types.insert(a->path);
  for (const Annotation* a : f.ann.all(AnnKind::kTransformVar)) fwd_vars.insert(a->path);
  if (f.undo_agent) {  // the converters, named in the source's (newer) types
    for (const Annotation* a : f.ann.all(AnnKind::kBackwardType)) fwd_types.insert(a->path);
    for (const Annotation* a : f.ann.all(AnnKind::kBackwardVar)) fwd_vars.insert(a->path);
  }
  for (const Annotation* a : b.ann.all(AnnKind::kBackwardType)) back_types.insert(a->path);
  for (const Annotation* a : b.ann.all(AnnKind::kBackwardVar)) back_vars.insert(a->path);
  std::map<std::string, uint64_t> left_out;
  std::optional<uint64_t> key;  // the new version's header key, learnt from its first object
  // Per (new type, old type) pair: its plan, and whether a forward callback without a way back
  // leaves its objects out (most heap objects share a handful of pairs).
  struct PairInfo {
    uint32_t plan;
    bool excluded;
  };
  std::unordered_map<uint64_t, PairInfo> pairs;

  // Entries are made as the loop reaches them (a resize would write the million-entry table
  // once more, a pass over memory of its own).
  b.objs.reserve(f.objs.size());
  b.heap_keys.reserve(f.objs.size());
  b.root_count = f.root_count;
  std::vector<RemoteRange> root_ranges;
  uint64_t root_total = 0;
  // What the forward transfer read of each object: zeroed before the write-back, and counted
  // here, as each object is paired (a pass of its own would read both tables again).
  Coverage cov;
  auto count = [&](const Obj& y) {
    uint64_t bytes = b.read_bytes(y);
    cov.objects++;
    cov.bytes += bytes;
    if (y.validate && y.transfer) {
      cov.objects_validated++;
      cov.bytes_validated += bytes;
    }
  };
  for (uint32_t o = 0; o < f.objs.size(); o++) {
    const Obj& x = f.objs[o];
    Obj& y = b.objs.emplace_back();
    y.kind = x.kind;
    y.state = x.state;
    y.transfer = x.transfer;
    y.targets = ~0u;  // no replay of the forward run's pointer targets: classify them again
    if (!x.transfer) {
      y.validate = false;
      continue;
    }
    y.src_addr = x.dst_addr;
    y.src_size = x.dst_size;
    y.dst_addr = x.src_addr;
    y.dst_size = x.src_size;
    y.count = x.count;
    y.spare = x.spare;
    y.tail = x.tail;
    y.src_type = x.dst_type;
    y.dst_type = x.src_type;
    y.old_layout = x.old_layout;
    y.ref = x.dst_ref;
    y.dst_ref = x.ref;
    std::string var_key;
    if (x.kind == ObjKind::kHeap) {
      HeapIndex::Found found = b.heap->find(y.src_addr);
      if (found.where != HeapIndex::Where::kObject || found.offset != 0 ||
          !(*b.heap)[found.object].transferred) {
        left_out["freed in the new version (by a callback)"]++;
        y.transfer = y.validate = false;
        count(y);
        continue;
      }
      if ((*b.heap)[found.object].size != x.dst_size) {
        b.violation(fmt::format("the new version's object at {:#x} has {} bytes, not the {} the "
                                "transfer allocated",
                                y.src_addr, (*b.heap)[found.object].size, x.dst_size));
        continue;
      }
      if (auto bad = heap_integrity(b, y.src_addr, x.dst_size, key)) {
        b.violation(*bad);
        continue;
      }
      y.ref = found.object;
      b.heap_obj[found.object] = o;
    } else {
      // Where the variable is, from the new version's DWARF and registered locals again, not
      // from the forward run: a variable written elsewhere must show.
      if (x.kind == ObjKind::kGlobal || x.kind == ObjKind::kTls) {
        const Variable& v = nvars[x.dst_ref];
        if (x.kind == ObjKind::kGlobal) var_key = v.key;
        uint64_t base = x.kind == ObjKind::kTls ? fut.tls_block().value_or(0) : fut.bias();
        y.src_addr = base + v.addr;
        y.src_size = v.size;
      } else if (x.dst_ref < fut.locals().size()) {
        y.src_addr = fut.locals()[x.dst_ref].addr;
        y.src_size = fut.locals()[x.dst_ref].size;
      }
      y.bytes = static_cast<uint32_t>(b.root_bytes.size());
      b.root_bytes.emplace_back();
      root_ranges.push_back({y.src_addr, y.src_size});
      root_total += y.src_size;
      b.roots.push_back({y.src_addr, y.src_addr + std::max<uint64_t>(y.src_size, 1), o});
    }
    if (x.state == ObjState::kTyped && x.old_layout) {
      if (f.src.program().types().has_pointers(x.src_type)) {
        left_out["kept in the old layout by the forward transfer (their type has no counterpart)"]++;
        y.validate = false;
      } else {
        y.state = ObjState::kBytes;
      }
    }
    uint64_t pair_key = (uint64_t{x.dst_type} << 32) | x.src_type;
    auto known = x.kind == ObjKind::kHeap ? pairs.find(pair_key) : pairs.end();
    if (known == pairs.end()) {
      const std::string& tname = nt[element_of(nt, x, x.dst_type).first].name;
      bool excluded = x.state == ObjState::kTyped && !tname.empty() && fwd_types.count(tname) &&
                      !back_types.count(tname);
      uint32_t plan = kNoPlan;
      if (y.state == ObjState::kTyped && !y.old_layout) {
        std::string context = x.kind == ObjKind::kGlobal ? ovars[x.ref].key : "";
        plan = b.matcher->plan(y.src_type, y.dst_type, false, context);
      }
      known = pairs.emplace(x.kind == ObjKind::kHeap ? pair_key : ~uint64_t{0} - o,
                            PairInfo{plan, excluded}).first;
    }
    if (known->second.excluded) {
      left_out[nt[element_of(nt, x, x.dst_type).first].name +
               ": forward callback without TANDEM_BACKWARD_TYPE"]++;
      y.validate = false;
    }
    if (!var_key.empty() && fwd_vars.count(var_key) && !back_vars.count(var_key)) {
      left_out[var_key + ": forward callback without TANDEM_BACKWARD_VAR"]++;
      y.validate = false;
    }
    if (y.state == ObjState::kTyped && !y.old_layout) y.plan = known->second.plan;
    if (x.flex != ~0u) {
      const Flex& ff = f.flexes[x.flex];
      Flex g;
      g.src_off = ff.dst_off;
      g.dst_off = ff.src_off;
      g.count = ff.count;
      g.src_stride = ff.dst_stride;
      g.dst_stride = ff.src_stride;
      g.src_elem = ff.dst_elem;
      g.dst_elem = ff.src_elem;
      g.plan = b.matcher->plan(g.src_elem, g.dst_elem, false);
      y.flex = static_cast<uint32_t>(b.flexes.size());
      b.flexes.push_back(g);
    }
    count(y);
    // What transform() writes back: collected here, its pass over the table is the roots' only.
    if (y.kind == ObjKind::kHeap && y.transfer && y.validate && y.state != ObjState::kRefused &&
        y.state != ObjState::kUntyped)
      b.heap_keys.push_back({y.dst_addr, o});
  }
  b.heap_keys_ready = true;
  std::sort(b.roots.begin(), b.roots.end(),
            [](const Impl::RootRange& p, const Impl::RootRange& q) { return p.start < q.start; });
  if (!b.violations.empty())
    return fail(FailureKind::kTransferRefused, "validation: " + b.violations.front());
  std::vector<uint8_t> all(root_total);
  if (auto r = read_many(fut.pid(), root_ranges, all.data()); !r)
    return fail(FailureKind::kSystem,
                "cannot read the new version's variables: " + r.error().describe());
  uint64_t at = 0;
  for (uint32_t o = 0; o < b.root_count; o++) {
    Obj& y = b.objs[o];
    if (!y.transfer || y.bytes == ~0u) continue;
    b.root_bytes[y.bytes].assign(all.begin() + at, all.begin() + at + y.src_size);
    at += y.src_size;
  }

  for (const auto& [why, n] : left_out)
    cov.left_out.push_back(std::to_string(n) + (n == 1 ? " object " : " objects ") + why);

  double prepare_ms = ms(t0) - read_ms;
  auto t1 = std::chrono::steady_clock::now();
  if (auto r = b.transform(); !r) {
    Failure fl = r.failure();
    fl.message = "validation: transferring the new state back: " + fl.message;
    return fl;
  }
  // Backward callbacks: their images' fresh pointers are where the forward transfer read them.
  auto called = run_converters(
      b, agent, const_cast<TypeMatcher&>(*f.matcher), [&](uint32_t o, TypeId) {
        const Obj& fx = f.objs[o];
        return fx.plan != kNoPlan ? b.read_mask(fx.plan).bytes : std::vector<uint8_t>();
      });
  if (!called) return called.failure();
  if (!b.violations.empty())
    return fail(FailureKind::kTransferRefused,
                "validation: a backward callback's result: " + b.violations.front());
  cov.backward_callbacks = *called;
  double transform_ms = ms(t1);
  auto t2 = std::chrono::steady_clock::now();

  WriteBatch batch(rev.pid());
  for (uint32_t o = 0; o < b.root_count; o++) {
    const Obj& y = b.objs[o];
    if (y.transfer && y.validate) batch.add(y.dst_addr, b.out_ptr(y), y.dst_size);
  }
  for (const auto& span : b.spans)
    batch.add(span.start, b.span_data.get() + span.local, span.end - span.start);
  if (auto r = batch.flush(); !r)
    return fail(FailureKind::kSystem,
                "cannot write the reversed copy's memory: " + r.error().describe());
  if (f.events)
    for (const auto& why : cov.left_out)
      f.events("not_validated", "\"why\":" + nlohmann::json(why).dump());
  if (f.events)
    f.events("transferred_back",
             fmt::format("\"objects\":{},\"validated\":{},\"bytes\":{},\"bytes_validated\":{},"
                         "\"pointers\":{},\"backward_callbacks\":{},\"read_ms\":{:.2f},"
                         "\"prepare_ms\":{:.2f},\"transform_ms\":{:.2f},\"write_ms\":{:.2f}",
                         cov.objects, cov.objects_validated, cov.bytes, cov.bytes_validated,
                         bstats.pointers, cov.backward_callbacks, read_ms, prepare_ms,
                         transform_ms, ms(t2)));
  return cov;
}

std::string StateTransfer::describe_source_address(uint64_t addr) const {
  const Impl& m = *impl_;
  const TypeTable& t = m.src.program().types();
  if (m.heap) {
    HeapIndex::Found found = m.heap->find(addr);
    if (found.where == HeapIndex::Where::kObject) {
      uint32_t o = m.heap_obj[found.object];
      if (o != ~0u) return m.describe(o, found.offset) + fmt::format(", offset {}", found.offset);
      return fmt::format("untransferred heap object at {:#x}, offset {}",
                         (*m.heap)[found.object].addr, found.offset);
    }
  }
  auto it = std::upper_bound(m.roots.begin(), m.roots.end(), addr,
                             [](uint64_t a, const Impl::RootRange& r) { return a < r.start; });
  if (it != m.roots.begin()) {
    --it;
    if (addr < it->end) {
      const Obj& x = m.objs[it->obj];
      return m.describe(it->obj, addr - it->start) + " (" + t.describe(x.src_type) +
             fmt::format(", offset {})", addr - it->start);
    }
  }
  if (const Mapping* map = m.src.maps().find(addr))
    return fmt::format("{}+{:#x}", map->path.empty() ? "anonymous memory" : map->path,
                       addr - map->start);
  return fmt::format("{:#x}", addr);
}

}  // namespace tandem::update
