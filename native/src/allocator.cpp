// A caching allocator for CPU tensors. libtorch's default CPU allocator hands every block to malloc and back to free.
// glibc serves blocks of 32 MB and more (and, outside the main thread, anything past its arena size) with a fresh
// mmap and unmaps them on free, so a training step that allocates the same large buffers every step (the logits over
// a vocabulary, their gradients) makes the kernel map and zero those pages again every step. This allocator keeps
// freed blocks of at least kMinCachedBytes for reuse, up to a limit, the way PyTorch's CUDA caching allocator does on a
// GPU; smaller blocks go to the default allocator untouched. A freed block is reused for a request of its size or up
// to 1/8 smaller; the least recently freed blocks are released first when the limit is reached, and everything cached
// is released (and the allocation retried) before an allocation is allowed to fail.
#include "slovo.h"
#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <cstdlib>
#include <cstring>
#include <list>
#include <map>
#include <mutex>
#include <unordered_map>

namespace {

constexpr size_t kMinCachedBytes = size_t(1) << 20;
constexpr size_t kAlignment = 64;  // as c10's alloc_cpu: wide enough for every vectorised kernel

class CachingCpuAllocator final : public c10::Allocator {
 public:
  explicit CachingCpuAllocator(c10::Allocator* base) : base_(base) {}

  // libtorch 1.13 declares allocate const, later versions non-const: one of the two overrides the base, the other is an
  // overload.
  c10::DataPtr allocate(size_t n) const { return const_cast<CachingCpuAllocator*>(this)->get(n); }
  c10::DataPtr allocate(size_t n) { return get(n); }
  // Pure virtual in later libtorch versions; a plain member in 1.13.
  void copy_data(void* dest, const void* src, std::size_t count) const { std::memcpy(dest, src, count); }

  c10::DeleterFnPtr raw_deleter() const override { return &CachingCpuAllocator::release; }

  void set_limit(size_t limit) {
    std::lock_guard<std::mutex> lock(mu_);
    limit_ = limit;
    trim(limit_);
  }

  void empty() {
    std::lock_guard<std::mutex> lock(mu_);
    trim(0);
  }

  void stats(int64_t* out) {
    std::lock_guard<std::mutex> lock(mu_);
    out[0] = static_cast<int64_t>(cached_bytes_);
    out[1] = static_cast<int64_t>(live_bytes_);
    out[2] = static_cast<int64_t>(limit_);
    out[3] = static_cast<int64_t>(hits_);
    out[4] = static_cast<int64_t>(misses_);
  }

  static CachingCpuAllocator* instance;

 private:
  struct Cached {
    void* ptr;
    size_t size;
    std::multimap<size_t, std::list<Cached>::iterator>::iterator by_size;
  };

  c10::DataPtr get(size_t n) {
    if (n < kMinCachedBytes) return base_->allocate(n);
    void* ptr = nullptr;
    size_t size = n;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = by_size_.lower_bound(n);
      if (it != by_size_.end() && it->first - n <= n / 8) {
        auto node = it->second;
        ptr = node->ptr;
        size = node->size;
        by_size_.erase(it);
        lru_.erase(node);
        cached_bytes_ -= size;
        ++hits_;
      } else {
        ++misses_;
      }
    }
    if (ptr == nullptr) {
      ptr = aligned(n);
      if (ptr == nullptr) {
        empty();
        ptr = aligned(n);
      }
      TORCH_CHECK(ptr != nullptr, "out of memory: could not allocate ", n, " bytes on the CPU");
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      live_.emplace(ptr, size);
      live_bytes_ += size;
    }
    return {ptr, ptr, &CachingCpuAllocator::release, c10::Device(c10::DeviceType::CPU)};
  }

  static void* aligned(size_t n) {
    void* p = nullptr;
    return posix_memalign(&p, kAlignment, n) == 0 ? p : nullptr;
  }

  // The deleter of every large block; also the raw deleter, so a small block handed to it goes to the base allocator.
  static void release(void* ptr) {
    CachingCpuAllocator* self = instance;
    {
      std::lock_guard<std::mutex> lock(self->mu_);
      auto it = self->live_.find(ptr);
      if (it != self->live_.end()) {
        size_t size = it->second;
        self->live_.erase(it);
        self->live_bytes_ -= size;
        if (size <= self->limit_) {
          self->lru_.push_front(Cached{ptr, size, {}});
          self->lru_.front().by_size = self->by_size_.emplace(size, self->lru_.begin());
          self->cached_bytes_ += size;
          self->trim(self->limit_);
          return;
        }
      } else {
        self->base_->raw_deallocate(ptr);
        return;
      }
    }
    std::free(ptr);
  }

  // Frees the least recently cached blocks until at most `keep` bytes stay cached. Called with mu_ held.
  void trim(size_t keep) {
    while (cached_bytes_ > keep && !lru_.empty()) {
      Cached& oldest = lru_.back();
      std::free(oldest.ptr);
      cached_bytes_ -= oldest.size;
      by_size_.erase(oldest.by_size);
      lru_.pop_back();
    }
  }

  c10::Allocator* base_;
  std::mutex mu_;
  std::list<Cached> lru_;  // front: most recently freed
  std::multimap<size_t, std::list<Cached>::iterator> by_size_;
  std::unordered_map<void*, size_t> live_;
  size_t limit_ = 0;
  size_t cached_bytes_ = 0;
  size_t live_bytes_ = 0;
  uint64_t hits_ = 0;
  uint64_t misses_ = 0;
};

CachingCpuAllocator* CachingCpuAllocator::instance = nullptr;
std::mutex install_mu;

}  // namespace

// Installs the caching allocator as libtorch's CPU allocator (once; later calls only change the limit) and sets how many
// freed bytes it may keep. Blocks allocated before keep their own deleter. The allocator is never uninstalled: tensors
// may outlive any call, so it lives until the process exits.
SLOVO_API int slovo_cpu_cache_enable(int64_t limit_bytes) {
  SLOVO_TRY
  TORCH_CHECK(limit_bytes >= 0, "the CPU cache limit must be 0 or more bytes, got ", limit_bytes);
  std::lock_guard<std::mutex> lock(install_mu);
  if (CachingCpuAllocator::instance == nullptr) {
    auto* allocator = new CachingCpuAllocator(c10::GetAllocator(c10::DeviceType::CPU));
    allocator->set_limit(static_cast<size_t>(limit_bytes));
    CachingCpuAllocator::instance = allocator;  // before any block can carry its deleter
    c10::SetAllocator(c10::DeviceType::CPU, allocator);
    if (c10::GetAllocator(c10::DeviceType::CPU) != allocator) {
      // A CPU allocator registered with a higher priority stays; this one is never used (and never freed: harmless).
      CachingCpuAllocator::instance = nullptr;
      TORCH_CHECK(false, "libtorch keeps another CPU allocator registered with a higher priority; no CPU cache");
    }
  } else {
    CachingCpuAllocator::instance->set_limit(static_cast<size_t>(limit_bytes));
  }
  SLOVO_CATCH
}

// Frees every cached block (what live tensors hold stays).
SLOVO_API int slovo_cpu_cache_empty() {
  SLOVO_TRY
  if (CachingCpuAllocator::instance != nullptr) CachingCpuAllocator::instance->empty();
  SLOVO_CATCH
}

// out[5]: cached bytes, bytes held by live tensors (large blocks only), limit, hits, misses. All zero when not enabled.
SLOVO_API int slovo_cpu_cache_stats(int64_t* out) {
  SLOVO_TRY
  for (int i = 0; i < 5; ++i) out[i] = 0;
  if (CachingCpuAllocator::instance != nullptr) CachingCpuAllocator::instance->stats(out);
  SLOVO_CATCH
}
