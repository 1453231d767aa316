// The live-connection registry behind getClient's "connections": per username, replaced when a client
// handle is reused, dropped at disconnect, bounded in bytes.
#include <gtest/gtest.h>

#include "dynacl/connections.hpp"

using mqs::dynacl::ConnectionRegistry;

namespace {

int a = 0, b = 0, c = 0;  // stand-ins for the broker's client handles

TEST(ConnectionRegistry, ListsPerUsernameSortedAndForgetsAtDisconnect) {
    ConnectionRegistry r;
    r.add(&b, "dev", "dev-2", "10.0.0.2");
    r.add(&a, "dev", "dev-1", "::1");
    r.add(&c, "admin", "admin", "127.0.0.1");
    auto dev = r.of("dev");
    ASSERT_EQ(dev.size(), 2u);
    EXPECT_EQ(dev[0], (ConnectionRegistry::Connection{"dev-1", "::1"}));
    EXPECT_EQ(dev[1], (ConnectionRegistry::Connection{"dev-2", "10.0.0.2"}));
    EXPECT_TRUE(r.of("nobody").empty());
    r.remove(&a);
    r.remove(&a);  // twice: harmless
    ASSERT_EQ(r.of("dev").size(), 1u);
    // The broker hands the handle to the next connection, of another username.
    r.add(&b, "admin", "admin-2", "127.0.0.1");
    EXPECT_TRUE(r.of("dev").empty());
    EXPECT_EQ(r.of("admin").size(), 2u);
    r.remove(&b);
    r.remove(&c);
    EXPECT_EQ(r.count(), 0u);
    EXPECT_EQ(r.bytes(), 0u);
}

TEST(ConnectionRegistry, BoundedInBytesWithLongTextsCut) {
    const std::string long_id(10'000, 'x');
    ConnectionRegistry r(3 * (ConnectionRegistry::kEntryOverhead + 3 * ConnectionRegistry::kMaxTextBytes));
    r.add(&a, "u", long_id, "127.0.0.1");
    ASSERT_EQ(r.of("u").size(), 1u);
    EXPECT_EQ(r.of("u")[0].client_id.size(), ConnectionRegistry::kMaxTextBytes);
    std::vector<int> handles(100);
    for (auto& h : handles) r.add(&h, "u", long_id, "127.0.0.1");
    EXPECT_LE(r.bytes(), 3 * (ConnectionRegistry::kEntryOverhead + 3 * ConnectionRegistry::kMaxTextBytes));
    EXPECT_GT(r.untracked(), 90u);
    EXPECT_EQ(r.count() + r.untracked(), 101u);
}

}  // namespace
