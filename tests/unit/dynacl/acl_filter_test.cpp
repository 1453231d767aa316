// ACL topic matching: MQTT filter semantics and identity-bound levels (%u, %c, %a), table-driven,
// including the wildcard-injection identities that must never match.
#include <gtest/gtest.h>

#include <string>

#include "dynacl/acl_filter.hpp"
#include "dynacl/identity.hpp"

using namespace mqs::dynacl;

namespace {

Identity user(std::string_view name, std::string_view id = "client", std::string_view address = "") {
    return Identity{.username = name, .has_username = true, .client_id = id, .address = address};
}

struct TopicCase {
    const char* filter;
    const char* topic;
    bool match;
};

TEST(AclFilter, MatchesTopicsLikeMqtt) {
    const TopicCase cases[] = {
        {"a/b", "a/b", true},     {"a/b", "a/c", false},      {"a/+", "a/b", true},    {"a/+", "a/b/c", false},
        {"a/#", "a", true},       {"a/#", "a/b/c", true},     {"#", "a/b", true},      {"#", "$SYS/x", false},
        {"+/x", "$SYS/x", false}, {"$SYS/#", "$SYS/x", true}, {"a/+/c", "a//c", true}, {"a", "a/b", false},
        {"a/b", "a", false},
    };
    for (const auto& c : cases) {
        EXPECT_EQ(AclFilter::parse(c.filter).matchesTopic(c.topic, user("u")), c.match)
            << c.filter << " vs " << c.topic;
    }
}

struct IdentityCase {
    const char* what;
    std::string username;
    bool match;
};

TEST(AclFilter, UsernameLevelMatchesOnlyAUsableIdentity) {
    const auto filter = AclFilter::parse("ipwatch/device/%u/status");
    const IdentityCase cases[] = {
        {"plain", "10.0.0.100", true},
        {"plus", "+", false},
        {"hash", "#", false},
        {"slash spans two levels", "10.0.0.100/status", false},
        {"empty", "", false},
        {"nul", std::string("a\0b", 3), false},
        {"invalid utf-8", "\xC3\x28", false},
        {"overlong utf-8", "\xC0\xAF", false},
        {"valid utf-8", "caf\xC3\xA9", true},
    };
    for (const auto& c : cases) {
        const std::string topic = "ipwatch/device/" + c.username + "/status";
        EXPECT_EQ(filter.matchesTopic(topic, user(c.username)), c.match) << c.what;
    }
    // A username of "+" cannot reach a topic level that literally reads "+" (not a topic name anyway) nor
    // any other device's topic.
    EXPECT_FALSE(filter.matchesTopic("ipwatch/device/10.0.0.7/status", user("+")));
    EXPECT_FALSE(filter.matchesTopic("ipwatch/device/10.0.0.7/status", user("#")));
    // No username at all: %u never matches.
    Identity anonymous{.client_id = "10.0.0.100"};
    EXPECT_FALSE(filter.matchesTopic("ipwatch/device/10.0.0.100/status", anonymous));
}

TEST(AclFilter, ClientIdAndAddressLevels) {
    const auto by_id = AclFilter::parse("dev/%c/#");
    EXPECT_TRUE(by_id.matchesTopic("dev/abc/x/y", user("u", "abc")));
    EXPECT_FALSE(by_id.matchesTopic("dev/abd/x", user("u", "abc")));
    EXPECT_FALSE(by_id.matchesTopic("dev/a/x", user("u", "a/x")));
    const auto by_address = AclFilter::parse("ipwatch/device/%a/command");
    EXPECT_TRUE(by_address.usesAddress());
    EXPECT_TRUE(by_address.matchesTopic("ipwatch/device/10.0.0.100/command", user("u", "c", "10.0.0.100")));
    EXPECT_FALSE(by_address.matchesTopic("ipwatch/device/10.0.0.100/command", user("u", "c", "")));
}

TEST(AclFilter, PatternCoversRequestedFilters) {
    const TopicCase cases[] = {
        {"a/#", "a/#", true},    {"a/#", "a/+/c", true}, {"a/+", "a/+", true}, {"a/+", "a/#", false},
        {"a/b", "a/+", false},   {"#", "#", true},       {"a/#", "#", false},  {"a/+/c", "a/b/c", true},
        {"a/+", "a/b/c", false}, {"a/#", "a", true},     {"a/b", "a/b", true},
    };
    for (const auto& c : cases) {
        EXPECT_EQ(AclFilter::parse(c.filter).coversFilter(c.topic, user("u")), c.match)
            << c.filter << " covers " << c.topic;
    }
    const auto own = AclFilter::parse("ipwatch/device/%u/command");
    EXPECT_TRUE(own.coversFilter("ipwatch/device/d1/command", user("d1")));
    EXPECT_FALSE(own.coversFilter("ipwatch/device/+/command", user("d1")));
    EXPECT_FALSE(own.coversFilter("ipwatch/device/+/command", user("+")));
    EXPECT_FALSE(own.coversFilter("ipwatch/device/#", user("#")));
}

TEST(AclFilter, LiteralIsExactWithIdentitySubstituted) {
    EXPECT_TRUE(AclFilter::parse("a/+").equalsFilter("a/+", user("u")));
    EXPECT_FALSE(AclFilter::parse("a/+").equalsFilter("a/b", user("u")));
    EXPECT_TRUE(AclFilter::parse("x/%u").equalsFilter("x/bob", user("bob")));
    EXPECT_FALSE(AclFilter::parse("x/%u").equalsFilter("x/+", user("+")));
}

struct AddressCase {
    const char* raw;
    const char* canonical;  // nullptr: not an address
};

TEST(Identity, CanonicalAddress) {
    const AddressCase cases[] = {
        {"10.0.0.100", "10.0.0.100"},
        {"::ffff:10.0.0.100", "10.0.0.100"},
        {"2001:DB8:0:0:0:0:0:1", "2001:db8::1"},
        {"2001:db8::1", "2001:db8::1"},
        {"::1", "::1"},
        {"fe80::1%eth0", nullptr},
        {"localhost", nullptr},
        {"", nullptr},
    };
    for (const auto& c : cases) {
        auto got = canonicalAddress(c.raw);
        if (c.canonical) {
            ASSERT_TRUE(got) << c.raw;
            EXPECT_EQ(*got, c.canonical);
        } else {
            EXPECT_FALSE(got) << c.raw;
        }
    }
}

TEST(Identity, AclTopicCheck) {
    EXPECT_EQ(checkAclTopic("a/+/#"), "");
    EXPECT_EQ(checkAclTopic("ipwatch/device/%u/status"), "");
    EXPECT_NE(checkAclTopic("a/#/b"), "");
    EXPECT_NE(checkAclTopic("a+"), "");
    EXPECT_NE(checkAclTopic("\xC3\x28"), "");
}

}  // namespace
