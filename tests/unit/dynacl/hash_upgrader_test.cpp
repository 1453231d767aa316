// Hash upgrade on login: the worker rehashes, the result applies only to the hash it was made from.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "dynacl/hash_upgrader.hpp"
#include "dynacl/state.hpp"

using namespace mqs::dynacl;
using namespace std::chrono_literals;

namespace {

std::vector<HashUpgrade> waitDone(HashUpgrader& u, size_t n) {
    std::vector<HashUpgrade> all;
    for (int i = 0; i < 500 && all.size() < n; ++i) {
        for (auto& d : u.takeDone()) all.push_back(std::move(d));
        if (all.size() < n) std::this_thread::sleep_for(10ms);
    }
    return all;
}

}  // namespace

TEST(HashUpgrade, NeedsUpgradeOnlyWhenWeakerAndVerifiable) {
    PasswordHash h = hashPassword("pw", 101);
    EXPECT_TRUE(needsUpgrade(h, 1000));
    EXPECT_FALSE(needsUpgrade(h, 101));
    EXPECT_FALSE(needsUpgrade(h, 50));
    PasswordHash argon;
    argon.unsupported = "argon2id hashes are not supported";
    EXPECT_FALSE(needsUpgrade(argon, 1000));
}

TEST(HashUpgrade, WorkerRehashesAtTheNewCountAndTheStateTakesIt) {
    State s;
    Client c;
    c.username = "u";
    c.password = hashPassword("pw", 101);
    s.clients["u"] = c;
    HashUpgrader up;
    ASSERT_TRUE(up.submit("u", *c.password, "pw", 2000));
    EXPECT_FALSE(up.submit("u", *c.password, "pw", 2000));  // already in flight
    auto done = waitDone(up, 1);
    ASSERT_EQ(done.size(), 1u);
    EXPECT_EQ(done[0].to.iterations, 2000);
    EXPECT_TRUE(verifyPassword(done[0].to, "pw"));
    EXPECT_NE(done[0].to.salt, c.password->salt);
    EXPECT_EQ(up.inFlight(), 0u);
    EXPECT_EQ(describeUpgrade(done[0]).find("pw"), std::string::npos);
    ASSERT_TRUE(applyUpgrade(s, done[0]));
    EXPECT_EQ(s.clients["u"].password->iterations, 2000);
    EXPECT_EQ(s.authenticate("u", true, "pw", true, "id"), AuthResult::Success);
    EXPECT_FALSE(applyUpgrade(s, done[0]));  // the hash is no longer the one it was made from
}

TEST(HashUpgrade, APasswordChangedMeanwhileIsNotOverwritten) {
    State s;
    Client c;
    c.username = "u";
    c.password = hashPassword("old", 101);
    s.clients["u"] = c;
    HashUpgrader up;
    ASSERT_TRUE(up.submit("u", *c.password, "old", 1000));
    auto done = waitDone(up, 1);
    ASSERT_EQ(done.size(), 1u);
    s.clients["u"].password = hashPassword("new", 101);  // setClientPassword in the meantime
    EXPECT_FALSE(applyUpgrade(s, done[0]));
    EXPECT_EQ(s.authenticate("u", true, "new", true, "id"), AuthResult::Success);
    EXPECT_EQ(s.authenticate("u", true, "old", true, "id"), AuthResult::Denied);
    s.clients.erase("u");  // deleted meanwhile
    EXPECT_FALSE(applyUpgrade(s, done[0]));
}

TEST(HashUpgrade, EachChildDrawsItsOwnSalt) {
    // Each batch is hashed in a forked child: children of the same parent must not share a random state.
    const PasswordHash h = hashPassword("pw", 101);
    HashUpgrader up;
    ASSERT_TRUE(up.submit("a", h, "pw", 200));
    auto first = waitDone(up, 1);
    ASSERT_TRUE(up.submit("b", h, "pw", 200));
    auto second = waitDone(up, 1);
    ASSERT_EQ(first.size(), 1u);
    ASSERT_EQ(second.size(), 1u);
    EXPECT_NE(first[0].to.salt, second[0].to.salt);
    EXPECT_TRUE(verifyPassword(first[0].to, "pw"));
    EXPECT_TRUE(verifyPassword(second[0].to, "pw"));
}

TEST(HashUpgrade, UpgradesQueuedWhileAChildHashesGoToTheNextOne) {
    const PasswordHash h = hashPassword("pw", 101);
    HashUpgrader up;
    ASSERT_TRUE(up.submit("a", h, "pw-a", 20000));
    ASSERT_TRUE(up.submit("b", h, "pw-b", 20000));
    ASSERT_TRUE(up.submit("c", h, "pw-c", 20000));
    auto done = waitDone(up, 3);
    ASSERT_EQ(done.size(), 3u);
    for (const auto& u : done) EXPECT_TRUE(verifyPassword(u.to, "pw-" + u.username)) << u.username;
    EXPECT_EQ(up.inFlight(), 0u);
}

TEST(HashUpgrade, BoundedInFlight) {
    HashUpgrader up(2);
    const PasswordHash h = hashPassword("pw", 1);
    EXPECT_TRUE(up.submit("a", h, "pw", 50000));
    EXPECT_TRUE(up.submit("b", h, "pw", 50000));
    EXPECT_FALSE(up.submit("c", h, "pw", 50000));
    // The destructor does not wait for queued work at a high count.
}
