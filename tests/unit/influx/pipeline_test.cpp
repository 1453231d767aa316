// A sink's pipeline end to end against the scripted server: batching, outage with spooling and
// in-order replay, shutdown into the spool and replay by the next instance, spool-full refusal, quarantine.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "influx/pipeline.hpp"
#include "tests/unit/influx/scripted_http_server.hpp"

using namespace mqs;
using namespace mqs::influx;
using namespace mqs::influx::testing;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

template <typename Pred>
bool waitFor(Pred pred, std::chrono::milliseconds timeout = 10s) {
    auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
        if (pred()) return true;
        std::this_thread::sleep_for(5ms);
    }
    return pred();
}

// Every test runs with the journal off (LineQueue hand-off) and on.
class PipelineTest : public ::testing::TestWithParam<JournalMode> {
protected:
    void SetUp() override {
        std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
        for (char& c : name) c = c == '/' ? '_' : c;
        dir_ = fs::temp_directory_path() / ("influx-pipe-" + std::to_string(::getpid()) + "-" + name);
        fs::remove_all(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }

    PipelineOptions options() {
        PipelineOptions o;
        o.queue_lines = 1000;
        o.batch_lines = 50;
        o.flush_interval = 20ms;
        o.memory_bytes = 1 << 20;
        o.spool = SpoolOptions{.dir = dir_ / "s", .max_bytes = 1 << 20, .segment_bytes = 4096, .fsync = FsyncPolicy::Never};
        o.retry_initial = 20ms;
        o.retry_max = 100ms;
        o.journal = GetParam();
        o.journal_bytes = 1 << 20;
        return o;
    }
    SinkConfig sink(const std::string& url) {
        SinkConfig s;
        s.name = "s";
        s.kind = SinkKind::V2;
        s.url = url;
        s.bucket = "b";
        s.connect_timeout = 500ms;
        s.request_timeout = 1000ms;
        return s;
    }
    std::unique_ptr<SinkPipeline> make(const std::string& url, PipelineOptions o) {
        auto sc = sink(url);
        auto p = std::make_unique<SinkPipeline>(
            sc, o, [sc](const std::atomic<bool>* abort) { return makeCurlTransport(sc, Precision::Ns, abort); }, metrics_, reports_,
            clock_);
        p->start();
        return p;
    }
    static std::string line(int i) { return "m,k=v n=" + std::to_string(i) + " " + std::to_string(1000 + i); }
    // Lines the server accepted (2xx), in arrival order.
    static std::vector<std::string> accepted(const std::vector<HttpRequest>& reqs, const std::vector<bool>& ok) {
        std::vector<std::string> out;
        for (size_t i = 0; i < reqs.size(); ++i) {
            if (ok[i]) {
                for (auto& l : bodyLines(reqs[i].body)) out.push_back(l);
            }
        }
        return out;
    }

    fs::path dir_;
    MetricsRegistry metrics_;
    ReportQueue reports_{10000};
    SystemClock clock_;
};

// Answers 503 while `down`, recording which requests succeeded.
struct Switchable {
    std::atomic<bool> down{false};
    std::mutex mutex;
    std::vector<bool> ok;
    ScriptedResponse operator()(const HttpRequest&) {
        bool d = down.load();
        std::lock_guard lock(mutex);
        ok.push_back(!d);
        return d ? ScriptedResponse{.status = 503} : ScriptedResponse{.status = 204};
    }
};

TEST_P(PipelineTest, OutageSpoolsAndReplaysEveryPointOnceInOrder) {
    auto state = std::make_shared<Switchable>();
    ScriptedHttpServer server([state](const HttpRequest& r) { return (*state)(r); });
    auto p = make(server.url(), options());
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(p->offer(line(i)));
    ASSERT_TRUE(waitFor([&] { return metrics_.get("sinks/s/written").value() == 100; }));

    state->down = true;
    for (int i = 100; i < 600; ++i) {
        ASSERT_TRUE(p->offer(line(i)));
        if (i % 50 == 0) std::this_thread::sleep_for(2ms);
    }
    ASSERT_TRUE(waitFor([&] { return metrics_.get("sinks/s/spooled_bytes").value() > 0 && metrics_.get("sinks/s/retried").value() >= 2; }));
    EXPECT_GT(metrics_.get("sinks/s/spooled_batches").value(), 1) << "batches are spooled while the server is down";
    state->down = false;
    ASSERT_TRUE(waitFor([&] { return metrics_.get("sinks/s/written").value() == 600; }))
        << metrics_.get("sinks/s/written").value();
    EXPECT_TRUE(waitFor([&] { return metrics_.get("sinks/s/spooled_bytes").value() == 0; }));
    p->stop();
    std::vector<bool> ok;
    {
        std::lock_guard lock(state->mutex);
        ok = state->ok;
    }
    auto lines = accepted(server.requests(), ok);
    ASSERT_EQ(lines.size(), 600u) << "exactly once";
    for (int i = 0; i < 600; ++i) ASSERT_EQ(lines[static_cast<size_t>(i)], line(i)) << "in order";
    EXPECT_EQ(metrics_.get("sinks/s/oldest_unsent_age_ms").value(), 0);
}

TEST_P(PipelineTest, ShutdownSpoolsAndTheNextInstanceReplays) {
    {
        // Nobody listens: every attempt fails with a network error.
        int port;
        { ScriptedHttpServer gone([](const HttpRequest&) { return ScriptedResponse{}; }); port = gone.port(); }
        auto p = make("http://127.0.0.1:" + std::to_string(port), options());
        for (int i = 0; i < 300; ++i) ASSERT_TRUE(p->offer(line(i)));
        p->stop();
        EXPECT_EQ(metrics_.get("sinks/s/lost_at_shutdown").value(), 0);
    }
    ScriptedHttpServer server([](const HttpRequest&) { return ScriptedResponse{.status = 204}; });
    MetricsRegistry fresh;
    auto sc = sink(server.url());
    SinkPipeline p(sc, options(), [sc](const std::atomic<bool>* a) { return makeCurlTransport(sc, Precision::Ns, a); }, fresh, reports_, clock_);
    EXPECT_GT(p.recoveredRecords(), 0u);
    p.start();
    ASSERT_TRUE(waitFor([&] { return fresh.get("sinks/s/written").value() == 300; })) << fresh.get("sinks/s/written").value();
    std::vector<std::string> lines;
    for (const auto& r : server.requests()) {
        for (auto& l : bodyLines(r.body)) lines.push_back(l);
    }
    ASSERT_EQ(lines.size(), 300u);
    for (int i = 0; i < 300; ++i) EXPECT_EQ(lines[static_cast<size_t>(i)], line(i));
}

TEST_P(PipelineTest, FullSpoolAndMemoryMakeOfferFail) {
    int port;
    { ScriptedHttpServer gone([](const HttpRequest&) { return ScriptedResponse{}; }); port = gone.port(); }
    auto o = options();
    o.queue_lines = 20;
    o.memory_bytes = 2048;
    o.spool.max_bytes = 8192;
    auto p = make("http://127.0.0.1:" + std::to_string(port), o);
    int accepted = 0;
    bool spool_full = false, refused_after_full = false;
    auto deadline = std::chrono::steady_clock::now() + 10s;
    for (int i = 0; !refused_after_full && std::chrono::steady_clock::now() < deadline; ++i) {
        if (p->offer(line(i))) {
            ++accepted;
            continue;
        }
        // A refusal only counts once the spool has said it is full (before that the intake is just behind).
        reports_.drain([&](Report&& r) { spool_full = spool_full || r.text.find("spool is full") != std::string::npos; });
        refused_after_full = spool_full;
        std::this_thread::sleep_for(1ms);
    }
    EXPECT_TRUE(refused_after_full) << "a bounded pipeline refuses instead of growing";
    EXPECT_LE(metrics_.get("sinks/s/spooled_bytes").value(), 8192);
    EXPECT_LE(metrics_.get("sinks/s/memory_bytes").value(), 2048);
    EXPECT_GT(accepted, 100);
}

TEST_P(PipelineTest, RejectedLinesAreQuarantinedWithTheServerMessage) {
    ScriptedHttpServer server([](const HttpRequest& req) {
        if (req.body.find("n=13 ") != std::string::npos) return ScriptedResponse{.status = 400, .body = R"({"error":"unable to parse: bad"})"};
        return ScriptedResponse{.status = 204};
    });
    auto p = make(server.url(), options());
    for (int i = 0; i < 40; ++i) p->offer(line(i));
    ASSERT_TRUE(waitFor([&] { return metrics_.get("sinks/s/written").value() == 39 && metrics_.get("sinks/s/quarantined").value() == 1; }));
    p->stop();
    std::ifstream q(dir_ / "s" / "quarantine.lp");
    std::stringstream text;
    text << q.rdbuf();
    EXPECT_NE(text.str().find("HTTP 400: unable to parse: bad\n" + line(13) + "\n"), std::string::npos) << text.str();
}

// A child process runs a pipeline and reports each accepted line through a pipe (its PUBACK); it is
// killed with SIGKILL at a random moment, with the server up or down. A pipeline started afterwards on
// the same directory must deliver every reported line, and nothing the child was not given.
// Only with the journal: without it a kill loses the queue (226 of 8 376 lines when tried).
class PipelineKillTest : public PipelineTest {};

TEST_P(PipelineKillTest, EveryAcceptedLineSurvivesSigkillOfTheProcess) {
    ScriptedHttpServer server([](const HttpRequest&) { return ScriptedResponse{.status = 204}; });
    int dead_port;
    { ScriptedHttpServer gone([](const HttpRequest&) { return ScriptedResponse{}; }); dead_port = gone.port(); }
    std::mt19937 rng(std::random_device{}());
    std::set<int> reported;
    int next = 0;
    for (int round = 0; round < 6; ++round) {
        const std::string url = round % 2 == 0 ? server.url() : "http://127.0.0.1:" + std::to_string(dead_port);
        int fds[2];
        ASSERT_EQ(::pipe(fds), 0);
        const pid_t child = ::fork();
        ASSERT_GE(child, 0);
        if (child == 0) {
            ::close(fds[0]);
            MetricsRegistry m;
            ReportQueue r{10000};
            auto sc = sink(url);
            SinkPipeline p(sc, options(), [sc](const std::atomic<bool>* a) { return makeCurlTransport(sc, Precision::Ns, a); }, m, r, clock_);
            p.start();
            for (int i = next;; ++i) {
                while (!p.offer(line(i))) ::usleep(100);
                if (::write(fds[1], &i, sizeof i) != static_cast<ssize_t>(sizeof i)) ::_exit(1);
                ::usleep(100);
            }
        }
        ::close(fds[1]);
        int v = 0, last = next;
        // Kill only once the child accepts lines (starting it takes a while on a loaded machine).
        ASSERT_EQ(::read(fds[0], &v, sizeof v), static_cast<ssize_t>(sizeof v));
        reported.insert(v);
        last = v;
        std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(100, 400)(rng)));
        ::kill(child, SIGKILL);
        int status = 0;
        ::waitpid(child, &status, 0);
        while (::read(fds[0], &v, sizeof v) == static_cast<ssize_t>(sizeof v)) {
            reported.insert(v);
            last = v;
        }
        ::close(fds[0]);
        next = last + 2;  // line(last + 1) may be in the journal without having been reported
    }
    ASSERT_GT(reported.size(), 500u);
    auto sc = sink(server.url());
    SinkPipeline p(sc, options(), [sc](const std::atomic<bool>* a) { return makeCurlTransport(sc, Precision::Ns, a); }, metrics_, reports_, clock_);
    p.start();
    std::set<int> received;
    size_t missing = 0;
    const bool all = waitFor([&] {
        received.clear();
        for (const auto& r : server.requests()) {
            for (auto& l : bodyLines(r.body)) received.insert(std::stoi(l.substr(l.find("n=") + 2)));
        }
        missing = 0;
        for (int i : reported) missing += received.count(i) == 0 ? 1 : 0;
        return missing == 0;
    }, 20s);
    EXPECT_TRUE(all) << missing << " of " << reported.size() << " accepted lines never reached the server";
    for (int i : received) EXPECT_LT(i, next) << "a line nobody offered";
    p.stop();
}

INSTANTIATE_TEST_SUITE_P(Journal, PipelineTest, ::testing::Values(JournalMode::Off, JournalMode::On),
                         [](const auto& p) { return p.param == JournalMode::On ? "On" : "Off"; });
INSTANTIATE_TEST_SUITE_P(Journal, PipelineKillTest, ::testing::Values(JournalMode::On),
                         [](const auto&) { return "On"; });

}  // namespace

TEST(LineQueue, HandsOverEveryLineInOrderAndRefusesWhenFull) {
    LineQueue queue(3);
    EXPECT_TRUE(queue.tryPush("a x=1"));
    EXPECT_TRUE(queue.tryPush("b s=\"two\nlines\""));  // string fields may hold newlines
    EXPECT_TRUE(queue.tryPush("c x=3"));
    EXPECT_FALSE(queue.tryPush("d x=4")) << "three lines at most";
    EXPECT_EQ(queue.size(), 3u);
    Batch taken;
    taken.add("stale", 0);
    ASSERT_EQ(queue.takeAll(taken), 3u);
    EXPECT_EQ(taken.line(0), "a x=1");
    EXPECT_EQ(taken.line(1), "b s=\"two\nlines\"");
    EXPECT_EQ(taken.line(2), "c x=3");
    EXPECT_EQ(queue.size(), 0u);
    EXPECT_TRUE(queue.tryPush("d x=4")) << "room again";
    ASSERT_EQ(queue.takeAll(taken), 1u);
    EXPECT_EQ(taken.line(0), "d x=4") << "the reused buffer starts empty";
    EXPECT_EQ(queue.takeAll(taken), 0u);
}

TEST(LineQueue, BoundsTheTextToo) {
    LineQueue queue(1'000'000);
    const std::string big(LineQueue::kMaxBytes / 4, 'x');
    int pushed = 0;
    while (queue.tryPush(big)) ++pushed;
    EXPECT_EQ(pushed, 3) << "the fourth line and its newline would pass kMaxBytes";
}
