// Worker thread with its own timer; see periodic_worker.hpp.
#include "common/periodic_worker.hpp"

namespace mqs {

PeriodicWorker::PeriodicWorker(std::chrono::milliseconds interval, std::function<void()> task)
    : interval_(interval), task_(std::move(task)), thread_([this] { run(); }) {}

PeriodicWorker::~PeriodicWorker() { stop(); }

void PeriodicWorker::wake() {
    {
        std::lock_guard lock(mutex_);
        woken_ = true;
    }
    wakeup_.notify_one();
}

void PeriodicWorker::stop() {
    {
        std::lock_guard lock(mutex_);
        if (stopping_ && !thread_.joinable()) return;
        stopping_ = true;
    }
    wakeup_.notify_one();
    if (thread_.joinable()) thread_.join();
}

void PeriodicWorker::run() {
    for (;;) {
        bool stopping;
        {
            std::unique_lock lock(mutex_);
            wakeup_.wait_for(lock, interval_, [&] { return woken_ || stopping_; });
            woken_ = false;
            stopping = stopping_;
        }
        try {
            task_();
        } catch (...) {
            ++escaped_exceptions_;
        }
        if (stopping) return;
    }
}

}  // namespace mqs
