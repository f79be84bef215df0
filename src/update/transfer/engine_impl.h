// Internal state of StateTransfer, shared by discover.cc (source side) and apply.cc
// (destination side). Not installed, not used elsewhere.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <unordered_map>

#include "update/proc/big_alloc.h"
#include "update/transfer/engine.h"

namespace tandem::update {

enum class ObjKind : uint8_t { kGlobal, kLocal, kTls, kHeap };
enum class ObjState : uint8_t { kUntyped, kTyped, kBytes, kRefused };
enum Reach : uint8_t { kReachChar = 1, kReachVoid = 2 };

// One object of the source state: a root (variable, registered local, TLS variable) or a heap
// object. Element type `src_type` repeated `count` times, then `spare` elements of unused
// capacity (a range's end before the allocation's: zeroed, never read), then `tail` raw bytes; or
// a struct with a flexible array member (flex).
struct Obj {
  uint64_t src_addr = 0, src_size = 0;
  uint64_t dst_addr = 0, dst_size = 0;
  uint64_t count = 1, spare = 0, tail = 0;
  uint64_t out = 0;         // offset of the new bytes: in root_out (roots) or span_data (heap)
  uint64_t alloc_size = 0;  // heap: 0 never queued, kQueued, else the size requested + 1
  uint64_t site = 0;        // heap: its allocation site (from its registry slot, read once)
  TypeId src_type = kVoid, dst_type = kVoid;
  uint32_t plan = kNoPlan;
  uint32_t ref = ~0u;      // heap: HeapIndex index; global/TLS: source variable; local: local
  uint32_t dst_ref = ~0u;  // global/TLS: destination variable; local: destination local
  uint32_t bytes = ~0u;    // roots: index in root_bytes
  uint32_t flex = ~0u;     // index in flexes
  uint32_t targets = ~0u;  // index in ptr_targets of what its pointers point to
  int32_t parent = -1;     // the object whose pointer first reached this one
  uint32_t parent_off = 0;
  ObjKind kind = ObjKind::kHeap;
  ObjState state = ObjState::kUntyped;
  uint8_t reach = 0;
  bool old_layout = false;
  bool transfer = true;
  bool validate = true;  // backward: written back (else only a target that pointers map to)
};

// An object's entry is two cache lines (the big tables are 64-byte aligned), and the transfer
// reads members from both: ask for each.
static_assert(sizeof(Obj) == 128);
inline void prefetch_obj(const Obj* p) {
  const char* c = reinterpret_cast<const char*>(p);
  __builtin_prefetch(c);
  __builtin_prefetch(c + 64);
}

struct Flex {
  uint64_t src_off = 0, dst_off = 0, count = 0, src_stride = 0, dst_stride = 0;
  TypeId src_elem = kVoid, dst_elem = kVoid;
  uint32_t plan = kNoPlan;
};

struct Hint {
  uint64_t off;
  TypeId src, dst;
  bool old_layout;
};

struct Target {
  enum Kind : uint8_t {
    kNull,
    kSentinel,
    kObject,
    kFunction,
    kStatic,
    kString,
    kLibrary,
    kInvalid
  };
  Kind kind = kNull;
  uint32_t obj = 0;
  uint64_t off = 0;
  const ElfSymbol* sym = nullptr;
  std::string text;  // string literal, library path, or the error
};

struct StateTransfer::Impl {
  Impl(ProcessView& s, std::shared_ptr<Program> d, EventFn e, TransferStats& st)
      : src(s), dstp(std::move(d)), events(std::move(e)), stats(st) {}

  ProcessView& src;
  std::shared_ptr<Program> dstp;
  EventFn events;
  TransferStats& stats;
  Annotations ann;
  std::unique_ptr<TypeMatcher> matcher;
  std::unique_ptr<HeapIndex> heap;

  BigVector<Obj> objs;
  std::vector<Flex> flexes;
  BigVector<uint32_t> heap_obj;  // HeapIndex index -> object, ~0u if not reached
  struct RootRange {
    uint64_t start, end;
    uint32_t obj;
  };
  std::vector<RootRange> roots;  // sorted by start
  std::vector<std::vector<uint8_t>> root_bytes;
  uint32_t root_count = 0;  // objs[0, root_count) are the roots, then heap objects
  // The target of every pointer the discovery followed, in the order the transform meets them
  // again (the same plan walk): an object index, or kTargetNull / kTargetOther (classify again).
  // Replaying it spares the transform a heap lookup through several large tables per pointer.
  static constexpr uint32_t kTargetNull = ~0u, kTargetOther = ~0u - 1;
  BigVector<uint32_t> ptr_targets;
  std::vector<uint32_t> queue;
  uint64_t untyped = 0;  // heap objects in kUntyped (none is left after the discovery)
  // What typing a heap object decides from the types alone (downcast, libc's FILE, the plan, a
  // flexible last member), cached per pointee pair: most heap objects share a handful of types,
  // and members' names need not be compared for every object. Types with derived types are not
  // cached (their downcast depends on the allocation's size).
  struct Shape {
    TypeId key_src = ~0u, key_dst = ~0u;
    bool key_old = false;
    TypeId src = kVoid, dst = kVoid;
    bool old_layout = false;
    bool file = false;  // struct _IO_FILE: refused
    uint32_t plan = kNoPlan;
    uint64_t src_size = 0, dst_size = 0;
    // The last member is an array on both sides: a flexible array member when declared without
    // a bound, or with at most one element in an allocation larger than the struct.
    bool flex_candidate = false, flex_declared = false;
    uint64_t flex_bound = 0;
    Flex flex;  // plan filled when first used
  };
  static constexpr size_t kShapes = 64;  // direct-mapped
  Shape shapes[kShapes];
  Shape uncached_shape;  // the shape of a type with derived types (not cached)
  Shape make_shape(TypeId src_t, TypeId dst_t, bool old_layout, uint64_t size);
  std::map<uint32_t, std::vector<Hint>> hints;
  std::vector<std::string> violations;
  std::vector<std::string> notes;
  uint64_t violation_count = 0;

  // Destination side (apply). Heap objects are built in place inside copies of the destination's
  // heap spans (objects a few bytes apart, with the allocator's headers between them), which are
  // then written back whole: one iovec per span instead of one per object.
  ProcessView* dst = nullptr;
  std::vector<uint8_t> root_out;
  struct Span {
    uint64_t start, end;
    uint64_t local;
  };
  std::vector<Span> spans;
  BigBuffer span_data;
  // Heap objects to write as (new address, object), when known before transform() (going back).
  struct Keyed {
    uint64_t addr;
    uint32_t obj;
    bool operator<(const Keyed& o) const {
      return addr < o.addr || (addr == o.addr && obj < o.obj);
    }
  };
  BigVector<Keyed> heap_keys;
  bool heap_keys_ready = false;
  uint8_t* out_ptr(const Obj& x) {
    return x.kind == ObjKind::kHeap ? span_data.get() + x.out : root_out.data() + x.out;
  }
  std::unordered_map<std::string, uint64_t> dst_strings;
  bool strings_indexed = false;
  std::unordered_map<uint64_t, uint64_t> site_map;
  uint64_t last_site = 0, last_site_result = 0;  // most objects share their neighbour's site
  bool lenient = false;  // relocating old copies for callbacks: failures become NULL
  // Backward (validation) mode: this Impl transfers the destination of `forward` back into a
  // copy of its source; bytes the forward transfer read are zeroed before being written back.
  const Impl* forward = nullptr;
  Agent* undo_agent = nullptr;  // undoing an update: the source's backward callbacks run there
  bool raw_pointers = false;  // building images for backward callbacks: pointers unrelocated
  bool image_pass = false;    // relocating those images: pointee types are of the old table
  struct ReadMask {
    std::vector<uint8_t> bytes;  // 1 where an element of the forward plan's source is read
    bool full = false;
    uint64_t count = 0;
    std::vector<std::pair<uint32_t, uint32_t>> runs;  // the read bytes as (offset, length)
  };
  // Forward plan -> bytes it reads, indexed by plan (a lookup per object going back).
  std::vector<std::unique_ptr<ReadMask>> read_masks;
  const ReadMask& read_mask(uint32_t forward_plan);  // builds it: not from the worker threads
  const ReadMask& built_read_mask(uint32_t forward_plan) const;  // built before: any thread
  void zero_read_bytes(const Obj& x, uint8_t* d);
  uint64_t read_bytes(const Obj& x);

  // Allocation in the destination while the discovery runs: typed heap objects wait in
  // `pending`; full batches go out through two scratch buffers, so that the destination
  // allocates one batch while the tool builds the next.
  Agent* agent = nullptr;
  static constexpr uint32_t kBatch = 1 << 16;
  uint64_t scratch[2] = {0, 0};
  struct Batch {
    int buffer;
    std::vector<uint32_t> objs;
  };
  std::vector<Batch> in_flight;  // oldest first
  BigVector<tl_alloc_req> reqs;  // a batch's requests and results, reused
  std::vector<uint32_t> pending;
  static constexpr uint64_t kQueued = ~uint64_t{0};
  std::vector<uint32_t> retyped;  // typed again after their allocation went out
  void queue_allocation(uint32_t h) {
    if (objs[h].alloc_size != 0) {  // queued or sent: sent ones are checked at the end
      if (objs[h].alloc_size != kQueued) retyped.push_back(h);
      return;
    }
    objs[h].alloc_size = kQueued;
    pending.push_back(h);
  }
  Expected<void> send_batch();
  Expected<void> finish_batch();
  Expected<void> finish_allocation();

  // Counters of the transform, one set per thread, each on its own cache line: two sets side by
  // side on the stack had the threads' per-pointer increments fight over one line (most of the
  // time of relocate()).
  struct alignas(64) Counters {
    uint64_t pointers = 0, converted = 0, lossy = 0;
  };
  std::mutex violations_lock;

  // discover.cc
  Expected<void> pair_roots();
  Expected<void> discover();
  Expected<void> read_roots();
  void scan(uint32_t o);
  void walk(uint32_t plan, const uint8_t* base, uint32_t o, uint64_t obj_off);
  void on_pointer(uint32_t o, uint64_t off, const Op& op, uint64_t value, uint64_t range_end);
  void type_heap(uint32_t h, TypeId src_t, TypeId dst_t, bool old_layout,
                 uint64_t live_count = ~uint64_t{0});
  TypeId downcast(TypeId src_t, uint64_t size) const;
  void finish_untyped();
  Target classify(uint64_t value) const;
  const uint8_t* src_bytes(const Obj& o) const;
  void violation(const std::string& message);
  void violation_at(uint32_t o, uint64_t off, const std::string& why);  // thread-safe
  std::string describe(uint32_t o, uint64_t off, int depth = 0) const;
  uint32_t heap_object(uint32_t h);

  // apply.cc
  Expected<void> place_roots();
  Expected<void> transform();
  struct Extent {
    uint64_t out, end;  // an object's bytes in span_data
  };
  uint64_t gap_checksum(const BigVector<Extent>& placed, size_t from, size_t to) const;
  void transform_object(uint32_t o, Counters& c);
  // `cursor` walks ptr_targets (nullptr: classify every pointer).
  void apply_plan(uint32_t plan, const uint8_t* src, uint8_t* dst, uint32_t o, uint64_t obj_off,
                  Counters& c, const uint32_t** cursor);
  std::optional<uint64_t> relocate(uint64_t value, const Op& op, uint32_t o, uint64_t off,
                                   Counters& c, uint32_t known = kTargetOther);
  std::optional<uint64_t> relocate_object(uint32_t t_obj, uint64_t t_off, const Op& op, uint32_t o,
                                          uint64_t off);
  std::optional<uint64_t> map_into(const Obj& x, uint64_t off, TypeId want) const;
  std::optional<uint64_t> dst_string(const std::string& s);
  uint64_t dst_site(uint64_t src_site);
  Expected<void> run_callbacks(Agent& agent);
};

// backward.cc: callbacks converting an Impl's source objects into its destination's layout, run
// in a sandbox copy of the source process (backward callbacks; undoing an update).
Expected<uint64_t> run_converters(
    StateTransfer::Impl& b, Agent& agent, TypeMatcher& image_matcher,
    const std::function<std::vector<uint8_t>(uint32_t o, TypeId old_type)>& fresh);
// backward.cc: the bytes of one destination element that a plan writes.
std::vector<uint8_t> plan_write_mask(const TypeMatcher& m, uint32_t plan);

// The member path of a byte offset in a type: ".a.b[3]" (for messages).
std::string member_path(const TypeTable& t, TypeId type, uint64_t off);

}  // namespace tandem::update
