// A bounded cache of freed tensor storage blocks, reused by exact size.
//
// glibc hands the free top of its heap back to the kernel once it exceeds the
// trim threshold: twice its mmap threshold, which follows the largest mapped
// block freed so far (128 KB at first, at most 32 MB). A scope frees all its
// tensors at once when it ends, so a scope whose large tensors added up to
// more than that (x.mul(2).add(1).relu() on 784 KB: three blocks at the top)
// shrank the heap at every iteration and the next one faulted every page back
// in: 530 faults and 1.8 ms, where PyTorch, freeing each temporary as it dies,
// took 90 us here (it trips over the same rule with two temporaries). Tensors
// the garbage collector frees come back in 60-90 MB bursts and were trimmed
// the same way. A block kept here is reused by the next request of the same
// size, and glibc never sees it freed.
//
// Bounded, so that it cannot hold much memory a program needs for other
// sizes: at most kCapacity bytes, the oldest blocks freed first to make room
// (64 MB takes most of a garbage-collection burst; 128 MB took it all but
// added 40-60 MB to peak memory when tensors are left to the collector).
// Blocks under kMinBlock are left to malloc's bins; those over kMaxBlock are
// always mappings of their own in glibc, in PyTorch too. libtorch may free
// storage from its worker threads, hence the lock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <mutex>
#include <utility>

namespace perennial {

class BlockCache {
 public:
  static constexpr size_t kMinBlock = size_t{32} << 10;
  static constexpr size_t kMaxBlock = size_t{32} << 20;
  static constexpr size_t kCapacity = size_t{64} << 20;

  // A cached block of exactly `size` bytes, or nullptr. The most recently
  // freed one (the last of its size): the likeliest still in the CPU's caches.
  void* Take(size_t size) {
    if (size < kMinBlock || size > kMaxBlock) return nullptr;
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = bySize_.upper_bound(size);
    if (it == bySize_.begin() || (--it)->first != size) return nullptr;
    void* block = it->second.second;
    byAge_.erase(it->second.first);
    bySize_.erase(it);
    bytes_ -= size;
    return block;
  }

  // Keeps `block` (`size` bytes from malloc) for reuse, freeing the oldest
  // blocks to make room. False when it is not kept: the caller frees it.
  bool Put(void* block, size_t size) {
    if (size < kMinBlock || size > kMaxBlock) return false;
    std::lock_guard<std::mutex> lock(mutex_);
    while (bytes_ + size > kCapacity) {
      auto oldest = byAge_.begin()->second;
      std::free(oldest->second.second);
      bytes_ -= oldest->first;
      byAge_.erase(byAge_.begin());
      bySize_.erase(oldest);
    }
    uint64_t age = clock_++;
    byAge_.emplace(age, bySize_.emplace(size, std::make_pair(age, block)));
    bytes_ += size;
    return true;
  }

 private:
  using BySize = std::multimap<size_t, std::pair<uint64_t, void*>>;  // size -> (age, block)
  std::mutex mutex_;
  BySize bySize_;
  std::map<uint64_t, BySize::iterator> byAge_;  // age -> its entry, oldest first
  size_t bytes_ = 0;
  uint64_t clock_ = 0;
};

}  // namespace perennial
