// The state file writer: atomic replace, latest snapshot wins, failures reported.
#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "dynacl/state_file.hpp"
#include "dynacl/state_writer.hpp"

using namespace mqs::dynacl;

namespace {

std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

TEST(StateWriter, WritesTheLatestSnapshotAtomically) {
    auto dir = std::filesystem::temp_directory_path() / ("dynacl_writer_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const auto path = dir / "state.json";
    {
        StateWriter w(path.string());
        for (int i = 0; i < 50; ++i) w.submit("{\"n\":" + std::to_string(i) + "}");
        w.flush();
        EXPECT_EQ(w.written(), 50u);
        EXPECT_EQ(slurp(path), "{\"n\":49}");
        EXPECT_FALSE(std::filesystem::exists(dir / "state.json.new"));
        w.submit("{\"last\":true}");
    }  // the destructor writes what is pending
    EXPECT_EQ(slurp(path), "{\"last\":true}");
    std::filesystem::remove_all(dir);
}

TEST(StateWriter, ReportsFailures) {
    StateWriter w("/nonexistent-dir/state.json");
    w.submit("{}");
    w.flush();
    EXPECT_EQ(w.written(), 0u);
    auto errors = w.takeErrors();
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_NE(errors[0].find("/nonexistent-dir/state.json.new"), std::string::npos);
}

TEST(StateWriter, RendersOnItsOwnThreadAndReportsARenderThatThrows) {
    auto dir = std::filesystem::temp_directory_path() / ("dynacl_render_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const auto path = dir / "state.json";
    StateWriter w(path.string());
    const auto caller = std::this_thread::get_id();
    std::atomic<bool> rendered_on_caller{false};
    w.submit([&] {
        rendered_on_caller = std::this_thread::get_id() == caller;
        return std::string("{\"rendered\":true}");
    });
    w.flush();
    EXPECT_FALSE(rendered_on_caller);
    EXPECT_EQ(slurp(path), "{\"rendered\":true}");

    w.submit([]() -> std::string { throw std::runtime_error("boom"); });
    w.flush();
    auto errors = w.takeErrors();
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_NE(errors[0].find("boom"), std::string::npos);
    EXPECT_EQ(slurp(path), "{\"rendered\":true}") << "a failed render leaves the file as it was";
    std::filesystem::remove_all(dir);
}

}  // namespace

namespace {

// A store in memory: what another backend behind StateStore would see.
class MemoryStore : public StateStore {
public:
    explicit MemoryStore(std::string initial, bool fail = false) : bytes_(std::move(initial)), fail_(fail) {}
    std::string load() const override { return bytes_; }
    std::string save(const std::string& bytes) override {
        if (fail_) return "memory store refuses";
        bytes_ = bytes;
        ++saves_;
        return "";
    }
    std::string name() const override { return "memory"; }
    std::string bytes_;
    bool fail_;
    int saves_ = 0;
};

}  // namespace

TEST(StateStore, TheWriterAndTheLoaderWorkOnAnyStore) {
    auto owned = std::make_unique<MemoryStore>(R"({"clients":[{"username":"a"}],"roles":[],"groups":[]})");
    MemoryStore* store = owned.get();
    LoadedState loaded = loadState(*store);
    ASSERT_EQ(loaded.state.clients.size(), 1u);
    loaded.state.clients["b"].username = "b";
    {
        StateWriter w(std::move(owned));
        const uint64_t seq = w.submit(stateToJson(loaded.state).dump());
        w.flush();
        EXPECT_EQ(w.written(), seq);
        EXPECT_EQ(store->saves_, 1);
        EXPECT_EQ(loadState(*store).state.clients.size(), 2u);
    }
    MemoryStore bad("{not json");
    try {
        loadState(bad);
        FAIL() << "no error";
    } catch (const StateFileError& e) {
        EXPECT_NE(std::string(e.what()).find("'memory'"), std::string::npos) << e.what();
    }
    StateWriter failing(std::make_unique<MemoryStore>("", true));
    failing.submit("{}");
    failing.flush();
    EXPECT_EQ(failing.written(), 0u);
    auto errors = failing.takeErrors();
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0], "memory store refuses");
}
