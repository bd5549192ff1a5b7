// The CPU allocator for tensor storage.
//
// libtorch's default allocator calls posix_memalign(64, n). glibc serves an
// aligned request by carving it from a block larger than n, so a freed storage
// leaves a hole that the next request of the same size does not fit. When
// anything long-lived sits between holes (here, the records Node keeps until
// the next garbage collection for guarded tensors), they never merge and a loop
// of megabyte tensors grew by gigabytes. This allocator asks malloc for n + 64
// bytes and aligns inside: a request of the same size then reuses a freed hole
// exactly. Making large blocks mmap-backed would also stop the growth, but
// costs a page fault per page on every allocation (35% of the MLP benchmark).
// Freed blocks of 32 KB to 32 MB first go to a bounded cache (block_cache.h),
// which keeps glibc from handing them back to the kernel. A fresh block of
// 4 MB or more asks for transparent huge pages, which the kernel gives only
// on request in its usual 'madvise' mode: first touching 47 MB (the
// Fashion-MNIST training images) took 135 ms in 4 KB page faults on the
// development machine, and 6 ms in 2 MB ones.
#include <c10/core/CPUAllocator.h>
#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>

#include "block_cache.h"
#include "errors.h"

namespace perennial {
namespace {

constexpr size_t kAlignment = 64;  // what libtorch's vectorised kernels expect

constexpr uintptr_t kHugePage = uintptr_t{1} << 21;

// Advice only: where huge pages are off or scarce the kernel ignores it.
void AdviseHugePages(void* block, size_t size) {
  if (size < 2 * kHugePage) return;
  auto start = reinterpret_cast<uintptr_t>(block);
  uintptr_t begin = (start + kHugePage - 1) & ~(kHugePage - 1);
  uintptr_t end = (start + size) & ~(kHugePage - 1);
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
}

// Never destroyed: libtorch may free storage during static destruction.
BlockCache& cache = *new BlockCache;

// The block malloc returned and its size are stored just before the aligned
// address, so the data pointer alone is enough to free it: some libtorch
// paths (mkldnn) use raw_allocate, which requires the data pointer to be the
// deleter's context.
void FreeAligned(void* data) {
  if (data == nullptr) return;
  void* block = static_cast<void**>(data)[-1];
  auto size = reinterpret_cast<size_t>(static_cast<void**>(data)[-2]);
  if (!cache.Put(block, size)) std::free(block);
}

struct ExactFitAllocator final : c10::Allocator {
  c10::DataPtr allocate(size_t nbytes) const override {
    if (nbytes == 0) return {nullptr, nullptr, &FreeAligned, c10::Device(c10::DeviceType::CPU)};
    // malloc's blocks are at least 16-byte aligned, so the aligned address
    // after a 16-byte header lies at most 64 bytes in.
    // The error names the size, which the caller's message then carries
    // (a plain std::bad_alloc reached users as "zeros: std::bad_alloc").
    if (nbytes > SIZE_MAX - kAlignment) throw AllocationError(nbytes);
    size_t size = nbytes + kAlignment;
    void* block = cache.Take(size);
    if (block == nullptr) {
      block = std::malloc(size);
      if (block == nullptr) throw AllocationError(nbytes);
      AdviseHugePages(block, size);
    }
    auto address = (reinterpret_cast<uintptr_t>(block) + 2 * sizeof(void*) + kAlignment - 1) & ~(kAlignment - 1);
    auto* data = reinterpret_cast<void*>(address);
    static_cast<void**>(data)[-1] = block;
    static_cast<void**>(data)[-2] = reinterpret_cast<void*>(size);
    return {data, data, &FreeAligned, c10::Device(c10::DeviceType::CPU)};
  }
  c10::DeleterFnPtr raw_deleter() const override { return &FreeAligned; }
};

ExactFitAllocator allocator;

}  // namespace

void InstallCpuAllocator() {
  // Priority above the default registration, so libtorch uses ours from now on.
  c10::SetCPUAllocator(&allocator, /*priority=*/1);
}

}  // namespace perennial
