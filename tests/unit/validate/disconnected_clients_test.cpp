// DisconnectedClients: how validate tells a Will's write check (client gone) from an ordinary publish's.
#include <gtest/gtest.h>

#include <string>

#include "validate/disconnected_clients.hpp"

namespace mqs::validate {
namespace {

// Stand-ins for the broker's client contexts: only their addresses matter.
int context_a, context_b, context_c;

TEST(DisconnectedClients, AWriteCheckAfterDisconnectIsAWillOnce) {
    DisconnectedClients clients;
    EXPECT_TRUE(clients.empty());
    EXPECT_FALSE(clients.takeWill(&context_a, "sensor")) << "a connected publisher's write check";
    clients.onDisconnect(&context_a, "sensor");
    EXPECT_TRUE(clients.takeWill(&context_a, "sensor"));
    EXPECT_FALSE(clients.takeWill(&context_a, "sensor")) << "a Will is sent once";
    EXPECT_TRUE(clients.empty());
}

TEST(DisconnectedClients, OtherContextsAreNotWills) {
    DisconnectedClients clients;
    clients.onDisconnect(&context_a, "sensor");
    EXPECT_FALSE(clients.takeWill(&context_b, "other"));
    EXPECT_EQ(clients.size(), 1u);
}

TEST(DisconnectedClients, AReusedAddressUnderAnotherIdIsNotAWill) {
    // The broker freed the disconnected context and a new client got its address.
    DisconnectedClients clients;
    clients.onDisconnect(&context_a, "old-client");
    EXPECT_FALSE(clients.takeWill(&context_a, "new-client"));
    EXPECT_TRUE(clients.empty()) << "the stale entry is gone";
}

TEST(DisconnectedClients, APublishFromTheContextMeansItIsConnected) {
    DisconnectedClients clients;
    clients.onDisconnect(&context_a, "sensor");
    clients.onLive(&context_a);
    EXPECT_FALSE(clients.takeWill(&context_a, "sensor"));
}

TEST(DisconnectedClients, ADelayedWillIsFoundLater) {
    DisconnectedClients clients;
    clients.onDisconnect(&context_a, "a");
    clients.onDisconnect(&context_b, "b");
    clients.onLive(&context_c);
    EXPECT_TRUE(clients.takeWill(&context_b, "b"));
    EXPECT_TRUE(clients.takeWill(&context_a, "a"));
}

TEST(DisconnectedClients, BoundedOldestFirst) {
    DisconnectedClients clients(2);
    clients.onDisconnect(&context_a, "a");
    clients.onDisconnect(&context_b, "b");
    clients.onDisconnect(&context_c, "c");
    EXPECT_EQ(clients.size(), 2u);
    EXPECT_EQ(clients.evicted(), 1u);
    EXPECT_FALSE(clients.takeWill(&context_a, "a")) << "the oldest was forgotten";
    EXPECT_TRUE(clients.takeWill(&context_b, "b"));
    EXPECT_TRUE(clients.takeWill(&context_c, "c"));
}

TEST(DisconnectedClients, ADisconnectAgainReplacesTheEntry) {
    DisconnectedClients clients(2);
    clients.onDisconnect(&context_a, "first");
    clients.onDisconnect(&context_a, "second");
    EXPECT_EQ(clients.size(), 1u);
    EXPECT_TRUE(clients.takeWill(&context_a, "second"));
}

using Timing = DisconnectedClients::WillTiming;

TEST(DisconnectedClients, AnImmediateWillIsFoundOnlyBeforeTheNextCallback) {
    DisconnectedClients clients;
    clients.onDisconnect(&context_a, "v311", Timing::Now);
    EXPECT_TRUE(clients.contains(&context_a));
    EXPECT_TRUE(clients.takeWill(&context_a, "v311"));
    EXPECT_TRUE(clients.empty());

    clients.onDisconnect(&context_a, "no-will", Timing::Now);  // a client without a Will: no write check follows
    clients.endOfDisconnect();                                 // the next callback, whatever it is
    EXPECT_TRUE(clients.empty()) << "nothing stale is left for a context the broker frees next";
    EXPECT_FALSE(clients.takeWill(&context_a, "no-will"));
}

TEST(DisconnectedClients, AnyOtherWriteCheckEndsTheImmediateSlot) {
    DisconnectedClients clients;
    clients.onDisconnect(&context_a, "v311", Timing::Now);
    EXPECT_FALSE(clients.takeWill(&context_b, "someone"));
    EXPECT_FALSE(clients.contains(&context_a));
}

TEST(DisconnectedClients, ImmediateAndLaterWillsCoexist) {
    DisconnectedClients clients;
    clients.onDisconnect(&context_a, "v5", Timing::MaybeLater);
    clients.onDisconnect(&context_b, "v311", Timing::Now);
    EXPECT_TRUE(clients.takeWill(&context_b, "v311"));
    EXPECT_TRUE(clients.takeWill(&context_a, "v5"));
}

TEST(DisconnectedClients, ZeroCapacityRecordsNothing) {
    DisconnectedClients clients(0);
    clients.onDisconnect(&context_a, "a");
    EXPECT_TRUE(clients.empty()) << "no room for a later Will";
}

}  // namespace
}  // namespace mqs::validate
