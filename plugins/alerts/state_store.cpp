// Snapshot format (JSON lines) and the state writer thread; see state_store.hpp and docs/alerts.md.
// Durability: a crash loses changes newer than the last completed write (state_interval + write time).
#include "alerts/state_store.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/durable_file.hpp"

namespace mqs::alerts {

using nlohmann::json;

namespace {
constexpr const char* kFormat = "mosquitto_alerts-state";
constexpr int kVersion = 1;

std::string hex(uint64_t v) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
    return buf;
}
}  // namespace

std::string serializeRecord(const DeviceRecord& r) {
    json j = {{"rule", r.rule}, {"device", r.device}};
    if (r.removed) {
        j["removed"] = true;
        return j.dump();
    }
    if (!r.active_level.empty()) {
        j["level"] = r.active_level;
        j["since"] = r.active_since;
        j["samples"] = r.active_samples;
    }
    if (r.has_last_value) j["value"] = r.last_value;
    j["seen"] = r.last_seen;
    if (r.last_notify) j["notified"] = r.last_notify;
    if (r.cleared_at) j["cleared"] = r.cleared_at;
    if (r.deadman_active) j["deadman"] = true;
    if (r.invalid_active) j["invalid"] = true;
    if (r.has_hash) j["hash"] = hex(r.last_hash);
    if (!r.pending.empty()) {
        json p = json::array();
        for (const auto& e : r.pending) p.push_back({{"level", e.level}, {"count", e.count}, {"since", e.since}});
        j["pending"] = p;
    }
    return j.dump();
}

std::vector<DeviceRecord> parseSnapshot(const std::string& text, const std::string& where) {
    std::vector<DeviceRecord> out;
    std::istringstream in(text);
    std::string line;
    size_t number = 0;
    bool header = false;
    while (std::getline(in, line)) {
        ++number;
        if (line.empty()) continue;
        const std::string at = where + ":" + std::to_string(number);
        json j;
        try {
            j = json::parse(line);
        } catch (const json::exception& e) {
            throw StateError(at + ": not valid JSON: " + e.what());
        }
        try {
            if (!header) {
                if (j.value("format", "") != kFormat || j.value("version", 0) != kVersion) {
                    throw StateError(at + ": not a " + std::string(kFormat) + " version " + std::to_string(kVersion) + " file");
                }
                header = true;
                continue;
            }
            DeviceRecord r;
            r.rule = j.at("rule").get<std::string>();
            r.device = j.at("device").get<std::string>();
            r.removed = j.value("removed", false);
            r.active_level = j.value("level", "");
            r.active_since = j.value("since", int64_t{0});
            r.active_samples = j.value("samples", uint32_t{0});
            if (j.contains("value")) {
                r.has_last_value = true;
                r.last_value = j["value"].get<double>();
            }
            r.last_seen = j.value("seen", int64_t{0});
            r.last_notify = j.value("notified", int64_t{0});
            r.cleared_at = j.value("cleared", int64_t{0});
            r.deadman_active = j.value("deadman", false);
            r.invalid_active = j.value("invalid", false);
            if (j.contains("hash")) {
                r.has_hash = true;
                r.last_hash = std::stoull(j["hash"].get<std::string>(), nullptr, 16);
            }
            if (j.contains("pending")) {
                for (const auto& p : j["pending"]) {
                    r.pending.push_back({p.at("level").get<std::string>(), p.at("count").get<uint32_t>(), p.at("since").get<int64_t>()});
                }
            }
            out.push_back(std::move(r));
        } catch (const json::exception& e) {
            throw StateError(at + ": bad record: " + e.what());
        } catch (const std::logic_error& e) {  // stoull
            throw StateError(at + ": bad record: " + e.what());
        }
    }
    if (!header && number > 0) throw StateError(where + ": no header line");
    return out;
}

std::vector<DeviceRecord> loadSnapshot(const std::filesystem::path& file) {
    std::error_code ec;
    if (!std::filesystem::exists(file, ec)) return {};
    std::ifstream in(file, std::ios::binary);
    if (!in) throw StateError(file.string() + ": cannot open: " + std::strerror(errno));
    std::stringstream text;
    text << in.rdbuf();
    return parseSnapshot(text.str(), file.string());
}

void writeSnapshot(const std::filesystem::path& file, const std::vector<const DeviceRecord*>& records) {
    std::string text = json({{"format", kFormat}, {"version", kVersion}}).dump() + "\n";
    for (const auto* r : records) text += serializeRecord(*r) + "\n";

    if (std::string problem = writeFileAtomically(file.string(), text); !problem.empty()) throw StateError(problem);
}

StateWriter::StateWriter(std::filesystem::path file, std::chrono::milliseconds interval, size_t max_pending,
                         std::vector<DeviceRecord> initial)
    : file_(std::move(file)), max_pending_(max_pending) {
    for (auto& r : initial) {
        if (!r.removed) mirror_[{r.rule, r.device}] = std::move(r);
    }
    worker_ = std::make_unique<PeriodicWorker>(interval, [this] { run(); });
}

StateWriter::~StateWriter() { stop(); }

void StateWriter::stop() {
    if (worker_) worker_->stop();
}

void StateWriter::submit(std::vector<DeviceRecord> changes) {
    if (changes.empty()) return;
    {
        std::lock_guard lock(mutex_);
        if (pending_records_ + changes.size() > max_pending_) {
            // The worker is far behind: drop the queue and rebuild from a full export.
            batches_.clear();
            pending_records_ = 0;
            resync_ = true;
            return;
        }
        pending_records_ += changes.size();
        batches_.emplace_back(false, std::move(changes));
    }
    // The snapshot follows the broker's state_interval; the worker's own timer only retries failures.
    if (worker_) worker_->wake();
}

void StateWriter::replaceAll(std::vector<DeviceRecord> all) {
    std::lock_guard lock(mutex_);
    batches_.clear();
    pending_records_ = all.size();
    batches_.emplace_back(true, std::move(all));
}

std::string StateWriter::takeError() {
    std::lock_guard lock(mutex_);
    return std::exchange(error_, std::string());
}

void StateWriter::run() {
    std::deque<std::pair<bool, std::vector<DeviceRecord>>> taken;
    {
        std::lock_guard lock(mutex_);
        taken.swap(batches_);
        pending_records_ = 0;
    }
    for (auto& [replace, records] : taken) {
        if (replace) mirror_.clear();
        for (auto& r : records) {
            if (r.removed) mirror_.erase({r.rule, r.device});
            else mirror_[{r.rule, r.device}] = std::move(r);
        }
        mirror_dirty_ = true;
    }
    if (!mirror_dirty_) return;
    std::vector<const DeviceRecord*> all;
    all.reserve(mirror_.size());
    for (const auto& [key, r] : mirror_) all.push_back(&r);
    try {
        writeSnapshot(file_, all);
        mirror_dirty_ = false;
        ++writes_;
    } catch (const std::exception& e) {
        ++failures_;  // mirror stays dirty: the next run retries
        std::lock_guard lock(mutex_);
        error_ = e.what();
    }
}

}  // namespace mqs::alerts
