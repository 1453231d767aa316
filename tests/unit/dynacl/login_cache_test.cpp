// The verified-credentials cache: hits only for the same password against the same stored hash, bounded in bytes.
#include <gtest/gtest.h>
#include <malloc.h>

#include <cstdio>
#include <string>

#include "dynacl/login_cache.hpp"
#include "dynacl/state.hpp"

using namespace mqs::dynacl;

TEST(LoginCache, SecondLoginWithTheSamePasswordIsAHit) {
    LoginCache cache(64 * 1024);
    const PasswordHash h = hashPassword("pw", 101);
    EXPECT_TRUE(cache.verify("u", h, "pw"));
    EXPECT_EQ(cache.hits(), 0u);
    EXPECT_TRUE(cache.verify("u", h, "pw"));
    EXPECT_EQ(cache.hits(), 1u);
    EXPECT_EQ(cache.size(), 1u);
}

TEST(LoginCache, AWrongPasswordNeverHitsNorIsRemembered) {
    LoginCache cache(64 * 1024);
    const PasswordHash h = hashPassword("pw", 101);
    EXPECT_FALSE(cache.verify("u", h, "bad"));
    EXPECT_EQ(cache.size(), 0u);
    EXPECT_TRUE(cache.verify("u", h, "pw"));
    EXPECT_FALSE(cache.verify("u", h, "bad"));
    EXPECT_FALSE(cache.verify("u", h, "pw "));
    EXPECT_FALSE(cache.verify("u", h, ""));
    EXPECT_EQ(cache.hits(), 0u);
}

TEST(LoginCache, AChangedStoredHashMissesSoTheOldPasswordIsRefused) {
    LoginCache cache(64 * 1024);
    const PasswordHash old_hash = hashPassword("old", 101);
    ASSERT_TRUE(cache.verify("u", old_hash, "old"));
    const PasswordHash new_hash = hashPassword("new", 101);
    EXPECT_FALSE(cache.verify("u", new_hash, "old"));
    EXPECT_TRUE(cache.verify("u", new_hash, "new"));
    // Same password, new salt (setClientPassword with the same text): a full check, then a hit.
    const PasswordHash again = hashPassword("new", 101);
    const uint64_t hits = cache.hits();
    EXPECT_TRUE(cache.verify("u", again, "new"));
    EXPECT_EQ(cache.hits(), hits);
    // Only the iteration count differs: no hit (the digest covers it).
    PasswordHash other_count = again;
    other_count.iterations = 102;
    EXPECT_FALSE(cache.verify("u", other_count, "new"));
}

TEST(LoginCache, AnotherUsernameDoesNotShareTheEntry) {
    LoginCache cache(64 * 1024);
    const PasswordHash h = hashPassword("pw", 101);
    ASSERT_TRUE(cache.verify("a", h, "pw"));
    EXPECT_TRUE(cache.verify("b", h, "pw"));  // a full check: same hash, other name
    EXPECT_EQ(cache.hits(), 0u);
}

TEST(LoginCache, BoundedInBytesLeastRecentlyUsedOut) {
    const size_t one = LoginCache::entryBytes("user-00");
    LoginCache cache(3 * one);
    const PasswordHash h = hashPassword("pw", 1);
    for (const char* u : {"user-00", "user-01", "user-02"}) ASSERT_TRUE(cache.verify(u, h, "pw"));
    EXPECT_EQ(cache.size(), 3u);
    ASSERT_TRUE(cache.verify("user-00", h, "pw"));  // a hit: now the most recent
    EXPECT_EQ(cache.hits(), 1u);
    ASSERT_TRUE(cache.verify("user-03", h, "pw"));  // evicts user-01
    EXPECT_EQ(cache.size(), 3u);
    EXPECT_LE(cache.bytes(), 3 * one);
    ASSERT_TRUE(cache.verify("user-00", h, "pw"));
    EXPECT_EQ(cache.hits(), 2u);
    ASSERT_TRUE(cache.verify("user-01", h, "pw"));
    EXPECT_EQ(cache.hits(), 2u);  // was evicted
}

TEST(LoginCache, ZeroBytesTurnsItOff) {
    LoginCache cache(0);
    const PasswordHash h = hashPassword("pw", 1);
    EXPECT_TRUE(cache.verify("u", h, "pw"));
    EXPECT_TRUE(cache.verify("u", h, "pw"));
    EXPECT_EQ(cache.hits(), 0u);
    EXPECT_EQ(cache.size(), 0u);
}

TEST(LoginCache, StateAuthenticateUsesItAfterTheOtherRules) {
    State s;
    Client c;
    c.username = "u";
    c.password = hashPassword("pw", 101);
    s.clients["u"] = c;
    LoginCache cache(64 * 1024);
    EXPECT_EQ(s.authenticate("u", true, "pw", true, "id", &cache), AuthResult::Success);
    EXPECT_EQ(s.authenticate("u", true, "pw", true, "id", &cache), AuthResult::Success);
    EXPECT_EQ(cache.hits(), 1u);
    // Disabled and deleted clients are refused or deferred before the cache is asked.
    s.clients["u"].disabled = true;
    EXPECT_EQ(s.authenticate("u", true, "pw", true, "id", &cache), AuthResult::Denied);
    s.clients.erase("u");
    EXPECT_EQ(s.authenticate("u", true, "pw", true, "id", &cache), AuthResult::Defer);
    EXPECT_EQ(cache.hits(), 1u);
}

TEST(LoginCache, AccountedBytesCoverTheRealHeapUse) {
    const PasswordHash h = hashPassword("pw", 1);
    // Short names stay inside std::string; long ones cost a heap block each (twice: list and index).
    for (const std::string prefix : {"s-", "ipwatch-agent-of-device-10.0.0.100-"}) {
        const size_t before = mallinfo2().uordblks;
        LoginCache cache(1 << 24);
        constexpr int kUsers = 1000;
        for (int i = 0; i < kUsers; ++i) ASSERT_TRUE(cache.verify(prefix + std::to_string(100000 + i), h, "pw"));
        const size_t used = mallinfo2().uordblks - before;
        if (used == 0) GTEST_SKIP() << "heap use not visible (sanitizer allocator)";
        std::printf("login cache: %zu heap bytes for %d usernames of %zu bytes (%.1f each), accounted %zu\n", used,
                    kUsers, prefix.size() + 6, static_cast<double>(used) / kUsers, cache.bytes());
        EXPECT_GE(cache.bytes(), used);
    }
}
