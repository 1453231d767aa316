// State snapshots: record round trip, located errors for corrupt files, atomic writes, and the
// writer thread that applies batches, tombstones and full replacements.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include <unistd.h>

#include "alerts/state_store.hpp"

using namespace mqs::alerts;
using namespace std::chrono_literals;

namespace {

class TempDir {
public:
    TempDir() {
        std::string pattern = (std::filesystem::temp_directory_path() / "alerts-test-XXXXXX").string();
        path_ = mkdtemp(pattern.data());
    }
    ~TempDir() { std::filesystem::remove_all(path_); }
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

DeviceRecord sample(const std::string& device) {
    DeviceRecord r;
    r.rule = "dht11-temperature";
    r.device = device;
    r.active_level = "warning";
    r.active_since = 1'763'769'600'123;
    r.active_samples = 5;
    r.has_last_value = true;
    r.last_value = -0.5;
    r.last_seen = 1'763'769'700'000;
    r.last_notify = 1'763'769'650'000;
    r.deadman_active = true;
    r.has_hash = true;
    r.last_hash = 0xfedcba9876543210ull;
    r.pending = {{"critical", 2, 1'763'769'690'000}};
    return r;
}

}  // namespace

TEST(StateStore, RecordsRoundTrip) {
    DeviceRecord r = sample("kitchen");
    std::string text = "{\"format\":\"mosquitto_alerts-state\",\"version\":1}\n" + serializeRecord(r) + "\n";
    auto back = parseSnapshot(text, "s");
    ASSERT_EQ(back.size(), 1u);
    EXPECT_EQ(back[0], r);
}

TEST(StateStore, CorruptSnapshotsNameTheLine) {
    EXPECT_THROW(parseSnapshot("{\"rule\":\"x\"}\n", "s"), StateError);
    try {
        parseSnapshot("{\"format\":\"mosquitto_alerts-state\",\"version\":1}\n{\"rule\":1}\n", "state.jsonl");
        FAIL();
    } catch (const StateError& e) {
        EXPECT_NE(std::string(e.what()).find("state.jsonl:2: bad record"), std::string::npos) << e.what();
    }
    EXPECT_TRUE(parseSnapshot("", "s").empty());
    EXPECT_TRUE(loadSnapshot("/nonexistent/state").empty()) << "no file yet: no state";
}

TEST(StateStore, WriteIsAtomicAndLoadable) {
    TempDir dir;
    auto file = dir.path() / "alerts.state";
    DeviceRecord a = sample("a"), b = sample("b");
    writeSnapshot(file, {&a, &b});
    EXPECT_FALSE(std::filesystem::exists(file.string() + ".new"));
    auto back = loadSnapshot(file);
    ASSERT_EQ(back.size(), 2u);
    EXPECT_EQ(back[1], b);
    EXPECT_THROW(writeSnapshot(dir.path() / "missing-dir" / "x", {&a}), StateError);
}

TEST(StateStore, WriterAppliesBatchesTombstonesAndReplacements) {
    TempDir dir;
    auto file = dir.path() / "alerts.state";
    {
        StateWriter writer(file, 1h, 100, {sample("old")});
        DeviceRecord gone;
        gone.rule = "dht11-temperature";
        gone.device = "old";
        gone.removed = true;
        writer.submit({sample("a"), sample("b"), gone});
        for (int i = 0; i < 200 && writer.writes() == 0; ++i) std::this_thread::sleep_for(10ms);
        ASSERT_EQ(writer.writes(), 1u) << "submit wakes the worker";
        auto first = loadSnapshot(file);
        ASSERT_EQ(first.size(), 2u);
        EXPECT_EQ(first[0].device, "a");
        writer.replaceAll({sample("z")});
    }  // destructor: final write
    auto last = loadSnapshot(file);
    ASSERT_EQ(last.size(), 1u);
    EXPECT_EQ(last[0].device, "z");
}

TEST(StateStore, WriterAsksForResyncInsteadOfGrowingWithoutBound) {
    TempDir dir;
    StateWriter writer(dir.path() / "s", 1h, 3, {});
    writer.stop();  // nothing drains now
    writer.submit({sample("a"), sample("b")});
    EXPECT_FALSE(writer.needsResync());
    writer.submit({sample("c"), sample("d")});
    EXPECT_TRUE(writer.needsResync());
    EXPECT_FALSE(writer.needsResync()) << "asked once";
}

TEST(StateStore, WriteFailuresAreReportedToTheBrokerThread) {
    StateWriter writer("/nonexistent/dir/state", 1h, 100, {});
    writer.submit({sample("a")});
    for (int i = 0; i < 200 && writer.failures() == 0; ++i) std::this_thread::sleep_for(10ms);
    EXPECT_EQ(writer.failures(), 1u);
    EXPECT_NE(writer.takeError().find("cannot create '/nonexistent/dir/state.new'"), std::string::npos);
    EXPECT_EQ(writer.takeError(), "");
}
