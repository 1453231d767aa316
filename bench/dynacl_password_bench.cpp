// What one dynacl login costs the broker thread: PBKDF2-SHA512 verification at several iteration counts, and a
// login the verified-credentials cache answers. docs/dynacl.md "Passwords" quotes its output.
// Run: cmake -DWITH_BENCH=ON ..., cmake --build build --target dynacl_password_bench, build/bench/dynacl_password_bench
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <vector>

#include "dynacl/login_cache.hpp"
#include "dynacl/password.hpp"

using namespace mqs::dynacl;

namespace {

// This thread's CPU time: on a shared machine wall time would count the other processes too.
double cpuMicros() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

// Median of `rounds` rounds of `n` calls, in microseconds of CPU time per call.
template <typename Fn>
double perCallMicros(int rounds, int n, Fn&& fn) {
    std::vector<double> samples;
    for (int r = 0; r < rounds; ++r) {
        const double start = cpuMicros();
        for (int i = 0; i < n; ++i) fn();
        samples.push_back((cpuMicros() - start) / n);
    }
    std::sort(samples.begin(), samples.end());
    return samples[samples.size() / 2];
}

}  // namespace

int main() {
    std::printf("| login | CPU per login on the broker thread | 1 000 logins |\n|---|---|---|\n");
    volatile bool sink = false;
    for (const int iterations : {101, 1000, 10000, 100000, 210000}) {
        const PasswordHash h = hashPassword("correct horse", iterations);
        const int n = std::max(2, 200000 / iterations);
        const double us = perCallMicros(5, n, [&] { sink = verifyPassword(h, "correct horse"); });
        std::printf("| PBKDF2-SHA512, %d iterations | %.3f ms | %.2f s |\n", iterations, us / 1000, us / 1000);
    }
    LoginCache cache(4 * 1024 * 1024);
    const PasswordHash h = hashPassword("correct horse", 10000);
    sink = cache.verify("sensor-0001", h, "correct horse");
    const double hit = perCallMicros(5, 20000, [&] { sink = cache.verify("sensor-0001", h, "correct horse"); });
    std::printf("| cached (login_cache_bytes), any count | %.4f ms | %.3f s |\n", hit / 1000, hit / 1000);
    return sink ? 0 : 1;
}
