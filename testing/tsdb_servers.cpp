// influxd and victoria-metrics as ChildProcesses, queried through libcurl; see tsdb_servers.hpp.
#include "testing/tsdb_servers.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "testing/http_client.hpp"

namespace mqs::testing {
namespace fs = std::filesystem;

ServerProcess::ServerProcess(const std::string& name, fs::path dir) {
    if (dir.empty()) {
        std::string tmpl = (fs::temp_directory_path() / "mqs-tsdb-XXXXXX").string();
        if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + tmpl);
        owned_temp_dir_ = tmpl;
        dir = owned_temp_dir_ / name;
    }
    dir_ = std::move(dir);
    fs::create_directories(dir_);
    http_port_ = freeTcpPort();
}

ServerProcess::~ServerProcess() {
    stop();
    std::error_code ec;
    if (!owned_temp_dir_.empty()) fs::remove_all(owned_temp_dir_, ec);
}

bool ServerProcess::start(std::chrono::milliseconds timeout) {
    if (process_.running()) return true;
    for (int attempt = 0; attempt < 3; ++attempt) {
        if (!process_.spawn(argv(), {.stdout_file = dir_ / "server.log", .own_process_group = true})) return false;
        const auto end = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < end && process_.running()) {
            const auto r = httpGet(url() + readyPath(), ca_file_, std::chrono::seconds(1));
            if (r.status >= 200 && r.status < 300) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        const bool exited = !process_.running();
        process_.stop();
        // freeTcpPort() cannot reserve the port: if another process took it, retry on another one.
        if (!exited || !portTakenByOther(http_port_)) return false;
        http_port_ = freeTcpPort();
        portsChanged();
    }
    return false;
}

void ServerProcess::stop() {
    process_.stop(std::chrono::seconds(5));
}

std::string ServerProcess::log() const {
    return readTextFile(dir_ / "server.log");
}

InfluxdProcess::InfluxdProcess() : ServerProcess("influxd", {}) {
    rpc_port_ = freeTcpPort();
    writeConfig();
}

void InfluxdProcess::portsChanged() {
    rpc_port_ = freeTcpPort();
    writeConfig();
}

void InfluxdProcess::writeConfig() const {
    std::ofstream conf(dir_ / "influxd.conf", std::ios::trunc);
    conf << "reporting-disabled = true\n"
         << "bind-address = \"127.0.0.1:" << rpc_port_ << "\"\n"
         << "[meta]\n  dir = \"" << (dir_ / "meta").string() << "\"\n  logging-enabled = false\n"
         << "[data]\n  dir = \"" << (dir_ / "data").string() << "\"\n  wal-dir = \"" << (dir_ / "wal").string()
         << "\"\n  query-log-enabled = false\n"
         << "[monitor]\n  store-enabled = false\n"
         << "[http]\n  bind-address = \"127.0.0.1:" << http_port_ << "\"\n  log-enabled = false\n"
         << "[continuous_queries]\n  enabled = false\n"
         << "[subscriber]\n  enabled = false\n";
}

std::vector<std::string> InfluxdProcess::argv() const {
    return {"/usr/bin/influxd", "-config", (dir_ / "influxd.conf").string()};
}

void InfluxdProcess::createDatabase(const std::string& name) {
    auto r = httpPost(url() + "/query", "q=" + urlEncode("CREATE DATABASE \"" + name + "\""));
    if (r.status != 200) throw std::runtime_error("CREATE DATABASE failed: " + r.body + r.error);
}

std::vector<nlohmann::json> InfluxdProcess::query(const std::string& db, const std::string& q) {
    auto r = httpGet(url() + "/query?epoch=ns&db=" + urlEncode(db) + "&q=" + urlEncode(q));
    std::vector<nlohmann::json> rows;
    if (r.status != 200) return rows;
    auto doc = nlohmann::json::parse(r.body, nullptr, false);
    if (!doc.is_object() || !doc.contains("results")) return rows;
    for (const auto& result : doc["results"]) {
        if (!result.contains("series")) continue;
        for (const auto& series : result["series"]) {
            for (const auto& values : series["values"]) {
                nlohmann::json row;
                for (size_t i = 0; i < series["columns"].size(); ++i) {
                    row[series["columns"][i].get<std::string>()] = values[i];
                }
                rows.push_back(row);
            }
        }
    }
    return rows;
}

std::string findVictoriaMetrics() {
    return findExecutable("victoria-metrics", "/usr/bin/victoria-metrics");
}

VictoriaProcess::VictoriaProcess() : ServerProcess("victoria", {}), binary_("/usr/bin/victoria-metrics") {}

VictoriaProcess::VictoriaProcess(ServerTls tls) : VictoriaProcess() {
    scheme_ = "https";
    ca_file_ = std::move(tls.ca_file);
    cert_file_ = std::move(tls.cert_file);
    key_file_ = std::move(tls.key_file);
}

VictoriaProcess::VictoriaProcess(std::string binary, fs::path dir)
    : ServerProcess("victoria", std::move(dir)), binary_(std::move(binary)) {}

std::vector<std::string> VictoriaProcess::argv() const {
    std::vector<std::string> args = {binary_,
                                     "-httpListenAddr",
                                     "127.0.0.1:" + std::to_string(http_port_),
                                     "-storageDataPath",
                                     (dir_ / "data").string(),
                                     "-retentionPeriod",
                                     "100y",
                                     "-loggerLevel",
                                     "ERROR"};
    if (scheme_ == "https") args.insert(args.end(), {"-tls", "-tlsCertFile=" + cert_file_, "-tlsKeyFile=" + key_file_});
    return args;
}

std::vector<nlohmann::json> VictoriaProcess::exportSeries(const std::string& selector,
                                                          std::chrono::milliseconds timeout) {
    httpGet(url() + "/internal/force_flush", ca_file_);
    auto r = httpPost(url() + "/api/v1/export", "match[]=" + urlEncode(selector), "application/x-www-form-urlencoded",
                      ca_file_, timeout);
    std::vector<nlohmann::json> out;
    std::stringstream lines(r.body);
    for (std::string line; std::getline(lines, line);) {
        auto j = nlohmann::json::parse(line, nullptr, false);
        if (j.is_object()) out.push_back(j);
    }
    return out;
}

std::optional<std::uint64_t> VictoriaProcess::storedSamples(const std::string& metric) {
    httpGet(url() + "/internal/force_flush", ca_file_);
    auto r = httpPost(url() + "/api/v1/export", "match[]=" + urlEncode(metric), "application/x-www-form-urlencoded",
                      ca_file_, std::chrono::seconds(60));
    if (r.status != 200) return std::nullopt;
    std::uint64_t samples = 0;
    std::istringstream lines(r.body);
    for (std::string line; std::getline(lines, line);) {
        const auto series = nlohmann::json::parse(line, nullptr, false);
        if (series.is_object() && series.contains("timestamps") && series["timestamps"].is_array()) {
            samples += series["timestamps"].size();
        }
    }
    return samples;
}

std::optional<std::uint64_t> VictoriaProcess::influxLinesRead() {
    const auto r = httpGet(url() + "/metrics", ca_file_);
    if (r.status != 200) return std::nullopt;
    static const std::string kKey = "vm_protoparser_rows_read_total{type=\"influx\"} ";
    const std::string body = "\n" + r.body;  // so the first line matches like the others
    const auto pos = body.find("\n" + kKey);
    if (pos == std::string::npos) return std::nullopt;
    return std::strtoull(body.c_str() + pos + 1 + kKey.size(), nullptr, 10);
}

}  // namespace mqs::testing
