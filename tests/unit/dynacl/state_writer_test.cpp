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

TEST(StateWriter, RendersInTheWriterProcessAndReportsARenderThatThrows) {
    auto dir = std::filesystem::temp_directory_path() / ("dynacl_render_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const auto path = dir / "state.json";
    StateWriter w(path.string());
    const pid_t caller = ::getpid();
    w.submit([&] { return std::string("{\"elsewhere\":") + (::getpid() != caller ? "true" : "false") + "}"; });
    w.flush();
    EXPECT_EQ(slurp(path), "{\"elsewhere\":true}");

    w.submit([]() -> std::string { throw std::runtime_error("boom"); });
    w.flush();
    auto errors = w.takeErrors();
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_NE(errors[0].find("boom"), std::string::npos);
    EXPECT_EQ(slurp(path), "{\"elsewhere\":true}") << "a failed render leaves the file as it was";
    std::filesystem::remove_all(dir);
}

}  // namespace

namespace {

// Another backend behind StateStore: a file of its own format (the save runs in the writer's child process,
// so a store must keep what it saves outside the process, as a database would).
class OtherStore : public StateStore {
public:
    OtherStore(std::filesystem::path where, std::string initial, bool fail = false)
        : where_(std::move(where)), fail_(fail) {
        std::ofstream(where_) << "v1\n" << initial;
    }
    std::string load() const override {
        std::string all = slurp(where_);
        return all.substr(all.find('\n') + 1);
    }
    std::string save(const std::string& bytes) override {
        if (fail_) return "other store refuses";
        std::ofstream(where_) << "v1\n" << bytes;
        return "";
    }
    std::string name() const override { return "other"; }

private:
    std::filesystem::path where_;
    bool fail_;
};

}  // namespace

TEST(StateStore, TheWriterAndTheLoaderWorkOnAnyStore) {
    const auto dir = std::filesystem::temp_directory_path() / ("dynacl_store_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    auto owned = std::make_unique<OtherStore>(dir / "a", R"({"clients":[{"username":"a"}],"roles":[],"groups":[]})");
    OtherStore* store = owned.get();
    LoadedState loaded = loadState(*store);
    ASSERT_EQ(loaded.state.clients.size(), 1u);
    loaded.state.clients["b"].username = "b";
    {
        StateWriter w(std::move(owned));
        const uint64_t seq = w.submit(stateToJson(loaded.state).dump());
        w.flush();
        EXPECT_EQ(w.written(), seq);
        EXPECT_EQ(loadState(*store).state.clients.size(), 2u);
    }
    OtherStore bad(dir / "bad", "{not json");
    try {
        loadState(bad);
        FAIL() << "no error";
    } catch (const StateFileError& e) {
        EXPECT_NE(std::string(e.what()).find("'other'"), std::string::npos) << e.what();
    }
    StateWriter failing(std::make_unique<OtherStore>(dir / "failing", "", true));
    failing.submit("{}");
    failing.flush();
    EXPECT_EQ(failing.written(), 0u);
    auto errors = failing.takeErrors();
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0], "other store refuses");
    std::filesystem::remove_all(dir);
}
