// The inventory of owned discovery configs: record/forget/idle/rule queries, its byte bound, and the
// state snapshot's round trip and its reader's refusals of corrupt files.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "hadiscovery/inventory.hpp"

using namespace mqs::hadiscovery;
using Cfg = Inventory::OwnedConfig;
using Strings = std::vector<std::string>;

namespace {

constexpr size_t kBig = 1 << 20;

Cfg cfg(std::string topic, std::string device, std::string rule, uint64_t hash, int64_t seen = 1000) {
    return Cfg{std::move(topic), std::move(device), std::move(rule), hash, seen};
}

TEST(StateInventory, RecordTellsWhenToPublish) {
    struct Step {
        Cfg config;
        Inventory::Recorded expected;
    };
    const std::vector<Step> steps = {
        {cfg("ha/device/a/config", "a", "r1", 1), Inventory::Recorded::New},
        {cfg("ha/device/a/config", "a", "r1", 1), Inventory::Recorded::Unchanged},
        {cfg("ha/device/a/config", "a", "r1", 2), Inventory::Recorded::Changed},
        {cfg("ha/sensor/a/t/config", "a", "r1", 7), Inventory::Recorded::New},
        {cfg("ha/device/b/config", "b", "r2", 1), Inventory::Recorded::New},
        {cfg("", "b", "r2", 1), Inventory::Recorded::Refused},
        {cfg("ha/device/c/config", "", "r2", 1), Inventory::Recorded::Refused},
    };
    Inventory inv(kBig);
    for (size_t i = 0; i < steps.size(); ++i) {
        EXPECT_EQ(inv.recordDetailed(steps[i].config), steps[i].expected) << "step " << i;
    }
    EXPECT_EQ(inv.configCount(), 3u);
    EXPECT_EQ(inv.deviceCount(), 2u);
    EXPECT_EQ(inv.refusals(), 2u);
    // record() is the boolean form.
    EXPECT_FALSE(inv.record(cfg("ha/device/a/config", "a", "r1", 2)));
    EXPECT_TRUE(inv.record(cfg("ha/device/a/config", "a", "r1", 3)));
    EXPECT_TRUE(inv.record(cfg("ha/device/d/config", "d", "r1", 3)));
    ASSERT_NE(inv.find("ha/device/a/config"), nullptr);
    EXPECT_EQ(inv.find("ha/device/a/config")->payload_hash, 3u);
    EXPECT_TRUE(inv.owns("ha/device/b/config"));
    EXPECT_FALSE(inv.owns("ha/device/zz/config"));
    EXPECT_EQ(inv.find("ha/device/zz/config"), nullptr);
}

TEST(StateInventory, ForgetReturnsTheDevicesTopicsOnly) {
    Inventory inv(kBig);
    inv.record(cfg("ha/sensor/a/t/config", "a", "r", 1));
    inv.record(cfg("ha/sensor/a/h/config", "a", "r", 1));
    inv.record(cfg("ha/sensor/b/t/config", "b", "r", 1));
    const size_t before = inv.bytes();
    EXPECT_EQ(inv.forget("a"), (Strings{"ha/sensor/a/h/config", "ha/sensor/a/t/config"}));
    EXPECT_EQ(inv.forget("a"), Strings{});
    EXPECT_EQ(inv.forget("nobody"), Strings{});
    EXPECT_FALSE(inv.owns("ha/sensor/a/t/config"));
    EXPECT_TRUE(inv.owns("ha/sensor/b/t/config"));
    EXPECT_EQ(inv.deviceCount(), 1u);
    EXPECT_LT(inv.bytes(), before);
    EXPECT_TRUE(inv.forgetTopic("ha/sensor/b/t/config"));
    EXPECT_FALSE(inv.forgetTopic("ha/sensor/b/t/config"));
    EXPECT_EQ(inv.deviceCount(), 0u);
    EXPECT_EQ(inv.bytes(), 0u);
}

TEST(StateInventory, ATopicMovedToAnotherDeviceLeavesTheOldOne) {
    Inventory inv(kBig);
    inv.record(cfg("ha/device/x/config", "old", "r", 1));
    EXPECT_EQ(inv.recordDetailed(cfg("ha/device/x/config", "new", "r", 1)), Inventory::Recorded::Unchanged);
    EXPECT_EQ(inv.devices(), Strings{"new"});
    EXPECT_EQ(inv.forget("old"), Strings{});
    EXPECT_EQ(inv.forget("new"), Strings{"ha/device/x/config"});
}

TEST(StateInventory, IdleDevicesAndTouch) {
    Inventory inv(kBig);
    inv.record(cfg("ha/sensor/a/t/config", "a", "r", 1, 100));
    inv.record(cfg("ha/sensor/a/h/config", "a", "r", 1, 500));  // a's newest config counts
    inv.record(cfg("ha/sensor/b/t/config", "b", "r", 1, 200));
    inv.record(cfg("ha/sensor/c/t/config", "c", "r", 1, 900));
    struct Case {
        int64_t cutoff;
        Strings idle;
    };
    for (const auto& c : std::vector<Case>{{100, {}}, {201, {"b"}}, {501, {"a", "b"}}, {1000, {"a", "b", "c"}}}) {
        EXPECT_EQ(inv.devicesIdleSince(c.cutoff), c.idle) << "cutoff " << c.cutoff;
    }
    inv.touchDevice("b", 2000);
    inv.touchDevice("nobody", 2000);
    EXPECT_EQ(inv.devicesIdleSince(1000), (Strings{"a", "c"}));
    inv.touchDevice("b", 10);  // time never goes back
    EXPECT_EQ(inv.find("ha/sensor/b/t/config")->last_seen_ms, 2000);
    // An unchanged re-record keeps the newer time.
    inv.record(cfg("ha/sensor/b/t/config", "b", "r", 1, 5));
    EXPECT_EQ(inv.find("ha/sensor/b/t/config")->last_seen_ms, 2000);
}

TEST(StateInventory, DevicesOfRule) {
    Inventory inv(kBig);
    inv.record(cfg("ha/sensor/a/t/config", "a", "temp", 1));
    inv.record(cfg("ha/sensor/a/h/config", "a", "hum", 1));
    inv.record(cfg("ha/sensor/b/t/config", "b", "temp", 1));
    inv.record(cfg("ha/sensor/c/h/config", "c", "hum", 1));
    EXPECT_EQ(inv.devicesOfRule("temp"), (Strings{"a", "b"}));
    EXPECT_EQ(inv.devicesOfRule("hum"), (Strings{"a", "c"}));
    EXPECT_EQ(inv.devicesOfRule("none"), Strings{});
}

TEST(StateInventory, BoundedInBytes) {
    const Cfg one = cfg("ha/device/0000/config", "0000", "r", 1);
    const size_t per = Inventory::entryBytes(one);
    Inventory inv(per * 3);
    for (int i = 0; i < 5; ++i) {
        const std::string id = "000" + std::to_string(i);
        inv.record(cfg("ha/device/" + id + "/config", id, "r", 1));
    }
    EXPECT_EQ(inv.configCount(), 3u);
    EXPECT_EQ(inv.refusals(), 2u);
    EXPECT_LE(inv.bytes(), inv.maxBytes());
    // A known topic still updates when the size stays, and a longer rule that does not fit is refused.
    EXPECT_EQ(inv.recordDetailed(cfg("ha/device/0000/config", "0000", "r", 9)), Inventory::Recorded::Changed);
    EXPECT_EQ(inv.recordDetailed(cfg("ha/device/0000/config", "0000", "a-much-longer-rule", 10)),
              Inventory::Recorded::Refused);
    EXPECT_EQ(inv.find("ha/device/0000/config")->payload_hash, 9u);
    // Forgetting frees room.
    inv.forget("0001");
    EXPECT_TRUE(inv.record(cfg("ha/device/0004/config", "0004", "r", 1)));
}

TEST(StateInventory, SnapshotRoundTripWithDeletions) {
    Inventory inv(kBig);
    inv.record(cfg("ha/sensor/b/t/config", "b", "temp", 0xfedcba9876543210ULL, 1763769600123));
    inv.record(cfg("ha/device/a/config", "a", "", 0, -5));
    inv.record(cfg("ha/sensor/\"q\\/x/config", "dév ☃", "r", 42, 0));
    UserDeletions del(10, 4096);
    del.markDeleted("ha/sensor/gone/config");
    del.markDeleted("uid_123");
    const std::string text = serializeState(inv, del);
    EXPECT_EQ(serializeState(inv, del), text) << "deterministic";
    const LoadedState back = parseState(text, "state.json", kBig, 10, 4096);
    EXPECT_EQ(back.inventory.configs(), inv.configs());
    EXPECT_EQ(back.inventory.devices(), inv.devices());
    EXPECT_EQ(back.inventory.bytes(), inv.bytes());
    EXPECT_EQ(back.deletions.list(), del.list());
    EXPECT_EQ(serializeState(back.inventory, back.deletions), text);
    // Inventory::serialize() is the same format with no deletions; both readers accept it.
    const std::string alone = inv.serialize();
    EXPECT_EQ(Inventory::parse(alone, "x", kBig).configs(), inv.configs());
    EXPECT_EQ(UserDeletions::parse(alone, "x", 10, 4096).count(), 0u);
}

TEST(StateInventory, EmptySnapshotRoundTrip) {
    const std::string text = serializeState(Inventory(kBig), UserDeletions(1, 100));
    const auto back = parseState(text, "s", kBig, 1, 100);
    EXPECT_EQ(back.inventory.configCount(), 0u);
    EXPECT_EQ(back.deletions.count(), 0u);
}

TEST(StateInventory, SnapshotOverALoweredLimitKeepsWhatFits) {
    Inventory inv(kBig);
    for (int i = 0; i < 10; ++i)
        inv.record(cfg("ha/device/" + std::to_string(i) + "/config", std::to_string(i), "r", 1));
    const std::string text = inv.serialize();
    const Inventory small = Inventory::parse(text, "s", inv.bytes() / 2);
    EXPECT_GT(small.configCount(), 0u);
    EXPECT_LT(small.configCount(), 10u);
    EXPECT_EQ(small.refusals(), 10u - small.configCount());
    EXPECT_LE(small.bytes(), small.maxBytes());
}

TEST(StateInventory, CorruptSnapshotsAreRefusedWithTheFileNamed) {
    const std::string ok_entry = R"({"topic":"t","device":"d","rule":"r","hash":"ff","last_seen_ms":1})";
    const auto doc = [](const std::string& configs, const std::string& extra = "") {
        return R"({"format":"mqs-hadiscovery-state","version":1,"configs":[)" + configs + "]" + extra + "}";
    };
    struct Case {
        const char* name;
        std::string text;
        const char* mentions;
    };
    const std::vector<Case> cases = {
        {"empty file", "", "not valid JSON"},
        {"truncated", doc(ok_entry).substr(0, 60), "not valid JSON"},
        {"garbage", "\x01\x02garbage", "not valid JSON"},
        {"array", "[]", "not a JSON object"},
        {"no format", R"({"version":1,"configs":[]})", "format"},
        {"other format", R"({"format":"alerts","version":1,"configs":[]})", "format"},
        {"no version", R"({"format":"mqs-hadiscovery-state","configs":[]})", "version"},
        {"string version", R"({"format":"mqs-hadiscovery-state","version":"1","configs":[]})", "version"},
        {"newer version", R"({"format":"mqs-hadiscovery-state","version":2,"configs":[]})", "version"},
        {"no configs", R"({"format":"mqs-hadiscovery-state","version":1})", "configs"},
        {"configs object", R"({"format":"mqs-hadiscovery-state","version":1,"configs":{}})", "configs"},
        {"entry not object", doc("1"), "configs[0]"},
        {"no topic", doc(R"({"device":"d","rule":"r","hash":"1","last_seen_ms":1})"), "topic"},
        {"empty topic", doc(R"({"topic":"","device":"d","rule":"r","hash":"1","last_seen_ms":1})"), "topic"},
        {"numeric device", doc(R"({"topic":"t","device":5,"rule":"r","hash":"1","last_seen_ms":1})"), "device"},
        {"no rule", doc(R"({"topic":"t","device":"d","hash":"1","last_seen_ms":1})"), "rule"},
        {"numeric hash", doc(R"({"topic":"t","device":"d","rule":"r","hash":1,"last_seen_ms":1})"), "hash"},
        {"bad hash", doc(R"({"topic":"t","device":"d","rule":"r","hash":"xyz","last_seen_ms":1})"), "hash"},
        {"long hash", doc(R"({"topic":"t","device":"d","rule":"r","hash":"11112222333344445","last_seen_ms":1})"),
         "hash"},
        {"float seen", doc(R"({"topic":"t","device":"d","rule":"r","hash":"1","last_seen_ms":1.5})"), "last_seen_ms"},
        {"huge seen", doc(R"({"topic":"t","device":"d","rule":"r","hash":"1","last_seen_ms":18446744073709551615})"),
         "last_seen_ms"},
        {"duplicate topic", doc(ok_entry + "," + ok_entry), "twice"},
        {"second entry bad", doc(ok_entry + R"(,{"topic":"u"})"), "configs[1]"},
        {"deleted not array", doc(ok_entry, R"(,"deleted":"x")"), "deleted"},
        {"deleted entry number", doc(ok_entry, R"(,"deleted":["a",3])"), "deleted[1]"},
        {"deleted entry empty", doc(ok_entry, R"(,"deleted":[""])"), "deleted[0]"},
    };
    for (const auto& c : cases) {
        try {
            parseState(c.text, "/var/lib/mosquitto/ha.json", kBig, 100, 1 << 16);
            ADD_FAILURE() << c.name << ": accepted";
        } catch (const SnapshotError& e) {
            const std::string what = e.what();
            EXPECT_NE(what.find("/var/lib/mosquitto/ha.json"), std::string::npos) << c.name << ": " << what;
            EXPECT_NE(what.find(c.mentions), std::string::npos) << c.name << ": " << what;
        }
    }
}

TEST(StateInventory, UnknownKeysAreIgnored) {
    const std::string text =
        R"({"format":"mqs-hadiscovery-state","version":1,"future":{"x":1},)"
        R"("configs":[{"topic":"t","device":"d","rule":"r","hash":"00000000000000FF","last_seen_ms":-3,"extra":true}],)"
        R"("deleted":[]})";
    const Inventory inv = Inventory::parse(text, "s", kBig);
    ASSERT_NE(inv.find("t"), nullptr);
    EXPECT_EQ(inv.find("t")->payload_hash, 255u);
    EXPECT_EQ(inv.find("t")->last_seen_ms, -3);
}

TEST(StateInventory, LoadStateFile) {
    const auto dir = std::filesystem::temp_directory_path() / ("hadstate_load_" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    const auto path = (dir / "state.json").string();
    // Missing: empty state (first start).
    auto empty = loadStateFile(path, kBig, 10, 1000);
    EXPECT_EQ(empty.inventory.configCount(), 0u);
    Inventory inv(kBig);
    inv.record(cfg("ha/device/a/config", "a", "r", 5));
    UserDeletions del(10, 1000);
    del.markDeleted("ha/device/b/config");
    std::ofstream(path) << serializeState(inv, del);
    auto loaded = loadStateFile(path, kBig, 10, 1000);
    EXPECT_TRUE(loaded.inventory.owns("ha/device/a/config"));
    EXPECT_TRUE(loaded.deletions.isDeleted("ha/device/b/config"));
    std::ofstream(path) << "{\"format\":";  // a torn file (never written by the writer, but a disk may lie)
    EXPECT_THROW(loadStateFile(path, kBig, 10, 1000), SnapshotError);
    // A folder where the file should be: unreadable, an error rather than an empty state.
    EXPECT_THROW(loadStateFile(dir.string(), kBig, 10, 1000), SnapshotError);
    std::filesystem::remove_all(dir);
}

}  // namespace

namespace {

TEST(StateInventory, ChangesCountWhatTheSnapshotMustCarry) {
    Inventory inv(kBig);
    UserDeletions del(10, 1000);
    struct Step {
        const char* what;
        std::function<void()> act;
        uint64_t inventory_changes;
        uint64_t deletion_changes;
    };
    const std::vector<Step> steps = {
        {"new", [&] { inv.record(cfg("ha/device/a/config", "a", "r", 1)); }, 1, 0},
        {"same", [&] { inv.record(cfg("ha/device/a/config", "a", "r", 1)); }, 1, 0},
        {"touch", [&] { inv.touchDevice("a", 99999); }, 1, 0},
        {"hash", [&] { inv.record(cfg("ha/device/a/config", "a", "r", 2)); }, 2, 0},
        {"rule", [&] { inv.record(cfg("ha/device/a/config", "a", "r2", 2)); }, 3, 0},
        {"device", [&] { inv.record(cfg("ha/device/a/config", "b", "r2", 2)); }, 4, 0},
        {"forget none", [&] { inv.forget("a"); }, 4, 0},
        {"forget", [&] { inv.forget("b"); }, 5, 0},
        {"forgetTopic none", [&] { inv.forgetTopic("x"); }, 5, 0},
        {"mark", [&] { del.markDeleted("x"); }, 5, 1},
        {"mark again", [&] { del.markDeleted("x"); }, 5, 1},
        {"undelete", [&] { del.undelete("x"); }, 5, 2},
        {"undelete none", [&] { del.undelete("x"); }, 5, 2},
    };
    for (const auto& s : steps) {
        s.act();
        EXPECT_EQ(inv.changes(), s.inventory_changes) << s.what;
        EXPECT_EQ(del.changes(), s.deletion_changes) << s.what;
    }
}

TEST(StateInventory, AnImplausiblyLargeFileIsRefusedBeforeReading) {
    const auto dir = std::filesystem::temp_directory_path() / ("hadstate_large_" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    const auto path = (dir / "state.json").string();
    std::ofstream(path) << std::string(1200 * 1024, ' ');  // over 8 x (tiny limits) + 1 MiB
    try {
        loadStateFile(path, 1000, 10, 1000);
        ADD_FAILURE() << "accepted";
    } catch (const SnapshotError& e) {
        EXPECT_NE(std::string(e.what()).find(path), std::string::npos);
        EXPECT_NE(std::string(e.what()).find("limits"), std::string::npos);
    }
    // The same file is merely corrupt (all blanks) under generous limits.
    EXPECT_THROW(loadStateFile(path, kBig, 10, 1000), SnapshotError);
    std::filesystem::remove_all(dir);
}

}  // namespace

namespace {

// Whatever the damage (a bad disk, a hand edit), the reader either accepts the text or throws SnapshotError:
// never another exception, never a crash (the ASan build runs this too).
TEST(StateInventory, RandomlyDamagedSnapshotsParseOrThrowSnapshotError) {
    Inventory inv(kBig);
    for (int i = 0; i < 20; ++i) {
        const std::string id = "dev" + std::to_string(i);
        inv.record(cfg("homeassistant/device/" + id + "/config", id, i % 2 ? "temp" : "hum", uint64_t(i) * 7919,
                       1763769600000 + i));
    }
    UserDeletions del(100, 1 << 16);
    del.markDeleted("homeassistant/device/dev3/config");
    const std::string good = serializeState(inv, del);
    std::mt19937 rng(12345);
    static const char kAlphabet[] = "{}[]\",:0123456789-.eE \\ux\x00\xff";
    const std::string alphabet(kAlphabet, sizeof kAlphabet - 1);  // with the NUL byte
    size_t accepted = 0;
    for (int round = 0; round < 3000; ++round) {
        std::string text = good;
        const int edits = 1 + int(rng() % 4);
        for (int e = 0; e < edits; ++e) {
            const size_t at = rng() % text.size();
            switch (rng() % 3) {
                case 0:
                    text[at] = alphabet[rng() % alphabet.size()];
                    break;
                case 1:
                    text.erase(at, 1 + rng() % 8);
                    break;
                default:
                    text.insert(at, 1, alphabet[rng() % alphabet.size()]);
                    break;
            }
            if (text.empty()) text = "x";
        }
        try {
            const auto state = parseState(text, "damaged.json", kBig, 100, 1 << 16);
            ++accepted;
            EXPECT_LE(state.inventory.bytes(), kBig);
        } catch (const SnapshotError&) {
        } catch (const std::exception& e) {
            ADD_FAILURE() << "round " << round << ": " << e.what();
        }
    }
    EXPECT_LT(accepted, 3000u);
}

TEST(StateInventory, InvalidUtf8InADeviceIdDoesNotStopTheSnapshot) {
    Inventory inv(kBig);
    inv.record(cfg("ha/device/x/config", std::string("bad\xff\xfe", 5), "r", 1));
    std::string text;
    ASSERT_NO_THROW(text = serializeState(inv, UserDeletions(1, 100)));
    const auto back = parseState(text, "s", kBig, 1, 100);
    EXPECT_TRUE(back.inventory.owns("ha/device/x/config"));  // the topic, what clearing needs, is intact
}

TEST(StateInventory, DeviceRecordsRoundTripAndAreOptional) {
    std::vector<DeviceRecord> devices{
        {"a", "r", "x/a/status", "web ☃", {"cpu", "memory"}, {"co2"}, 90},
        {"b", "r", "x/b/status", "", {}, {}, 0},
    };
    const std::string text = serializeState(Inventory(kBig), UserDeletions(1, 100), devices);
    const auto back = parseState(text, "s", kBig, 1, 100);
    EXPECT_EQ(back.devices, devices);
    // A file written before the key existed.
    const auto old = parseState(R"({"format":"mqs-hadiscovery-state","version":1,"configs":[],"deleted":[]})", "s",
                                kBig, 1, 100);
    EXPECT_TRUE(old.devices.empty());
    // Over a lowered bound: the first records that fit.
    const auto small = parseState(text, "s", devices[0].bytes() + 1, 1, 100);
    ASSERT_EQ(small.devices.size(), 1u);
    EXPECT_EQ(small.devices[0].id, "a");
}

TEST(StateInventory, CorruptDeviceRecordsAreRefusedNamingTheEntry) {
    const std::string head = R"({"format":"mqs-hadiscovery-state","version":1,"configs":[],"devices":)";
    const std::string ok = R"({"id":"a","rule":"r","topic":"t","name":"","entities":[],"inferred":[],"expire_after_s":0})";
    struct Case {
        const char* name;
        std::string devices;
        const char* mentions;
    } cases[] = {
        {"not array", R"({})", "devices"},
        {"entry not object", "[1]", "devices[0]"},
        {"no id", R"([{"rule":"r","topic":"t","name":"","entities":[],"inferred":[],"expire_after_s":0}])", "id"},
        {"empty topic", R"([{"id":"a","rule":"r","topic":"","name":"","entities":[],"inferred":[],"expire_after_s":0}])",
         "topic"},
        {"entity number", R"([{"id":"a","rule":"r","topic":"t","name":"","entities":[1],"inferred":[],"expire_after_s":0}])",
         "entities"},
        {"negative expire",
         R"([{"id":"a","rule":"r","topic":"t","name":"","entities":[],"inferred":[],"expire_after_s":-1}])",
         "expire_after_s"},
        {"duplicate id", "[" + ok + "," + ok + "]", "twice"},
    };
    for (const auto& c : cases) {
        try {
            parseState(head + c.devices + "}", "/var/lib/mosquitto/ha.json", kBig, 100, 1 << 16);
            ADD_FAILURE() << c.name << ": accepted";
        } catch (const SnapshotError& e) {
            const std::string what = e.what();
            EXPECT_NE(what.find("/var/lib/mosquitto/ha.json"), std::string::npos) << c.name << ": " << what;
            EXPECT_NE(what.find(c.mentions), std::string::npos) << c.name << ": " << what;
        }
    }
}

}  // namespace
