// ChildTask: work in a forked child, collected without blocking the caller.
#include "common/child_task.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>

using mqs::ChildTask;
using namespace std::chrono_literals;

namespace {

std::string pollUntilDone(ChildTask& task) {
    for (int i = 0; i < 1000; ++i) {
        if (auto r = task.poll()) return *r;
        std::this_thread::sleep_for(5ms);
    }
    ADD_FAILURE() << "the child did not end within 5 s";
    return {};
}

}  // namespace

TEST(ChildTask, ReturnsWhatTheChildMadeFromTheStateAtTheFork) {
    std::string state = "before";
    ChildTask task;
    ASSERT_EQ(task.start([&] {
        ::usleep(50'000);  // the parent changes `state` meanwhile: the child keeps its own copy
        return state + " " + std::to_string(::getpid());
    }),
              "");
    state = "after";
    EXPECT_TRUE(task.running());
    const std::string result = pollUntilDone(task);
    EXPECT_EQ(result.substr(0, 7), "before ");
    EXPECT_NE(result.substr(7), std::to_string(::getpid()));  // it ran in another process
    EXPECT_FALSE(task.running());
    EXPECT_EQ(task.poll(), std::nullopt);
}

TEST(ChildTask, PollNeverBlocksAndWaitDoes) {
    ChildTask task;
    ASSERT_EQ(task.start([] {
        ::usleep(300'000);
        return std::string("done");
    }),
              "");
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(task.poll(), std::nullopt);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 100ms);
    EXPECT_NE(task.start([] { return std::string("second"); }), "");  // one child at a time
    EXPECT_EQ(task.wait(), "done");
    EXPECT_FALSE(task.running());
}

TEST(ChildTask, ALargeResultIsCollectedWhole) {
    // More than a pipe holds: the child blocks writing until the parent reads.
    ChildTask task;
    ASSERT_EQ(task.start([] { return std::string(1 << 20, 'x'); }), "");
    EXPECT_EQ(pollUntilDone(task), std::string(1 << 20, 'x'));
}

TEST(ChildTask, TheChildDoesNotKeepTheParentsDescriptors) {
    // Like the broker's client sockets: open in the parent, not marked close-on-exec.
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    ChildTask task;
    ASSERT_EQ(task.start([&] {
        const bool read_end_open = ::fcntl(fds[0], F_GETFD) != -1;
        const bool write_end_open = ::fcntl(fds[1], F_GETFD) != -1;
        return std::string(read_end_open || write_end_open ? "inherited" : "closed");
    }),
              "");
    EXPECT_EQ(task.wait(), "closed");
    ::close(fds[0]);
    ::close(fds[1]);
}

TEST(ChildTask, AThrowingChildGivesNothing) {
    ChildTask task;
    ASSERT_EQ(task.start([]() -> std::string { throw std::runtime_error("boom"); }), "");
    EXPECT_EQ(task.wait(), "");
}

TEST(ChildTask, TheDestructorKillsARunningChild) {
    const auto t0 = std::chrono::steady_clock::now();
    {
        ChildTask task;
        ASSERT_EQ(task.start([] {
            ::sleep(30);
            return std::string("late");
        }),
                  "");
    }
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
}
