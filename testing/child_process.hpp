// Child processes for tests and benchmarks: one fork/exec spawner with output captured to files,
// stop (SIGTERM then SIGKILL), kill9, wait, CPU time, plus free-port and listening-socket probes.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace mqs::testing {

// Binds port 0 on 127.0.0.1, reads the kernel's choice back and closes the socket. Cannot reserve the
// port: a caller whose server then fails to bind picks another (see portTakenByOther).
int freeTcpPort();
// True when something listens on 127.0.0.1:port (a bind with SO_REUSEADDR fails).
bool portTakenByOther(int port);
// True when process pid owns a TCP socket listening on port (from /proc/<pid>/net/tcp{,6} and
// /proc/<pid>/fd): a readiness check that depends on no log wording.
bool processListensOn(pid_t pid, int port);

struct SpawnOptions {
    std::filesystem::path cwd;          // empty: the caller's
    std::filesystem::path stdout_file;  // empty: /dev/null
    std::filesystem::path stderr_file;  // empty: same as stdout_file
    bool truncate = false;              // false: append (a restarted process keeps the earlier output)
    bool own_process_group = false;     // a terminal's Ctrl-C then reaches only the parent
};

// One child at a time; spawn() again after it exited. The child gets SIGKILL when the thread that
// spawned it dies (PR_SET_PDEATHSIG), so a killed test leaves no process behind. Not thread-safe:
// use one object from one thread. The destructor stops a running child.
class ChildProcess {
public:
    ChildProcess() = default;
    ~ChildProcess();
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    // argv[0] is looked up on $PATH. False (with *error set) when the output files cannot be opened
    // or fork fails; an exec failure shows as exit status 127.
    bool spawn(const std::vector<std::string>& argv, const SpawnOptions& options, std::string* error = nullptr);
    // Reaps the child if it has exited; false then.
    bool running();
    // SIGTERM, wait up to timeout, then SIGKILL. Exit code (128+signal if killed); when not running,
    // the last exit status (-1 if it never ran).
    int stop(std::chrono::milliseconds timeout = std::chrono::seconds(5));
    void kill9();  // SIGKILL and reap
    void signal(int sig);
    std::optional<int> waitExit(std::chrono::milliseconds timeout);
    std::optional<int> exitStatus() const { return exit_status_; }
    pid_t pid() const { return pid_; }  // of the last child, also after it exited; -1 before

    // utime+stime of the whole process; after exit, from the reaped rusage.
    std::chrono::microseconds cpuTime() const;
    // VmHWM in kB; after exit, ru_maxrss of the reaped process.
    long peakRssKb() const;

private:
    bool reap(bool block);

    pid_t pid_ = -1;
    bool running_ = false;
    std::optional<int> exit_status_;
    struct rusage rusage_ {};
};

struct CommandResult {
    int exit_code = -1;  // 128+signal if killed
    bool timed_out = false;
    std::string output;  // stdout, plus stderr when StderrMode::Merge
};
enum class StderrMode { Discard, Inherit, Merge };

// Runs argv to completion with stdout captured; killed when it outlives the timeout.
CommandResult runCommand(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                         StderrMode stderr_mode = StderrMode::Discard);

// The first executable `name` on $PATH, else `fallback` if executable; empty if neither.
std::string findExecutable(const std::string& name, const std::string& fallback = "");

// Reads a whole file; empty if it cannot be opened.
std::string readTextFile(const std::filesystem::path& path);

}  // namespace mqs::testing
