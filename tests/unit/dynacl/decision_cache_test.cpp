// The per-client decision memo: hits, invalidation by generation and identity, byte bounds.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "dynacl/decision_cache.hpp"

using namespace mqs::dynacl;

namespace {

const int kA = 0, kB = 0;
const void* a = &kA;
const void* b = &kB;

TEST(DecisionCache, RemembersPerClientAccessAndTopic) {
    DecisionCache cache(4096, 1 << 20);
    EXPECT_FALSE(cache.find(a, 1, {"u", "id"}, Access::Write, "t"));
    cache.store(a, 1, {"u", "id"}, Access::Write, "t", Decision::Allow);
    cache.store(a, 1, {"u", "id"}, Access::Read, "t", Decision::Deny);
    EXPECT_EQ(cache.find(a, 1, {"u", "id"}, Access::Write, "t"), Decision::Allow);
    EXPECT_EQ(cache.find(a, 1, {"u", "id"}, Access::Read, "t"), Decision::Deny);
    EXPECT_FALSE(cache.find(a, 1, {"u", "id"}, Access::Subscribe, "t"));
    EXPECT_FALSE(cache.find(b, 1, {"u", "id"}, Access::Write, "t"));
    cache.store(a, 1, {"u", "id"}, Access::Write, "t", Decision::Defer);
    EXPECT_EQ(cache.find(a, 1, {"u", "id"}, Access::Write, "t"), Decision::Defer);
}

TEST(DecisionCache, ANewGenerationOrIdentityIsNeverAnsweredFromTheOldOne) {
    DecisionCache cache(4096, 1 << 20);
    cache.store(a, 1, {"u", "id"}, Access::Write, "t", Decision::Allow);
    EXPECT_FALSE(cache.find(a, 2, {"u", "id"}, Access::Write, "t"));
    EXPECT_FALSE(cache.find(a, 1, {"other", "id"}, Access::Write, "t"));
    EXPECT_FALSE(cache.find(a, 1, {"u", "id2"}, Access::Write, "t"));
    EXPECT_FALSE(cache.find(a, 1, {"u", "id", "10.0.0.1"}, Access::Write, "t"));  // another address
    cache.store(a, 2, {"u", "id"}, Access::Write, "t", Decision::Deny);
    EXPECT_EQ(cache.find(a, 2, {"u", "id"}, Access::Write, "t"), Decision::Deny);
    cache.forget(a);
    EXPECT_FALSE(cache.find(a, 2, {"u", "id"}, Access::Write, "t"));
    EXPECT_EQ(cache.bytes(), 0u);
}

TEST(DecisionCache, BoundedInBytesPerClientAndInTotal) {
    DecisionCache cache(1024, 4096);
    for (int i = 0; i < 1000; ++i) {
        cache.store(a, 1, {"u", "id"}, Access::Write, "topic/" + std::to_string(i), Decision::Allow);
        ASSERT_LE(cache.bytesOf(a), 1024u);
    }
    // The most recent one is there.
    EXPECT_EQ(cache.find(a, 1, {"u", "id"}, Access::Write, "topic/999"), Decision::Allow);
    static char handles[100];
    for (int c = 0; c < 100; ++c) {
        const void* handle = &handles[c];
        cache.store(handle, 1, {"u", "id"}, Access::Write, "t", Decision::Allow);
        ASSERT_LE(cache.bytes(), 4096u);
    }
    DecisionCache off(0, 4096);
    off.store(a, 1, {"u", "id"}, Access::Write, "t", Decision::Allow);
    EXPECT_FALSE(off.find(a, 1, {"u", "id"}, Access::Write, "t"));
    // A topic larger than the per-client budget is not kept.
    DecisionCache small(100, 4096);
    small.store(a, 1, {"u", "id"}, Access::Write, std::string(200, 'x'), Decision::Allow);
    EXPECT_FALSE(small.find(a, 1, {"u", "id"}, Access::Write, std::string(200, 'x')));
    EXPECT_LE(small.bytesOf(a), 100u);
}

// The flat table: every topic answers its own decision through growth, whatever its length (the hash reads
// whole words, overlapping tails and short topics differently).
TEST(DecisionCache, EveryTopicKeepsItsOwnDecisionAcrossGrowth) {
    DecisionCache cache(1 << 20, 1 << 24);
    std::vector<std::string> topics = {"", "a", "ab", "abc", "abcd", "abcde", "abcdefg", "abcdefgh", "abcdefghi",
                                       "abcdefghijklmnop", "abcdefghijklmnopq", "bbcdefghijklmnopq", "abcdefghijklmnopr"};
    for (int i = 0; i < 500; ++i) topics.push_back("entrepot/zone" + std::to_string(i % 7) + "/s" + std::to_string(i) + "/v1");
    auto decisionOf = [](size_t i) { return static_cast<Decision>(i % 3); };
    for (size_t i = 0; i < topics.size(); ++i) cache.store(a, 1, {"u", "id"}, Access::Write, topics[i], decisionOf(i));
    for (size_t i = 0; i < topics.size(); ++i) {
        ASSERT_EQ(cache.find(a, 1, {"u", "id"}, Access::Write, topics[i]), decisionOf(i)) << "topic " << topics[i];
        ASSERT_FALSE(cache.find(a, 1, {"u", "id"}, Access::Read, topics[i])) << "topic " << topics[i];
    }
    EXPECT_FALSE(cache.find(a, 1, {"u", "id"}, Access::Write, "abcdefghijklmnos"));
    EXPECT_FALSE(cache.find(a, 1, {"u", "id"}, Access::Write, "entrepot/zone1/s7/v1"));  // s7 is in zone0
    EXPECT_NE(topicHash("abcdefghijklmnopq"), topicHash("bbcdefghijklmnopq"));
    EXPECT_NE(topicHash("abcdefghijklmnopq"), topicHash("abcdefghijklmnopr"));
    EXPECT_NE(topicHash("abc"), topicHash("abd"));
}

// The client table: handles come and go (deletion shifts later entries back); every remaining client keeps
// its memo, a forgotten one has none, and the bytes return to zero.
TEST(DecisionCache, ClientsComeAndGoWithoutLosingOthers) {
    DecisionCache cache(4096, 1 << 24);
    static char handles[2000];
    for (int round = 0; round < 3; ++round) {
        for (int c = 0; c < 2000; ++c) cache.store(&handles[c], 1, {"u", "id"}, Access::Write, "t", Decision::Allow);
        EXPECT_EQ(cache.clients(), 2000u);
        for (int c = round; c < 2000; c += 3) cache.forget(&handles[c]);
        for (int c = 0; c < 2000; ++c) {
            const bool forgotten = c % 3 == round;
            ASSERT_EQ(cache.find(&handles[c], 1, {"u", "id"}, Access::Write, "t").has_value(), !forgotten) << c;
        }
    }
    for (int c = 0; c < 2000; ++c) cache.forget(&handles[c]);
    EXPECT_EQ(cache.clients(), 0u);
    EXPECT_EQ(cache.bytes(), 0u);
}

}  // namespace

#include <malloc.h>

namespace {

// The byte budget counts what the heap really holds: measured with glibc's in-use counter (not under
// sanitizers, whose allocator glibc does not see).
TEST(DecisionCache, AccountedBytesCoverTheRealHeapUse) {
    const size_t before = mallinfo2().uordblks;
    DecisionCache cache(1 << 20, 1 << 24);
    static char handle;
    constexpr int kTopics = 200;
    for (int i = 0; i < kTopics; ++i) {
        cache.store(&handle, 1, {"10.0.0.100", "agent-10.0.0.100"}, Access::Write,
                    "ipwatch/device/10.0.0.100/status/" + std::to_string(1000 + i), Decision::Allow);
    }
    const size_t used = mallinfo2().uordblks - before;
    if (used == 0) GTEST_SKIP() << "heap use not visible (sanitizer allocator)";
    std::printf("decision cache: %zu heap bytes for %d topics of 37 bytes (%.1f per topic), accounted %zu\n", used,
                kTopics, static_cast<double>(used) / kTopics, cache.bytesOf(&handle));
    EXPECT_GE(cache.bytes(), used);
    EXPECT_GE(cache.bytesOf(&handle), used - 16 * 16);  // all but the client table's first 16 slots
}

}  // namespace
