// CPU readings of run_bench's helper processes; see bench_servers.hpp.
#include "bench/bench_servers.hpp"

#include "bench/bench_common.hpp"

namespace mqs::bench {

std::optional<double> processCpuSeconds(pid_t pid) {
    if (const auto ns = readProcSchedNs(pid)) {
        return static_cast<double>(*ns) / 1e9;
    }
    if (const auto ticks = readProcCpuTicks(pid)) {
        return static_cast<double>(*ticks) / static_cast<double>(clockTicksPerSecond());
    }
    return std::nullopt;
}

} // namespace mqs::bench
