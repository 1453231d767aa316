// The owned discovery configs and the state snapshot's text; see inventory.hpp.
#include "hadiscovery/inventory.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include <nlohmann/json.hpp>

#include "hadiscovery/snapshot_json.hpp"

namespace mqs::hadiscovery {

namespace {

std::string hashText(uint64_t hash) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(hash));
    return buf;
}

bool parseHash(const std::string& text, uint64_t& out) {
    if (text.empty() || text.size() > 16) return false;
    uint64_t v = 0;
    for (const char ch : text) {
        int d;
        if (ch >= '0' && ch <= '9') {
            d = ch - '0';
        } else if (ch >= 'a' && ch <= 'f') {
            d = ch - 'a' + 10;
        } else if (ch >= 'A' && ch <= 'F') {
            d = ch - 'A' + 10;
        } else {
            return false;
        }
        v = (v << 4) | static_cast<uint64_t>(d);
    }
    out = v;
    return true;
}

// Invalid UTF-8 (never in a topic; possible in an id taken from a payload) is replaced, not thrown on.
std::string dumpJson(const nlohmann::json& j) {
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

namespace snapshot {

nlohmann::json parseChecked(const std::string& text, const std::string& where) {
    nlohmann::json root = nlohmann::json::parse(text, nullptr, false);
    if (root.is_discarded()) throw SnapshotError(where + ": not valid JSON (truncated or corrupt state file)");
    if (!root.is_object()) throw SnapshotError(where + ": not a JSON object");
    const auto format = root.find("format");
    if (format == root.end() || !format->is_string() || format->get_ref<const std::string&>() != kFormat) {
        throw SnapshotError(where + ": \"format\" is not \"" + kFormat + "\"");
    }
    const auto version = root.find("version");
    if (version == root.end() || !version->is_number_integer()) {
        throw SnapshotError(where + ": \"version\" missing or not an integer");
    }
    if (version->get<int64_t>() != kSnapshotVersion) {
        throw SnapshotError(where + ": unsupported \"version\" " + std::to_string(version->get<int64_t>()) +
                            " (this plugin reads " + std::to_string(kSnapshotVersion) + ")");
    }
    return root;
}

}  // namespace snapshot

Inventory::Inventory(size_t max_bytes) : max_bytes_(max_bytes) {}

bool Inventory::owns(std::string_view topic) const {
    return configs_.find(topic) != configs_.end();
}

const Inventory::OwnedConfig* Inventory::find(std::string_view topic) const {
    const auto it = configs_.find(topic);
    return it == configs_.end() ? nullptr : &it->second;
}

bool Inventory::record(OwnedConfig c) {
    const Recorded r = recordDetailed(std::move(c));
    return r == Recorded::New || r == Recorded::Changed;
}

Inventory::Recorded Inventory::recordDetailed(OwnedConfig c) {
    if (c.topic.empty() || c.device_id.empty()) {
        ++refusals_;
        return Recorded::Refused;
    }
    const auto it = configs_.find(c.topic);
    if (it == configs_.end()) {
        const size_t cost = entryBytes(c);
        if (bytes_ + cost > max_bytes_) {
            ++refusals_;
            return Recorded::Refused;
        }
        bytes_ += cost;
        indexAdd(c);
        std::string topic = c.topic;
        configs_.emplace(std::move(topic), std::move(c));
        ++changes_;
        return Recorded::New;
    }
    OwnedConfig& old = it->second;
    const size_t after = bytes_ - entryBytes(old) + entryBytes(c);
    if (after > max_bytes_) {
        ++refusals_;
        return Recorded::Refused;
    }
    const bool changed = old.payload_hash != c.payload_hash;
    if (old.device_id != c.device_id) {
        indexRemove(old);
        indexAdd(c);
    }
    c.last_seen_ms = std::max(old.last_seen_ms, c.last_seen_ms);
    if (changed || old.device_id != c.device_id || old.rule != c.rule) ++changes_;
    bytes_ = after;
    old = std::move(c);
    return changed ? Recorded::Changed : Recorded::Unchanged;
}

void Inventory::indexAdd(const OwnedConfig& c) {
    auto it = devices_.find(c.device_id);
    if (it == devices_.end()) it = devices_.emplace(c.device_id, std::set<std::string>{}).first;
    it->second.insert(c.topic);
}

void Inventory::indexRemove(const OwnedConfig& c) {
    const auto it = devices_.find(c.device_id);
    if (it == devices_.end()) return;
    it->second.erase(c.topic);
    if (it->second.empty()) devices_.erase(it);
}

void Inventory::touchDevice(std::string_view device_id, int64_t now_ms) {
    const auto dev = devices_.find(device_id);
    if (dev == devices_.end()) return;
    for (const auto& topic : dev->second) {
        const auto it = configs_.find(topic);
        if (it != configs_.end() && it->second.last_seen_ms < now_ms) it->second.last_seen_ms = now_ms;
    }
}

std::vector<std::string> Inventory::forget(std::string_view device_id) {
    std::vector<std::string> topics;
    const auto dev = devices_.find(device_id);
    if (dev == devices_.end()) return topics;
    topics.assign(dev->second.begin(), dev->second.end());
    devices_.erase(dev);
    ++changes_;
    for (const auto& topic : topics) {
        const auto it = configs_.find(topic);
        if (it == configs_.end()) continue;
        bytes_ -= entryBytes(it->second);
        configs_.erase(it);
    }
    return topics;
}

bool Inventory::forgetTopic(std::string_view topic) {
    const auto it = configs_.find(topic);
    if (it == configs_.end()) return false;
    indexRemove(it->second);
    bytes_ -= entryBytes(it->second);
    configs_.erase(it);
    ++changes_;
    return true;
}

std::vector<std::string> Inventory::devicesIdleSince(int64_t cutoff_ms) const {
    std::vector<std::string> idle;
    for (const auto& [device, topics] : devices_) {
        int64_t last = INT64_MIN;
        for (const auto& topic : topics) {
            const auto it = configs_.find(topic);
            if (it != configs_.end()) last = std::max(last, it->second.last_seen_ms);
        }
        if (last < cutoff_ms) idle.push_back(device);
    }
    return idle;
}

std::vector<std::string> Inventory::devicesOfRule(std::string_view rule) const {
    std::vector<std::string> found;
    for (const auto& [device, topics] : devices_) {
        for (const auto& topic : topics) {
            const auto it = configs_.find(topic);
            if (it != configs_.end() && it->second.rule == rule) {
                found.push_back(device);
                break;
            }
        }
    }
    return found;
}

std::vector<std::string> Inventory::devices() const {
    std::vector<std::string> out;
    out.reserve(devices_.size());
    for (const auto& [device, topics] : devices_) out.push_back(device);
    return out;
}

std::vector<std::string> Inventory::topicsOf(std::string_view device_id) const {
    const auto dev = devices_.find(device_id);
    if (dev == devices_.end()) return {};
    return {dev->second.begin(), dev->second.end()};
}

std::string Inventory::serialize() const {
    return serializeState(*this, UserDeletions(0, 0));
}

Inventory Inventory::parse(const std::string& text, const std::string& where, size_t max_bytes) {
    return snapshot::inventoryFrom(snapshot::parseChecked(text, where), where, max_bytes);
}

Inventory snapshot::inventoryFrom(const nlohmann::json& root, const std::string& where, size_t max_bytes) {
    using OwnedConfig = Inventory::OwnedConfig;
    Inventory result(max_bytes);
    const auto configs = root.find("configs");
    if (configs == root.end() || !configs->is_array()) {
        throw SnapshotError(where + ": \"configs\" missing or not an array");
    }
    for (size_t i = 0; i < configs->size(); ++i) {
        const auto& e = (*configs)[i];
        const std::string at = where + ": configs[" + std::to_string(i) + "]";
        if (!e.is_object()) throw SnapshotError(at + " is not an object");
        const auto text_field = [&](const char* key, bool may_be_empty) {
            const auto f = e.find(key);
            if (f == e.end() || !f->is_string()) {
                throw SnapshotError(at + ": \"" + key + "\" missing or not a string");
            }
            if (!may_be_empty && f->get_ref<const std::string&>().empty()) {
                throw SnapshotError(at + ": \"" + key + "\" is empty");
            }
            return f->get<std::string>();
        };
        OwnedConfig c;
        c.topic = text_field("topic", false);
        c.device_id = text_field("device", false);
        c.rule = text_field("rule", true);
        if (!parseHash(text_field("hash", false), c.payload_hash)) {
            throw SnapshotError(at + ": \"hash\" is not 1 to 16 hexadecimal digits");
        }
        const auto seen = e.find("last_seen_ms");
        if (seen == e.end() || !seen->is_number_integer() ||
            (seen->is_number_unsigned() && seen->get<uint64_t>() > uint64_t(INT64_MAX))) {
            throw SnapshotError(at + ": \"last_seen_ms\" missing or not an integer");
        }
        c.last_seen_ms = seen->get<int64_t>();
        if (result.owns(c.topic)) throw SnapshotError(at + ": topic '" + c.topic + "' appears twice");
        result.recordDetailed(std::move(c));  // over the limit: dropped and counted
    }
    return result;
}

StateSnapshot snapshotOf(const Inventory& inventory, const UserDeletions& deletions,
                         std::vector<DeviceRecord> devices) {
    StateSnapshot snap;
    snap.configs.reserve(inventory.configCount());
    for (const auto& entry : inventory.configs()) snap.configs.push_back(entry.second);
    snap.deleted = deletions.list();
    snap.devices = std::move(devices);
    return snap;
}

std::string StateSnapshot::render() const {
    std::string out = std::string("{\"format\":\"") + snapshot::kFormat +
                      "\",\"version\":" + std::to_string(kSnapshotVersion) + ",\"configs\":[";
    bool first = true;
    for (const auto& c : configs) {
        nlohmann::json e = {{"topic", c.topic},
                            {"device", c.device_id},
                            {"rule", c.rule},
                            {"hash", hashText(c.payload_hash)},
                            {"last_seen_ms", c.last_seen_ms}};
        out += first ? "\n" : ",\n";  // one config a line: readable, and diffs stay small
        first = false;
        out += dumpJson(e);
    }
    out += "],\n\"deleted\":" + dumpJson(nlohmann::json(deleted)) + ",\n\"devices\":" +
           serializeDeviceRecords(devices) + "}\n";
    return out;
}

std::string serializeState(const Inventory& inventory, const UserDeletions& deletions,
                           std::vector<DeviceRecord> devices) {
    return snapshotOf(inventory, deletions, std::move(devices)).render();
}

LoadedState parseState(const std::string& text, const std::string& where, size_t inventory_max_bytes,
                       size_t deletions_max_count, size_t deletions_max_bytes) {
    const nlohmann::json root = snapshot::parseChecked(text, where);
    return LoadedState{snapshot::inventoryFrom(root, where, inventory_max_bytes),
                       snapshot::deletionsFrom(root, where, deletions_max_count, deletions_max_bytes),
                       snapshot::deviceRecordsFrom(root, where, inventory_max_bytes)};
}

LoadedState loadStateFile(const std::string& path, size_t inventory_max_bytes, size_t deletions_max_count,
                          size_t deletions_max_bytes) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec) && !ec) {
        return LoadedState{Inventory(inventory_max_bytes), UserDeletions(deletions_max_count, deletions_max_bytes)};
    }
    // Escaping can make the text longer than the memory estimate, but not by this much: a file like this was
    // not written by us, and reading it whole could take all the memory.
    const uintmax_t limit = 8 * (2 * uintmax_t(inventory_max_bytes) + deletions_max_bytes) + (1u << 20);
    const uintmax_t size = std::filesystem::file_size(path, ec);
    if (!ec && size > limit) {
        throw SnapshotError(path + ": " + std::to_string(size) + " bytes, more than the configured limits allow (" +
                            std::to_string(limit) + ")");
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) throw SnapshotError(path + ": cannot open: " + std::strerror(errno));
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) throw SnapshotError(path + ": cannot read: " + std::strerror(errno));
    return parseState(text.str(), path, inventory_max_bytes, deletions_max_count, deletions_max_bytes);
}

}  // namespace mqs::hadiscovery
