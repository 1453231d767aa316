// Spool: order, acknowledgement across restarts, segment rollover, full, torn and corrupted records,
// and recovery after a writer process is killed with SIGKILL mid-stream.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <random>

#include "influx/batch.hpp"
#include "influx/spool.hpp"

using namespace mqs::influx;
namespace fs = std::filesystem;

namespace {

class SpoolTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("influx-spool-" + std::to_string(::getpid()) + "-" +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }
    SpoolOptions options(uint64_t max = 1 << 20, uint64_t segment = 4096) {
        return SpoolOptions{.dir = dir_, .max_bytes = max, .segment_bytes = segment, .fsync = FsyncPolicy::Never};
    }
    static std::string record(int i) { return "record-" + std::to_string(i) + std::string(static_cast<size_t>(i % 50), 'x'); }
    fs::path dir_;
};

TEST_F(SpoolTest, ReadsBackInOrderAcrossSegmentsAndRestarts) {
    std::string error, out;
    {
        Spool spool(options());
        for (int i = 0; i < 300; ++i) ASSERT_EQ(spool.append(record(i), error), Spool::Append::Ok) << error;
        EXPECT_EQ(spool.records(), 300u);
        for (int i = 0; i < 100; ++i) {
            ASSERT_TRUE(spool.front(out));
            EXPECT_EQ(out, record(i));
            spool.pop();
        }
    }
    size_t segments = 0;
    for (const auto& e : fs::directory_iterator(dir_)) segments += e.path().extension() == ".seg";
    EXPECT_GT(segments, 1u) << "4 KiB segments roll over";
    Spool reopened(options());
    EXPECT_EQ(reopened.recoveredRecords(), 200u) << "acknowledged records are not replayed";
    for (int i = 100; i < 300; ++i) {
        ASSERT_TRUE(reopened.front(out));
        ASSERT_EQ(out, record(i));
        reopened.pop();
    }
    EXPECT_FALSE(reopened.front(out));
    EXPECT_TRUE(reopened.empty());
    ASSERT_EQ(reopened.append("after", error), Spool::Append::Ok);
    ASSERT_TRUE(reopened.front(out));
    EXPECT_EQ(out, "after");
}

TEST_F(SpoolTest, EmptiedSpoolLeavesNoSegments) {
    std::string error, out;
    Spool spool(options());
    for (int i = 0; i < 50; ++i) spool.append(record(i), error);
    while (spool.front(out)) spool.pop();
    size_t segments = 0;
    for (const auto& e : fs::directory_iterator(dir_)) segments += e.path().extension() == ".seg";
    EXPECT_EQ(segments, 0u);
    EXPECT_EQ(spool.bytes(), 0u);
}

TEST_F(SpoolTest, RefusesWhenFull) {
    std::string error;
    Spool spool(options(1000));
    int accepted = 0;
    while (spool.append(std::string(100, 'a'), error) == Spool::Append::Ok) ++accepted;
    EXPECT_EQ(accepted, 9);  // 9 x (8 + 100) <= 1000
    EXPECT_LE(spool.bytes(), 1000u);
    std::string out;
    spool.front(out);
    spool.pop();
    EXPECT_EQ(spool.append(std::string(100, 'a'), error), Spool::Append::Ok) << "room again after an acknowledgement";
}

TEST_F(SpoolTest, TornTailIsCutAndCorruptRecordsAreSkipped) {
    std::string error, out;
    {
        Spool spool(options(1 << 20, 1 << 20));
        for (int i = 0; i < 10; ++i) spool.append(record(i), error);
    }
    fs::path seg;
    for (const auto& e : fs::directory_iterator(dir_)) {
        if (e.path().extension() == ".seg") seg = e.path();
    }
    // A half-written record at the end, as a kill -9 in the middle of write() would leave it.
    {
        std::ofstream f(seg, std::ios::app | std::ios::binary);
        uint32_t header[2] = {1000, 0};
        f.write(reinterpret_cast<char*>(header), sizeof header);
        f << "partial";
    }
    {
        Spool spool(options(1 << 20, 1 << 20));
        EXPECT_EQ(spool.recoveredRecords(), 10u);
        EXPECT_GT(spool.corruptBytes(), 0u);
        ASSERT_TRUE(spool.front(out));
        EXPECT_EQ(out, record(0));
    }
    // Flip a byte inside record 5's payload: the CRC no longer matches; records before it survive.
    {
        std::fstream f(seg, std::ios::in | std::ios::out | std::ios::binary);
        uint64_t offset = 0;
        for (int i = 0; i < 5; ++i) offset += Spool::kHeaderBytes + record(i).size();
        f.seekp(static_cast<std::streamoff>(offset + Spool::kHeaderBytes + 2));
        f.put('#');
    }
    Spool spool(options(1 << 20, 1 << 20));
    EXPECT_EQ(spool.recoveredRecords(), 5u);
    for (int i = 0; i < 5; ++i) {
        ASSERT_TRUE(spool.front(out));
        EXPECT_EQ(out, record(i));
        spool.pop();
    }
    EXPECT_FALSE(spool.front(out));
}

TEST_F(SpoolTest, SurvivesSigkillOfTheWriter) {
    // The child appends and acknowledges as fast as it can; the parent kills it at a random moment.
    for (int round = 0; round < 5; ++round) {
        fs::remove_all(dir_);
        int pipefd[2];
        ASSERT_EQ(::pipe(pipefd), 0);
        pid_t pid = ::fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            ::close(pipefd[0]);
            Spool spool(SpoolOptions{.dir = dir_, .max_bytes = 1ull << 30, .segment_bytes = 8192, .fsync = FsyncPolicy::Never});
            std::string error, out;
            for (int i = 0;; ++i) {
                spool.append(record(i), error);
                if (i % 3 == 0 && spool.front(out)) spool.pop();
                if (i == 200) (void)!::write(pipefd[1], "x", 1);
            }
        }
        ::close(pipefd[1]);
        char c;
        ASSERT_EQ(::read(pipefd[0], &c, 1), 1);
        ::close(pipefd[0]);
        std::this_thread::sleep_for(std::chrono::milliseconds(std::mt19937(round)() % 20));
        ::kill(pid, SIGKILL);
        int status = 0;
        ::waitpid(pid, &status, 0);

        Spool spool(options(1ull << 30, 8192));
        ASSERT_GT(spool.recoveredRecords(), 0u);
        // What is left is a run of consecutive records, each intact.
        std::string out;
        ASSERT_TRUE(spool.front(out));
        int first = std::stoi(out.substr(7));
        int n = 0;
        while (spool.front(out)) {
            ASSERT_EQ(out, record(first + n)) << "round " << round;
            spool.pop();
            ++n;
        }
        EXPECT_EQ(static_cast<uint64_t>(n), spool.recoveredRecords());
    }
}

TEST(BatchRecord, RoundTripsLinesWithNewlinesInStrings) {
    Batch b;
    b.add("m v=1 1", 10);
    b.add("m s=\"a\nb\" 2", 11);
    b.add("m v=3 3", 12);
    auto back = Batch::deserialize(b.serialize());
    ASSERT_TRUE(back);
    EXPECT_EQ(back->lines(), 3u);
    EXPECT_EQ(back->line(1), "m s=\"a\nb\" 2");
    EXPECT_EQ(back->body(1, 3), "m s=\"a\nb\" 2\nm v=3 3\n");
    EXPECT_EQ(back->oldest_ms, 10);
    EXPECT_FALSE(Batch::deserialize("short"));
}

}  // namespace
