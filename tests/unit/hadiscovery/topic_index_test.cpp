// TopicIndex, the engine's flat device-by-topic table: finds what it holds through growth and erasure
// (backward shift keeps every probe run intact), refuses a second item with the same topic; and
// RecordPool, which holds the engine's per-device hot records.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "hadiscovery/record_pool.hpp"
#include "hadiscovery/topic_index.hpp"

using mqs::hadiscovery::RecordPool;
using mqs::hadiscovery::topicHash;
using mqs::hadiscovery::TopicIndex;

namespace {

struct Item {
    std::string topic;
};

TEST(HaTopicIndex, FindsWhatItHoldsThroughGrowthAndErasure) {
    std::vector<Item> items;
    for (int i = 0; i < 3000; ++i)
        items.push_back({"entrepot/zone" + std::to_string(i % 7) + "/s" + std::to_string(i) + "/v1"});
    TopicIndex<Item> index(0x5eed);
    EXPECT_EQ(index.find("entrepot/nord/s1/v1"), nullptr);
    EXPECT_FALSE(index.erase("entrepot/nord/s1/v1"));
    for (auto& item : items) ASSERT_TRUE(index.insert(&item));
    EXPECT_EQ(index.size(), items.size());
    for (auto& item : items) ASSERT_EQ(index.find(item.topic), &item);
    Item twin{items[5].topic};
    EXPECT_FALSE(index.insert(&twin)) << "one item per topic";
    EXPECT_EQ(index.find(twin.topic), &items[5]);

    std::vector<size_t> order(items.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), std::mt19937(7));
    std::vector<bool> gone(items.size(), false);
    for (size_t k = 0; k < order.size() / 2; ++k) {
        ASSERT_TRUE(index.erase(items[order[k]].topic));
        gone[order[k]] = true;
    }
    EXPECT_EQ(index.size(), items.size() - order.size() / 2);
    for (size_t i = 0; i < items.size(); ++i) {
        if (gone[i])
            EXPECT_EQ(index.find(items[i].topic), nullptr) << items[i].topic;
        else
            EXPECT_EQ(index.find(items[i].topic), &items[i]) << items[i].topic;
    }
    for (size_t i = 0; i < items.size(); ++i)
        if (gone[i]) {
            ASSERT_TRUE(index.insert(&items[i]));
        }
    for (auto& item : items) EXPECT_EQ(index.find(item.topic), &item);
}

TEST(HaTopicIndex, HashUsesEveryByte) {
    EXPECT_NE(topicHash("entrepot/nord/s1/v1"), topicHash("entrepot/nord/s1/v2"));
    EXPECT_NE(topicHash("entrepot/nord/s1/v1"), topicHash("fntrepot/nord/s1/v1"));
    EXPECT_NE(topicHash("a"), topicHash(std::string_view("a\0", 2)));
    EXPECT_NE(topicHash(""), topicHash(std::string_view("\0", 1)));
    EXPECT_NE(topicHash("entrepot/nord/s1/v1", 1), topicHash("entrepot/nord/s1/v1", 2)) << "seeded";
    EXPECT_NE(topicHash("entrepot/nord/s12/v1"), topicHash("entrepot/nord/s21/v1")) << "overlapping tail";
    EXPECT_NE(topicHash("1234567"), topicHash("1234576")) << "short topics";
}

// Items may keep their topic elsewhere (the engine's hot records: inline when short): the index compares
// through topicView(), so two topics sharing a long prefix stay apart.
struct ViewItem {
    std::string stored;
    std::string_view topicView() const { return stored; }
};

TEST(HaTopicIndex, ComparesThroughTopicView) {
    const std::string prefix(64, 'p');
    std::vector<ViewItem> items;
    for (int i = 0; i < 100; ++i) items.push_back({prefix + std::to_string(i)});
    TopicIndex<ViewItem> index(3);
    for (auto& item : items) ASSERT_TRUE(index.insert(&item));
    for (auto& item : items) EXPECT_EQ(index.find(item.stored), &item);
    EXPECT_EQ(index.find(prefix), nullptr);
    EXPECT_EQ(index.find(prefix + "100"), nullptr);
}

// The hot records' pool: addresses stay put while it grows, and a reused record comes back cleared.
TEST(HaRecordPool, StableAddressesAndClearedReuse) {
    struct Rec {
        int value = 0;
        char text[20]{};
    };
    RecordPool<Rec, 8> pool;
    std::vector<Rec*> held;
    for (int i = 0; i < 50; ++i) {
        held.push_back(pool.acquire());
        EXPECT_EQ(held.back()->value, 0);
        held.back()->value = i + 1;
        held.back()->text[0] = 'x';
    }
    EXPECT_EQ(pool.capacity(), 56u);
    for (int i = 0; i < 50; ++i) EXPECT_EQ(held[i]->value, i + 1) << "kept through growth";
    Rec* freed = held[10];
    pool.release(freed);
    Rec* again = pool.acquire();
    EXPECT_EQ(again, freed) << "reused before the pool grows";
    EXPECT_EQ(again->value, 0);
    EXPECT_EQ(again->text[0], '\0');
    EXPECT_EQ(pool.capacity(), 56u);
}

}  // namespace
