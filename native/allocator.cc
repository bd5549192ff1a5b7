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
#include <c10/core/CPUAllocator.h>

#include <cstdint>
#include <cstdlib>
#include <new>

namespace perennial {
namespace {

constexpr size_t kAlignment = 64;  // what libtorch's vectorised kernels expect

void FreeBlock(void* block) { std::free(block); }

struct ExactFitAllocator final : c10::Allocator {
  c10::DataPtr allocate(size_t nbytes) const override {
    if (nbytes == 0) return {nullptr, nullptr, &FreeBlock, c10::Device(c10::DeviceType::CPU)};
    void* block = std::malloc(nbytes + kAlignment);
    if (block == nullptr) throw std::bad_alloc();
    auto address = (reinterpret_cast<uintptr_t>(block) + kAlignment - 1) & ~(kAlignment - 1);
    return {reinterpret_cast<void*>(address), block, &FreeBlock, c10::Device(c10::DeviceType::CPU)};
  }
  c10::DeleterFnPtr raw_deleter() const override {
    // The data pointer differs from the block to free, so raw allocation is not offered.
    return nullptr;
  }
};

ExactFitAllocator allocator;

}  // namespace

void InstallCpuAllocator() {
  // Priority above the default registration, so libtorch uses ours from now on.
  c10::SetCPUAllocator(&allocator, /*priority=*/1);
}

}  // namespace perennial
