// Bounded queue and periodic worker: bounds hold, drains hand items back, the worker runs on its own timer.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "common/bounded_queue.hpp"
#include "common/periodic_worker.hpp"

using namespace mqs;

TEST(BoundedQueue, RefusesWhenFullAndDrainsInOrder) {
    BoundedQueue<int> q(3);
    EXPECT_TRUE(q.tryPush(1));
    EXPECT_TRUE(q.tryPush(2));
    EXPECT_TRUE(q.tryPush(3));
    EXPECT_FALSE(q.tryPush(4));
    std::vector<int> got;
    EXPECT_EQ(q.drain([&](int v) { got.push_back(v); }, 2), 2u);
    EXPECT_EQ(got, (std::vector<int>{1, 2}));
    EXPECT_EQ(q.size(), 1u);
    EXPECT_EQ(q.popWait(std::chrono::milliseconds(1)), 3);
    EXPECT_EQ(q.popWait(std::chrono::milliseconds(1)), std::nullopt);
}

TEST(BoundedQueue, CrossThreadHandOff) {
    BoundedQueue<int> q(1000);
    std::thread producer([&] {
        for (int i = 0; i < 10'000; ++i) {
            while (!q.tryPush(i)) std::this_thread::yield();
        }
    });
    long sum = 0;
    int received = 0;
    while (received < 10'000) {
        if (auto v = q.popWait(std::chrono::milliseconds(100))) {
            sum += *v;
            ++received;
        }
    }
    producer.join();
    EXPECT_EQ(sum, 10'000L * 9'999 / 2);
}

TEST(BoundedQueue, CloseWakesWaiters) {
    BoundedQueue<int> q(1);
    std::thread closer([&] { q.close(); });
    EXPECT_EQ(q.popWait(std::chrono::seconds(5)), std::nullopt);
    closer.join();
    EXPECT_FALSE(q.tryPush(1));
}

TEST(PeriodicWorker, RunsOnWakeAndOnStop) {
    std::atomic<int> runs{0};
    {
        PeriodicWorker worker(std::chrono::hours(1), [&] { ++runs; });
        worker.wake();
        for (int i = 0; i < 500 && runs.load() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
        EXPECT_GE(runs.load(), 1);
    }
    EXPECT_GE(runs.load(), 2);  // the final flush on stop
}

TEST(PeriodicWorker, SurvivesThrowingTask) {
    std::atomic<int> runs{0};
    PeriodicWorker worker(std::chrono::milliseconds(1), [&] {
        ++runs;
        throw std::runtime_error("boom");
    });
    for (int i = 0; i < 500 && runs.load() < 3; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    worker.stop();
    EXPECT_GE(runs.load(), 3);
    EXPECT_GE(worker.escapedExceptions(), 3u);
}
