// Allocator overhead of the tandem-live heap registry per malloc/free pair.
//
// Both variants run in the same process: "glibc" calls glibc's own entry points (__libc_malloc,
// __libc_free), "tandem" calls malloc/free, which the runtime interposes. The difference is the
// cost the registry adds (goal: <= 15 ns per pair). Run: tandem_live_alloc_bench.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <vector>

extern "C" void* __libc_malloc(size_t);
extern "C" void __libc_free(void*);

namespace {

// One allocation freed right away: the tcache fast path, where relative overhead is largest.
void BM_PairGlibc(benchmark::State& state) {
  size_t size = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    void* p = __libc_malloc(size);
    benchmark::DoNotOptimize(p);
    __libc_free(p);
  }
}
void BM_PairTandem(benchmark::State& state) {
  size_t size = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    void* p = std::malloc(size);
    benchmark::DoNotOptimize(p);
    std::free(p);
  }
}

// 1,000 live objects allocated then freed in allocation order: slots and headers leave the cache.
constexpr int kBatch = 1000;
void BM_BatchGlibc(benchmark::State& state) {
  std::vector<void*> ptrs(kBatch);
  size_t size = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    for (auto& p : ptrs) p = __libc_malloc(size);
    benchmark::ClobberMemory();
    for (auto p : ptrs) __libc_free(p);
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}
void BM_BatchTandem(benchmark::State& state) {
  std::vector<void*> ptrs(kBatch);
  size_t size = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    for (auto& p : ptrs) p = std::malloc(size);
    benchmark::ClobberMemory();
    for (auto p : ptrs) std::free(p);
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}

BENCHMARK(BM_PairGlibc)->Arg(16)->Arg(64)->Arg(512);
BENCHMARK(BM_PairTandem)->Arg(16)->Arg(64)->Arg(512);
BENCHMARK(BM_BatchGlibc)->Arg(32);
BENCHMARK(BM_BatchTandem)->Arg(32);

}  // namespace

BENCHMARK_MAIN();
