// Benchmark runner: starts the broker once per row (bare, each plugin, all plugins, dynacl, dynsec,
// the Python bridge) with the same loadgen workload, repeats, and prints Markdown tables of medians.
//
// loadgen runs as a separate process so its CPU never mixes with the broker's; the broker's
// CPU per message is read by loadgen from /proc/<broker pid>/stat around the message window.
// Forwarding rows (influx, python-bridge) also start VictoriaMetrics per cell and count the
// points that reached it after the flat-out phase.
#include "bench/bench_common.hpp"
#include "bench/bench_servers.hpp"

#include "testing/broker_process.hpp"
#include "testing/child_process.hpp"
#include "testing/tsdb_servers.hpp"

#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#ifndef BENCH_BUILD_DIR
#define BENCH_BUILD_DIR "."
#endif
#ifndef BENCH_SOURCE_DIR
#define BENCH_SOURCE_DIR "."
#endif
#ifndef BENCH_LOADGEN_PATH
#define BENCH_LOADGEN_PATH BENCH_BUILD_DIR "/bench/loadgen"
#endif
#ifndef BENCH_STORM_PATH
#define BENCH_STORM_PATH BENCH_BUILD_DIR "/bench/storm"
#endif
#ifndef MOSQUITTO_BINARY
#define MOSQUITTO_BINARY "/usr/sbin/mosquitto"
#endif

namespace {

namespace fs = std::filesystem;
using mqs::bench::CliArgs;
using mqs::testing::VictoriaProcess;
using nlohmann::json;

// One of our plugins. To add a row, append an entry: the .so path is relative to the build
// dir, option lines may use {source} and {build}, and {cell} for a scratch dir made per broker
// run; requiredFiles missing => row skipped. needsVictoria: the runner starts VictoriaMetrics
// for each broker run and writes {cell}/influx-rules.json (conf/influx/warehouse-rules.json with
// every sink's url pointed at it) before the broker starts.
struct PluginSpec {
    std::string name;
    std::string library;
    std::vector<std::string> options;
    std::vector<std::string> requiredFiles;
    bool needsVictoria = false;
    bool optIn = false;  // run only when named in --rows, and never part of all-ours
    // Publishes discovery configs once per device: the cell's warm-up waits until its $SYS metrics are
    // steady, so the measured phases show the per-message cost after the configs are out.
    bool discovery = false;
};

const std::vector<PluginSpec>& ourPlugins() {
    static const std::vector<PluginSpec> plugins = {
        {"validate",
         "plugins/validate/mosquitto_validate.so",
         {"plugin_opt_rules_file {source}/conf/validate/warehouse-rules.json"},
         {"{source}/conf/validate/warehouse-rules.json"}},
        {"alerts",
         "plugins/alerts/mosquitto_alerts.so",
         {"plugin_opt_rules_file {source}/conf/alerts/warehouse-alerts.json"},
         {"{source}/conf/alerts/warehouse-alerts.json"}},
        // The options of conf/influx/mosquitto-influx.conf, with the rules and spool per cell.
        {"influx",
         "plugins/influx/mosquitto_influx.so",
         {"plugin_opt_rules_file {cell}/influx-rules.json", "plugin_opt_spool_dir {cell}/influx-spool",
          "plugin_opt_precision ms", "plugin_opt_spool_full_policy disconnect", "plugin_opt_metrics_interval 10s"},
         {"{source}/conf/influx/warehouse-rules.json"},
         true},
        // The influx row without the crash-safe journal (the in-memory queue of earlier versions):
        // what the journal costs (docs/benchmarks.md, "Journal").
        {"influx-nojournal",
         "plugins/influx/mosquitto_influx.so",
         {"plugin_opt_rules_file {cell}/influx-rules.json", "plugin_opt_spool_dir {cell}/influx-spool",
          "plugin_opt_precision ms", "plugin_opt_spool_full_policy disconnect", "plugin_opt_metrics_interval 10s",
          "plugin_opt_journal off"},
         {"{source}/conf/influx/warehouse-rules.json"},
         true,
         true},
        // The options of conf/hadiscovery/mosquitto-hadiscovery.conf with the warehouse rules, the state
        // file per cell, the flood cap raised so 10 000 devices are admitted during the warm-up, and
        // metrics every second so the warm-up's wait ends soon after the last config.
        {"hadiscovery",
         "plugins/hadiscovery/mosquitto_hadiscovery.so",
         {"plugin_opt_rules_file {source}/conf/hadiscovery/warehouse-rules.json",
          "plugin_opt_state_file {cell}/hadiscovery.state", "plugin_opt_discovery_prefix homeassistant",
          "plugin_opt_discovery_mode device", "plugin_opt_device_idle_timeout 168h", "plugin_opt_max_new_devices 20000",
          "plugin_opt_new_device_window 1m", "plugin_opt_metrics_interval 1s"},
         {"{source}/conf/hadiscovery/warehouse-rules.json"},
         false,
         false,
         true},
    };
    return plugins;
}

// Shared by every row:
// - log_type without debug: the harness would otherwise log every PUBLISH; notices stay so
//   "Outgoing messages are being dropped" is seen.
// - set_tcp_nodelay: latency must not be the 40 ms delayed-ACK timer (loadgen sets it too).
// - max_inflight_messages 0: with the default 20, mosquitto 2.0.11 starts queueing under
//   bursts, charges queued messages twice to the inflight quota and ends up dropping QoS 1
//   messages although the subscriber keeps up (fixed in 2.0.13). Unlimited inflight never
//   queues for connected clients, so no row loses messages to that bug.
constexpr const char* kCommonConfig = "log_type error\nlog_type warning\nlog_type notice\n"
                                      "set_tcp_nodelay true\nmax_inflight_messages 0\n";

constexpr const char* kDynsecUser = "bench";
constexpr const char* kDynsecPassword = "bench-pass";

// The metric whose stored samples count the points written: the warehouse rule (and the
// bridge) write one line per message with a temp field, which VictoriaMetrics stores as
// entrepot_temp.
constexpr const char* kPointMetric = "entrepot_temp";

struct Row {
    std::string name;
    std::string config;
    std::vector<std::string> loadgenArgs;
    std::string skipReason;
    bool victoria = false;     // start VictoriaMetrics per cell and count what reaches it
    bool pythonBridge = false; // run bench/influx_bridge.py as an extra subscriber
    bool optIn = false;        // only when named in --rows
    std::string stateFile;     // copied to {cell}/state.json before the broker starts (dynacl, dynsec)
    bool control = false;      // answers $CONTROL/dynamic-security/v1 (storm mode times a change)
    bool discovery = false;    // hadiscovery loaded: the warm-up waits for its configs
};

// What the runner found on the machine, resolved once.
struct Tools {
    std::string victoria; // victoria-metrics binary, empty if none
    std::string python;   // interpreter for the bridge
    std::string bridgeScript;
    fs::path workDir;     // scratch; cells get sub-dirs
    bool keep = false;
    // Warm-up messages per topic before each cell's measured phases: --warmup-per-topic when a
    // discovery row runs (then for every row, bare included, so all are measured after the same
    // history); 0 otherwise and with --devices/--storm.
    long long warmupPerTopic = 0;
};

// Forwarding rows only: what reached VictoriaMetrics from the flat-out phase.
struct Forwarding {
    bool measured = false;
    std::uint64_t messages = 0;  // published in the flat-out phase (loadgen "sent")
    std::uint64_t linesRead = 0; // line-protocol lines VictoriaMetrics parsed
    std::optional<std::uint64_t> stored; // samples of kPointMetric stored: the points written
    double lastPointAfterS = 0;  // after loadgen's exit, when the last line arrived
    bool gaveUp = false;         // --flush-timeout passed while points were still arriving
    double bridgeCpuS = -1;      // bridge CPU over the flat phase and its catch-up; -1: no bridge
    json bridgeReport;           // the bridge's own final line ({"written", "cpu_s"})
};

struct Cell {
    bool ok = false;
    std::string error;
    double msgsPerS = 0;
    double cpuUsPerMsg = 0;
    // Flat phase, from perf counters; 0 = not measured.
    double userInstrPerMsg = 0;
    double userCyclesPerMsg = 0;
    double totalCyclesPerMsg = 0;
    double totalInstrPerMsg = 0; // user + kernel
    double p99Us = -1; // -1 = no paced phase
    // Paced phase: broker CPU per message when every row gets the same message rate, so none is
    // charged for the batching a faster or slower flat-out run gets (kernel cost per message moves with it).
    double pacedCpuUsPerMsg = 0;
    long peakRssKb = 0;
    std::uint64_t lost = 0;
    std::uint64_t delivered = 0;
    double brokerCoreShare = 0; // CPU seconds per wall second during the flat phase
    double loadgenCoreShare = 0;
    bool brokerDropped = false;
    // Every row: broker CPU from loadgen's exit until the broker is idle again and, in
    // forwarding rows, the last point has arrived (loadgen's own figure stops at its drain).
    double tailCpuS = 0;
    json tailPolls = json::array(); // [seconds after loadgen's exit, broker CPU s since, lines read]
    Forwarding fwd;
    // Warm-up (--warmup-per-topic): the broker's VmRSS once it is over (and, in discovery rows, the
    // plugin's metrics are steady), how long that wait took, the retained discovery configs then
    // (count, payload bytes), and the configs the plugin published during the measured phases.
    bool warmedUp = false;
    long warmRssKb = 0;
    double warmupWaitS = 0;
    long long sampleAsked = 0;  // retained configs looked up (retainedConfigSample), found, their payload bytes
    long long sampleFound = -1;
    long long sampleBytes = 0;
    long long configsWhileMeasured = -1;
    json warmupMetrics;
    json raw;
};

std::string expand(std::string text, const std::string& source, const std::string& build) {
    for (const auto& [key, value] : {std::pair<std::string, std::string>{"{source}", source}, {"{build}", build}}) {
        for (size_t pos = text.find(key); pos != std::string::npos; pos = text.find(key, pos + value.size())) {
            text.replace(pos, key.size(), value);
        }
    }
    return text;
}

// loadgen and helper commands to completion with stdout captured; stderr passed through (verbose) or
// discarded. A child that outlives the timeout is killed, so a wedged loadgen cannot hang the whole run.
mqs::testing::CommandResult runChild(const std::vector<std::string>& argv, double timeoutS, bool showStderr) {
    return mqs::testing::runCommand(argv, std::chrono::milliseconds(static_cast<long>(timeoutS * 1000)),
                                    showStderr ? mqs::testing::StderrMode::Inherit : mqs::testing::StderrMode::Discard);
}

// The lines of a broker log worth showing in a table cell: errors, on one line, no pipes.
std::string brokerError(const std::string& log) {
    std::istringstream in(log);
    std::string line;
    std::string out;
    while (std::getline(in, line)) {
        if (line.find("rror") != std::string::npos) {
            auto colon = line.find(": ");
            out += (out.empty() ? "" : "; ") + (colon != std::string::npos && colon < 12 ? line.substr(colon + 2) : line);
        }
    }
    if (out.empty()) {
        out = "no error in the log (timeout?)";
    }
    std::replace(out.begin(), out.end(), '|', '/');
    return out.size() > 300 ? out.substr(0, 300) + "..." : out;
}

std::optional<json> lastJsonLine(const std::string& out) {
    std::istringstream in(out);
    std::string line;
    std::optional<json> found;
    while (std::getline(in, line)) {
        if (!line.empty() && line.front() == '{') {
            try {
                found = json::parse(line);
            } catch (const json::exception&) {
            }
        }
    }
    return found;
}

std::string readFirstLine(const std::string& path, const std::string& prefix) {
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind(prefix, 0) == 0) {
            auto colon = line.find(':');
            return colon == std::string::npos ? line : line.substr(line.find_first_not_of(" \t", colon + 1));
        }
    }
    return "unknown";
}

std::string mosquittoBinary() {
    const char* env = std::getenv("MQS_MOSQUITTO_BINARY");
    return env != nullptr && *env != '\0' ? env : MOSQUITTO_BINARY;
}

std::string mosquittoVersion() {
    auto r = runChild({mosquittoBinary(), "-h"}, 5, false);
    std::istringstream in(r.output);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("mosquitto version", 0) == 0) {
            return line.substr(std::strlen("mosquitto version "));
        }
    }
    return "unknown";
}

std::string loadAverage() {
    std::ifstream in("/proc/loadavg");
    std::string a;
    std::string b;
    std::string c;
    in >> a >> b >> c;
    return a + " " + b + " " + c;
}

double loadAverage1() {
    std::ifstream in("/proc/loadavg");
    double v = 0;
    in >> v;
    return v;
}

// Dynamic-security config with a few roles, a group and several clients. mosquitto_ctrl
// creates the file and hashes the admin password; the other clients are copies of the admin
// client with their own name and roles, so they share kDynsecPassword whatever fields the
// mosquitto_ctrl version stores it in (2.0: password, salt, iterations; 2.1: encoded_password).
std::string writeDynsecConfig(const fs::path& dir, std::string& error) {
    const fs::path file = dir / "dynamic-security.json";
    auto r = runChild({"mosquitto_ctrl", "dynsec", "init", file.string(), "bench-admin", kDynsecPassword}, 20, false);
    if (r.exit_code != 0 || !fs::exists(file)) {
        error = "mosquitto_ctrl dynsec init failed (exit " + std::to_string(r.exit_code) + ")";
        return {};
    }
    json cfg;
    try {
        std::ifstream in(file);
        cfg = json::parse(in);
    } catch (const json::exception& e) {
        error = std::string("cannot parse dynsec init output: ") + e.what();
        return {};
    }
    const json admin = cfg["clients"].at(0);
    auto acl = [](const char* type, const char* topic, bool allow, int priority = 0) {
        return json{{"acltype", type}, {"topic", topic}, {"allow", allow}, {"priority", priority}};
    };
    cfg["roles"].push_back({{"rolename", "sensor-writer"},
                            {"acls",
                             {acl("publishClientSend", "entrepot/+/+/v1", true),
                              acl("publishClientSend", "entrepot/+/+/config", false, 5)}}});
    cfg["roles"].push_back({{"rolename", "dashboard-reader"},
                            {"acls",
                             {acl("subscribePattern", "entrepot/#", true), acl("subscribePattern", "ipwatch/#", true),
                              acl("publishClientReceive", "entrepot/#", true),
                              acl("publishClientReceive", "ipwatch/#", true)}}});
    cfg["roles"].push_back({{"rolename", "ipwatch-agent"},
                            {"acls", {acl("publishClientSend", "ipwatch/device/+/status", true)}}});
    cfg["roles"].push_back({{"rolename", "no-sys"},
                            {"acls",
                             {acl("subscribePattern", "$SYS/#", false, 10),
                              acl("publishClientReceive", "$SYS/#", false, 10)}}});
    auto client = [&admin](const char* user, std::vector<const char*> roles) {
        json c = admin;
        c["username"] = user;
        c["textName"] = std::string("bench: ") + user;
        c["roles"] = json::array();
        for (const char* role : roles) {
            c["roles"].push_back({{"rolename", role}});
        }
        return c;
    };
    // The load clients log in as kDynsecUser: publish and subscribe rights come through the
    // "warehouse" group, "no-sys" is a direct role, so both lookup paths are exercised.
    cfg["clients"].push_back(client(kDynsecUser, {"no-sys"}));
    cfg["clients"].push_back(client("sensor-nord", {"sensor-writer"}));
    cfg["clients"].push_back(client("dashboard", {"dashboard-reader", "no-sys"}));
    cfg["clients"].push_back(client("ipwatch", {"ipwatch-agent"}));
    cfg["groups"] = json::array({{{"groupname", "warehouse"},
                                  {"roles", {{{"rolename", "sensor-writer"}}, {{"rolename", "dashboard-reader"}}}},
                                  {"clients", {{{"username", kDynsecUser}}, {{"username", "sensor-nord"}}}}}});
    std::ofstream out(file, std::ios::trunc);
    out << cfg.dump(1, '\t') << "\n";
    if (!out) {
        error = "cannot write " + file.string();
        return {};
    }
    return file.string();
}

// The loadgen client ids of the per-device workloads (--devices, --storm): <prefix>-pub-<i>,
// -sub-<i>, -idle-<i>, each logging in with its id as username and kDynsecPassword.
constexpr const char* kDevicePrefix = "d";
constexpr const char* kDynsecAdmin = "bench-admin";

struct DeviceCounts {
    long long publishers = 0;
    long long subscribers = 0;
    long long idle = 0;
    long long total() const { return publishers + subscribers + idle; }
};

// PBKDF2-SHA512 iterations of the per-device states' passwords: dynamic-security 2.0's count, so a
// login costs what it costs there; low enough to hash 10 000 clients in about a second at bench time
// (2.1's default, 210 000, would take half an hour and 0.17 s per login).
constexpr int kDeviceIterations = 101;

// kDynsecPassword hashed with a fresh 12-byte salt, in dynamic-security 2.0's fields (password, salt,
// iterations), which 2.1 and dynacl read too. OpenSSL directly, not dynacl's code, so a dynacl hashing
// bug cannot make both rows agree.
bool setDevicePassword(json& client, std::string& error) {
    unsigned char salt[12];
    unsigned char hash[64];
    if (RAND_bytes(salt, sizeof salt) != 1 ||
        PKCS5_PBKDF2_HMAC(kDynsecPassword, static_cast<int>(std::strlen(kDynsecPassword)), salt, sizeof salt,
                          kDeviceIterations, EVP_sha512(), sizeof hash, hash) != 1) {
        error = "OpenSSL could not hash a password";
        return false;
    }
    auto base64 = [](const unsigned char* bytes, int n) {
        std::string out(static_cast<size_t>(4 * ((n + 2) / 3) + 1), '\0');
        out.resize(static_cast<size_t>(EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes, n)));
        return out;
    };
    client.erase("encoded_password");
    client.erase("textName"); // the admin's, from the copy
    client.erase("textname");
    client["password"] = base64(hash, sizeof hash);
    client["salt"] = base64(salt, sizeof salt);
    client["iterations"] = kDeviceIterations;
    return true;
}

// Two states for the same many-device fleet, from the file `mosquitto_ctrl dynsec init` makes (its
// admin stays, for $CONTROL): every device (publisher or idle client) has a role of its own with one
// literal ACL, so the state holds one ACL entry per device, plus
// - dynacl: one shared role "device" in group "devices" with IPWatch-style identity rules
//   (devices/%c/status, devices/%u/availability, devices/%c/command to subscribe and receive);
// - dynsec (no %u/%c in 2.0): the same four rules written out literally in each device's own role.
// Subscribers ("backend") read devices/#; role "scratch" (nobody holds it) takes the timed
// $CONTROL changes, so neither plugin disconnects anyone over them. Every client has its own salt
// and hash at kDeviceIterations (the same hash in both files).
bool writeDeviceStates(const fs::path& dir, const DeviceCounts& n, std::string& error) {
    const fs::path init = dir / "devices-init.json";
    auto r = runChild({"mosquitto_ctrl", "dynsec", "init", init.string(), kDynsecAdmin, kDynsecPassword}, 20, false);
    if (r.exit_code != 0 || !fs::exists(init)) {
        error = "mosquitto_ctrl dynsec init failed (exit " + std::to_string(r.exit_code) + ")";
        return false;
    }
    json base;
    try {
        std::ifstream in(init);
        base = json::parse(in);
    } catch (const json::exception& e) {
        error = std::string("cannot parse dynsec init output: ") + e.what();
        return false;
    }
    const json admin = base["clients"].at(0);
    auto acl = [](const char* type, const std::string& topic) {
        return json{{"acltype", type}, {"topic", topic}, {"allow", true}, {"priority", 0}};
    };
    bool hashed = true;
    auto client = [&admin, &hashed, &error](const std::string& user, const std::vector<std::string>& roles) {
        json c = admin;
        c["username"] = user;
        c["roles"] = json::array();
        for (const auto& role : roles) {
            c["roles"].push_back({{"rolename", role}});
        }
        hashed = hashed && setDevicePassword(c, error);
        return c;
    };
    const std::string prefix = kDevicePrefix;
    std::vector<std::string> devices;
    for (long long i = 0; i < n.publishers; ++i) {
        devices.push_back(prefix + "-pub-" + std::to_string(i));
    }
    for (long long i = 0; i < n.idle; ++i) {
        devices.push_back(prefix + "-idle-" + std::to_string(i));
    }
    json common = base;
    common["roles"].push_back({{"rolename", "backend"},
                               {"acls",
                                {acl("subscribePattern", "devices/#"), acl("publishClientReceive", "devices/#"),
                                 acl("publishClientSend", "devices/+/command")}}});
    common["roles"].push_back({{"rolename", "scratch"}, {"acls", json::array()}});
    for (long long i = 0; i < n.subscribers; ++i) {
        common["clients"].push_back(client(prefix + "-sub-" + std::to_string(i), {"backend"}));
    }
    json dynacl = common;
    json dynsec = common;
    json members = json::array();
    for (const auto& id : devices) {
        const std::string own = "dev-" + id;
        dynacl["roles"].push_back({{"rolename", own}, {"acls", {acl("publishClientSend", "devices/" + id + "/response")}}});
        json c = client(id, {own});
        dynacl["clients"].push_back(c);
        members.push_back({{"username", id}});
        dynsec["roles"].push_back({{"rolename", own},
                                   {"acls",
                                    {acl("publishClientSend", "devices/" + id + "/response"),
                                     acl("publishClientSend", "devices/" + id + "/status"),
                                     acl("publishClientSend", "devices/" + id + "/availability"),
                                     acl("subscribeLiteral", "devices/" + id + "/command"),
                                     acl("publishClientReceive", "devices/" + id + "/command")}}});
        dynsec["clients"].push_back(std::move(c));
    }
    if (!hashed) {
        return false;
    }
    dynacl["roles"].push_back({{"rolename", "device"},
                               {"acls",
                                {acl("publishClientSend", "devices/%c/status"),
                                 acl("publishClientSend", "devices/%u/availability"),
                                 acl("subscribeLiteral", "devices/%c/command"),
                                 acl("publishClientReceive", "devices/%c/command")}}});
    dynacl["groups"] = json::array({{{"groupname", "devices"},
                                     {"roles", {{{"rolename", "device"}}}},
                                     {"clients", members}}});
    for (const auto& [name, state] : {std::pair<const char*, const json*>{"dynacl-devices.json", &dynacl},
                                      {"dynsec-devices.json", &dynsec}}) {
        std::ofstream out(dir / name, std::ios::trunc);
        out << state->dump(1, '\t') << "\n";
        if (!out) {
            error = "cannot write " + (dir / name).string();
            return false;
        }
    }
    return true;
}

// The per-device workload's loadgen arguments: each publisher owns one topic
// devices/<its client id>/status (loadgen deals topic i to publisher i when there are as many
// publishers as topics), every client logs in as itself.
std::vector<std::string> deviceLoadgenArgs(const DeviceCounts& n) {
    const std::string prefix = kDevicePrefix;
    return {"--topic", "devices/" + prefix + "-pub-{index}/status", "--zones", "z", "--sensors",
            std::to_string(n.publishers), "--client-prefix", prefix, "--username-per-client", "--password",
            kDynsecPassword, "--connect-timeout", "180"};
}

DeviceCounts deviceCounts(const CliArgs& args) {
    DeviceCounts n;
    n.publishers = args.integer("publishers");
    n.subscribers = args.integer("subscribers");
    // --storm reconnects <prefix>-idle-0..C-1, with <prefix>-pub-0 and -sub-0 as the stream.
    n.idle = std::max({0LL, args.integer("devices") - n.publishers - n.subscribers, args.integer("storm")});
    return n;
}

std::vector<Row> buildRows(const CliArgs& args, const Tools& tools) {
    const fs::path& workDir = tools.workDir;
    const std::string source = args.str("source-dir");
    const std::string build = args.str("build-dir");
    std::vector<Row> rows;
    rows.push_back({"bare", kCommonConfig, {}, ""});

    std::string allConfig = kCommonConfig;
    bool allVictoria = false;
    bool allDiscovery = false;
    std::vector<std::string> available;
    for (const auto& p : ourPlugins()) {
        Row row{p.name, kCommonConfig, {}, ""};
        row.victoria = p.needsVictoria;
        const fs::path lib = fs::path(build) / p.library;
        if (!fs::exists(lib)) {
            row.skipReason = "not built: " + lib.string();
        }
        for (const auto& req : p.requiredFiles) {
            const std::string path = expand(req, source, build);
            if (row.skipReason.empty() && !fs::exists(path)) {
                row.skipReason = "missing " + path;
            }
        }
        if (row.skipReason.empty() && p.needsVictoria && tools.victoria.empty()) {
            row.skipReason = "victoria-metrics not found (Debian package victoria-metrics, or --victoria-metrics)";
        }
        std::string block = "plugin " + lib.string() + "\n";
        for (const auto& opt : p.options) {
            block += expand(opt, source, build) + "\n";
        }
        row.config += block;
        row.optIn = p.optIn;
        row.discovery = p.discovery;
        if (row.skipReason.empty() && !p.optIn) {
            // In mosquitto 2.0 plugin_opt_* lines bind to the preceding "plugin" line, so the
            // blocks simply concatenate.
            allConfig += block;
            allVictoria = allVictoria || p.needsVictoria;
            allDiscovery = allDiscovery || p.discovery;
            available.push_back(p.name);
        }
        rows.push_back(row);
    }
    Row all{"all-ours", allConfig, {}, ""};
    all.victoria = allVictoria;
    all.discovery = allDiscovery;
    if (available.size() < 2) {
        all.skipReason = available.empty() ? "none of our plugins is available"
                                           : "only " + available.front() + " is available (same as its row)";
    }
    rows.push_back(all);

    // dynacl and dynamic-security on the same state: the warehouse roles of writeDynsecConfig, or
    // with --devices/--storm the per-device fleet of writeDeviceStates (dynacl with %u/%c rules,
    // dynsec with the same rules written out per device). Each cell gets a fresh copy, as both
    // plugins save the state after a $CONTROL change.
    const bool devices = args.integer("devices") > 0 || args.integer("storm") > 0;
    std::vector<std::string> authArgs = {"--username", kDynsecUser, "--password", kDynsecPassword};
    if (devices) {
        authArgs.clear();
    }
    Row dynacl{"dynacl", "", authArgs, ""};
    dynacl.control = true;
    const fs::path dynaclLib = fs::path(build) / "plugins/dynacl/mosquitto_dynacl.so";
    Row dynsec{"dynsec", "", authArgs, ""};
    dynsec.control = true;
    const std::string dynsecLib = args.str("dynsec-plugin");
    std::string stateError;
    std::string dynaclState;
    std::string dynsecState;
    if (devices) {
        if (writeDeviceStates(workDir, deviceCounts(args), stateError)) {
            dynaclState = (workDir / "dynacl-devices.json").string();
            dynsecState = (workDir / "dynsec-devices.json").string();
        }
    } else {
        dynsecState = writeDynsecConfig(workDir, stateError);
        dynaclState = dynsecState;
    }
    if (!fs::exists(dynaclLib)) {
        dynacl.skipReason = "not built: " + dynaclLib.string();
    } else if (dynaclState.empty()) {
        dynacl.skipReason = stateError;
    } else {
        dynacl.stateFile = dynaclState;
        dynacl.config = std::string(kCommonConfig) + "allow_anonymous false\nplugin " + dynaclLib.string() +
                        "\nplugin_opt_config_file {cell}/state.json\n";
    }
    if (!fs::exists(dynsecLib)) {
        dynsec.skipReason = "not installed: " + dynsecLib;
    } else if (dynsecState.empty()) {
        dynsec.skipReason = stateError;
    } else {
        dynsec.stateFile = dynsecState;
        dynsec.config = std::string(kCommonConfig) + "allow_anonymous false\nplugin " + dynsecLib +
                        "\nplugin_opt_config_file {cell}/state.json\n";
    }
    rows.push_back(dynacl);
    rows.push_back(dynsec);

    // The seeds' approach to the influx row's job: the bare broker plus an external subscriber
    // in Python writing the same lines to the same kind of server.
    Row bridge{"python-bridge", kCommonConfig, {}, ""};
    bridge.victoria = true;
    bridge.pythonBridge = true;
    if (tools.victoria.empty()) {
        bridge.skipReason = "victoria-metrics not found (Debian package victoria-metrics, or --victoria-metrics)";
    } else if (!fs::exists(tools.bridgeScript)) {
        bridge.skipReason = "missing " + tools.bridgeScript;
    } else if (runChild({tools.python, "-c", "import paho.mqtt.client"}, 20, false).exit_code != 0) {
        bridge.skipReason = tools.python + " cannot import paho.mqtt (Debian package python3-paho-mqtt)";
    }
    rows.push_back(bridge);

    // --rows keeps the table order but limits which rows run.
    const auto wanted = mqs::bench::splitList(args.str("rows"));
    for (const auto& name : wanted) {
        if (std::none_of(rows.begin(), rows.end(), [&name](const Row& r) { return r.name == name; })) {
            std::string known;
            for (const auto& r : rows) {
                known += (known.empty() ? "" : ",") + r.name;
            }
            throw std::runtime_error("unknown row '" + name + "' (rows: " + known + ")");
        }
    }
    if (!wanted.empty()) {
        std::vector<Row> picked;
        for (auto& r : rows) {
            if (std::find(wanted.begin(), wanted.end(), r.name) != wanted.end()) {
                picked.push_back(std::move(r));
            }
        }
        rows = std::move(picked);
    } else if (devices) {
        // The per-device workloads are about access control: the other rows would only repeat bare.
        std::erase_if(rows, [](const Row& r) { return r.name != "bare" && r.name != "dynacl" && r.name != "dynsec"; });
    } else {
        std::erase_if(rows, [](const Row& r) { return r.optIn; });
    }
    return rows;
}

std::vector<std::string> workloadArgs(const CliArgs& args) {
    // The same window at every QoS: the rows' brokers have no inflight cap (kCommonConfig).
    if (args.integer("devices") > 0) {
        const DeviceCounts n = deviceCounts(args);
        // The idle devices are held by bench/storm --hold for the whole cell (runCell), not by loadgen.
        std::vector<std::string> out = {"--publishers", args.str("publishers"), "--subscribers", args.str("subscribers"),
                                        "--idle", "0", "--payload", args.str("payload"),
                                        "--window", args.str("window"), "--quiet"};
        const auto dev = deviceLoadgenArgs(n);
        out.insert(out.end(), dev.begin(), dev.end());
        return out;
    }
    return {"--publishers", args.str("publishers"), "--subscribers", args.str("subscribers"),
            "--idle",       args.str("idle"),       "--zones",       args.str("zones"),
            "--sensors",    args.str("sensors"),    "--payload",     args.str("payload"),
            "--window",     args.str("window"),     "--quiet"};
}

// Topics of the warehouse workload: every zone × every sensor (loadgen's expansion).
long long topicCount(const CliArgs& args) {
    return static_cast<long long>(mqs::bench::splitList(args.str("zones")).size()) * args.integer("sensors");
}

// hadiscovery's metrics, retained under $SYS/plugins/hadiscovery/hadiscovery/ and re-published when
// changed: one mosquitto_sub that prints the retained values and leaves after a second.
std::map<std::string, long long> discoveryMetrics(int port, bool pin) {
    std::vector<std::string> argv = {"mosquitto_sub",
                                     "-h",
                                     "127.0.0.1",
                                     "-p",
                                     std::to_string(port),
                                     "-t",
                                     "$SYS/plugins/hadiscovery/hadiscovery/#",
                                     "-v",
                                     "--retained-only",
                                     "-W",
                                     "1"};
    if (pin) argv.insert(argv.begin(), {"taskset", "-c", "1"});
    auto r = runChild(argv, 10, false);
    std::map<std::string, long long> out;
    std::istringstream in(r.output);
    std::string topic;
    std::string value;
    while (in >> topic >> value) {
        try {
            out[topic.substr(topic.rfind('/') + 1)] = std::stoll(value);
        } catch (const std::exception&) {
        }
    }
    return out;
}

// After the warm-up: waits until the plugin knows every topic's device, has nothing queued, and
// configs_published and state_writes have not moved for kSteady (so the configs, the observed
// expire_after re-publication and the state snapshot are done). False on timeout.
bool waitDiscoverySteady(int port, bool pin, long long devices, double timeoutS, json& last) {
    using Clock = std::chrono::steady_clock;
    constexpr auto kSteady = std::chrono::seconds(3);
    const auto deadline = Clock::now() + std::chrono::milliseconds(static_cast<long>(timeoutS * 1000));
    std::map<std::string, long long> prev;
    auto since = Clock::now();
    while (Clock::now() < deadline) {
        auto m = discoveryMetrics(port, pin);
        last = m;
        if (m["configs_published"] != prev["configs_published"] || m["state_writes"] != prev["state_writes"] ||
            m["devices"] != prev["devices"]) {
            since = Clock::now();
        }
        prev = m;
        if (m["devices"] >= devices && m["pending"] == 0 && Clock::now() - since >= kSteady) {
            return true;
        }
    }
    return false;
}

// A sample of the retained discovery configs: up to 20 devices' topics spread over zones and sensors
// (ids as the warehouse rule builds them: entrepot_sensor_<zone>_<sensor>), how many the broker holds
// and their payload bytes. Exact topics, not homeassistant/#: 10 000 retained messages sent at once
// overflow the reading client's queue and the broker drops some (and the cell shows "broker dropped").
void retainedConfigSample(const CliArgs& args, int port, bool pin, long long& asked, long long& found,
                          long long& bytes) {
    const auto zones = mqs::bench::splitList(args.str("zones"));
    const long long sensors = args.integer("sensors");
    std::set<std::string> topics;
    for (long long i = 0; i < 20 && !zones.empty() && sensors > 0; ++i) {
        char sensor[32];
        std::snprintf(sensor, sizeof sensor, "sensor%02lld", 1 + (i * 7919) % sensors);
        topics.insert("homeassistant/device/entrepot_sensor_" + zones[static_cast<size_t>(i) % zones.size()] + "_" +
                      sensor + "/config");
    }
    std::vector<std::string> argv = {"mosquitto_sub",   "-h", "127.0.0.1", "-p", std::to_string(port), "-F", "%l",
                                     "--retained-only", "-W", "2"};
    for (const auto& t : topics) {
        argv.insert(argv.end(), {"-t", t});
    }
    if (pin) argv.insert(argv.begin(), {"taskset", "-c", "1"});
    auto r = runChild(argv, 20, false);
    std::istringstream in(r.output);
    long long len = 0;
    asked = static_cast<long long>(topics.size());
    found = 0;
    bytes = 0;
    while (in >> len) {
        ++found;
        bytes += len;
    }
}

std::string readText(const fs::path& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string oneLine(std::string text, size_t maxBytes = 300) {
    if (text.size() > maxBytes) {
        text = "..." + text.substr(text.size() - maxBytes);
    }
    std::replace(text.begin(), text.end(), '\n', ' ');
    std::replace(text.begin(), text.end(), '|', '/');
    return text;
}

// conf/influx/warehouse-rules.json with every sink's url pointed at the cell's VictoriaMetrics.
bool writeInfluxRules(const std::string& source, const fs::path& file, const std::string& url, std::string& error) {
    const fs::path conf = fs::path(source) / "conf/influx/warehouse-rules.json";
    try {
        std::ifstream in(conf);
        json rules = json::parse(in);
        for (auto& sink : rules.at("sinks")) {
            sink["url"] = url;
        }
        std::ofstream out(file, std::ios::trunc);
        out << rules.dump(2) << "\n";
        if (!out) {
            error = "cannot write " + file.string();
            return false;
        }
    } catch (const std::exception& e) {
        error = conf.string() + ": " + e.what();
        return false;
    }
    return true;
}

// After the flat-out phase, for every row: polls until the broker is idle again (under 2 ms of
// CPU per 100 ms poll: at QoS 1 even the bare broker works ~0.1 s after loadgen's exit, when its
// clients go away) and, in forwarding rows, VictoriaMetrics has read as many lines as messages
// were published, or no new line came for kSettle (the bridge may lose points at QoS 0), or
// --flush-timeout passed. The tail CPU is taken at the last busy poll or the last arrival,
// whichever is later, so the forwarder's last batches count and the idle wait after them does
// not. Then waits for the stored count to catch up with the lines read (samples become
// searchable about a second after they arrive).
void waitAfterFlat(pid_t brokerPid, VictoriaProcess* vm, pid_t bridgePid, double timeoutS, Cell& cell) {
    using Clock = std::chrono::steady_clock;
    constexpr auto kSettle = std::chrono::seconds(3);
    constexpr auto kPoll = std::chrono::milliseconds(100);
    constexpr double kIdleCpuS = 0.002;
    Forwarding& fwd = cell.fwd;
    const auto t0 = Clock::now();
    // Without a server to wait for, only the broker's own tail: a few hundred ms at most.
    const auto deadline = t0 + std::chrono::milliseconds(static_cast<long>((vm != nullptr ? timeoutS : 5.0) * 1000));
    const double cpu0 = mqs::bench::processCpuSeconds(brokerPid).value_or(0);
    double cpu = cpu0;
    double cpuAtLastBusy = cpu0;
    double cpuAtLastLine = cpu0;
    std::uint64_t lines = vm != nullptr ? vm->influxLinesRead().value_or(0) : 0;
    auto lastLine = t0;
    cell.tailPolls.push_back({0.0, 0.0, lines});
    while (true) {
        std::this_thread::sleep_for(kPoll);
        const double now = mqs::bench::processCpuSeconds(brokerPid).value_or(cpu);
        const bool busy = now - cpu >= kIdleCpuS;
        cpu = now;
        if (busy) {
            cpuAtLastBusy = cpu;
        }
        if (vm != nullptr) {
            if (const std::uint64_t read = vm->influxLinesRead().value_or(lines); read > lines) {
                lines = read;
                lastLine = Clock::now();
                cpuAtLastLine = cpu;
            }
        }
        cell.tailPolls.push_back({std::chrono::duration<double>(Clock::now() - t0).count(), cpu - cpu0, lines});
        const bool pointsDone = vm == nullptr || lines >= fwd.messages || Clock::now() - lastLine >= kSettle;
        if (!busy && pointsDone) {
            break;
        }
        if (Clock::now() >= deadline) {
            fwd.gaveUp = vm != nullptr && !pointsDone;
            break;
        }
    }
    cell.tailCpuS = std::max(cpuAtLastBusy, cpuAtLastLine) - cpu0;
    if (vm == nullptr) {
        return;
    }
    fwd.linesRead = lines;
    fwd.lastPointAfterS = std::chrono::duration<double>(lastLine - t0).count();
    if (bridgePid > 0) {
        // Minus the value before the flat phase, by the caller.
        fwd.bridgeCpuS = mqs::bench::processCpuSeconds(bridgePid).value_or(0);
    }
    auto stableSince = Clock::now();
    const auto storeDeadline = Clock::now() + std::chrono::seconds(30);
    while (true) {
        const auto stored = vm->storedSamples(kPointMetric);
        if (stored && (!fwd.stored || *stored != *fwd.stored)) {
            stableSince = Clock::now();
        }
        if (stored) {
            fwd.stored = stored;
        }
        if ((fwd.stored && *fwd.stored >= lines) || Clock::now() - stableSince >= kSettle ||
            Clock::now() >= storeDeadline) {
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
    fwd.measured = true;
}

// Every current thread of a process onto one CPU (threads created later inherit it).
bool pinProcess(pid_t pid, int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    std::error_code ec;
    bool ok = true;
    for (const auto& task : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
        const pid_t tid = static_cast<pid_t>(std::stol(task.path().filename().string()));
        ok = sched_setaffinity(tid, sizeof set, &set) == 0 && ok;
    }
    return ok && !ec;
}

// {cell} in the row's config, and the row's state file copied there (a fresh one per broker run).
bool prepareCell(const Row& row, const fs::path& cellDir, std::string& config, std::string& error) {
    if (config.find("{cell}") != std::string::npos) {
        std::error_code ec;
        fs::create_directories(cellDir, ec);
    }
    for (size_t pos = config.find("{cell}"); pos != std::string::npos;
         pos = config.find("{cell}", pos + cellDir.string().size())) {
        config.replace(pos, 6, cellDir.string());
    }
    if (!row.stateFile.empty()) {
        std::error_code ec;
        fs::create_directories(cellDir, ec);
        fs::copy_file(row.stateFile, cellDir / "state.json", fs::copy_options::overwrite_existing, ec);
        if (ec) {
            error = "cannot copy " + row.stateFile + ": " + ec.message();
            return false;
        }
    }
    return true;
}

Cell runCell(const CliArgs& args, const Tools& tools, const Row& row, int qos, bool verbose) {
    const bool pin = args.flag("pin");
    Cell cell;
    static int cellCounter = 0;
    const fs::path cellDir = tools.workDir / ("cell-" + std::to_string(++cellCounter) + "-" + row.name);
    std::string config = row.config;
    std::optional<VictoriaProcess> vm;
    if (row.victoria) {
        fs::create_directories(cellDir);
        vm.emplace(tools.victoria, cellDir / "victoria");
        if (!vm->start()) {
            cell.error = "victoria-metrics did not start: " + oneLine(vm->log());
            return cell;
        }
        std::string error;
        if (pin) pinProcess(vm->pid(), 1);
        if (!writeInfluxRules(args.str("source-dir"), cellDir / "influx-rules.json", vm->url(), error)) {
            cell.error = oneLine(error);
            return cell;
        }
    }
    if (!prepareCell(row, cellDir, config, cell.error)) {
        return cell;
    }
    mqs::testing::BrokerProcess broker(config, "bench-" + row.name);
    if (!broker.start()) {
        cell.error = "broker did not start: " + brokerError(broker.log());
        return cell;
    }
    if (pin && !pinProcess(broker.pid(), 0)) {
        cell.error = "cannot pin the broker to CPU 0";
        return cell;
    }
    // --devices: the idle part of the fleet stays connected through both phases, held by
    // bench/storm --hold (raw MQTT, one descriptor per client; loadgen's libmosquitto clients take
    // three each, and 10 000 of them would pass a 20 000 open-files hard limit).
    mqs::testing::ChildProcess holder;
    if (const DeviceCounts n = deviceCounts(args); args.integer("devices") > 0 && n.idle > 0) {
        fs::create_directories(cellDir);
        std::vector<std::string> argv = {args.str("storm-tool"), "--hold", "--port", std::to_string(broker.port()),
                                         "--clients", std::to_string(n.idle), "--prefix", kDevicePrefix,
                                         "--password", kDynsecPassword, "--timeout", "300"};
        if (pin) argv.insert(argv.begin(), {"taskset", "-c", "1"});
        std::string error;
        if (!holder.spawn(argv, {.stdout_file = cellDir / "holder.out", .truncate = true, .own_process_group = true},
                          &error)) {
            cell.error = "storm --hold: " + error;
            return cell;
        }
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(310);
        while (readText(cellDir / "holder.out").find("\"held\"") == std::string::npos) {
            if (!holder.running() || std::chrono::steady_clock::now() >= deadline) {
                cell.error = "idle clients not connected: " + oneLine(readText(cellDir / "holder.out"));
                return cell;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
    }
    // --change-first: one $CONTROL change before any load, so dynacl/dynsec are measured in the state every
    // real broker reaches (a plugin that starts a thread, or otherwise changes, at its first change shows it).
    if (row.control && args.flag("change-first")) {
        auto r = runChild({"mosquitto_ctrl", "-h", "127.0.0.1", "-p", std::to_string(broker.port()), "-u",
                           kDynsecAdmin, "-P", kDynsecPassword, "dynsec", "createRole", "bench-change-first"},
                          20, verbose);
        if (r.exit_code != 0) {
            cell.error = "--change-first: mosquitto_ctrl createRole failed (exit " + std::to_string(r.exit_code) +
                         "): " + oneLine(r.output);
            return cell;
        }
    }
    mqs::testing::ChildProcess bridge;
    if (row.pythonBridge) {
        std::string error;
        if (!bridge.spawn({tools.python, tools.bridgeScript, "--mqtt-port", std::to_string(broker.port()), "--url",
                           vm->url()},
                          {.stdout_file = cellDir / "bridge.out",
                           .stderr_file = cellDir / "bridge.err",
                           .truncate = true,
                           .own_process_group = true},
                          &error)) {
            cell.error = "bridge: " + error;
            return cell;
        }
        if (pin) pinProcess(bridge.pid(), 1);
        // It must be subscribed before the first publish, or it misses points for a reason
        // that is not its own.
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (readText(cellDir / "bridge.out").find("\"subscribed\"") == std::string::npos) {
            if (!bridge.running() || std::chrono::steady_clock::now() >= deadline) {
                cell.error = "bridge did not subscribe: " + oneLine(readText(cellDir / "bridge.err"));
                return cell;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    }
    const double seconds = args.number("seconds");
    const double latencySeconds = args.number("latency-seconds");
    std::vector<std::string> base = {args.str("loadgen"), "--port", std::to_string(broker.port()),
                                     "--broker-pid", std::to_string(broker.pid()), "--qos", std::to_string(qos)};
    const auto wl = workloadArgs(args);
    base.insert(base.end(), wl.begin(), wl.end());
    base.insert(base.end(), row.loadgenArgs.begin(), row.loadgenArgs.end());
    if (pin) base.insert(base.begin(), {"taskset", "-c", "1"});

    auto runPhase = [&](std::vector<std::string> extra, double duration) -> std::optional<json> {
        std::vector<std::string> argv = base;
        argv.insert(argv.end(), extra.begin(), extra.end());
        auto r = runChild(argv, duration + 40, verbose);
        auto j = lastJsonLine(r.output);
        if (!j) {
            cell.error = r.timed_out ? "loadgen timed out" : "loadgen printed no JSON (exit " + std::to_string(r.exit_code) + ")";
            return std::nullopt;
        }
        if (r.exit_code != 0 || !j->value("ok", false)) {
            cell.error = "loadgen: " + j->value("error", std::string("exit ") + std::to_string(r.exit_code));
            return std::nullopt;
        }
        return j;
    };

    // Warm-up: --warmup-per-topic messages per topic at the paced rate (so the intervals a discovery
    // row learns for expire_after "observed" match the measured phases'), then, for discovery rows,
    // the wait until the plugin's metrics are steady; the same for every row of the run.
    const long long warmupPerTopic = tools.warmupPerTopic;
    json discoveryBefore;
    std::uint64_t warmupSent = 0;
    if (warmupPerTopic > 0) {
        const auto t0 = std::chrono::steady_clock::now();
        const long long count = warmupPerTopic * topicCount(args);
        const double warmupS = static_cast<double>(count) / args.number("rate");
        const auto warm = runPhase({"--count", std::to_string(count), "--rate", args.str("rate"), "--duration",
                                    std::to_string(static_cast<long>(warmupS + 60))},
                                   warmupS + 60);
        if (!warm) {
            cell.error = "warm-up: " + cell.error;
            return cell;
        }
        warmupSent = warm->value("sent", std::uint64_t{0});
        if (row.discovery) {
            if (!waitDiscoverySteady(broker.port(), pin, topicCount(args), args.number("warmup-timeout"),
                                     discoveryBefore)) {
                cell.error = "warm-up: hadiscovery metrics not steady with every device after --warmup-timeout: " +
                             discoveryBefore.dump();
                return cell;
            }
        } else {
            std::this_thread::sleep_for(std::chrono::seconds(1));
        }
        cell.warmupWaitS = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        cell.warmRssKb = mqs::bench::readProcStatusKb(broker.pid(), "VmRSS").value_or(0);
        if (row.discovery) {
            retainedConfigSample(args, broker.port(), pin, cell.sampleAsked, cell.sampleFound, cell.sampleBytes);
        }
        cell.warmedUp = true;
        cell.warmupMetrics = discoveryBefore;
    }

    // Phase 1, flat out: msgs/s and broker CPU per delivered message.
    const double bridgeCpuBefore = row.pythonBridge ? mqs::bench::processCpuSeconds(bridge.pid()).value_or(0) : 0;
    auto flat = runPhase({"--duration", args.str("seconds")}, seconds);
    // The broker's tail; in forwarding rows also the points of the flat phase, counted before
    // the paced phase adds more.
    if (flat) {
        // Forwarding rows write the warm-up's messages as points too, into the same server: they are
        // counted with the flat-out phase's (the wait below compares the server's cumulative count).
        cell.fwd.messages = flat->value("sent", std::uint64_t{0}) + warmupSent;
        waitAfterFlat(broker.pid(), vm ? &*vm : nullptr, row.pythonBridge ? bridge.pid() : -1,
                      args.number("flush-timeout"), cell);
        if (row.pythonBridge) {
            cell.fwd.bridgeCpuS = std::max(0.0, cell.fwd.bridgeCpuS - bridgeCpuBefore);
            if (!bridge.running()) {
                cell.error = "bridge exited: " + oneLine(readText(cellDir / "bridge.err"));
                flat.reset();
            }
        }
    }
    std::optional<json> paced;
    // Phase 2, paced: end-to-end latency at a rate every row can sustain.
    if (flat && latencySeconds > 0) {
        paced = runPhase({"--duration", args.str("latency-seconds"), "--rate", args.str("rate")}, latencySeconds);
    }
    if (row.discovery && cell.warmedUp && flat && paced) {
        // Changed metrics go out every second: after 1.5 s they show everything the phases caused.
        std::this_thread::sleep_for(std::chrono::milliseconds(1500));
        auto after = discoveryMetrics(broker.port(), pin);
        cell.configsWhileMeasured = after["configs_published"] - discoveryBefore.value("configs_published", 0LL);
    }
    if (row.pythonBridge) {
        bridge.stop();
        cell.fwd.bridgeReport = lastJsonLine(readText(cellDir / "bridge.out")).value_or(json());
    }
    holder.stop();
    cell.peakRssKb = broker.peakRssKb();
    cell.brokerDropped = broker.countInLog("Outgoing messages are being dropped") > 0;
    broker.stop();
    if (vm) {
        vm->stop();
    }
    if (!tools.keep) {
        std::error_code ec;
        fs::remove_all(cellDir, ec);
    }
    if (!flat || (latencySeconds > 0 && !paced)) {
        return cell;
    }
    cell.ok = true;
    cell.msgsPerS = flat->value("msgs_per_s", 0.0);
    cell.cpuUsPerMsg = flat->value("broker_cpu_us_per_msg", 0.0);
    cell.delivered = flat->value("delivered", std::uint64_t{0});
    if (const double elapsed = flat->value("elapsed_s", 0.0); elapsed > 0) {
        const double brokerCpu = (*flat)["broker_cpu_sched_s"].is_number() ? (*flat)["broker_cpu_sched_s"].get<double>()
                                                                           : flat->value("broker_cpu_s", 0.0);
        cell.brokerCoreShare = brokerCpu / elapsed;
        cell.loadgenCoreShare = flat->value("loadgen_cpu_s", 0.0) / (elapsed + flat->value("drain_s", 0.0));
    }
    cell.lost = flat->value("lost", std::uint64_t{0}) + (paced ? paced->value("lost", std::uint64_t{0}) : 0);
    cell.p99Us = paced ? (*paced)["latency_us"].value("p99", 0.0) : -1.0;
    cell.pacedCpuUsPerMsg = paced ? paced->value("broker_cpu_us_per_msg", 0.0) : 0.0;
    if ((*flat)["broker_user_instructions_per_msg"].is_number()) {
        cell.userInstrPerMsg = (*flat)["broker_user_instructions_per_msg"].get<double>();
    }
    if ((*flat)["broker_instructions_per_msg"].is_number()) {
        cell.totalInstrPerMsg = (*flat)["broker_instructions_per_msg"].get<double>();
    }
    if ((*flat)["broker_user_cycles_per_msg"].is_number() && (*flat)["broker_kernel_cycles_per_msg"].is_number()) {
        cell.userCyclesPerMsg = (*flat)["broker_user_cycles_per_msg"].get<double>();
        cell.totalCyclesPerMsg = cell.userCyclesPerMsg + (*flat)["broker_kernel_cycles_per_msg"].get<double>();
    }
    cell.raw = {{"flat", *flat}, {"paced", paced ? *paced : json()}};
    cell.raw["tail"] = {{"broker_cpu_s", cell.tailCpuS}, {"polls", cell.tailPolls}};
    if (cell.fwd.measured) {
        cell.raw["forwarding"] = {{"messages", cell.fwd.messages},
                                  {"lines_read", cell.fwd.linesRead},
                                  {"points_stored", cell.fwd.stored ? json(*cell.fwd.stored) : json()},
                                  {"last_point_after_s", cell.fwd.lastPointAfterS},
                                  {"gave_up", cell.fwd.gaveUp},
                                  {"bridge_cpu_s", cell.fwd.bridgeCpuS >= 0 ? json(cell.fwd.bridgeCpuS) : json()},
                                  {"bridge_report", cell.fwd.bridgeReport}};
    }
    return cell;
}

std::string fmt(const char* format, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, format, v);
    return buf;
}

std::string thousands(double v) {
    std::string digits = std::to_string(static_cast<long long>(std::llround(v)));
    std::string out;
    for (size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) {
            out += ',';
        }
        out += digits[i];
    }
    return out;
}

using CellTable = std::map<int, std::map<std::string, std::vector<Cell>>>;

// The forwarding rows' own table: did every message become a point, and what did the broker
// (plus the bridge, for python-bridge) spend per message with the tail after loadgen's drain
// included, against the bare broker measured the same way (its line comes first).
void printForwardingTable(const std::vector<Row>& rows, const std::vector<int>& qosLevels, const CellTable& cells) {
    std::printf("\nForwarding rows (VictoriaMetrics started per cell on the same cores; points counted after each "
                "flat-out phase as stored `%s` samples, one per line written). points written / messages: sums "
                "over repetitions of the points stored and the messages published in the flat-out phase (and the "
                "warm-up, when there is one). last "
                "point after: median seconds from loadgen's exit (after its drain) to the arrival of the last "
                "line, as VictoriaMetrics' /metrics shows it (refreshed about once a second, so up to ~1.1 s "
                "means no backlog). broker µs/msg incl. tail: the flat-out figure plus the broker's CPU from "
                "loadgen's exit until it is idle and the last line has arrived (the forwarder's last batches; "
                "at QoS 1 also ~0.1 s of client teardown, which the bare broker has too), per delivered "
                "message. instr × bare: the broker's user+kernel instructions per message in the flat-out "
                "phase (all threads, tail not included) against the bare line's. bridge: CPU of the Python "
                "process from before the flat-out phase to the end of the tail. µs/point: broker + bridge "
                "CPU per point written. × bare: median per-repetition ratio to the bare line\n\n",
                kPointMetric);
    std::printf("| Row | QoS | msgs/s | points written / messages | last point after s | broker µs/msg incl. tail "
                "| broker × bare | broker instr × bare | bridge µs/msg | broker+bridge µs/msg "
                "| broker+bridge × bare | broker+bridge µs/point |\n");
    std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    auto brokerWithTail = [](const Cell& c) {
        return c.cpuUsPerMsg + c.tailCpuS * 1e6 / static_cast<double>(c.delivered);
    };
    auto medianOr = [](const std::vector<double>& v, const char* format) {
        return v.empty() ? std::string("-") : fmt(format, mqs::bench::median(v));
    };
    for (int qos : qosLevels) {
        const auto qosIt = cells.find(qos);
        if (qosIt == cells.end()) {
            continue;
        }
        const auto& byRow = qosIt->second;
        const auto bareIt = byRow.find("bare");
        for (const auto& row : rows) {
            const auto it = byRow.find(row.name);
            if (!(row.victoria || row.name == "bare") || !row.skipReason.empty() || it == byRow.end()) {
                continue;
            }
            std::vector<double> msgs;
            std::vector<double> after;
            std::vector<double> broker;
            std::vector<double> brokerRatio;
            std::vector<double> instrRatio;
            std::vector<double> bridgeCpu;
            std::vector<double> total;
            std::vector<double> totalRatio;
            std::vector<double> perPoint;
            std::uint64_t messages = 0;
            std::uint64_t stored = 0;
            std::uint64_t linesRead = 0;
            bool storedKnown = true;
            bool gaveUp = false;
            for (size_t i = 0; i < it->second.size(); ++i) {
                const Cell& c = it->second[i];
                if (!c.ok || c.delivered == 0 || (row.victoria && !c.fwd.measured)) {
                    continue;
                }
                const double delivered = static_cast<double>(c.delivered);
                const double bridgeUs = std::max(0.0, c.fwd.bridgeCpuS) * 1e6 / delivered;
                msgs.push_back(c.msgsPerS);
                broker.push_back(brokerWithTail(c));
                total.push_back(broker.back() + bridgeUs);
                if (c.fwd.bridgeCpuS >= 0) {
                    bridgeCpu.push_back(bridgeUs);
                }
                if (bareIt != byRow.end() && i < bareIt->second.size() && bareIt->second[i].ok &&
                    bareIt->second[i].delivered > 0) {
                    const double bare = brokerWithTail(bareIt->second[i]);
                    brokerRatio.push_back(broker.back() / bare);
                    totalRatio.push_back(total.back() / bare);
                    if (c.totalInstrPerMsg > 0 && bareIt->second[i].totalInstrPerMsg > 0) {
                        instrRatio.push_back(c.totalInstrPerMsg / bareIt->second[i].totalInstrPerMsg);
                    }
                }
                if (!row.victoria) {
                    continue;
                }
                after.push_back(c.fwd.lastPointAfterS);
                messages += c.fwd.messages;
                linesRead += c.fwd.linesRead;
                storedKnown = storedKnown && c.fwd.stored.has_value();
                stored += c.fwd.stored.value_or(0);
                gaveUp = gaveUp || c.fwd.gaveUp;
                if (c.fwd.stored && *c.fwd.stored > 0) {
                    perPoint.push_back(total.back() * delivered / static_cast<double>(*c.fwd.stored));
                }
            }
            if (msgs.empty()) {
                std::printf("| %s | %d | failed (see the table above) | | | | | | | | | |\n", row.name.c_str(), qos);
                continue;
            }
            std::string points = "-";
            if (row.victoria) {
                points = storedKnown ? thousands(static_cast<double>(stored)) : std::string("?");
                points += " / " + thousands(static_cast<double>(messages));
                if (storedKnown && messages > 0) {
                    points += " (" + fmt("%.1f", 100.0 * static_cast<double>(stored) / static_cast<double>(messages)) + " %";
                    if (stored < messages) {
                        points += ", " + thousands(static_cast<double>(messages - stored)) + " missing";
                    } else if (stored > messages) {
                        points += ", " + thousands(static_cast<double>(stored - messages)) + " extra";
                    }
                    points += ")";
                }
                if (!storedKnown || stored != linesRead) {
                    points += "; server read " + thousands(static_cast<double>(linesRead)) + " lines";
                }
                if (gaveUp) {
                    points += "; still arriving at --flush-timeout";
                }
            }
            std::printf("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", row.name.c_str(), qos,
                        thousands(mqs::bench::median(msgs)).c_str(), points.c_str(), medianOr(after, "%.2f").c_str(),
                        medianOr(broker, "%.2f").c_str(), medianOr(brokerRatio, "%.2f").c_str(),
                        medianOr(instrRatio, "%.2f").c_str(), medianOr(bridgeCpu, "%.2f").c_str(), medianOr(total, "%.2f").c_str(),
                        medianOr(totalRatio, "%.2f").c_str(), medianOr(perPoint, "%.2f").c_str());
        }
    }
}

// --storm: one broker run per row and repetition with bench/storm instead of loadgen: the
// reconnect storm of the <prefix>-idle-* clients and, for rows that answer $CONTROL, the broker
// thread's CPU per change. Returns storm's JSON, or an "error".
json runStormCell(const CliArgs& args, const Tools& tools, const Row& row, bool verbose) {
    static int stormCounter = 0;
    const fs::path cellDir = tools.workDir / ("storm-" + std::to_string(++stormCounter) + "-" + row.name);
    std::string config = row.config;
    std::string error;
    if (!prepareCell(row, cellDir, config, error)) {
        return {{"error", error}};
    }
    mqs::testing::BrokerProcess broker(config, "bench-" + row.name);
    if (!broker.start()) {
        return {{"error", "broker did not start: " + brokerError(broker.log())}};
    }
    if (args.flag("pin") && !pinProcess(broker.pid(), 0)) {
        return {{"error", "cannot pin the broker to CPU 0"}};
    }
    std::vector<std::string> argv = {args.str("storm-tool"), "--port", std::to_string(broker.port()),
                                     "--broker-pid", std::to_string(broker.pid()), "--clients", args.str("storm"),
                                     "--prefix", kDevicePrefix, "--password", kDynsecPassword,
                                     "--rounds", args.str("storm-rounds"), "--concurrency",
                                     args.str("storm-concurrency")};
    if (row.control) {
        argv.insert(argv.end(), {"--control-user", kDynsecAdmin, "--control-password", kDynsecPassword,
                                 "--control-changes", args.str("control-changes")});
    }
    if (args.flag("pin")) {
        argv.insert(argv.begin(), {"taskset", "-c", "1"});
    }
    auto r = runChild(argv, 600, verbose);
    broker.stop();
    if (!tools.keep) {
        std::error_code ec;
        fs::remove_all(cellDir, ec);
    }
    auto j = lastJsonLine(r.output);
    if (!j) {
        return {{"error", r.timed_out ? "storm timed out" : "storm printed no JSON (exit " + std::to_string(r.exit_code) + ")"}};
    }
    if (!j->value("ok", false)) {
        (*j)["error"] = "storm: " + j->value("error", std::string("failed"));
    }
    return *j;
}

// The storm table: per row, medians over every round of every repetition.
void printStormTable(const CliArgs& args, const std::vector<Row>& rows, const std::map<std::string, std::vector<json>>& runs,
                     long long stateClients) {
    std::printf("\nReconnect storm: %s password clients (client id = username, PBKDF2-SHA512 at 101 iterations) drop "
                "their sockets at once and reconnect, at most %s CONNECTs awaiting their CONNACK at a time, while "
                "an unrelated client publishes 200 msg/s at QoS 0 to a subscriber; %s round(s) per broker run; "
                "%lld clients in the dynacl/dynsec state. connect all s: from the first reconnect to the last "
                "CONNACK. worst stream gap: longest time between two deliveries of the stream during the "
                "storm (5 ms when undisturbed); before: the same over the second before the first connect. broker CPU ms/login: the broker's CPU (all threads) during the "
                "storm per client. $CONTROL change: CPU of the broker's main thread from just before one "
                "addRoleACL/removeRoleACL request on an unused role to its reply (%s changes per run), and the "
                "reply's round trip as the admin client saw it. Medians, max in brackets\n\n",
                args.str("storm").c_str(), args.str("storm-concurrency").c_str(), args.str("storm-rounds").c_str(),
                stateClients, args.str("control-changes").c_str());
    std::printf("| Row | connect all s | worst stream gap ms | stream gap before ms | broker CPU ms/login "
                "| $CONTROL change: broker thread ms | $CONTROL reply ms |\n|---|---|---|---|---|---|---|\n");
    for (const auto& row : rows) {
        if (!row.skipReason.empty()) {
            std::printf("| %s | skipped: %s | | | | | |\n", row.name.c_str(), row.skipReason.c_str());
            continue;
        }
        std::vector<double> connect;
        std::vector<double> gap;
        std::vector<double> before;
        std::vector<double> cpu;
        std::vector<double> thread;
        std::vector<double> reply;
        std::string error;
        const auto it = runs.find(row.name);
        for (const json& run : it == runs.end() ? std::vector<json>{} : it->second) {
            if (run.contains("error")) {
                error = run["error"].get<std::string>();
            }
            const double clients = std::max(1.0, run.value("clients", 1.0));
            for (const json& round : run.value("rounds", json::array())) {
                connect.push_back(round.value("connect_all_s", 0.0));
                gap.push_back(round.value("stream_max_gap_ms", 0.0));
                before.push_back(round.value("stream_baseline_gap_ms", 0.0));
                cpu.push_back(round.value("broker_cpu_s", 0.0) * 1000 / clients);
            }
            for (const json& change : run.value("control", json::array())) {
                thread.push_back(change.value("broker_thread_cpu_ms", 0.0));
                reply.push_back(change.value("reply_ms", 0.0));
            }
        }
        if (connect.empty()) {
            std::replace(error.begin(), error.end(), '|', '/');
            std::printf("| %s | failed: %s | | | | | |\n", row.name.c_str(), error.c_str());
            continue;
        }
        auto cellOf = [](const std::vector<double>& v, const char* format) {
            return v.empty() ? std::string("-")
                             : fmt(format, mqs::bench::median(v)) + " (" + fmt(format, mqs::bench::maxOf(v)) + ")";
        };
        std::printf("| %s | %s | %s | %s | %s | %s | %s |%s\n", row.name.c_str(), cellOf(connect, "%.3f").c_str(),
                    cellOf(gap, "%.1f").c_str(), cellOf(before, "%.1f").c_str(), cellOf(cpu, "%.3f").c_str(), cellOf(thread, "%.2f").c_str(),
                    cellOf(reply, "%.1f").c_str(), error.empty() ? "" : (" failed once: " + error).c_str());
    }
}

// Memory after the warm-up, per topic (= per hadiscovery device), against the bare broker with the same
// topics and history, paired by repetition: steady (VmRSS once the warm-up is over) and peak (VmHWM
// over the whole cell). Devices: the plugin's metric; config bytes: the mean payload of a sample of the
// retained configs (held by the broker's retained store, part of the difference); configs while
// measured: what the plugin published during the measured phases.
void printWarmupTable(const std::vector<Row>& rows, const std::vector<int>& qosLevels, const CellTable& cells,
                      long long topics) {
    std::printf(
        "\nMemory after the warm-up (%lld topics, each one hadiscovery device). RSS after warm-up: the "
        "broker's VmRSS once the warm-up is over; Δ steady / Δ peak per device: (row - bare of the same "
        "repetition) / topics, from that VmRSS and from the peak (VmHWM) of the whole cell; devices: the "
        "plugin's devices metric after the warm-up (device mode: one retained config each); config "
        "sample: retained configs found / looked up (20 devices' exact topics) and their mean payload "
        "bytes, held by the broker's retained store (part of the Δ); configs while measured: configs "
        "the plugin published during the flat-out and paced phases (sum over repetitions; 0 = the "
        "discovery work was all done in the warm-up). Medians over repetitions\n\n",
        topics);
    std::printf(
        "| Row | QoS | warm-up s | RSS after warm-up MB | Δ steady B/device | Δ peak B/device "
        "| devices | config sample found | config payload B | configs while measured |\n");
    std::printf("|---|---|---|---|---|---|---|---|---|---|\n");
    auto medianOr = [](const std::vector<double>& v, const char* format) {
        return v.empty() ? std::string("-") : fmt(format, mqs::bench::median(v));
    };
    for (int qos : qosLevels) {
        const auto qosIt = cells.find(qos);
        if (qosIt == cells.end()) {
            continue;
        }
        const auto& byRow = qosIt->second;
        const auto bareIt = byRow.find("bare");
        for (const auto& row : rows) {
            const auto it = byRow.find(row.name);
            if (!row.skipReason.empty() || it == byRow.end()) {
                continue;
            }
            std::vector<double> wait;
            std::vector<double> rss;
            std::vector<double> steady;
            std::vector<double> peak;
            std::vector<double> devices;
            std::vector<double> configBytes;
            std::string sample = "-";
            long long during = -1;
            for (size_t i = 0; i < it->second.size(); ++i) {
                const Cell& c = it->second[i];
                if (!c.ok || !c.warmedUp) {
                    continue;
                }
                wait.push_back(c.warmupWaitS);
                rss.push_back(static_cast<double>(c.warmRssKb) / 1024.0);
                if (row.name != "bare" && bareIt != byRow.end() && i < bareIt->second.size() && bareIt->second[i].ok &&
                    bareIt->second[i].warmedUp && topics > 0) {
                    const Cell& bare = bareIt->second[i];
                    steady.push_back(static_cast<double>(c.warmRssKb - bare.warmRssKb) * 1024.0 /
                                     static_cast<double>(topics));
                    peak.push_back(static_cast<double>(c.peakRssKb - bare.peakRssKb) * 1024.0 /
                                   static_cast<double>(topics));
                }
                if (c.warmupMetrics.contains("devices")) {
                    devices.push_back(c.warmupMetrics["devices"].get<double>());
                }
                if (c.sampleFound >= 0) {
                    sample = std::to_string(c.sampleFound) + "/" + std::to_string(c.sampleAsked);
                    if (c.sampleFound > 0) {
                        configBytes.push_back(static_cast<double>(c.sampleBytes) / static_cast<double>(c.sampleFound));
                    }
                }
                if (c.configsWhileMeasured >= 0) {
                    during = std::max(during, 0LL) + c.configsWhileMeasured;
                }
            }
            if (wait.empty()) {
                std::printf("| %s | %d | failed (see above) | | | | | | | |\n", row.name.c_str(), qos);
                continue;
            }
            std::printf("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s |\n", row.name.c_str(), qos,
                        medianOr(wait, "%.1f").c_str(), medianOr(rss, "%.1f").c_str(), medianOr(steady, "%.0f").c_str(),
                        medianOr(peak, "%.0f").c_str(), medianOr(devices, "%.0f").c_str(), sample.c_str(),
                        medianOr(configBytes, "%.0f").c_str(), during >= 0 ? std::to_string(during).c_str() : "-");
        }
    }
}

} // namespace

int main(int argc, char** argv) {
    CliArgs args("run_bench",
                 "Runs the broker once per row (bare, each of our plugins, all of them, dynacl and\n"
                 "dynamic-security on the same state, the Python bridge) under the same loadgen workload,\n"
                 "repeats, and prints Markdown tables of medians. Forwarding rows (influx, all-ours with\n"
                 "influx, python-bridge) write to a VictoriaMetrics started per cell, and the points it\n"
                 "received are counted. --devices: a per-device state of N clients instead of the warehouse\n"
                 "roles; --storm: a reconnect storm (bench/storm) instead of loadgen.",
                 {
                     {"build-dir", BENCH_BUILD_DIR, "build tree holding the plugin .so files"},
                     {"source-dir", BENCH_SOURCE_DIR, "source tree (for conf/ rule files)"},
                     {"loadgen", BENCH_LOADGEN_PATH, "loadgen executable"},
                     {"storm-tool", BENCH_STORM_PATH, "bench/storm executable (--storm)"},
                     {"devices", "0",
                      "per-device workload instead of the warehouse one: this many clients in the "
                      "dynacl/dynsec state and connected (publishers + subscribers + idle), each "
                      "logging in as itself, a role per device; rows bare,dynacl,dynsec"},
                     {"storm", "0",
                      "instead of loadgen: reconnect storm of this many password clients per "
                      "broker run (bench/storm), rows bare,dynacl,dynsec; the state holds "
                      "max(--devices, storm + 2) clients"},
                     {"storm-rounds", "3", "storms per broker run"},
                     {"storm-concurrency", "100", "CONNECTs awaiting their CONNACK at most, in a storm"},
                     {"control-changes", "10", "with --storm: $CONTROL changes timed per dynacl/dynsec run"},
                     {"dynsec-plugin", "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so",
                      "Mosquitto's dynamic-security plugin"},
                     {"victoria-metrics", "", "victoria-metrics binary (default: on $PATH, else /usr/bin)"},
                     {"python", "/usr/bin/python3", "Python with paho-mqtt, for the python-bridge row"},
                     {"flush-timeout", "60", "longest wait, after a flat-out phase, for the forwarded points"},
                     {"rows", "",
                      "comma-separated rows to run (default: all of bare,<plugins>,all-ours,dynacl,dynsec,"
                      "python-bridge; influx-nojournal only when named; bare,dynacl,dynsec with "
                      "--devices or --storm)"},
                     {"qos", "0,1", "comma-separated QoS levels, one workload each"},
                     {"reps", "3", "repetitions per row and QoS; the table shows medians"},
                     {"seconds", "3", "flat-out phase per cell (msgs/s, CPU/msg)"},
                     {"latency-seconds", "2", "paced phase per cell (p99 latency); 0 skips it"},
                     {"rate", "5000", "paced phase publish rate, msgs/s"},
                     {"publishers", "4", "loadgen publishers"},
                     {"subscribers", "1", "loadgen subscribers"},
                     {"idle", "50", "loadgen idle connections"},
                     {"window", "500", "loadgen flat-out window (undelivered messages per subscriber)"},
                     {"zones", "nord,sud,est",
                      "comma-separated zones of the warehouse topics "
                      "entrepot/<zone>/<sensor>/v1 (each topic is one hadiscovery device)"},
                     {"sensors", "10", "sensors per zone"},
                     {"warmup-per-topic", "7",
                      "when a hadiscovery row runs: messages per topic at --rate before each "
                      "cell's measured phases, for every row of the run; hadiscovery cells "
                      "then wait until its metrics are steady with every device known (7: "
                      "expire_after \"observed\" needs 5 intervals); 0: no warm-up"},
                     {"warmup-timeout", "120", "longest wait, after the warm-up, for hadiscovery's metrics to settle"},
                     {"payload", "warehouse", "warehouse | ipwatch"},
                     {"json-out", "", "also write every raw loadgen result to this file"},
                     {"pin", "",
                      "give the broker CPU 0 to itself; loadgen, VictoriaMetrics and the bridge share "
                      "CPU 1 (on 2 cores the database otherwise competes with the broker in "
                      "forwarding rows only, which skews their CPU per message)",
                      true},
                     {"change-first", "",
                      "dynacl and dynsec rows: one $CONTROL change (mosquitto_ctrl dynsec createRole) after "
                      "the broker starts, before any load",
                      true},
                     {"verbose", "", "show loadgen's own output", true},
                     {"keep", "",
                      "keep the scratch dir (dynsec JSON, per-cell influx rules, spool, "
                      "VictoriaMetrics data, bridge output) for inspection; MQS_KEEP_BROKER_DIRS=1 "
                      "keeps the broker dirs",
                      true},
                 });
    if (!args.parse(argc, argv)) {
        return 1;
    }
    if (args.helpRequested()) {
        args.printUsage();
        return 0;
    }

    std::vector<int> qosLevels;
    int reps = 0;
    try {
        for (const auto& q : mqs::bench::splitList(args.str("qos"))) {
            qosLevels.push_back(std::stoi(q));
        }
        reps = static_cast<int>(args.integer("reps"));
        if (args.number("seconds") <= 0 || args.number("rate") <= 0 || args.number("latency-seconds") < 0 ||
            args.number("flush-timeout") <= 0) {
            throw std::runtime_error("--seconds, --rate and --flush-timeout must be > 0");
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "run_bench: %s\n", e.what());
        return 1;
    }
    if (reps < 1 || qosLevels.empty()) {
        std::fprintf(stderr, "run_bench: need --reps >= 1 and at least one QoS\n");
        return 1;
    }
    if (!fs::exists(args.str("loadgen"))) {
        std::fprintf(stderr, "run_bench: loadgen not found at %s (build target loadgen or pass --loadgen)\n",
                     args.str("loadgen").c_str());
        return 1;
    }
    const bool verbose = args.flag("verbose");

    // Scratch dir for the dynsec JSON and the forwarding rows' cells; the brokers get their own
    // dirs from BrokerProcess.
    std::string workTemplate = (fs::temp_directory_path() / "mqs-bench-XXXXXX").string();
    if (mkdtemp(workTemplate.data()) == nullptr) {
        std::fprintf(stderr, "run_bench: mkdtemp failed: %s\n", std::strerror(errno));
        return 1;
    }
    const fs::path workDir = workTemplate;
    Tools tools;
    tools.victoria = args.str("victoria-metrics").empty() ? mqs::testing::findVictoriaMetrics() : args.str("victoria-metrics");
    tools.python = args.str("python");
    tools.bridgeScript = (fs::path(args.str("source-dir")) / "bench/influx_bridge.py").string();
    tools.workDir = workDir;
    tools.keep = args.flag("keep");
    std::vector<Row> rows;
    try {
        rows = buildRows(args, tools);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "run_bench: %s\n", e.what());
        fs::remove_all(workDir);
        return 1;
    }
    if (rows.empty()) {
        std::fprintf(stderr, "run_bench: --rows selected nothing\n");
        fs::remove_all(workDir);
        return 1;
    }

    if (args.integer("devices") == 0 && args.integer("storm") == 0 &&
        std::any_of(rows.begin(), rows.end(), [](const Row& r) { return r.discovery && r.skipReason.empty(); })) {
        tools.warmupPerTopic = std::max(0LL, args.integer("warmup-per-topic"));
    }

    const long cores = sysconf(_SC_NPROCESSORS_ONLN);
    const std::string loadStart = loadAverage();
    size_t activeRows = 0;
    size_t forwardingRows = 0;
    for (const auto& r : rows) {
        activeRows += r.skipReason.empty() ? 1 : 0;
        forwardingRows += r.skipReason.empty() && r.victoria ? 1 : 0;
        if (!r.skipReason.empty()) {
            std::fprintf(stderr, "run_bench: row %s skipped: %s\n", r.name.c_str(), r.skipReason.c_str());
        }
    }
    // Forwarding cells add the server's start and stop and the count (~3 s, more when points are lost).
    const double estimate = static_cast<double>(qosLevels.size() * static_cast<size_t>(reps)) *
                            (static_cast<double>(activeRows) * (args.number("seconds") + args.number("latency-seconds") + 0.6) +
                             static_cast<double>(forwardingRows) * 3.0);
    if (args.integer("storm") > 0) {
        std::fprintf(stderr, "run_bench: storm: %zu rows x %d reps; load average %s on %ld cores\n", activeRows, reps,
                     loadStart.c_str(), cores);
    } else {
        std::fprintf(stderr, "run_bench: %zu rows x %zu QoS x %d reps, about %.0f s; load average %s on %ld cores\n",
                     activeRows, qosLevels.size(), reps, estimate, loadStart.c_str(), cores);
    }
    if (loadAverage1() > 0.5 * static_cast<double>(cores)) {
        std::fprintf(stderr, "run_bench: warning: the machine is busy; expect noisy figures\n");
    }

    if (args.integer("storm") > 0) {
        std::map<std::string, std::vector<json>> runs;
        bool failed = false;
        for (int rep = 1; rep <= reps; ++rep) {
            for (const auto& row : rows) {
                if (!row.skipReason.empty()) {
                    continue;
                }
                json run = runStormCell(args, tools, row, verbose);
                failed = failed || run.contains("error");
                std::fprintf(stderr, "  [rep %d/%d] storm %-8s %s\n", rep, reps, row.name.c_str(), run.dump().c_str());
                runs[row.name].push_back(std::move(run));
            }
        }
        if (!args.flag("keep")) {
            fs::remove_all(workDir);
        }
        std::printf("### Storm run, load average %s at start, %s at end; command: `bench/run_bench %s`\n", loadStart.c_str(),
                    loadAverage().c_str(), args.commandLine().c_str());
        printStormTable(args, rows, runs, deviceCounts(args).total());
        std::fflush(stdout);
        return failed ? 2 : 0;
    }

    // cells[qos][row] = one Cell per repetition. Reps are the outer loop so slow drifts of
    // the machine (other jobs, thermal) spread over all rows instead of biasing one.
    CellTable cells;
    bool anyError = false;
    for (int rep = 1; rep <= reps; ++rep) {
        for (int qos : qosLevels) {
            for (const auto& row : rows) {
                if (!row.skipReason.empty()) {
                    continue;
                }
                Cell cell = runCell(args, tools, row, qos, verbose);
                if (cell.ok) {
                    std::fprintf(stderr,
                                 "  [rep %d/%d] qos%d %-10s %9.0f msg/s %7.2f us/msg (+%.3f s tail) p99 %7.0f us "
                                 "lost %llu (cores busy: broker %.0f%%, loadgen %.0f%%)%s\n",
                                 rep, reps, qos, row.name.c_str(), cell.msgsPerS, cell.cpuUsPerMsg, cell.tailCpuS,
                                 cell.p99Us, static_cast<unsigned long long>(cell.lost), 100 * cell.brokerCoreShare,
                                 100 * cell.loadgenCoreShare,
                                 cell.brokerDropped ? " (broker dropped messages)" : "");
                    if (cell.fwd.measured) {
                        std::fprintf(stderr,
                                     "             points written %s of %llu messages (VictoriaMetrics read %llu "
                                     "lines), last %.2f s after loadgen%s%s\n",
                                     cell.fwd.stored ? std::to_string(*cell.fwd.stored).c_str() : "?",
                                     static_cast<unsigned long long>(cell.fwd.messages),
                                     static_cast<unsigned long long>(cell.fwd.linesRead), cell.fwd.lastPointAfterS,
                                     cell.fwd.gaveUp ? " (gave up waiting)" : "",
                                     cell.fwd.bridgeCpuS >= 0
                                         ? ("; bridge " + fmt("%.3f", cell.fwd.bridgeCpuS) + " s CPU").c_str()
                                         : "");
                    }
                } else {
                    anyError = true;
                    std::fprintf(stderr, "  [rep %d/%d] qos%d %-10s FAILED: %s\n", rep, reps, qos, row.name.c_str(),
                                 cell.error.c_str());
                }
                cells[qos][row.name].push_back(std::move(cell));
            }
        }
    }
    if (args.flag("keep")) {
        std::fprintf(stderr, "run_bench: kept %s\n", workDir.c_str());
    } else {
        fs::remove_all(workDir);
    }

    // Report: a short header (machine, workload, command) then the table.
    char date[64];
    const std::time_t now = std::time(nullptr);
    std::strftime(date, sizeof date, "%Y-%m-%d %H:%M %Z", std::localtime(&now));
    std::printf("### Benchmark run %s\n\n", date);
    std::printf("- machine: %ld cores, %s; load average %s at start, %s at end\n", cores,
                readFirstLine("/proc/cpuinfo", "model name").c_str(), loadStart.c_str(), loadAverage().c_str());
    std::printf("- broker: mosquitto %s (%s), stock settings plus set_tcp_nodelay true, max_inflight_messages 0 "
                "and log_type error/warning/notice/information; loadgen sets TCP_NODELAY too\n",
                mosquittoVersion().c_str(), mosquittoBinary().c_str());
    if (const DeviceCounts n = deviceCounts(args); args.integer("devices") > 0) {
        std::printf("- workload: per-device state of %lld clients, all connected: %lld publishers each on its own "
                    "devices/<id>/status, %lld subscriber(s) on devices/+/status, %lld idle (held by bench/storm "
                    "--hold); every client logs in as itself (%s payload); flat out %s s per cell for msgs/s and CPU, "
                    "then paced at %s msg/s for %s s for latency\n",
                    n.total(), n.publishers, n.subscribers, n.idle, args.str("payload").c_str(),
                    args.str("seconds").c_str(), args.str("rate").c_str(), args.str("latency-seconds").c_str());
    } else {
        std::printf(
            "- workload: %s publishers, %s subscriber(s), %s idle connections, %lld topics (%s payload); "
            "flat out %s s per cell for msgs/s and CPU, then paced at %s msg/s for %s s for latency\n",
            args.str("publishers").c_str(), args.str("subscribers").c_str(), args.str("idle").c_str(), topicCount(args),
            args.str("payload").c_str(), args.str("seconds").c_str(), args.str("rate").c_str(),
            args.str("latency-seconds").c_str());
    }
    if (tools.warmupPerTopic > 0) {
        std::printf(
            "- warm-up before each cell's measured phases, every row: %lld messages per topic at %s msg/s, "
            "then in hadiscovery rows a wait until its $SYS metrics show every topic's device, nothing "
            "pending, and configs_published and state_writes unchanged for 3 s (polled with mosquitto_sub); "
            "the others wait 1 s\n",
            tools.warmupPerTopic, args.str("rate").c_str());
    }
    std::printf("- %d repetition(s), medians shown; msgs/s, CPU and instructions from the flat-out phase, "
                "latency from the paced one. CPU µs/msg: broker CPU time (all threads) per delivered message; "
                "spread = min-max over repetitions; × bare = median of per-repetition ratios to the bare "
                "broker. user kinstr/kcycles per msg: the broker's user-space instructions and cycles per "
                "message (perf counters); plugins run there. est. × bare = 1 + (row's user cycles - bare's) "
                "/ bare's user+kernel cycles, per repetition: the plugin's own cost relative to the whole "
                "bare broker, without the kernel-side noise that other load on the machine causes. paced CPU µs/msg, "
                "paced × bare: the same from the paced phase, where every row gets the same message rate\n",
                reps);
    std::printf("- command: `bench/run_bench%s%s`\n\n", args.commandLine().empty() ? "" : " ",
                args.commandLine().c_str());

    std::printf("| Row | QoS | msgs/s | CPU µs/msg | CPU spread | × bare | user kinstr/msg | user kcycles/msg "
                "| est. × bare | p99 latency ms | peak RSS MB | lost | paced CPU µs/msg | paced × bare |\n");
    std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    constexpr const char* kEmptyCells = " | | | | | | | | | | | |\n";
    json raw = json::array();
    for (int qos : qosLevels) {
        const auto& byRow = cells[qos];
        const auto bareIt = byRow.find("bare");
        for (const auto& row : rows) {
            if (!row.skipReason.empty()) {
                std::printf("| %s | %d | skipped: %s%s", row.name.c_str(), qos, row.skipReason.c_str(), kEmptyCells);
                continue;
            }
            const auto& runs = byRow.at(row.name);
            std::vector<double> msgs;
            std::vector<double> cpu;
            std::vector<double> instr;
            std::vector<double> cycles;
            std::vector<double> p99;
            std::vector<double> rss;
            std::vector<double> cpuRatios;
            std::vector<double> estRatios;
            std::vector<double> pacedCpu;
            std::vector<double> pacedRatios;
            std::uint64_t lost = 0;
            std::string error;
            bool dropped = false;
            for (size_t i = 0; i < runs.size(); ++i) {
                const Cell& c = runs[i];
                raw.push_back({{"row", row.name}, {"qos", qos}, {"rep", i + 1}, {"ok", c.ok}, {"error", c.error},
                               {"peak_rss_kb", c.peakRssKb}, {"loadgen", c.raw}});
                if (c.warmedUp) {
                    raw.back()["warmup"] = {
                        {"rss_kb", c.warmRssKb},
                        {"wait_s", c.warmupWaitS},
                        {"retained_sample",
                         {{"asked", c.sampleAsked}, {"found", c.sampleFound}, {"payload_bytes", c.sampleBytes}}},
                        {"configs_while_measured", c.configsWhileMeasured},
                        {"metrics", c.warmupMetrics}};
                }
                if (!c.ok) {
                    error = c.error;
                    continue;
                }
                msgs.push_back(c.msgsPerS);
                cpu.push_back(c.cpuUsPerMsg);
                if (c.userInstrPerMsg > 0) {
                    instr.push_back(c.userInstrPerMsg / 1000.0);
                }
                if (c.userCyclesPerMsg > 0) {
                    cycles.push_back(c.userCyclesPerMsg / 1000.0);
                }
                if (c.p99Us >= 0) {
                    p99.push_back(c.p99Us / 1000.0);
                }
                rss.push_back(static_cast<double>(c.peakRssKb) / 1024.0);
                if (c.pacedCpuUsPerMsg > 0) {
                    pacedCpu.push_back(c.pacedCpuUsPerMsg);
                }
                lost += c.lost;
                dropped = dropped || c.brokerDropped;
                // Pair with the bare run of the same repetition: the two ran seconds apart.
                if (bareIt != byRow.end() && i < bareIt->second.size() && bareIt->second[i].ok) {
                    const Cell& bare = bareIt->second[i];
                    if (bare.cpuUsPerMsg > 0) {
                        cpuRatios.push_back(c.cpuUsPerMsg / bare.cpuUsPerMsg);
                    }
                    if (bare.totalCyclesPerMsg > 0 && c.userCyclesPerMsg > 0) {
                        estRatios.push_back(1.0 + (c.userCyclesPerMsg - bare.userCyclesPerMsg) / bare.totalCyclesPerMsg);
                    }
                    if (bare.pacedCpuUsPerMsg > 0 && c.pacedCpuUsPerMsg > 0) {
                        pacedRatios.push_back(c.pacedCpuUsPerMsg / bare.pacedCpuUsPerMsg);
                    }
                }
            }
            if (cpu.empty()) {
                std::replace(error.begin(), error.end(), '|', '/');
                std::replace(error.begin(), error.end(), '\n', ' ');
                std::printf("| %s | %d | failed: %s%s", row.name.c_str(), qos, error.c_str(), kEmptyCells);
                continue;
            }
            auto medianOr = [](const std::vector<double>& v, const char* format) {
                return v.empty() ? std::string("-") : fmt(format, mqs::bench::median(v));
            };
            std::printf("| %s | %d | %s | %.2f | %.2f-%.2f | %s | %s | %s | %s | %s | %.1f | %llu%s | %s | %s |\n",
                        row.name.c_str(),
                        qos, thousands(mqs::bench::median(msgs)).c_str(), mqs::bench::median(cpu),
                        mqs::bench::minOf(cpu), mqs::bench::maxOf(cpu), medianOr(cpuRatios, "%.2f").c_str(),
                        medianOr(instr, "%.2f").c_str(), medianOr(cycles, "%.2f").c_str(),
                        medianOr(estRatios, "%.3f").c_str(),
                        medianOr(p99, "%.2f").c_str(), mqs::bench::median(rss), static_cast<unsigned long long>(lost),
                        dropped ? " (broker dropped)" : "", medianOr(pacedCpu, "%.2f").c_str(),
                        medianOr(pacedRatios, "%.2f").c_str());
        }
    }

    if (forwardingRows > 0) {
        printForwardingTable(rows, qosLevels, cells);
    }
    if (tools.warmupPerTopic > 0) {
        printWarmupTable(rows, qosLevels, cells, topicCount(args));
    }
    std::fflush(stdout);

    if (!args.str("json-out").empty()) {
        std::ofstream out(args.str("json-out"));
        out << raw.dump(1) << "\n";
    }
    return anyError ? 2 : 0;
}
