// Topic filters and templates, table-driven against MQTT 3.1.1 section 4.7 semantics.
#include <gtest/gtest.h>

#include "common/topic.hpp"
#include "common/topic_cache.hpp"

using namespace mqs;

struct MatchCase {
    const char* filter;
    const char* topic;
    bool matches;
};

std::ostream& operator<<(std::ostream& os, const MatchCase& c) {
    return os << "'" << c.filter << "' vs '" << c.topic << "'";
}

class FilterMatching : public ::testing::TestWithParam<MatchCase> {};

TEST_P(FilterMatching, FollowsMqttRules) {
    const auto& c = GetParam();
    EXPECT_EQ(topicMatchesFilter(c.filter, c.topic), c.matches) << c.filter << " vs " << c.topic;
    // A template written as a filter must agree.
    EXPECT_EQ(TopicTemplate::parse(c.filter).match(c.topic), c.matches) << c.filter << " vs " << c.topic;
}

INSTANTIATE_TEST_SUITE_P(
    Table, FilterMatching,
    ::testing::Values(MatchCase{"a/b/c", "a/b/c", true}, MatchCase{"a/b/c", "a/b", false},
                      MatchCase{"a/b", "a/b/c", false}, MatchCase{"a/+/c", "a/x/c", true},
                      MatchCase{"a/+/c", "a//c", true}, MatchCase{"a/+", "a/b/c", false},
                      MatchCase{"+", "a", true}, MatchCase{"+", "/a", false}, MatchCase{"+/+", "/a", true},
                      MatchCase{"#", "a/b/c", true}, MatchCase{"a/#", "a", true}, MatchCase{"a/#", "a/b/c", true},
                      MatchCase{"a/#", "ab", false}, MatchCase{"#", "$SYS/x", false}, MatchCase{"+/x", "$SYS/x", false},
                      MatchCase{"$SYS/#", "$SYS/x", true}, MatchCase{"entrepot/+/+/v1", "entrepot/nord/s1/v1", true},
                      MatchCase{"entrepot/+/+/v1", "entrepot/nord/s1/v2", false}, MatchCase{"a/b/", "a/b/", true},
                      MatchCase{"a/b/", "a/b", false}));

TEST(TopicTemplate, CapturesNamedLevels) {
    auto t = TopicTemplate::parse("entrepot/{zone}/{sensor}/v1");
    EXPECT_EQ(t.filter(), "entrepot/+/+/v1");
    Captures c;
    ASSERT_TRUE(t.match("entrepot/nord/s42/v1", &c));
    EXPECT_EQ(c.get("zone"), "nord");
    EXPECT_EQ(c.get("sensor"), "s42");
    Captures none;
    EXPECT_FALSE(t.match("entrepot/nord/s42", &none));
    EXPECT_TRUE(none.entries().empty());
}

TEST(TopicTemplate, RejectsBadTemplates) {
    EXPECT_THROW(TopicTemplate::parse(""), std::invalid_argument);
    EXPECT_THROW(TopicTemplate::parse("a/#/b"), std::invalid_argument);
    EXPECT_THROW(TopicTemplate::parse("a/x{zone}/b"), std::invalid_argument);
    EXPECT_THROW(TopicTemplate::parse("a/{}/b"), std::invalid_argument);
    EXPECT_THROW(TopicTemplate::parse("a/{z}/{z}"), std::invalid_argument);
    EXPECT_THROW(TopicTemplate::parse("a/b+"), std::invalid_argument);
}

TEST(TopicFilter, Check) {
    EXPECT_EQ(checkTopicFilter("a/+/#"), "");
    EXPECT_NE(checkTopicFilter("a/#/b"), "");
    EXPECT_NE(checkTopicFilter("a/b#"), "");
    EXPECT_NE(checkTopicFilter(""), "");
}

TEST(OutputTemplate, RendersAndRejectsUnknownNames) {
    auto t = OutputTemplate::parse("alerts/{zone}/{sensor}", {"zone", "sensor"});
    Captures c;
    c.set("zone", "sud");
    c.set("sensor", "t1");
    EXPECT_EQ(t.render(c), "alerts/sud/t1");
    EXPECT_THROW(OutputTemplate::parse("alerts/{room}", {"zone"}), std::invalid_argument);
    EXPECT_THROW(OutputTemplate::parse("alerts/{zone", {"zone"}), std::invalid_argument);
}

TEST(TopicCache, FindsWhatWasStoredAndEvictsOnCollision) {
    TopicCache<int> cache(1);  // one slot: every topic collides
    const auto ha = TopicCache<int>::hashOf("a/b"), hb = TopicCache<int>::hashOf("a/c");
    EXPECT_EQ(cache.find("a/b", ha), nullptr);
    *cache.store("a/b", ha) = 7;
    ASSERT_NE(cache.find("a/b", ha), nullptr);
    EXPECT_EQ(*cache.find("a/b", ha), 7);
    *cache.store("a/c", hb) = 8;
    EXPECT_EQ(cache.find("a/b", ha), nullptr) << "evicted";
    EXPECT_EQ(*cache.find("a/c", hb), 8);
    EXPECT_EQ(cache.find("a/c", ha), nullptr) << "same slot, other hash";
    cache.clear();
    EXPECT_EQ(cache.find("a/c", hb), nullptr);
    const std::string huge(TopicCache<int>::kMaxTopicBytes + 1, 'x');
    EXPECT_EQ(cache.store(huge, TopicCache<int>::hashOf(huge)), nullptr) << "long topics are not cached";
    EXPECT_EQ(cache.find(huge, TopicCache<int>::hashOf(huge)), nullptr);
}

struct PublishTopicCase {
    std::string topic;
    bool publishable;
};

class PublishTopicCheck : public ::testing::TestWithParam<PublishTopicCase> {};

TEST_P(PublishTopicCheck, RefusesWhatMqttCannotCarry) {
    const auto& c = GetParam();
    EXPECT_EQ(checkPublishTopic(c.topic).empty(), c.publishable) << "'" << c.topic.substr(0, 40) << "' ("
                                                                   << c.topic.size() << " bytes)";
}

INSTANTIATE_TEST_SUITE_P(
    Table, PublishTopicCheck,
    ::testing::Values(PublishTopicCase{"dht11/alerts/cold", true}, PublishTopicCase{"entrepot/Zoné-Ω/s1", true},
                      PublishTopicCase{"$SYS/plugins/alerts/default/publish_failed", true},
                      PublishTopicCase{std::string(65'535, 'a'), true}, PublishTopicCase{std::string(65'536, 'a'), false},
                      PublishTopicCase{"dht11/" + std::string(65'539, 'x'), false}, PublishTopicCase{"", false},
                      PublishTopicCase{"a/+/b", false}, PublishTopicCase{"a/#", false},
                      PublishTopicCase{std::string("a/\0/b", 5), false}, PublishTopicCase{"a/\xff/b", false},
                      PublishTopicCase{"a/\xc3/b", false}, PublishTopicCase{"a/\xed\xa0\x80", false},  // lone surrogate
                      PublishTopicCase{"a/b\nc", false}, PublishTopicCase{"a/\x7f", false},
                      PublishTopicCase{"a/\xc2\x85", false}));  // NEL, a C1 control
