// Smoke test for the bench tools: loadgen against a bare broker for about a second, then
// run_bench with a tiny workload (bare + dynacl + dynsec rows on the warehouse and the per-device
// states, the reconnect storm; bare + influx forwarding to VictoriaMetrics), checking exit codes,
// rates, loss, rows, and that every message became a point.
#include "testing/broker_process.hpp"
#include "testing/child_process.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace {

// stdout and stderr interleaved, for failure messages; run_bench's own timeouts stop it sooner.
mqs::testing::CommandResult runCommand(const std::vector<std::string>& argv) {
    return mqs::testing::runCommand(argv, std::chrono::seconds(55), mqs::testing::StderrMode::Merge);
}

nlohmann::json lastJson(const std::string& output) {
    std::istringstream in(output);
    nlohmann::json found;
    for (std::string line; std::getline(in, line);) {
        if (!line.empty() && line.front() == '{') {
            found = nlohmann::json::parse(line, nullptr, false);
        }
    }
    return found;
}

std::vector<std::string> cells(const std::string& line) {
    std::vector<std::string> out;
    std::istringstream in(line);
    std::string cell;
    std::getline(in, cell, '|'); // text before the first pipe
    while (std::getline(in, cell, '|')) {
        const auto b = cell.find_first_not_of(' ');
        const auto e = cell.find_last_not_of(' ');
        out.push_back(b == std::string::npos ? "" : cell.substr(b, e - b + 1));
    }
    return out;
}

double number(std::string text) {
    std::erase(text, ',');
    return std::stod(text);
}

// One Markdown table of run_bench's output: its header cells and its rows by "name/qos".
struct Table {
    std::vector<std::string> header;
    std::map<std::string, std::vector<std::string>> rows;

    size_t column(const std::string& name) const {
        return static_cast<size_t>(std::find(header.begin(), header.end(), name) - header.begin());
    }
};

// The tables in run_bench's output, in order; a "| Row |" line starts a new one.
std::vector<Table> tables(const std::string& output) {
    std::vector<Table> out;
    std::istringstream in(output);
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("| Row |", 0) == 0) {
            out.push_back({cells(line), {}});
        } else if (line.rfind("| ", 0) == 0 && !out.empty()) {
            const auto c = cells(line);
            EXPECT_EQ(c.size(), out.back().header.size()) << line;
            if (c.size() >= 2) {
                out.back().rows[c[0] + "/" + c[1]] = c;
            }
        }
    }
    return out;
}

TEST(BenchSmoke, LoadgenAgainstBareBroker) {
    // Same common lines as run_bench's rows (see kCommonConfig there for why).
    mqs::testing::BrokerProcess broker(
        "log_type error\nlog_type warning\nset_tcp_nodelay true\nmax_inflight_messages 0\n", "bench-smoke");
    ASSERT_TRUE(broker.start()) << broker.log();
    const std::vector<std::string> base = {LOADGEN_PATH, "--port", std::to_string(broker.port()), "--broker-pid",
                                           std::to_string(broker.pid()), "--idle", "5"};

    auto flat = base;
    flat.insert(flat.end(), {"--qos", "1", "--duration", "1"});
    const auto r1 = runCommand(flat);
    ASSERT_EQ(r1.exit_code, 0) << r1.output;
    const auto j1 = lastJson(r1.output);
    ASSERT_TRUE(j1.is_object()) << r1.output;
    EXPECT_TRUE(j1["ok"].get<bool>()) << r1.output;
    EXPECT_GT(j1["msgs_per_s"].get<double>(), 0.0) << r1.output;
    EXPECT_GT(j1["delivered"].get<std::uint64_t>(), 0u) << r1.output;
    EXPECT_EQ(j1["lost"].get<std::uint64_t>(), 0u) << r1.output;
    EXPECT_GT(j1["broker_peak_rss_kb"].get<long>(), 0) << r1.output;
    EXPECT_GE(j1["broker_cpu_s"].get<double>(), 0.0) << r1.output;
    EXPECT_NE(r1.output.find("loadgen: flat qos1"), std::string::npos) << "human line missing:\n" << r1.output;

    auto paced = base;
    paced.insert(paced.end(), {"--qos", "0", "--duration", "0.5", "--rate", "2000", "--payload", "ipwatch"});
    const auto r2 = runCommand(paced);
    ASSERT_EQ(r2.exit_code, 0) << r2.output;
    const auto j2 = lastJson(r2.output);
    ASSERT_TRUE(j2.is_object()) << r2.output;
    EXPECT_EQ(j2["mode"], "paced");
    EXPECT_GT(j2["latency_us"]["samples"].get<std::uint64_t>(), 0u) << r2.output;
    EXPECT_GT(j2["latency_us"]["p99"].get<double>(), 0.0) << r2.output;
}

TEST(BenchSmoke, RunnerPrintsTableWithBareDynaclAndDynsecRows) {
    const auto r = runCommand({RUN_BENCH_PATH, "--reps", "1", "--seconds", "1", "--latency-seconds", "0.5",
                               "--rows", "bare,dynacl,dynsec", "--idle", "5"});
    ASSERT_EQ(r.exit_code, 0) << r.output;

    const auto all = tables(r.output);
    ASSERT_EQ(all.size(), 1u) << "expected one table (no forwarding rows) in:\n" << r.output;
    const auto& header = all[0].header;
    auto rows = all[0].rows; // "name/qos" -> cells
    const size_t msgsCol = all[0].column("msgs/s");
    const size_t cpuCol = all[0].column("CPU µs/msg");
    const size_t ratioCol = all[0].column("× bare");
    const size_t lostCol = all[0].column("lost");
    ASSERT_LT(lostCol, header.size()) << "columns: " << r.output;
    ASSERT_LT(ratioCol, header.size());

    for (const char* key : {"bare/0", "bare/1", "dynacl/0", "dynacl/1", "dynsec/0", "dynsec/1"}) {
        ASSERT_TRUE(rows.count(key)) << "no row " << key << " in:\n" << r.output;
        const auto& c = rows[key];
        if (c[msgsCol].rfind("skipped", 0) == 0 && std::string(key).rfind("bare", 0) != 0) {
            continue; // dynamic-security plugin or mosquitto_ctrl not installed, dynacl not built
        }
        ASSERT_NO_THROW(number(c[msgsCol])) << key << ": " << c[msgsCol];
        EXPECT_GT(number(c[msgsCol]), 0.0) << key;
        EXPECT_GT(number(c[cpuCol]), 0.0) << key;
        if (std::string(key).ends_with("/1")) {
            EXPECT_EQ(c[lostCol], "0") << key << " lost messages at QoS 1\n" << r.output;
        }
    }
    EXPECT_EQ(rows["bare/0"][ratioCol], "1.00");
}

// The per-device state (a role and a client per device, dynacl with %c/%u rules, dynsec with the
// same rules per device): every client logs in as itself and every message is allowed through, so
// nothing is lost at QoS 1 (a refused login or a denied publish would lose them all).
TEST(BenchSmoke, RunnerDeviceStateRows) {
    const auto r = runCommand({RUN_BENCH_PATH, "--reps", "1", "--seconds", "1", "--latency-seconds", "0.5",
                               "--devices", "60", "--qos", "1"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const auto all = tables(r.output);
    ASSERT_EQ(all.size(), 1u) << r.output;
    auto rows = all[0].rows;
    const size_t msgsCol = all[0].column("msgs/s");
    const size_t lostCol = all[0].column("lost");
    EXPECT_EQ(rows.size(), 3u) << "rows bare, dynacl, dynsec only:\n" << r.output;
    for (const char* key : {"bare/1", "dynacl/1", "dynsec/1"}) {
        ASSERT_TRUE(rows.count(key)) << "no row " << key << " in:\n" << r.output;
        const auto& c = rows[key];
        if (c[msgsCol].rfind("skipped", 0) == 0 && std::string(key) != "bare/1") {
            continue;
        }
        EXPECT_GT(number(c[msgsCol]), 0.0) << key << "\n" << r.output;
        EXPECT_EQ(c[lostCol], "0") << key << "\n" << r.output;
    }
}

// --storm: bench/storm per row; every row reconnects all its clients, and the rows that answer
// $CONTROL report the broker thread's CPU per change.
TEST(BenchSmoke, RunnerStormTable) {
    const auto r = runCommand({RUN_BENCH_PATH, "--reps", "1", "--storm", "40", "--storm-rounds", "1",
                               "--control-changes", "2"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    std::map<std::string, std::vector<std::string>> rows;
    std::vector<std::string> header;
    std::istringstream in(r.output);
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("| Row |", 0) == 0) {
            header = cells(line);
        } else if (line.rfind("| ", 0) == 0 && !header.empty()) {
            const auto c = cells(line);
            ASSERT_EQ(c.size(), header.size()) << line;
            rows[c[0]] = c;
        }
    }
    ASSERT_EQ(header.size(), 7u) << r.output;
    for (const char* row : {"bare", "dynacl", "dynsec"}) {
        ASSERT_TRUE(rows.count(row)) << row << "\n" << r.output;
        const auto& c = rows[row];
        if (c[1].rfind("skipped", 0) == 0 && std::string(row) != "bare") {
            continue;
        }
        EXPECT_GT(number(c[1]), 0.0) << row << "\n" << r.output;  // connect all s
        EXPECT_GT(number(c[2]), 0.0) << row << "\n" << r.output;  // the stream was measured
        if (std::string(row) == "bare") {
            EXPECT_EQ(c[5], "-") << r.output;
        } else {
            EXPECT_GT(number(c[5]), 0.0) << row << "\n" << r.output; // $CONTROL change timed
        }
    }
}

// The influx row: VictoriaMetrics per cell, mosquitto_influx.so forwarding to it, and every
// message of the flat-out phase counted as a point (QoS 0 only, to stay short).
TEST(BenchSmoke, RunnerInfluxRowWritesEveryMessageAsAPoint) {
    const auto r = runCommand({RUN_BENCH_PATH, "--reps", "1", "--seconds", "1", "--latency-seconds", "0.5",
                               "--rows", "bare,influx", "--qos", "0", "--idle", "5"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const auto all = tables(r.output);
    ASSERT_FALSE(all.empty()) << "no table in:\n" << r.output;
    ASSERT_TRUE(all[0].rows.count("influx/0")) << r.output;
    const auto& main = all[0].rows.at("influx/0");
    if (main[all[0].column("msgs/s")].rfind("skipped", 0) == 0) {
        GTEST_SKIP() << "influx row skipped here: " << main[all[0].column("msgs/s")];
    }
    EXPECT_GT(number(main[all[0].column("msgs/s")]), 0.0) << r.output;
    ASSERT_EQ(all.size(), 2u) << "no forwarding table in:\n" << r.output;
    const auto& fwd = all[1];
    ASSERT_TRUE(fwd.rows.count("influx/0")) << r.output;
    const size_t pointsCol = fwd.column("points written / messages");
    ASSERT_LT(pointsCol, fwd.header.size()) << r.output;
    // "N / N (100.0 %)": every published message reached VictoriaMetrics as one point.
    const std::string points = fwd.rows.at("influx/0")[pointsCol];
    const auto slash = points.find(" / ");
    ASSERT_NE(slash, std::string::npos) << points;
    const auto open = points.find(" (", slash);
    const std::string written = points.substr(0, slash);
    const std::string messages = points.substr(slash + 3, open == std::string::npos ? std::string::npos : open - slash - 3);
    EXPECT_GT(number(messages), 0.0) << points;
    EXPECT_EQ(written, messages) << "points lost or duplicated on the way to VictoriaMetrics:\n" << r.output;
    EXPECT_GT(number(fwd.rows.at("influx/0")[fwd.column("broker µs/msg incl. tail")]), 0.0) << r.output;
}

// The hadiscovery row over 100 warehouse topics (2 zones × 50 sensors): the warm-up makes the plugin
// publish every device's config before the measured phases, so the broker then holds the retained
// configs (a sample of 20 read back without making the broker drop anything), the plugin publishes
// none while measured, and the memory table names both rows.
TEST(BenchSmoke, RunnerHadiscoveryRowWarmsUpEveryDevice) {
    const auto r = runCommand({RUN_BENCH_PATH, "--reps", "1", "--seconds", "1", "--latency-seconds", "0.5", "--rows",
                               "bare,hadiscovery", "--qos", "0", "--idle", "5", "--zones", "a,b", "--sensors", "50",
                               "--warmup-timeout", "20"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const auto all = tables(r.output);
    ASSERT_EQ(all.size(), 2u) << "expected the main table and the warm-up memory table in:\n" << r.output;
    ASSERT_TRUE(all[0].rows.count("hadiscovery/0")) << r.output;
    EXPECT_GT(number(all[0].rows.at("hadiscovery/0")[all[0].column("msgs/s")]), 0.0) << r.output;
    const auto& mem = all[1];
    ASSERT_TRUE(mem.rows.count("bare/0")) << r.output;
    ASSERT_TRUE(mem.rows.count("hadiscovery/0")) << r.output;
    const auto& had = mem.rows.at("hadiscovery/0");
    EXPECT_EQ(had[mem.column("devices")], "100") << r.output;
    EXPECT_EQ(had[mem.column("config sample found")], "20/20") << r.output;
    EXPECT_GT(number(had[mem.column("config payload B")]), 100.0) << r.output;
    EXPECT_EQ(had[mem.column("configs while measured")], "0") << r.output;
    EXPECT_NO_THROW(number(had[mem.column("Δ steady B/device")])) << r.output;
    EXPECT_EQ(mem.rows.at("bare/0")[mem.column("devices")], "-") << r.output;
    EXPECT_EQ(all[0].rows.at("hadiscovery/0")[all[0].column("lost")], "0")
        << "the warm-up's own reads must not make the broker drop messages:\n"
        << r.output;
}

} // namespace
