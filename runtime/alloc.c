/* Allocator interposition: a registry of every live heap object (address, size, allocation site).
 *
 * The program's malloc family resolves to these definitions (the runtime comes before libc in
 * the symbol search order, or is linked into the executable); they call glibc's __libc_* entry
 * points for the memory itself. Every object gets a 16-byte header in front of the user pointer
 * (so pointers stay 16-byte aligned) and a slot in the registry:
 *
 *   header at p-16: word 0 = slot index | log2(pad) << 56, word 1 = p ^ key ^ word 0
 *   slot:           {ptr = p, size = requested size, site = return address of the call}
 *
 * The check word tells our objects from foreign ones (memory glibc handed out before the
 * interposition, e.g. by the dynamic loader): a foreign pointer goes to glibc untouched.
 *
 * Threading: any thread may allocate and free concurrently. A slot belongs to exactly one live
 * object or to exactly one free list, so slots take no lock. Free lists are per thread (TLS,
 * initial-exec), refilled from a global pool of lists (a spinlock held for a few instructions,
 * taken once per TL_LOCAL_MAX frees or refills) or by bumping the high-water mark (one atomic add
 * per TL_REFILL slots). The tool reads the registry only while every thread is parked.
 *
 * Invariants: for a tracked object p, slots[idx].ptr == p where idx is the header's index; a free
 * slot has ptr == 0 and its size field links the free list; pool lists are chained through the
 * site field of their first slot. The registry is one MAP_NORESERVE mapping that never moves.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>

#include "internal.h"

extern void* __libc_malloc(size_t size);
extern void __libc_free(void* ptr);
extern void* __libc_calloc(size_t n, size_t size);
extern void* __libc_realloc(void* ptr, size_t size);
extern void* __libc_memalign(size_t align, size_t size);

#define TL_NONE ((1ull << 56) - 1)
#define TL_IDX_MASK ((1ull << 56) - 1)
#define TL_HDR 16u
#define TL_HDR_LOG2 4u
#define TL_REFILL 1024u
#define TL_LOCAL_MAX 8192u

static struct tl_slot* tl_slots;
static uint64_t tl_capacity;
static _Atomic uint64_t tl_hwm;
static _Atomic uint64_t tl_untracked;
static uint64_t tl_key;
static _Atomic int tl_init_state; /* 0 none, 1 running, 2 done */
static _Atomic int tl_pool_locked;
static uint64_t tl_pool_head = TL_NONE;
static pthread_key_t tl_thread_key;

#define TL_TLS __thread __attribute__((tls_model("initial-exec")))
static TL_TLS uint64_t tl_head = TL_NONE; /* this thread's free list */
static TL_TLS uint64_t tl_bump;           /* fresh slots [tl_bump, tl_bump_end) */
static TL_TLS uint64_t tl_bump_end;
static TL_TLS uint32_t tl_count; /* frees pushed since the last flush */
static TL_TLS uint8_t tl_thread_seen;

static void tl_pool_lock(void) {
  while (atomic_exchange_explicit(&tl_pool_locked, 1, memory_order_acquire)) __builtin_ia32_pause();
}
static void tl_pool_unlock(void) {
  atomic_store_explicit(&tl_pool_locked, 0, memory_order_release);
}

/* Gives this thread's free list to the pool as one chain. */
static void tl_flush_local(void) {
  if (tl_head == TL_NONE) return;
  tl_pool_lock();
  tl_slots[tl_head].site = tl_pool_head;
  tl_pool_head = tl_head;
  tl_pool_unlock();
  tl_head = TL_NONE;
  tl_count = 0;
}

static void tl_thread_exit(void* unused) {
  (void)unused;
  tl_flush_local();
}

static void tl_atfork_prepare(void) {
  tl_pool_lock();
}
static void tl_atfork_release(void) {
  tl_pool_unlock();
}

static void tl_heap_init(void) {
  int expected = 0;
  if (!atomic_compare_exchange_strong(&tl_init_state, &expected, 1)) {
    while (atomic_load(&tl_init_state) != 2) __builtin_ia32_pause();
    return;
  }
  /* The key must never change once a header was written: take it from AT_RANDOM (16 bytes the
   * kernel gave this process), mixed so that it is not the stack canary itself. */
  const uint64_t* random = (const uint64_t*)getauxval(AT_RANDOM);
  tl_key = (random ? random[1] : (uint64_t)(uintptr_t)&tl_key) * 0x9e3779b97f4a7c15ull | 1;
  /* Reserve address space only; pages appear as slots are used. Halve under strict overcommit. */
  for (size_t bytes = (size_t)1 << 33; bytes >= ((size_t)1 << 24); bytes >>= 1) {
    void* m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    if (m != MAP_FAILED) {
      tl_slots = m;
      tl_capacity = bytes / sizeof(struct tl_slot);
      break;
    }
  }
  atomic_store(&tl_init_state, 2);
  /* These may allocate (recursing into malloc, which now finds the registry ready). */
  pthread_key_create(&tl_thread_key, tl_thread_exit);
  pthread_atfork(tl_atfork_prepare, tl_atfork_release, tl_atfork_release);
}

__attribute__((noinline)) static uint64_t tl_slot_refill(void) {
  if (atomic_load_explicit(&tl_init_state, memory_order_acquire) != 2) tl_heap_init();
  if (tl_slots == NULL) return TL_NONE;
  if (!tl_thread_seen) {
    tl_thread_seen = 1;
    pthread_setspecific(tl_thread_key, (void*)1);
  }
  if (__atomic_load_n(&tl_pool_head, __ATOMIC_RELAXED) != TL_NONE) {
    tl_pool_lock();
    uint64_t chain = tl_pool_head;
    if (chain != TL_NONE) tl_pool_head = tl_slots[chain].site;
    tl_pool_unlock();
    if (chain != TL_NONE) {
      tl_head = tl_slots[chain].size;
      tl_count = 0;
      return chain;
    }
  }
  uint64_t start = atomic_fetch_add_explicit(&tl_hwm, TL_REFILL, memory_order_relaxed);
  if (start + TL_REFILL > tl_capacity) return TL_NONE;
  tl_bump = start + 1;
  tl_bump_end = start + TL_REFILL;
  return start;
}

static inline uint64_t tl_slot_take(void) {
  uint64_t idx = tl_head;
  if (__builtin_expect(idx != TL_NONE, 1)) {
    tl_head = tl_slots[idx].size;
    if (tl_count) tl_count--;
    return idx;
  }
  if (tl_bump < tl_bump_end) return tl_bump++;
  return tl_slot_refill();
}

static inline void tl_slot_release(uint64_t idx) {
  struct tl_slot* s = &tl_slots[idx];
  s->ptr = 0;
  s->size = tl_head;
  tl_head = idx;
  if (__builtin_expect(++tl_count > TL_LOCAL_MAX, 0)) tl_flush_local();
}

/* Records the object whose glibc block starts at base, pad bytes before the user pointer. */
static inline void* tl_track(char* base, unsigned pad_log2, size_t size, uint64_t site) {
  char* p = base + ((size_t)1 << pad_log2);
  uint64_t idx = tl_slot_take();
  if (__builtin_expect(idx != TL_NONE, 1)) {
    struct tl_slot* s = &tl_slots[idx];
    s->ptr = (uint64_t)(uintptr_t)p;
    s->size = size;
    s->site = site;
  } else {
    atomic_fetch_add_explicit(&tl_untracked, 1, memory_order_relaxed);
  }
  uint64_t* h = (uint64_t*)(void*)p - 2;
  uint64_t word0 = idx | ((uint64_t)pad_log2 << 56);
  h[0] = word0;
  h[1] = (uint64_t)(uintptr_t)p ^ tl_key ^ word0;
  return p;
}

/* Returns the header word 0 of an object of ours, or sets *ours = 0 for a foreign pointer. */
static inline uint64_t tl_header(void* p, int* ours) {
  const uint64_t* h = (const uint64_t*)p - 2;
  uint64_t word0 = h[0];
  *ours = h[1] == ((uint64_t)(uintptr_t)p ^ tl_key ^ word0);
  return word0;
}

static inline void* tl_alloc(size_t size, uint64_t site) {
  if (__builtin_expect(size > SIZE_MAX - TL_HDR, 0)) {
    errno = ENOMEM;
    return NULL;
  }
  char* base = __libc_malloc(size + TL_HDR);
  if (__builtin_expect(base == NULL, 0)) return NULL;
  return tl_track(base, TL_HDR_LOG2, size, site);
}

static void* tl_alloc_aligned(size_t align, size_t size, uint64_t site) {
  if (align <= TL_HDR) return tl_alloc(size, site);
  if (align & (align - 1)) {
    errno = EINVAL;
    return NULL;
  }
  if (size > SIZE_MAX - align) {
    errno = ENOMEM;
    return NULL;
  }
  /* The user pointer is base + align: aligned, with the header inside the padding. */
  char* base = __libc_memalign(align, size + align);
  if (base == NULL) return NULL;
  return tl_track(base, (unsigned)__builtin_ctzll(align), size, site);
}

void* tl_alloc_with_site(size_t size, uint64_t site) {
  return tl_alloc(size, site);
}

void tl_heap_describe(struct tl_block* block) {
  uint64_t hwm = atomic_load(&tl_hwm);
  block->slot_size = sizeof(struct tl_slot);
  block->slots = (uint64_t)(uintptr_t)tl_slots;
  block->slot_count = hwm < tl_capacity ? hwm : tl_capacity;
  block->untracked = atomic_load(&tl_untracked);
}

/* ---- the interposed entry points ---- */

void* malloc(size_t size) {
  return tl_alloc(size, (uint64_t)(uintptr_t)__builtin_return_address(0));
}

void free(void* ptr) {
  if (ptr == NULL) return;
  int ours;
  uint64_t word0 = tl_header(ptr, &ours);
  if (!ours) {
    __libc_free(ptr);
    return;
  }
  ((uint64_t*)ptr)[-1] = 0; /* a second free of the same pointer is then foreign to us */
  uint64_t idx = word0 & TL_IDX_MASK;
  if (idx != TL_NONE) tl_slot_release(idx);
  __libc_free((char*)ptr - ((size_t)1 << (word0 >> 56)));
}

void* calloc(size_t n, size_t size) {
  size_t total;
  if (__builtin_mul_overflow(n, size, &total) || total > SIZE_MAX - TL_HDR) {
    errno = ENOMEM;
    return NULL;
  }
  char* base = __libc_calloc(1, total + TL_HDR);
  if (base == NULL) return NULL;
  return tl_track(base, TL_HDR_LOG2, total, (uint64_t)(uintptr_t)__builtin_return_address(0));
}

static size_t (*tl_real_usable_size)(void*);

static size_t tl_libc_usable_size(void* base) {
  if (tl_real_usable_size == NULL)
    tl_real_usable_size = (size_t(*)(void*))dlsym(RTLD_NEXT, "malloc_usable_size");
  return tl_real_usable_size ? tl_real_usable_size(base) : 0;
}

size_t malloc_usable_size(void* ptr) {
  if (ptr == NULL) return 0;
  int ours;
  uint64_t word0 = tl_header(ptr, &ours);
  if (!ours) return tl_libc_usable_size(ptr);
  size_t pad = (size_t)1 << (word0 >> 56);
  return tl_libc_usable_size((char*)ptr - pad) - pad;
}

static void* tl_realloc(void* ptr, size_t size, uint64_t site) {
  if (ptr == NULL) return tl_alloc(size, site);
  int ours;
  uint64_t word0 = tl_header(ptr, &ours);
  if (!ours) return __libc_realloc(ptr, size);
  if (size == 0) {
    free(ptr);
    return NULL;
  }
  unsigned pad_log2 = (unsigned)(word0 >> 56);
  uint64_t idx = word0 & TL_IDX_MASK;
  if (pad_log2 == TL_HDR_LOG2) {
    if (size > SIZE_MAX - TL_HDR) {
      errno = ENOMEM;
      return NULL;
    }
    char* base = __libc_realloc((char*)ptr - TL_HDR, size + TL_HDR);
    if (base == NULL) return NULL; /* the old object is untouched */
    char* p = base + TL_HDR;
    if (idx != TL_NONE) {
      tl_slots[idx].ptr = (uint64_t)(uintptr_t)p;
      tl_slots[idx].size = size;
      tl_slots[idx].site = site;
    }
    uint64_t* h = (uint64_t*)(void*)p - 2;
    h[1] = (uint64_t)(uintptr_t)p ^ tl_key ^ word0;
    return p;
  }
  /* An over-aligned object keeps its alignment: allocate, copy, free. */
  size_t old_size = idx != TL_NONE ? tl_slots[idx].size : malloc_usable_size(ptr);
  void* p = tl_alloc_aligned((size_t)1 << pad_log2, size, site);
  if (p == NULL) return NULL;
  memcpy(p, ptr, old_size < size ? old_size : size);
  free(ptr);
  return p;
}

void* realloc(void* ptr, size_t size) {
  return tl_realloc(ptr, size, (uint64_t)(uintptr_t)__builtin_return_address(0));
}

void* reallocarray(void* ptr, size_t n, size_t size) {
  size_t total;
  if (__builtin_mul_overflow(n, size, &total)) {
    errno = ENOMEM;
    return NULL;
  }
  return tl_realloc(ptr, total, (uint64_t)(uintptr_t)__builtin_return_address(0));
}

void* memalign(size_t align, size_t size) {
  return tl_alloc_aligned(align, size, (uint64_t)(uintptr_t)__builtin_return_address(0));
}

void* aligned_alloc(size_t align, size_t size) {
  return tl_alloc_aligned(align, size, (uint64_t)(uintptr_t)__builtin_return_address(0));
}

int posix_memalign(void** out, size_t align, size_t size) {
  if (align < sizeof(void*) || (align & (align - 1))) return EINVAL;
  int saved = errno;
  void* p = tl_alloc_aligned(align, size, (uint64_t)(uintptr_t)__builtin_return_address(0));
  if (p == NULL) {
    int err = errno;
    errno = saved;
    return err ? err : ENOMEM;
  }
  *out = p;
  return 0;
}

void* valloc(size_t size) {
  return tl_alloc_aligned(4096, size, (uint64_t)(uintptr_t)__builtin_return_address(0));
}

void* pvalloc(size_t size) {
  size_t rounded = (size + 4095) & ~(size_t)4095;
  return tl_alloc_aligned(4096, rounded ? rounded : 4096,
                          (uint64_t)(uintptr_t)__builtin_return_address(0));
}

/* strdup and strndup allocate inside libc, where the site would be libc's: record the caller. */
char* strdup(const char* s) {
  size_t n = strlen(s) + 1;
  char* p = tl_alloc(n, (uint64_t)(uintptr_t)__builtin_return_address(0));
  if (p) memcpy(p, s, n);
  return p;
}

char* strndup(const char* s, size_t max) {
  size_t n = strnlen(s, max);
  char* p = tl_alloc(n + 1, (uint64_t)(uintptr_t)__builtin_return_address(0));
  if (p) {
    memcpy(p, s, n);
    p[n] = 0;
  }
  return p;
}
