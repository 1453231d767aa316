// User-space instructions per benchmark iteration, read from the CPU's counter around the timed
// loop (all threads of the process, so a plugin's worker threads count too). Steadier than time
// when other jobs share the cores; the micro-benchmarks report it as the counter "instr".
#pragma once

#include <unistd.h>

#include <benchmark/benchmark.h>

#include "bench/bench_common.hpp"

namespace mqs::bench {

class InstructionsPerIteration {
public:
    InstructionsPerIteration() { ok_ = counter_.start(::getpid(), PerfCounter::Event::Instructions, PerfCounter::Space::User); }
    // Call after the loop.
    void report(benchmark::State& state) const {
        auto n = ok_ ? counter_.read() : std::nullopt;
        if (n && state.iterations() > 0) state.counters["instr"] = static_cast<double>(*n) / static_cast<double>(state.iterations());
    }

private:
    PerfCounter counter_;
    bool ok_ = false;
};

}  // namespace mqs::bench
