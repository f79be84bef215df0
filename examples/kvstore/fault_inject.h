/* Fault injection into kvstore's transfer callbacks, for the fault-injection campaign of
 * time-traveling state transfer (experiments/ttst). Only builds with KV_FAULT_INJECTION have it;
 * otherwise every hook is the identity. The hooks misbehave like tandem's own
 * (src/update/transfer/fault.h), configured by the same variable, which a new version inherits
 * from the running one: TANDEM_FAULTS="kind=branch|init|pointer|overflow|leak,phi=P,seed=S".
 * Each execution of a hook of the configured kind misbehaves with probability phi.
 */
#ifndef KV_FAULT_INJECT_H
#define KV_FAULT_INJECT_H

#ifdef KV_FAULT_INJECTION
#include <stdlib.h>
#include <string.h>

/* Not program state (never transferred, TANDEM_SKIP): each version's own, from its environment. */
static int kv_fi_kind = -1;
static double kv_fi_phi;
static unsigned long long kv_fi_state;
TANDEM_SKIP("kvstore.c:kv_fi_kind");
TANDEM_SKIP("kvstore.c:kv_fi_phi");
TANDEM_SKIP("kvstore.c:kv_fi_state");

static void kv_fi_setup(void) {
  const char* env = getenv("TANDEM_FAULTS");
  static const char* const kinds[] = {"none", "branch", "init", "pointer", "overflow", "leak"};
  kv_fi_kind = 0;
  if (!env) return;
  for (const char* s = env; s && *s; s = strchr(s, ',') ? strchr(s, ',') + 1 : NULL) {
    if (strncmp(s, "kind=", 5) == 0)
      for (int k = 0; k < 6; k++)
        if (strncmp(s + 5, kinds[k], strlen(kinds[k])) == 0) kv_fi_kind = k;
    if (strncmp(s, "phi=", 4) == 0) kv_fi_phi = strtod(s + 4, NULL);
    if (strncmp(s, "seed=", 5) == 0) kv_fi_state = strtoull(s + 5, NULL, 0) * 2654435761u + 1;
  }
}

static unsigned long long kv_fi_random(void) {
  unsigned long long x = (kv_fi_state += 0x9e3779b97f4a7c15ull);
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

static int kv_fi_fire(int kind) {
  if (kv_fi_kind < 0) kv_fi_setup();
  return kv_fi_kind == kind && (double)(kv_fi_random() >> 11) * 0x1.0p-53 < kv_fi_phi;
}

static unsigned long kv_fi_pointer(unsigned long p) {
  if (!kv_fi_fire(3)) return p;
  unsigned long long r = kv_fi_random();
  return (r & 1) ? p + ((r & 2) ? 1 : -1) : (unsigned long)(r >> 16);
}

static size_t kv_fi_size(size_t n) {
  if (!kv_fi_fire(4)) return n;
  size_t extra = n * (1 + kv_fi_random() % 100) / 100;
  return n + (extra ? extra : 1);
}

/* Flipped once, or stuck at the flipped value from then on (a loop that never ends). */
#define KV_BRANCH(c)                                           \
  __extension__({                                              \
    static int kv_stuck_; /* 0 healthy, 1 stuck false, 2 true */ \
    int c_ = !!(c);                                            \
    if (kv_stuck_)                                             \
      c_ = kv_stuck_ == 2;                                     \
    else if (kv_fi_fire(1)) {                                  \
      if (kv_fi_random() & 1) kv_stuck_ = c_ ? 1 : 2;          \
      c_ = !c_;                                                \
    }                                                          \
    c_;                                                        \
  })
#define KV_INIT(value) (kv_fi_fire(2) ? (__typeof__(value))kv_fi_random() : (value))
#define KV_PTR(p) ((__typeof__(p))kv_fi_pointer((unsigned long)(p)))
#define KV_SIZE(n) kv_fi_size(n)
#define KV_SKIP_FREE() kv_fi_fire(5)
#else
#define KV_BRANCH(c) (c)
#define KV_INIT(value) (value)
#define KV_PTR(p) (p)
#define KV_SIZE(n) (n)
#define KV_SKIP_FREE() 0
#endif

#endif /* KV_FAULT_INJECT_H */
