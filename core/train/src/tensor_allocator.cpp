#include "pretext/train/tensor_allocator.h"

#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>
#include <c10/util/Exception.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>
#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace pretext::core {
namespace {

// Every large block the allocator owns, live or cached. Leaked on purpose: tensors can
// outlive static destruction, and their deleter must still find the pool.
struct Pool {
  bool poison = false;  // PRETEXT_TENSOR_CACHE=poison: fill blocks handed out with 0xFF
  std::mutex mutex;
  std::unordered_map<void*, std::size_t> sizes;  // block -> its (rounded) size
  std::multimap<std::size_t, void*> free;        // cached blocks by size
  AllocatorStats stats;
};
Pool& pool() {
  static Pool* p = new Pool;
  return *p;
}

std::size_t roundUp(std::size_t n) { return (n + 4095) & ~std::size_t{4095}; }

// Empties the cache; the blocks are freed outside the lock.
void dropCached() {
  std::vector<void*> blocks;
  {
    Pool& p = pool();
    std::lock_guard<std::mutex> lock(p.mutex);
    for (const auto& [size, block] : p.free) {
      p.sizes.erase(block);
      blocks.push_back(block);
    }
    p.free.clear();
    p.stats.cachedBytes = 0;
  }
  for (void* b : blocks) c10::free_cpu(b);
}

void release(void* data) {
  if (!data) return;
  Pool& p = pool();
  {
    std::lock_guard<std::mutex> lock(p.mutex);
    auto it = p.sizes.find(data);
    if (it != p.sizes.end()) {
      const std::size_t size = it->second;
      p.stats.liveBytes -= size;
      if (p.stats.cachedBytes + size <= kCacheLimit) {
        p.free.emplace(size, data);
        p.stats.cachedBytes += size;
        return;
      }
      p.sizes.erase(it);
    }
  }
  c10::free_cpu(data);  // a small block, or the cache is full
}

class CachingCpuAllocator final : public c10::Allocator {
 public:
  c10::DataPtr allocate(std::size_t n) const override {
    void* data = n < kCachedBlockMin ? c10::alloc_cpu(n) : large(n);
    // Reused blocks hold the previous tensor's bytes where fresh pages were zero; the
    // poison mode makes any read of memory before it is written show up (as NaN).
    if (data && pool().poison) std::memset(data, 0xff, n);
    return {data, data, &release, c10::Device(c10::DeviceType::CPU)};
  }
  c10::DeleterFnPtr raw_deleter() const override { return &release; }

 private:
  static void* large(std::size_t n) {
    const std::size_t want = roundUp(n);
    Pool& p = pool();
    {
      std::lock_guard<std::mutex> lock(p.mutex);
      auto it = p.free.lower_bound(want);
      if (it != p.free.end() && it->first <= want + want / 4) {
        void* data = it->second;
        p.stats.cachedBytes -= it->first;
        p.stats.liveBytes += it->first;
        ++p.stats.hits;
        p.free.erase(it);
        return data;
      }
    }
    void* data = nullptr;
    try {
      data = c10::alloc_cpu(want);
    } catch (const c10::Error&) {
      dropCached();  // the cache may be what fills memory; give it back and try once more
      data = c10::alloc_cpu(want);
    }
    std::lock_guard<std::mutex> lock(p.mutex);
    p.sizes.emplace(data, want);
    p.stats.liveBytes += want;
    ++p.stats.misses;
    return data;
  }
};

}  // namespace

bool configureAllocator() {
  static const bool installed = [] {
    const char* env = std::getenv("PRETEXT_TENSOR_CACHE");
    if (env && std::strcmp(env, "0") == 0) return false;
    pool().poison = env && std::strcmp(env, "poison") == 0;
    // Leaked like the pool: LibTorch keeps pointing at it until the process is gone.
    auto* allocator = new CachingCpuAllocator;
    // Priority above the default allocator's, so a later registration at the default
    // priority does not silently replace this one.
    c10::SetCPUAllocator(allocator, 1);
    return c10::GetCPUAllocator() == allocator;
  }();
  return installed;
}

void releaseFreeMemory() {
  dropCached();
#ifdef __GLIBC__
  malloc_trim(0);
#endif
}

AllocatorStats allocatorStats() {
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.mutex);
  return p.stats;
}

}  // namespace pretext::core
