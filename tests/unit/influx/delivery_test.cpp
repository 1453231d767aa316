// Delivery against a scripted loopback HTTP server: the status-code matrix (400 partial, 401, 404,
// 413, 429 with Retry-After, 500, 503, slow answers, connection resets), URLs, auth, gzip and backoff.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "influx/delivery.hpp"
#include "tests/unit/influx/scripted_http_server.hpp"
#include "influx/transport.hpp"

using namespace mqs::influx;
using namespace mqs::influx::testing;
using namespace std::chrono_literals;

namespace {

SinkConfig v2Sink(const std::string& url) {
    SinkConfig s;
    s.name = "t";
    s.kind = SinkKind::V2;
    s.url = url;
    s.org = "ares";
    s.bucket = "entrepot";
    s.token = "dev-token";
    s.connect_timeout = 1000ms;
    s.request_timeout = 1000ms;
    return s;
}

Batch batchOf(int n, int bad_every = 0) {
    Batch b;
    for (int i = 0; i < n; ++i) {
        bool bad = bad_every > 0 && i % bad_every == bad_every - 1;
        b.add("m" + std::string(bad ? ",bad=1" : "") + " v=" + std::to_string(i) + " " + std::to_string(1000 + i), 0);
    }
    return b;
}

// InfluxDB-like: a body containing a bad line is refused with 400 (as a partial write would report it).
ScriptedResponse rejectBadLines(const HttpRequest& req) {
    if (req.body.find("bad=1") != std::string::npos) {
        return {.status = 400, .body = R"({"error":"partial write: field type conflict: input field \"v\" is type float, already exists as type string dropped=1"})"};
    }
    return {.status = 204};
}

TEST(Delivery, SuccessWritesEverythingInOneRequest) {
    ScriptedHttpServer server([](const HttpRequest&) { return ScriptedResponse{.status = 204}; });
    auto t = makeCurlTransport(v2Sink(server.url()), Precision::Ms, nullptr);
    auto r = deliver(*t, batchOf(10));
    EXPECT_TRUE(r.done);
    EXPECT_EQ(r.written, 10u);
    EXPECT_EQ(r.requests, 1u);
    auto reqs = server.requests();
    ASSERT_EQ(reqs.size(), 1u);
    EXPECT_EQ(reqs[0].method, "POST");
    EXPECT_EQ(reqs[0].target, "/api/v2/write?bucket=entrepot&org=ares&precision=ms");
    EXPECT_EQ(reqs[0].header("authorization"), "Token dev-token");
    EXPECT_EQ(bodyLines(reqs[0].body).size(), 10u);
}

TEST(Delivery, V1UrlAndBasicAuthAndGzip) {
    ScriptedHttpServer server([](const HttpRequest&) { return ScriptedResponse{.status = 204}; });
    SinkConfig s;
    s.kind = SinkKind::V1;
    s.url = server.url() + "/";
    s.url.pop_back();
    s.database = "my db";
    s.retention_policy = "autogen";
    s.username = "u";
    s.password = "p w";
    s.gzip = true;
    auto t = makeCurlTransport(s, Precision::S, nullptr);
    auto r = deliver(*t, batchOf(3));
    ASSERT_TRUE(r.done) << describe(r.last);
    auto req = server.requests().at(0);
    EXPECT_EQ(req.target, "/write?db=my%20db&rp=autogen&precision=s");
    EXPECT_EQ(req.header("authorization"), "Basic dTpwIHc=");
    EXPECT_EQ(req.header("content-encoding"), "gzip");
    EXPECT_EQ(req.body, std::string(batchOf(3).data)) << "the server inflated what we gzipped";
}

TEST(Delivery, PartialWriteIsSplitAndOnlyBadLinesAreQuarantined) {
    ScriptedHttpServer server(rejectBadLines);
    auto t = makeCurlTransport(v2Sink(server.url()), Precision::Ns, nullptr);
    Batch b = batchOf(20, 7);  // lines 6 and 13 are bad
    auto r = deliver(*t, b);
    ASSERT_TRUE(r.done);
    EXPECT_EQ(r.written, 18u);
    ASSERT_EQ(r.quarantined.size(), 2u);
    EXPECT_EQ(r.quarantined[0].line, b.line(6));
    EXPECT_EQ(r.quarantined[1].line, b.line(13));
    EXPECT_EQ(r.quarantined[0].status, 400);
    EXPECT_NE(r.quarantined[0].message.find("field type conflict"), std::string::npos) << r.quarantined[0].message;
    // Every good line reached the server in a successful request, in order.
    std::vector<std::string> accepted;
    for (const auto& req : server.requests()) {
        if (req.body.find("bad=1") == std::string::npos) {
            for (auto& l : bodyLines(req.body)) accepted.push_back(l);
        }
    }
    std::vector<std::string> expected;
    for (size_t i = 0; i < b.lines(); ++i) {
        if (i != 6 && i != 13) expected.emplace_back(b.line(i));
    }
    EXPECT_EQ(accepted, expected);
}

TEST(Delivery, TooLargeIsSplitUntilItFits) {
    ScriptedHttpServer server([](const HttpRequest& req) {
        return ScriptedResponse{.status = req.body.size() > 100 ? 413 : 204, .body = req.body.size() > 100 ? R"({"error":"Request Entity Too Large"})" : ""};
    });
    auto t = makeCurlTransport(v2Sink(server.url()), Precision::Ns, nullptr);
    Batch b = batchOf(32);
    b.add("huge v=\"" + std::string(200, 'x') + "\" 1", 0);
    auto r = deliver(*t, b);
    ASSERT_TRUE(r.done);
    EXPECT_EQ(r.written, 32u);
    ASSERT_EQ(r.quarantined.size(), 1u) << "a single line the server finds too large is quarantined";
    EXPECT_EQ(r.quarantined[0].status, 413);
}

struct RetryCase {
    const char* name;
    ScriptedResponse response;
    StatusClass expected;
    std::optional<std::chrono::milliseconds> retry_after;
};

std::ostream& operator<<(std::ostream& os, const RetryCase& c) { return os << c.name; }

class DeliveryRetry : public ::testing::TestWithParam<RetryCase> {};

TEST_P(DeliveryRetry, KeepsTheBatchAndSaysWhy) {
    const auto& c = GetParam();
    ScriptedHttpServer server([&](const HttpRequest&) { return c.response; });
    auto t = makeCurlTransport(v2Sink(server.url()), Precision::Ns, nullptr);
    auto r = deliver(*t, batchOf(5));
    EXPECT_FALSE(r.done);
    EXPECT_EQ(r.written, 0u);
    EXPECT_TRUE(r.quarantined.empty());
    EXPECT_EQ(r.stopped_by, c.expected) << describe(r.last);
    EXPECT_EQ(r.last.retry_after, c.retry_after);
    EXPECT_EQ(r.requests, 1u) << "no split on errors that are not about the lines";
}

INSTANTIATE_TEST_SUITE_P(
    Matrix, DeliveryRetry,
    ::testing::Values(
        RetryCase{"unauthorized_401", {.status = 401, .body = R"({"code":"unauthorized","message":"unauthorized access"})"}, StatusClass::Credentials, std::nullopt},
        RetryCase{"forbidden_403", {.status = 403}, StatusClass::Credentials, std::nullopt},
        RetryCase{"unknown_database_404", {.status = 404, .body = R"({"error":"database not found: \"x\""})"}, StatusClass::Credentials, std::nullopt},
        RetryCase{"throttled_429_retry_after", {.status = 429, .headers = {{"Retry-After", "7"}}}, StatusClass::Throttled, 7000ms},
        RetryCase{"unavailable_503_retry_after", {.status = 503, .headers = {{"retry-after", "2"}}}, StatusClass::Throttled, 2000ms},
        RetryCase{"unavailable_503_plain", {.status = 503}, StatusClass::Throttled, std::nullopt},
        RetryCase{"server_error_500", {.status = 500, .body = R"({"error":"retention policy not found: nope"})"}, StatusClass::Retry, std::nullopt},
        RetryCase{"bad_gateway_502", {.status = 502}, StatusClass::Retry, std::nullopt},
        RetryCase{"slow_answer_times_out", {.status = 204, .delay = 1500ms}, StatusClass::Retry, std::nullopt},
        RetryCase{"connection_reset", {.reset = true}, StatusClass::Retry, std::nullopt}));

TEST(Delivery, ConnectionRefusedIsANetworkError) {
    int port;
    { ScriptedHttpServer gone([](const HttpRequest&) { return ScriptedResponse{}; }); port = gone.port(); }
    auto t = makeCurlTransport(v2Sink("http://127.0.0.1:" + std::to_string(port)), Precision::Ns, nullptr);
    auto r = deliver(*t, batchOf(1));
    EXPECT_FALSE(r.done);
    EXPECT_EQ(r.last.status, 0);
    EXPECT_FALSE(r.last.error.empty());
    EXPECT_EQ(r.stopped_by, StatusClass::Retry);
}

TEST(Delivery, MessageOfTheServerIsKept) {
    ScriptedHttpServer server([](const HttpRequest&) { return ScriptedResponse{.status = 404, .body = R"({"error":"database not found: \"nodb\""})"}; });
    auto t = makeCurlTransport(v2Sink(server.url()), Precision::Ns, nullptr);
    auto r = deliver(*t, batchOf(1));
    EXPECT_EQ(describe(r.last), "HTTP 404: database not found: \"nodb\"");
}

TEST(Delivery, AbortStopsBeforeTheNextRequest) {
    ScriptedHttpServer server(rejectBadLines);
    auto t = makeCurlTransport(v2Sink(server.url()), Precision::Ns, nullptr);
    std::atomic<bool> abort{true};
    auto r = deliver(*t, batchOf(4), &abort);
    EXPECT_FALSE(r.done);
    EXPECT_EQ(server.requestCount(), 0u);
}

TEST(Backoff, GrowsWithJitterAndHonoursRetryAfter) {
    Backoff b(100ms, 1000ms, 42);
    std::vector<int64_t> delays;
    for (int i = 0; i < 8; ++i) delays.push_back(b.next().count());
    EXPECT_GE(delays[0], 50);
    EXPECT_LE(delays[0], 100);
    EXPECT_GE(delays[3], 400);
    EXPECT_LE(delays[3], 800);
    for (size_t i = 4; i < delays.size(); ++i) {
        EXPECT_GE(delays[i], 500);
        EXPECT_LE(delays[i], 1000);
    }
    std::set<int64_t> distinct(delays.begin() + 4, delays.end());
    EXPECT_GT(distinct.size(), 1u) << "jitter spreads retries of many brokers";
    EXPECT_EQ(b.next(30s), 30s) << "Retry-After wins even beyond retry_max";
    EXPECT_EQ(b.next(5h), 1h);
    b.reset();
    EXPECT_LE(b.next().count(), 100);
}

TEST(RetryAfter, SecondsAndHttpDates) {
    auto now = std::chrono::system_clock::from_time_t(1732200000);  // Thu, 21 Nov 2024 14:40:00 GMT
    EXPECT_EQ(parseRetryAfter("120", now), 120s);
    EXPECT_EQ(parseRetryAfter(" 0 ", now), 0s);
    EXPECT_EQ(parseRetryAfter("Thu, 21 Nov 2024 14:40:30 GMT", now), 30s);
    EXPECT_EQ(parseRetryAfter("Thu, 21 Nov 2024 14:00:00 GMT", now), 0ms);
    EXPECT_FALSE(parseRetryAfter("soon", now));
}

}  // namespace
