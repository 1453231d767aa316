// Counts the heap allocations of a test binary: replaces the global operator new and delete, so include it
// in exactly one source file of a test binary of its own (not under ASan, whose allocator must stay).
// Hot-path tests read mqs::testing::allocations before and after the code they measure.
#pragma once

#include <atomic>
#include <cstdlib>
#include <new>

namespace mqs::testing {
inline std::atomic<long> allocations{0};
}  // namespace mqs::testing

void* operator new(std::size_t size) {
    mqs::testing::allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(size ? size : 1)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}
