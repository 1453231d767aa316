// New-device flood limit per rule with a sliding window; known devices always pass.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "hadiscovery/device_limiter.hpp"

using namespace mqs::hadiscovery;
using namespace std::chrono_literals;
using Strings = std::vector<std::string>;

namespace {

TEST(StateDeviceLimiter, WindowPerRule) {
    mqs::FakeClock clock;
    DeviceLimiter lim(2, 60s);
    struct Step {
        std::chrono::seconds advance;
        const char* rule;
        const char* device;
        bool admitted;
    };
    const std::vector<Step> steps = {
        {0s, "r1", "a", true},   {0s, "r1", "b", true},  {0s, "r1", "c", false},  // third new device in r1's window
        {0s, "r1", "a", true},                                                    // known
        {0s, "r2", "x", true},                                                    // r2 has its own window
        {0s, "r2", "c", true},    // refused under r1, fine under r2 (and now known)
        {0s, "r1", "c", true},    // known now
        {30s, "r1", "d", false},  // window still full
        {30s, "r1", "d", true},   // 60 s after a and b: window empty again
        {0s, "r1", "e", true},   {0s, "r1", "f", false},
    };
    for (size_t i = 0; i < steps.size(); ++i) {
        clock.advance(steps[i].advance);
        EXPECT_EQ(lim.admit(steps[i].rule, steps[i].device, clock.now()), steps[i].admitted) << "step " << i;
    }
    EXPECT_EQ(lim.refused("r1"), 3u);
    EXPECT_EQ(lim.refused("r2"), 0u);
    EXPECT_EQ(lim.refused("unknown"), 0u);
    EXPECT_EQ(lim.refusedTotal(), 3u);
    EXPECT_EQ(lim.refusedSample("r1"), (Strings{"c", "d", "f"}));
    EXPECT_EQ(lim.refusedSample("r2"), Strings{});
}

TEST(StateDeviceLimiter, SampleIsBoundedAndDeduplicated) {
    mqs::FakeClock clock;
    DeviceLimiter lim(1, 3600s);
    lim.admit("r", "first", clock.now());
    for (int i = 0; i < 20; ++i) lim.admit("r", "dev" + std::to_string(i), clock.now());
    lim.admit("r", "dev12", clock.now());  // again: moves to the end, not twice
    const Strings sample = lim.refusedSample("r");
    ASSERT_EQ(sample.size(), DeviceLimiter::kSampleSize);
    EXPECT_EQ(sample.back(), "dev12");
    EXPECT_EQ(sample.front(), "dev13");
    EXPECT_EQ(lim.refused("r"), 21u);
}

TEST(StateDeviceLimiter, ForgetMakesADeviceNewAgain) {
    mqs::FakeClock clock;
    DeviceLimiter lim(1, 60s);
    EXPECT_TRUE(lim.admit("r", "a", clock.now()));
    lim.forget("a");
    lim.forget("never-seen");
    EXPECT_FALSE(lim.known("a"));
    EXPECT_FALSE(lim.admit("r", "a", clock.now()));  // counts against the window like any new device
    clock.advance(60s);
    EXPECT_TRUE(lim.admit("r", "a", clock.now()));
}

TEST(StateDeviceLimiter, KnownFromTheInventoryDoNotUseTheWindow) {
    mqs::FakeClock clock;
    DeviceLimiter lim(1, 60s);
    for (int i = 0; i < 100; ++i) EXPECT_TRUE(lim.addKnown("old" + std::to_string(i)));
    for (int i = 0; i < 100; ++i) EXPECT_TRUE(lim.admit("r", "old" + std::to_string(i), clock.now()));
    EXPECT_TRUE(lim.admit("r", "new", clock.now()));
    EXPECT_FALSE(lim.admit("r", "new2", clock.now()));
}

TEST(StateDeviceLimiter, ZeroMeansNoLimit) {
    mqs::FakeClock clock;
    DeviceLimiter lim(0, 60s);
    for (int i = 0; i < 1000; ++i) EXPECT_TRUE(lim.admit("r", std::to_string(i), clock.now()));
    EXPECT_EQ(lim.refused("r"), 0u);
}

TEST(StateDeviceLimiter, KnownDevicesAreBoundedInBytes) {
    mqs::FakeClock clock;
    const size_t per = DeviceLimiter::kEntryOverhead + 4;
    DeviceLimiter lim(0, 60s, per * 3);
    for (const char* d : {"d001", "d002", "d003"}) EXPECT_TRUE(lim.admit("r", d, clock.now()));
    EXPECT_FALSE(lim.admit("r", "d004", clock.now()));
    EXPECT_FALSE(lim.addKnown("d005"));
    EXPECT_TRUE(lim.admit("r", "d001", clock.now()));  // known still pass
    EXPECT_EQ(lim.refused("r"), 1u);
    EXPECT_LE(lim.bytes(), per * 3);
    lim.forget("d002");
    EXPECT_TRUE(lim.admit("r", "d004", clock.now()));
    EXPECT_EQ(lim.knownCount(), 3u);
}

}  // namespace
