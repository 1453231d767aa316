// The shipped examples conf/dynacl/*.json load and give the IPWatch and DHT11 scenarios' decisions.
#include <gtest/gtest.h>

#include "dynacl/state_file.hpp"

using namespace mqs::dynacl;

namespace {

Identity user(std::string_view name) {
    return Identity{.username = name, .has_username = true, .client_id = name};
}

struct Case {
    const char* user;
    Access access;
    const char* topic;
    Decision expected;
};

void check(const State& s, const std::vector<Case>& cases) {
    for (const auto& c : cases) {
        EXPECT_EQ(s.check(user(c.user), c.access, c.topic), c.expected)
            << c.user << " " << static_cast<int>(c.access) << " " << c.topic;
    }
}

TEST(Examples, Ipwatch) {
    LoadedState l = loadStateFile(std::string(CONF_DIR) + "/dynacl/ipwatch-dynamic-security.json");
    EXPECT_TRUE(l.warnings.empty());
    // A status report is small: the agent's status rule holds up to 64 KiB.
    EXPECT_EQ(l.state.check(user("10.0.0.100"), Access::Write, "ipwatch/device/10.0.0.100/status",
                            CheckFacts{.payload_bytes = 65536}),
              Decision::Allow);
    EXPECT_EQ(l.state.check(user("10.0.0.100"), Access::Write, "ipwatch/device/10.0.0.100/status",
                            CheckFacts{.payload_bytes = 65537}),
              Decision::Defer);
    const auto W = Access::Write, R = Access::Read, S = Access::Subscribe;
    const auto A = Decision::Allow, D = Decision::Defer;
    check(l.state, {
                       {"10.0.0.100", W, "ipwatch/device/10.0.0.100/status", A},
                       {"10.0.0.100", W, "ipwatch/device/10.0.0.100/response", A},
                       {"10.0.0.100", W, "ipwatch/device/10.0.0.100/availability", A},
                       {"10.0.0.100", W, "ipwatch/device/10.0.0.101/status", D},
                       {"10.0.0.100", W, "ipwatch/device/10.0.0.100/command", D},
                       {"10.0.0.100", S, "ipwatch/device/10.0.0.100/command", A},
                       {"10.0.0.100", S, "ipwatch/device/+/command", D},
                       {"10.0.0.100", R, "ipwatch/device/10.0.0.100/command", A},
                       {"10.0.0.100", R, "ipwatch/device/10.0.0.101/command", D},
                       {"ipwatch", W, "ipwatch/device/10.0.0.100/command", A},
                       {"ipwatch", W, "ipwatch/device/10.0.0.100/status", D},
                       {"ipwatch", S, "ipwatch/device/#", A},
                   });
}

TEST(Examples, Dht11) {
    LoadedState l = loadStateFile(std::string(CONF_DIR) + "/dynacl/dht11-dynamic-security.json");
    EXPECT_TRUE(l.warnings.empty());
    const auto W = Access::Write, R = Access::Read, S = Access::Subscribe;
    const auto A = Decision::Allow, D = Decision::Defer;
    check(l.state, {
                       {"sensor", W, "dht11/sensor/data", A},
                       {"sensor", W, "dht11/incidents", D},
                       {"sensor", S, "dht11/#", D},
                       {"django", S, "dht11/sensor/data", A},
                       {"django", R, "dht11/sensor/data", A},
                       {"django", W, "dht11/incidents", A},
                       {"django", W, "dht11/sensor/data", D},
                       {"django", R, "dht11/incidents/response", D},
                       {"operator", S, "dht11/#", A},
                       {"operator", R, "dht11/incidents", A},
                       {"operator", W, "dht11/incidents/response", A},
                       {"operator", W, "dht11/incidents", D},
                   });
}

}  // namespace
