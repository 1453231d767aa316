// The snapshot writer: the latest snapshot wins, a reader only ever sees a complete old or new file,
// submit() does not wait for a stalled disk, failures come back to the broker thread.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "hadiscovery/state_file_writer.hpp"

using namespace mqs::hadiscovery;
namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

struct TempDir {
    fs::path path;
    explicit TempDir(const std::string& name)
        : path(fs::temp_directory_path() / ("hadstate_" + name + "_" + std::to_string(::getpid()))) {
        fs::remove_all(path);
        fs::create_directories(path);
    }
    // Never throws: a writer process orphaned by a killed test writer may still be renaming in there.
    ~TempDir() {
        std::error_code ignored;
        fs::remove_all(path, ignored);
    }
};

// Snapshot n: large enough that a torn write would be visible, and self-describing.
std::string snapshot(int n) {
    return "{\"n\":" + std::to_string(n) + ",\"pad\":\"" + std::string(64 * 1024, 'x') + "\"}\n";
}

TEST(StateFileWriter, LatestSnapshotWins) {
    TempDir dir("latest");
    const auto path = dir.path / "state.json";
    {
        StateFileWriter w(path.string());
        for (int i = 0; i < 50; ++i) w.submit("{\"n\":" + std::to_string(i) + "}");
        w.flush();
        EXPECT_EQ(slurp(path), "{\"n\":49}");
        EXPECT_FALSE(fs::exists(dir.path / "state.json.new"));
        EXPECT_EQ(w.submitted(), 50u);
        EXPECT_EQ(w.writes() + w.superseded(), 50u);
        EXPECT_GE(w.writes(), 1u);
        EXPECT_EQ(w.failures(), 0u);
        EXPECT_TRUE(w.takeErrors().empty());
        w.submit("{\"last\":true}");
    }  // the destructor writes what is pending
    EXPECT_EQ(slurp(path), "{\"last\":true}");
    EXPECT_EQ(fs::status(path).permissions() & fs::perms::others_read, fs::perms::none);
}

// The reader is another process, not a thread: the writer forks, and a fork while another thread allocates
// can hang the child in a sanitizer's allocator (glibc's own malloc is fork-safe; the broker has no such thread).
TEST(StateFileWriter, AReaderSeesOnlyCompleteSnapshots) {
    TempDir dir("atomic");
    const auto path = dir.path / "state.json";
    const auto stop_file = dir.path / "stop";
    std::set<std::string> valid;
    for (int i = 0; i < 40; ++i) valid.insert(snapshot(i));
    {
        StateFileWriter w(path.string());
        w.submit(snapshot(0));
        w.flush();
        const pid_t reader = ::fork();
        ASSERT_GE(reader, 0);
        if (reader == 0) {
            int reads = 0, torn = 0;
            while (!fs::exists(stop_file)) {
                if (!valid.contains(slurp(path))) ++torn;
                ++reads;
            }
            ::_exit(torn > 0 ? 1 : reads == 0 ? 2 : 0);
        }
        for (int i = 1; i < 40; ++i) {
            w.submit(snapshot(i));
            if (i % 4 == 0) w.flush();  // let some land, so the reader races real renames
        }
        w.flush();
        std::ofstream(stop_file) << "";
        int status = -1;
        ASSERT_EQ(::waitpid(reader, &status, 0), reader);
        ASSERT_TRUE(WIFEXITED(status));
        EXPECT_EQ(WEXITSTATUS(status), 0) << "1: a torn snapshot was read; 2: no read at all";
        EXPECT_TRUE(slurp(path) == snapshot(39));  // not EXPECT_EQ: 64 KiB in a failure message
    }
}

TEST(StateFileWriter, ALeftoverTempFileFromACrashDoesNotMatter) {
    TempDir dir("leftover");
    const auto path = dir.path / "state.json";
    std::ofstream(path) << "old complete";
    std::ofstream(dir.path / "state.json.new") << "half writ";  // the crash happened before the rename
    EXPECT_EQ(slurp(path), "old complete");                     // what a restart would read
    StateFileWriter w(path.string());
    w.submit("new complete");
    w.flush();
    EXPECT_EQ(slurp(path), "new complete");
    EXPECT_FALSE(fs::exists(dir.path / "state.json.new"));
}

TEST(StateFileWriter, SubmitDoesNotWaitForAStalledDisk) {
    TempDir dir("stall");
    const auto path = dir.path / "state.json";
    const auto temp = dir.path / "state.json.new";
    // A FIFO where the temp file goes: the worker's open() blocks until someone reads, like a hung disk.
    ASSERT_EQ(::mkfifo(temp.c_str(), 0600), 0);
    StateFileWriter w(path.string());
    w.submit(snapshot(0));
    const auto begin = std::chrono::steady_clock::now();
    for (int i = 1; i <= 1000; ++i) w.submit(snapshot(i));
    const auto took = std::chrono::steady_clock::now() - begin;
    EXPECT_LT(took, std::chrono::seconds(2));  // 1000 moves, not 1000 waits on the blocked worker
    EXPECT_EQ(w.writes(), 0u);
    EXPECT_GE(w.superseded(), 999u);  // bounded: one snapshot waits, the older ones were replaced
    // Unblock the worker: read what it writes into the FIFO.
    std::string drained;
    {
        const int fd = ::open(temp.c_str(), O_RDONLY);
        ASSERT_GE(fd, 0);
        char buf[65536];
        ssize_t n;
        while ((n = ::read(fd, buf, sizeof buf)) > 0) drained.append(buf, static_cast<size_t>(n));
        ::close(fd);
    }
    // The worker took the first snapshot it saw: 0, or a later one if it started after the loop began.
    const int taken = std::atoi(drained.c_str() + std::min<size_t>(5, drained.size()));
    EXPECT_TRUE(drained == snapshot(taken)) << "a complete snapshot: " << drained.substr(0, 20);
    w.flush();
    // Unless the worker had taken the very last one (then the FIFO itself was renamed, and reading it
    // would wait for a writer), the last snapshot is on disk.
    if (taken != 1000) {
        EXPECT_TRUE(fs::is_regular_file(path));
        EXPECT_TRUE(slurp(path) == snapshot(1000));
    }
    w.submit(snapshot(1001));  // the disk is back: an ordinary file again
    w.flush();
    EXPECT_TRUE(fs::is_regular_file(path));
    EXPECT_TRUE(slurp(path) == snapshot(1001));
    EXPECT_LE(w.takeErrors().size(), 1u);  // a FIFO cannot be fsynced: that one write fails, and is reported
}

TEST(StateFileWriter, FailuresAreReportedAndBounded) {
    StateFileWriter w("/nonexistent-dir/state.json");
    for (int i = 0; i < 40; ++i) {
        w.submit("{}");
        w.flush();  // one failure each
    }
    EXPECT_EQ(w.failures(), 40u);
    EXPECT_EQ(w.writes(), 0u);
    const auto errors = w.takeErrors();
    ASSERT_EQ(errors.size(), 16u);
    EXPECT_NE(errors[0].find("/nonexistent-dir/state.json.new"), std::string::npos) << errors[0];
    EXPECT_TRUE(w.takeErrors().empty());
}

// A snapshot submitted as a render function is serialized in the writer process, not by the submitting
// (broker) process; a render that throws is a reported failure, and the writer goes on.
TEST(StateFileWriter, RenderRunsInTheWriterProcessAndItsFailureIsReported) {
    TempDir dir("render");
    const fs::path path = dir.path / "state.json";
    StateFileWriter w(path.string());
    const pid_t submitter = ::getpid();
    w.submit(std::function<std::string()>([&] {
        return std::string("{\"a\":1,\"elsewhere\":") + (::getpid() != submitter ? "true" : "false") + "}";
    }));
    w.flush();
    EXPECT_EQ(slurp(path), "{\"a\":1,\"elsewhere\":true}");
    w.submit("{\"a\":1}");
    w.flush();
    EXPECT_EQ(slurp(path), "{\"a\":1}");
    w.submit(std::function<std::string()>([]() -> std::string { throw std::runtime_error("no memory"); }));
    w.flush();
    EXPECT_EQ(w.failures(), 1u);
    const auto errors = w.takeErrors();
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_NE(errors[0].find("no memory"), std::string::npos) << errors[0];
    EXPECT_EQ(slurp(path), "{\"a\":1}") << "the last good file stays";
    w.submit("{}");
    w.flush();
    EXPECT_EQ(w.writes(), 3u);
}

size_t threadsOfThisProcess() {
    size_t n = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator("/proc/self/task")) ++n;
    return n;
}

// The point of a writer process: the broker gets no second thread (glibc would then lock in malloc and around
// every system call for the rest of its life).
TEST(StateFileWriter, WritesWithoutAThread) {
    TempDir dir("nothread");
    const size_t before = threadsOfThisProcess();
    StateFileWriter w((dir.path / "state.json").string());
    w.submit(std::function<std::string()>([&] { return std::to_string(threadsOfThisProcess()); }));
    EXPECT_EQ(threadsOfThisProcess(), before);
    w.flush();
    EXPECT_EQ(threadsOfThisProcess(), before);
    EXPECT_EQ(slurp(dir.path / "state.json"), "1") << "the writer process has one thread";
}

TEST(StateFileWriter, RecoversWhenTheFolderComesBack) {
    TempDir dir("recover");
    const auto sub = dir.path / "later";
    StateFileWriter w((sub / "state.json").string());
    w.submit("one");
    w.flush();
    EXPECT_EQ(w.takeErrors().size(), 1u);
    fs::create_directories(sub);
    w.submit("two");
    w.flush();
    EXPECT_TRUE(w.takeErrors().empty());
    EXPECT_EQ(slurp(sub / "state.json"), "two");
}

TEST(StateFileWriter, WriteFileAtomicallyReplaces) {
    TempDir dir("direct");
    const auto path = (dir.path / "f").string();
    EXPECT_EQ(writeFileAtomically(path, "a"), "");
    EXPECT_EQ(writeFileAtomically(path, ""), "");
    EXPECT_EQ(slurp(path), "");
    EXPECT_NE(writeFileAtomically((dir.path / "no" / "f").string(), "a"), "");
}

// A process killed at a random moment while writing leaves the last complete snapshot, never a mix.
// (SIGKILL, not power loss: the page cache survives; the fsyncs are what cover power loss.)
TEST(StateFileWriter, AKilledWriterLeavesACompleteSnapshot) {
    TempDir dir("killed");
    const auto path = dir.path / "state.json";
    std::mt19937 rng(4242);
    int seen_complete = 0;
    for (int round = 0; round < 8; ++round) {
        const pid_t child = ::fork();
        ASSERT_GE(child, 0);
        if (child == 0) {
            StateFileWriter w(path.string());
            for (int i = 0;; ++i) {
                w.submit(snapshot(round * 1000000 + i));
                if (i % 3 == 0) w.flush();
            }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5 + rng() % 60));
        ::kill(child, SIGKILL);
        int status = 0;
        ::waitpid(child, &status, 0);
        if (!fs::exists(path)) continue;  // killed before the first rename
        const std::string content = slurp(path);
        const int n = std::atoi(content.c_str() + std::min<size_t>(5, content.size()));
        EXPECT_TRUE(content == snapshot(n))
            << "round " << round << ": " << content.substr(0, 24) << "... (" << content.size() << " bytes)";
        ++seen_complete;
    }
    EXPECT_GT(seen_complete, 0);
}

}  // namespace
