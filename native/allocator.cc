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

// The block malloc returned is stored just before the aligned address, so the
// data pointer alone is enough to free it: some libtorch paths (mkldnn) use
// raw_allocate, which requires the data pointer to be the deleter's context.
void FreeAligned(void* data) {
  if (data != nullptr) std::free(static_cast<void**>(data)[-1]);
}

struct ExactFitAllocator final : c10::Allocator {
  c10::DataPtr allocate(size_t nbytes) const override {
    if (nbytes == 0) return {nullptr, nullptr, &FreeAligned, c10::Device(c10::DeviceType::CPU)};
    // malloc's blocks are at least 16-byte aligned, so the aligned address
    // after an 8-byte header lies at most 64 bytes in.
    void* block = std::malloc(nbytes + kAlignment);
    if (block == nullptr) throw std::bad_alloc();
    auto address = (reinterpret_cast<uintptr_t>(block) + sizeof(void*) + kAlignment - 1) & ~(kAlignment - 1);
    auto* data = reinterpret_cast<void*>(address);
    static_cast<void**>(data)[-1] = block;
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
