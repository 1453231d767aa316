// A plugin-owned thread that runs a task on its own timer (the broker's tick is not a reliable clock)
// and whenever it is woken, e.g. when a batch is full. Stops and joins on destruction.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace mqs {

// Thread: construct, wake() and destroy from any thread; `task` runs only on the worker thread.
// The task must catch its own exceptions: one escaping it is caught here, counted and the loop goes on.
class PeriodicWorker {
public:
    PeriodicWorker(std::chrono::milliseconds interval, std::function<void()> task);
    ~PeriodicWorker();
    PeriodicWorker(const PeriodicWorker&) = delete;
    PeriodicWorker& operator=(const PeriodicWorker&) = delete;

    void wake();
    // Runs the task one last time after stopping, so queued work is flushed.
    void stop();
    unsigned long escapedExceptions() const { return escaped_exceptions_; }

private:
    void run();

    std::chrono::milliseconds interval_;
    std::function<void()> task_;
    std::mutex mutex_;
    std::condition_variable wakeup_;
    bool woken_ = false;
    bool stopping_ = false;
    unsigned long escaped_exceptions_ = 0;
    std::thread thread_;
};

}  // namespace mqs
