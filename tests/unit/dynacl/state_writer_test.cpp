// The state file writer: atomic replace, latest snapshot wins, failures reported.
#include <gtest/gtest.h>

#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <sstream>

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

}  // namespace
