// A caching allocator for LibTorch's CPU tensors (LibTorch-free header).
//
// A training step frees and allocates the same large tensors every step. Through glibc's
// malloc those go back to the kernel and come back as fresh pages: ~7 000-9 000 page faults
// per LM step, 15-25 % of the step (docs/benchmarks.md). This allocator keeps freed blocks of
// 64 KiB and more and hands them out again (best fit, at most 25 % larger than asked for),
// so a steady-state step allocates nothing from the system. It works on any thread, which
// glibc's own tuning (mallopt) does not: a thread's arena frees whole heaps regardless.
#pragma once

#include <cstddef>
#include <cstdint>

namespace pretext::core {

// Installs the allocator as LibTorch's CPU allocator (process-wide, idempotent; tensors
// that exist already keep their own deleter). TrainingJob::run calls it. Not installed when
// the environment sets PRETEXT_TENSOR_CACHE=0. PRETEXT_TENSOR_CACHE=poison fills every
// tensor's memory with 0xFF bytes (NaN) when it is handed out, to prove that nothing reads
// memory before writing it (a test trains with it). Returns whether it is installed.
bool configureAllocator();

// Frees every cached block and hands the heap's free pages back to the kernel
// (malloc_trim). TrainingJob::run calls it when a run ends, so the GUI does not keep a
// finished run's working set.
void releaseFreeMemory();

struct AllocatorStats {
  std::size_t cachedBytes = 0;  // held in the cache, free for reuse
  std::size_t liveBytes = 0;    // large blocks currently backing tensors
  std::uint64_t hits = 0;       // large allocations served from the cache
  std::uint64_t misses = 0;     // large allocations that went to the system
};
AllocatorStats allocatorStats();

// Blocks of at least this size are cached; smaller ones go straight to malloc, whose
// per-thread caches already serve them without page faults.
inline constexpr std::size_t kCachedBlockMin = 64 * 1024;
// At most this much is kept free in the cache; a block freed beyond it goes to the system.
inline constexpr std::size_t kCacheLimit = std::size_t{1} << 30;

}  // namespace pretext::core
