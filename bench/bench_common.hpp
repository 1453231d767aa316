// Shared helpers for the bench tools: flag parsing, /proc readers and a perf instruction
// counter for broker CPU and RSS, and small statistics used by both loadgen and run_bench.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mqs::bench {

// Parses "--name value" and "--name=value" flags; bare "--name" is a boolean switch.
// Flags are declared up front so a typo fails loudly instead of being ignored.
class CliArgs {
public:
    struct Spec {
        std::string name;
        std::string defaultValue;
        std::string help;
        bool isSwitch = false;
    };

    CliArgs(std::string program, std::string summary, std::vector<Spec> specs);

    // Returns false (after printing why) on unknown flags or missing values.
    bool parse(int argc, char** argv);
    void printUsage() const;
    bool helpRequested() const { return help_; }

    std::string str(const std::string& name) const;
    long long integer(const std::string& name) const;
    double number(const std::string& name) const;
    bool flag(const std::string& name) const;
    bool given(const std::string& name) const { return values_.count(name) != 0; }

    // Everything after argv[0], re-quoted, for reproducible command lines in reports.
    const std::string& commandLine() const { return commandLine_; }

private:
    const Spec* find(const std::string& name) const;

    std::string program_;
    std::string summary_;
    std::vector<Spec> specs_;
    std::map<std::string, std::string> values_;
    std::string commandLine_;
    bool help_ = false;
};

// Clock ticks (utime + stime) of a whole process, all threads, including exited ones.
std::optional<std::uint64_t> readProcCpuTicks(int pid);
long clockTicksPerSecond();

// Scheduler run time in ns summed over /proc/<pid>/task/*/schedstat: the same quantity as
// utime+stime (which the kernel scales to it) without the 10 ms rounding, but only for
// threads alive at the time of reading.
std::optional<std::uint64_t> readProcSchedNs(int pid);

// A "VmXxx:" field of /proc/<pid>/status in kB (VmHWM = peak RSS, VmRSS = current).
std::optional<long> readProcStatusKb(int pid, const std::string& field);

// Hardware counter (instructions or cycles) on every thread of a process: perf_event_open,
// one counter per thread, inherited by threads created later. User and kernel space are
// counted separately: a plugin's own work is user space, whose count per message barely moves
// when other jobs share the cores, while the kernel share (syscalls, loopback TCP) moves with
// batching and scheduling.
class PerfCounter {
public:
    enum class Event { Instructions, Cycles };
    enum class Space { User, Kernel };

    PerfCounter() = default;
    ~PerfCounter();
    PerfCounter(const PerfCounter&) = delete;
    PerfCounter& operator=(const PerfCounter&) = delete;

    // Starts counting; false (with why()) when the PMU is unavailable or not permitted
    // (kernel space needs perf_event_paranoid < 2 or root).
    bool start(int pid, Event event, Space space);
    // Count since start(), scaled up if the kernel multiplexed the counters.
    std::optional<std::uint64_t> read() const;
    const std::string& why() const { return why_; }

private:
    void closeAll();

    std::vector<int> fds_;
    std::string why_;
};

double median(std::vector<double> values);
double minOf(const std::vector<double>& values);
double maxOf(const std::vector<double>& values);

std::vector<std::string> splitList(const std::string& text, char sep = ',');
bool isLoopbackHost(const std::string& host);

} // namespace mqs::bench
