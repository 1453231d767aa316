// CPU readings of the processes run_bench starts next to the broker (VictoriaMetrics, the Python
// bridge). The processes themselves are testing/'s ChildProcess and VictoriaProcess.
#pragma once

#include <sys/types.h>

#include <optional>

namespace mqs::bench {

// CPU seconds (user + system, all threads) a process has used: the scheduler's ns figure summed
// over /proc/<pid>/task/*/schedstat when available, else /proc/<pid>/stat ticks. nullopt if gone.
std::optional<double> processCpuSeconds(pid_t pid);

} // namespace mqs::bench
