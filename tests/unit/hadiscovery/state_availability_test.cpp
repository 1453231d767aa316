// Which clients feed which will-less device: online on the first feeder, offline when the last one leaves.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "hadiscovery/availability_tracker.hpp"

using namespace mqs::hadiscovery;
using Strings = std::vector<std::string>;

namespace {

TEST(StateAvailability, OnlineAndOffline) {
    AvailabilityTracker t(1 << 20);
    struct Step {
        const char* op;  // "fed" or "gone"
        const char* client;
        const char* device;  // for fed
        bool online;         // fed's result
        Strings offline;     // gone's result
    };
    const std::vector<Step> steps = {
        {"fed", "c1", "d1", true, {}},     {"fed", "c1", "d1", false, {}},  // already online
        {"fed", "c1", "d2", true, {}},     {"fed", "c2", "d1", false, {}},  // a second feeder: nothing to publish
        {"gone", "c1", "", false, {"d2"}},                                  // d1 still has c2
        {"gone", "c1", "", false, {}},                                      // again: nothing
        {"fed", "c1", "d2", true, {}},                                      // back online
        {"gone", "c2", "", false, {"d1"}}, {"gone", "c1", "", false, {"d2"}}, {"gone", "never", "", false, {}},
    };
    for (size_t i = 0; i < steps.size(); ++i) {
        const auto& s = steps[i];
        if (std::string(s.op) == "fed") {
            EXPECT_EQ(t.fed(s.client, s.device), s.online) << "step " << i;
        } else {
            EXPECT_EQ(t.clientGone(s.client), s.offline) << "step " << i;
        }
    }
    EXPECT_EQ(t.deviceCount(), 0u);
    EXPECT_EQ(t.clientCount(), 0u);
    EXPECT_EQ(t.bytes(), 0u) << "offline devices and gone clients cost nothing";
}

TEST(StateAvailability, OneClientManyDevices) {
    AvailabilityTracker t(1 << 20);
    for (const char* d : {"z", "a", "m"}) EXPECT_TRUE(t.fed("gateway", d));
    EXPECT_TRUE(t.online("a"));
    EXPECT_EQ(t.feeders("a"), Strings{"gateway"});
    EXPECT_EQ(t.clientGone("gateway"), (Strings{"a", "m", "z"}));
    EXPECT_FALSE(t.online("a"));
}

TEST(StateAvailability, ForgetDevice) {
    AvailabilityTracker t(1 << 20);
    t.fed("c1", "d1");
    t.fed("c2", "d1");
    t.fed("c1", "d2");
    t.forgetDevice("d1");
    t.forgetDevice("absent");
    EXPECT_FALSE(t.online("d1"));
    EXPECT_EQ(t.clientCount(), 1u);  // c2 fed only d1
    EXPECT_EQ(t.clientGone("c1"), Strings{"d2"});
    EXPECT_EQ(t.bytes(), 0u);
}

TEST(StateAvailability, BoundedInBytes) {
    const size_t first = AvailabilityTracker::kPairOverhead + 2 * AvailabilityTracker::kKeyOverhead + 2 * (2 + 2);
    AvailabilityTracker t(first + 10);  // room for one new client and device, not a second pair
    EXPECT_TRUE(t.fed("c1", "d1"));
    EXPECT_EQ(t.bytes(), first);
    EXPECT_FALSE(t.fed("c1", "d2"));
    EXPECT_FALSE(t.online("d2"));
    EXPECT_FALSE(t.fed("c2", "d1"));
    EXPECT_EQ(t.refusals(), 2u);
    EXPECT_FALSE(t.fed("c1", "d1"));  // known pair: no cost, not a refusal
    EXPECT_EQ(t.refusals(), 2u);
    EXPECT_LE(t.bytes(), first + 10);
    EXPECT_EQ(t.clientGone("c1"), Strings{"d1"});
    EXPECT_TRUE(t.fed("c1", "d2"));  // room again
}

}  // namespace
