// Runs a piece of work in a forked child process and collects what it returns, without blocking the caller.
// Why a process and not a thread: once a process has a second thread, glibc takes locks in malloc and around
// every system call for the rest of its life, which costs the broker some 350-460 instructions per message
// (docs/benchmarks.md, "dynacl and hadiscovery without a second thread"). fork() gives the child a
// copy-on-write image of the caller at that instant, so the work reads the caller's data as it was then.
// The caller pays the fork (page tables: about 1 ms per 64 MB of 4 KiB pages) and copy-on-write faults while
// the child runs. Used by SnapshotWriter (state files, dynacl's audit log) and dynacl's HashUpgrader.
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>

namespace mqs {

// Thread: one thread only. At most one child at a time. Never throws.
class ChildTask {
public:
    // Runs in the child; its return value is what the parent collects. An exception ends the child with
    // nothing collected. It must not return into the broker's code in any other way (no longjmp, no exit).
    using Work = std::function<std::string()>;

    ChildTask() = default;
    ~ChildTask();  // kills and reaps a running child: its result is dropped
    ChildTask(const ChildTask&) = delete;
    ChildTask& operator=(const ChildTask&) = delete;

    // Forks a child running `work`. Returns "" or why no child could be started (pipe, fork). Only when
    // !running().
    std::string start(const Work& work);
    bool running() const { return pid_ >= 0; }
    // Never blocks. nullopt while the child runs; once it has ended, what it returned ("" also when it died
    // or threw: give the result a shape that tells success from nothing, like "ok").
    std::optional<std::string> poll();
    // Blocks until the child ends; its result as in poll(). "" when none runs.
    std::string wait();

private:
    std::optional<std::string> collect(bool block);

    pid_t pid_ = -1;
    int fd_ = -1;  // read end of the child's pipe, non-blocking
    std::string output_;
};

}  // namespace mqs
