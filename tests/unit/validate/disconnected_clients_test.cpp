// DisconnectedClients: how validate tells a Will's write check (client gone) from an ordinary publish's.
#include <gtest/gtest.h>

#include <string>

#include "validate/disconnected_clients.hpp"

namespace mqs::validate {
namespace {

// Stand-ins for the broker's client contexts: only their addresses matter.
int context_a, context_b;

TEST(DisconnectedClients, AWriteCheckRightAfterDisconnectIsAWillOnce) {
    DisconnectedClients clients;
    EXPECT_TRUE(clients.empty());
    EXPECT_FALSE(clients.takeWill(&context_a, "sensor")) << "a connected publisher's write check";
    clients.onDisconnect(&context_a, "sensor");
    EXPECT_TRUE(clients.contains(&context_a));
    EXPECT_TRUE(clients.takeWill(&context_a, "sensor"));
    EXPECT_FALSE(clients.takeWill(&context_a, "sensor")) << "a Will is sent once";
    EXPECT_TRUE(clients.empty());
}

TEST(DisconnectedClients, TheNextCallbackEndsTheWindow) {
    // A client without a Will: no write check follows, and the broker may give its address to the next
    // connection, whose first publish must not be taken for a Will.
    DisconnectedClients clients;
    clients.onDisconnect(&context_a, "sensor");
    clients.endOfDisconnect();
    EXPECT_TRUE(clients.empty());
    EXPECT_FALSE(clients.takeWill(&context_a, "sensor"));
}

TEST(DisconnectedClients, AnyOtherWriteCheckEndsTheWindow) {
    DisconnectedClients clients;
    clients.onDisconnect(&context_a, "sensor");
    EXPECT_FALSE(clients.takeWill(&context_b, "someone"));
    EXPECT_FALSE(clients.contains(&context_a));
    EXPECT_FALSE(clients.takeWill(&context_a, "sensor"));
}

TEST(DisconnectedClients, AReusedAddressUnderAnotherIdIsNotAWill) {
    DisconnectedClients clients;
    clients.onDisconnect(&context_a, "old-client");
    EXPECT_FALSE(clients.takeWill(&context_a, "new-client"));
    EXPECT_TRUE(clients.empty());
}

TEST(DisconnectedClients, ANullContextIsNeverAWill) {
    DisconnectedClients clients;
    clients.onDisconnect(nullptr, "");
    EXPECT_FALSE(clients.takeWill(nullptr, ""));
}

}  // namespace
}  // namespace mqs::validate
