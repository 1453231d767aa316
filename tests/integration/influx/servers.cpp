// Child processes for influxd and victoria-metrics, and small libcurl helpers; see servers.hpp.
// Servers run in their own process group and temp dir, stopped with SIGTERM then SIGKILL.
#include "servers.hpp"

#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "broker_process.hpp"

namespace mqs::influx::testing {
namespace {

size_t collect(char* data, size_t size, size_t count, void* out) {
    static_cast<std::string*>(out)->append(data, size * count);
    return size * count;
}

HttpResult request(const std::string& url, const std::string* body, const std::string& content_type, const std::string& ca_file) {
    HttpResult r;
    CURL* curl = curl_easy_init();
    curl_slist* headers = nullptr;
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r.body);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    if (!ca_file.empty()) {
        curl_easy_setopt(curl, CURLOPT_CAINFO, ca_file.c_str());
        // Chain only: some test servers present a certificate for another host name on purpose.
        curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (body) {
        headers = curl_slist_append(headers, ("Content-Type: " + content_type).c_str());
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body->c_str());
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body->size()));
    }
    if (curl_easy_perform(curl) == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return r;
}

}  // namespace

HttpResult httpGet(const std::string& url, const std::string& ca_file) { return request(url, nullptr, "", ca_file); }
HttpResult httpPost(const std::string& url, const std::string& body, const std::string& content_type, const std::string& ca_file) {
    return request(url, &body, content_type, ca_file);
}

std::string urlEncode(const std::string& text) {
    CURL* curl = curl_easy_init();
    char* e = curl_easy_escape(curl, text.c_str(), static_cast<int>(text.size()));
    std::string out = e;
    curl_free(e);
    curl_easy_cleanup(curl);
    return out;
}

ServerProcess::ServerProcess(const std::string& name) {
    char tmpl[] = "/tmp/mqs-influx-XXXXXX";
    if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    dir_ = std::filesystem::path(tmpl) / name;
    std::filesystem::create_directories(dir_);
    http_port_ = mqs::testing::freeTcpPort();
}

ServerProcess::~ServerProcess() {
    stop();
    std::error_code ec;
    std::filesystem::remove_all(dir_.parent_path(), ec);
}

bool ServerProcess::start(std::chrono::milliseconds timeout) {
    if (pid_ > 0) return true;
    auto args = argv();
    pid_ = ::fork();
    if (pid_ == 0) {
        int fd = ::open((dir_ / "server.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        ::dup2(fd, 1);
        ::dup2(fd, 2);
        ::setpgid(0, 0);
        std::vector<char*> raw;
        for (auto& a : args) raw.push_back(a.data());
        raw.push_back(nullptr);
        ::execv(raw[0], raw.data());
        ::_exit(127);
    }
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
        auto r = httpGet(url() + readyPath(), ca_file_);
        if (r.status >= 200 && r.status < 300) return true;
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    stop();
    return false;
}

void ServerProcess::stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 200; ++i) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
}

std::string ServerProcess::log() const {
    std::ifstream in(dir_ / "server.log");
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

InfluxdProcess::InfluxdProcess() : ServerProcess("influxd") {
    rpc_port_ = mqs::testing::freeTcpPort();
    std::ofstream conf(dir_ / "influxd.conf");
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

std::vector<std::string> InfluxdProcess::argv() const { return {"/usr/bin/influxd", "-config", (dir_ / "influxd.conf").string()}; }

void InfluxdProcess::createDatabase(const std::string& name) {
    auto r = httpPost(url() + "/query", "q=" + urlEncode("CREATE DATABASE \"" + name + "\""));
    if (r.status != 200) throw std::runtime_error("CREATE DATABASE failed: " + r.body);
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
                for (size_t i = 0; i < series["columns"].size(); ++i) row[series["columns"][i].get<std::string>()] = values[i];
                rows.push_back(row);
            }
        }
    }
    return rows;
}

VictoriaProcess::VictoriaProcess() : ServerProcess("victoria") {}

VictoriaProcess::VictoriaProcess(ServerTls tls) : ServerProcess("victoria") {
    scheme_ = "https";
    ca_file_ = std::move(tls.ca_file);
    cert_file_ = std::move(tls.cert_file);
    key_file_ = std::move(tls.key_file);
}

std::vector<std::string> VictoriaProcess::argv() const {
    // Warehouse timestamps are from 2024: keep them (the default retention is one month).
    std::vector<std::string> args = {"/usr/bin/victoria-metrics", "-httpListenAddr", "127.0.0.1:" + std::to_string(http_port_),
                                     "-storageDataPath", (dir_ / "data").string(), "-retentionPeriod", "100y",
                                     "-loggerLevel", "ERROR"};
    if (scheme_ == "https") args.insert(args.end(), {"-tls", "-tlsCertFile=" + cert_file_, "-tlsKeyFile=" + key_file_});
    return args;
}

std::vector<nlohmann::json> VictoriaProcess::exportSeries(const std::string& selector) {
    httpGet(url() + "/internal/force_flush", ca_file_);
    auto r = httpPost(url() + "/api/v1/export", "match[]=" + urlEncode(selector), "application/x-www-form-urlencoded", ca_file_);
    std::vector<nlohmann::json> out;
    std::stringstream lines(r.body);
    std::string line;
    while (std::getline(lines, line)) {
        auto j = nlohmann::json::parse(line, nullptr, false);
        if (j.is_object()) out.push_back(j);
    }
    return out;
}

}  // namespace mqs::influx::testing
