// Journal: append and read in order, release and reuse across the wrap, full ring, torn and stale
// records cut at reopen, replay of unreleased lines, and a writer process killed with SIGKILL mid-stream.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "influx/journal.hpp"
#include "influx/spool.hpp"

using namespace mqs::influx;
namespace fs = std::filesystem;

namespace {

class JournalTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("influx-journal-" + std::to_string(::getpid()) + "-" +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }
    fs::path file() const { return dir_ / "journal"; }
    static std::string line(int i) {
        return "m,t=" + std::to_string(i % 7) + " v=" + std::to_string(i) +
               std::string(static_cast<size_t>(i % 40), 'x');
    }

    // Reads everything unread; returns the lines and their end positions.
    static std::vector<std::string> readAll(Journal& j, std::vector<uint64_t>* ends_out = nullptr) {
        Batch b;
        std::vector<uint64_t> ends;
        while (j.read(b, ends, 1000) > 0) {
        }
        std::vector<std::string> out;
        for (size_t i = 0; i < b.lines(); ++i) out.emplace_back(b.line(i));
        if (ends_out) *ends_out = ends;
        return out;
    }
    fs::path dir_;
};

TEST(Crc32c, MatchesTheStandardCheckValueAndChains) {
    EXPECT_EQ(crc32c(0, "123456789", 9), 0xe3069283u);
    EXPECT_EQ(crc32c(crc32c(0, "1234", 4), "56789", 5), 0xe3069283u);
    const std::string longer(1000, 'q');
    EXPECT_EQ(crc32c(crc32c(0, longer.data(), 333), longer.data() + 333, 667), crc32c(0, longer.data(), longer.size()));
}

TEST_F(JournalTest, ReadsBackWhatWasAppendedInOrder) {
    Journal j(file(), 1 << 20);
    EXPECT_EQ(j.capacity(), 1u << 20);
    EXPECT_EQ(fs::file_size(file()), Journal::kHeaderBytes + (1u << 20));
    EXPECT_FALSE(j.hasUnread());
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(j.append(line(i)));
    EXPECT_TRUE(j.hasUnread());
    std::vector<uint64_t> ends;
    auto lines = readAll(j, &ends);
    ASSERT_EQ(lines.size(), 100u);
    for (int i = 0; i < 100; ++i) EXPECT_EQ(lines[static_cast<size_t>(i)], line(i));
    EXPECT_FALSE(j.hasUnread());
    EXPECT_EQ(ends.back(), j.usedBytes());
    j.release(ends[49]);
    EXPECT_EQ(j.usedBytes(), ends.back() - ends[49]);
    j.release(ends[10]);  // older positions are ignored
    EXPECT_EQ(j.usedBytes(), ends.back() - ends[49]);
    EXPECT_FALSE(j.append(""));  // empty lines are never journaled (the mapper makes none)
}

TEST_F(JournalTest, FullRingRefusesUntilReleasedAndWrapsAround) {
    Journal j(file(), Journal::kMinCapacity);
    const std::string big(1000, 'a');
    int appended = 0;
    while (j.append(big + std::to_string(appended))) ++appended;
    EXPECT_EQ(appended, static_cast<int>(Journal::kMinCapacity / Journal::recordBytes(big.size() + 2)));
    std::vector<uint64_t> ends;
    auto lines = readAll(j, &ends);
    ASSERT_EQ(lines.size(), static_cast<size_t>(appended));
    EXPECT_FALSE(j.append(big));  // read is not released
    // Release half, then keep going for several laps: every line comes back exactly once, in order.
    j.release(ends[static_cast<size_t>(appended / 2)]);
    int next = appended, expected = appended;
    uint64_t last_end = ends.back();
    for (int lap = 0; lap < 10; ++lap) {
        while (j.append(big + std::to_string(next))) ++next;
        std::vector<uint64_t> e;
        auto got = readAll(j, &e);
        for (const auto& g : got) EXPECT_EQ(g, big + std::to_string(expected++));
        if (!e.empty()) last_end = e.back();
        j.release(last_end);
        EXPECT_EQ(j.usedBytes(), 0u);
    }
    EXPECT_EQ(expected, next);
    EXPECT_GT(next, appended * 5);
}

TEST_F(JournalTest, UnreleasedLinesAreReplayedAfterReopenEvenAcrossTheWrap) {
    std::vector<std::string> expected;
    {
        Journal j(file(), Journal::kMinCapacity);
        const std::string big(3000, 'b');
        // Fill, consume and release most, so the unreleased part straddles the end of the ring.
        int i = 0;
        while (j.append(big + std::to_string(i))) ++i;
        std::vector<uint64_t> ends;
        readAll(j, &ends);
        j.release(ends[ends.size() - 3]);
        for (int k = i - 2; k < i; ++k) expected.push_back(big + std::to_string(k));
        for (int k = 0; k < 8; ++k) {
            ASSERT_TRUE(j.append(line(1000 + k)));
            expected.push_back(line(1000 + k));
        }
        readAll(j);  // read but not released: still replayed
    }
    Journal j(file(), Journal::kMinCapacity);
    EXPECT_EQ(j.recoveredLines(), expected.size());
    EXPECT_EQ(j.tornBytes(), 0u);
    EXPECT_EQ(readAll(j), expected);
    // New appends continue after the replayed ones.
    ASSERT_TRUE(j.append("after"));
    auto more = readAll(j);
    ASSERT_EQ(more.size(), 1u);
    EXPECT_EQ(more[0], "after");
}

TEST_F(JournalTest, ReleasedLinesAreNotReplayed) {
    {
        Journal j(file(), 1 << 20);
        for (int i = 0; i < 10; ++i) ASSERT_TRUE(j.append(line(i)));
        std::vector<uint64_t> ends;
        readAll(j, &ends);
        j.release(ends.back());
    }
    Journal j(file(), 1 << 20);
    EXPECT_EQ(j.recoveredLines(), 0u);
    EXPECT_FALSE(j.hasUnread());
}

TEST_F(JournalTest, ATornLastRecordIsCutAndTheRestReplayed) {
    uint64_t last_start = 0;
    {
        Journal j(file(), 1 << 20);
        for (int i = 0; i < 5; ++i) {
            last_start = j.usedBytes();
            ASSERT_TRUE(j.append(line(i)));
        }
    }
    {
        // Damage one payload byte of the last record, as a kill in the middle of its memcpy would leave it.
        std::fstream f(file(), std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(static_cast<std::streamoff>(Journal::kHeaderBytes + last_start + Journal::kRecordHeaderBytes + 2));
        f.put('#');
    }
    Journal j(file(), 1 << 20);
    EXPECT_EQ(j.recoveredLines(), 4u);
    EXPECT_GT(j.tornBytes(), 0u);
    auto lines = readAll(j);
    ASSERT_EQ(lines.size(), 4u);
    EXPECT_EQ(lines[3], line(3));
    // The torn record's place is reused.
    ASSERT_TRUE(j.append("fresh"));
    EXPECT_EQ(readAll(j), std::vector<std::string>{"fresh"});
}

TEST_F(JournalTest, AnUnreadableFileIsRecreatedAndAnEmptyOneTakesTheNewSize) {
    { std::ofstream(file()) << "not a journal"; }
    {
        Journal j(file(), 1 << 20);
        EXPECT_NE(j.note().find("re-created"), std::string::npos);
        EXPECT_EQ(j.capacity(), 1u << 20);
        ASSERT_TRUE(j.append("kept"));
    }
    {
        // Holds a record: keeps its size whatever is configured.
        Journal j(file(), 2 << 20);
        EXPECT_EQ(j.capacity(), 1u << 20);
        std::vector<uint64_t> ends;
        EXPECT_EQ(readAll(j, &ends), std::vector<std::string>{"kept"});
        j.release(ends.back());
    }
    Journal j(file(), 2 << 20);
    EXPECT_EQ(j.capacity(), 2u << 20);
    EXPECT_EQ(fs::file_size(file()), Journal::kHeaderBytes + (2u << 20));
}

TEST_F(JournalTest, AnUnusableDirectoryThrowsSpoolError) {
    EXPECT_THROW(Journal(dir_ / "missing" / "journal", 1 << 20), SpoolError);
}

// A child appends as fast as it can and reports each appended index through a pipe (the "PUBACK");
// SIGKILL at a random moment. Every reported line must be replayed, in order, and nothing else.
TEST_F(JournalTest, EveryAppendedLineSurvivesSigkillOfTheWriter) {
    for (int round = 0; round < 5; ++round) {
        int fds[2];
        ASSERT_EQ(::pipe(fds), 0);
        const pid_t child = ::fork();
        ASSERT_GE(child, 0);
        if (child == 0) {
            ::close(fds[0]);
            Journal j(file(), 256 << 10);
            // Consume and release like a sink would, so the writer laps the ring many times.
            Batch b;
            std::vector<uint64_t> ends;
            for (uint32_t i = 0;; ++i) {
                while (!j.append(line(static_cast<int>(i)))) {
                    b.data.clear();
                    b.ends.clear();
                    ends.clear();
                    j.read(b, ends, 100);
                    // Keep the newest read line unreleased, so the replay is never empty.
                    if (ends.size() >= 2) j.release(ends[ends.size() - 2]);
                }
                if (::write(fds[1], &i, sizeof i) != static_cast<ssize_t>(sizeof i)) ::_exit(1);
            }
        }
        ::close(fds[1]);
        // Wait for the first acknowledgement (creating the journal takes a while on a loaded machine).
        uint32_t last = 0, v = 0;
        ASSERT_EQ(::read(fds[0], &last, sizeof last), static_cast<ssize_t>(sizeof last));
        ::usleep(static_cast<useconds_t>(20000 + round * 17000));
        ::kill(child, SIGKILL);
        int status = 0;
        ::waitpid(child, &status, 0);
        while (::read(fds[0], &v, sizeof v) == static_cast<ssize_t>(sizeof v)) last = v;
        ::close(fds[0]);
        Journal j(file(), 256 << 10);
        auto lines = readAll(j);
        ASSERT_FALSE(lines.empty());
        // The replay is a contiguous run of lines ending at the last acknowledged one, or one after it
        // (appended, then killed before its index was reported).
        const std::string& tail = lines.back();
        EXPECT_TRUE(tail == line(static_cast<int>(last)) || tail == line(static_cast<int>(last + 1))) << tail;
        size_t at_last = lines.size() - (tail == line(static_cast<int>(last)) ? 1 : 2);
        for (size_t k = 0; k <= at_last; ++k) {
            EXPECT_EQ(lines[at_last - k], line(static_cast<int>(last - k))) << "round " << round;
        }
        fs::remove(file());
    }
}

}  // namespace
