// Deleted stays deleted: marking, undeleting, the count and byte bounds.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "hadiscovery/user_deletions.hpp"

using namespace mqs::hadiscovery;
using Strings = std::vector<std::string>;

namespace {

TEST(StateUserDeletions, MarkAndUndelete) {
    UserDeletions del(10, 10000);
    struct Step {
        const char* op;
        const char* key;
        bool result;
    };
    const std::vector<Step> steps = {
        {"mark", "homeassistant/device/a/config", true},
        {"mark", "homeassistant/device/a/config", false},  // already
        {"is", "homeassistant/device/a/config", true},
        {"is", "homeassistant/device/b/config", false},
        {"mark", "uid_b", true},  // a unique_id works as a key too
        {"mark", "", false},
        {"undelete", "homeassistant/device/a/config", true},
        {"undelete", "homeassistant/device/a/config", false},
        {"is", "homeassistant/device/a/config", false},
    };
    for (size_t i = 0; i < steps.size(); ++i) {
        const std::string op = steps[i].op;
        bool got = false;
        if (op == "mark") got = del.markDeleted(steps[i].key);
        if (op == "is") got = del.isDeleted(steps[i].key);
        if (op == "undelete") got = del.undelete(steps[i].key);
        EXPECT_EQ(got, steps[i].result) << "step " << i << " " << op << " " << steps[i].key;
    }
    EXPECT_EQ(del.list(), Strings{"uid_b"});
    EXPECT_EQ(del.refusals(), 0u);
}

TEST(StateUserDeletions, BoundedInCountAndBytes) {
    struct Case {
        size_t max_count;
        size_t max_bytes;
        size_t kept;
    };
    const size_t per = UserDeletions::kEntryOverhead + 4;  // keys "k000".."k009"
    for (const auto& c : std::vector<Case>{{3, 100000, 3}, {100, per * 5, 5}, {2, per * 5, 2}, {0, 100000, 0}}) {
        UserDeletions del(c.max_count, c.max_bytes);
        for (int i = 0; i < 10; ++i) del.markDeleted("k00" + std::to_string(i));
        EXPECT_EQ(del.count(), c.kept) << c.max_count << "/" << c.max_bytes;
        EXPECT_EQ(del.refusals(), 10 - c.kept);
        EXPECT_LE(del.bytes(), c.max_bytes);
        // The earliest deletions stay; the refused ones are not marked.
        if (c.kept > 0) {
            EXPECT_TRUE(del.isDeleted("k000"));
        }
        EXPECT_FALSE(del.isDeleted("k009"));
    }
    UserDeletions del(2, 100000);
    del.markDeleted("a");
    del.markDeleted("b");
    EXPECT_FALSE(del.markDeleted("c"));
    del.undelete("a");
    EXPECT_TRUE(del.markDeleted("c"));  // room again
    EXPECT_EQ(del.bytes(), 2 * (UserDeletions::kEntryOverhead + 1));
}

TEST(StateUserDeletions, ParseDropsWhatDoesNotFit) {
    UserDeletions del(10, 10000);
    for (const char* k : {"a", "b", "c", "d"}) del.markDeleted(k);
    const std::string text =
        R"({"format":"mqs-hadiscovery-state","version":1,"configs":[],"deleted":)" + del.serializeArray() + "}";
    const UserDeletions small = UserDeletions::parse(text, "s", 2, 10000);
    EXPECT_EQ(small.list(), (Strings{"a", "b"}));
    EXPECT_EQ(small.refusals(), 2u);
    // No "deleted" key at all: nothing deleted.
    EXPECT_EQ(
        UserDeletions::parse(R"({"format":"mqs-hadiscovery-state","version":1,"configs":[]})", "s", 2, 100).count(),
        0u);
    EXPECT_THROW(UserDeletions::parse("{", "s", 2, 100), SnapshotError);
}

}  // namespace
