// Device records of the state snapshot; see device_records.hpp.
#include "hadiscovery/device_records.hpp"

#include <set>

#include <nlohmann/json.hpp>

#include "hadiscovery/state_file_writer.hpp"

namespace mqs::hadiscovery {

namespace {

constexpr size_t kRecordOverhead = 160;  // the struct, vectors' and strings' headers
constexpr size_t kMaxListEntries = 64;   // a rule has at most 64 entities; inference adds fewer

}  // namespace

size_t DeviceRecord::bytes() const {
    size_t n = kRecordOverhead + id.size() + rule.size() + topic.size() + name.size();
    for (const auto& e : entities) n += 32 + e.size();
    for (const auto& f : inferred) n += 32 + f.size();
    return n;
}

std::string serializeDeviceRecords(const std::vector<DeviceRecord>& records) {
    std::string out = "[";
    bool first = true;
    for (const auto& r : records) {
        nlohmann::json e = {{"id", r.id},
                            {"rule", r.rule},
                            {"topic", r.topic},
                            {"name", r.name},
                            {"entities", r.entities},
                            {"inferred", r.inferred},
                            {"expire_after_s", r.expire_after_s}};
        out += first ? "\n" : ",\n";
        first = false;
        out += e.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
    out += "]";
    return out;
}

std::vector<DeviceRecord> snapshot::deviceRecordsFrom(const nlohmann::json& root, const std::string& where,
                                                      size_t max_bytes) {
    std::vector<DeviceRecord> records;
    const auto it = root.find("devices");
    if (it == root.end()) return records;
    if (!it->is_array()) throw SnapshotError(where + ": \"devices\" is not an array");
    std::set<std::string> ids;
    size_t total = 0;
    for (size_t i = 0; i < it->size(); ++i) {
        const auto& e = (*it)[i];
        const std::string at = where + ": devices[" + std::to_string(i) + "]";
        if (!e.is_object()) throw SnapshotError(at + " is not an object");
        const auto text = [&](const char* key, bool may_be_empty) {
            const auto f = e.find(key);
            if (f == e.end() || !f->is_string()) throw SnapshotError(at + ": \"" + key + "\" missing or not a string");
            if (!may_be_empty && f->get_ref<const std::string&>().empty())
                throw SnapshotError(at + ": \"" + key + "\" is empty");
            return f->get<std::string>();
        };
        const auto list = [&](const char* key) {
            const auto f = e.find(key);
            if (f == e.end() || !f->is_array() || f->size() > kMaxListEntries)
                throw SnapshotError(at + ": \"" + key + "\" missing, not an array or longer than 64");
            std::vector<std::string> values;
            for (const auto& v : *f) {
                if (!v.is_string() || v.get_ref<const std::string&>().empty())
                    throw SnapshotError(at + ": \"" + key + "\" holds something other than a non-empty string");
                values.push_back(v.get<std::string>());
            }
            return values;
        };
        DeviceRecord r;
        r.id = text("id", false);
        r.rule = text("rule", false);
        r.topic = text("topic", false);
        r.name = text("name", true);
        r.entities = list("entities");
        r.inferred = list("inferred");
        const auto expire = e.find("expire_after_s");
        if (expire == e.end() || !expire->is_number_integer() || expire->get<int64_t>() < 0 ||
            (expire->is_number_unsigned() && expire->get<uint64_t>() > uint64_t(INT64_MAX)))
            throw SnapshotError(at + ": \"expire_after_s\" missing or not a non-negative integer");
        r.expire_after_s = expire->get<int64_t>();
        if (!ids.insert(r.id).second) throw SnapshotError(at + ": device '" + r.id + "' appears twice");
        total += r.bytes();
        if (total > max_bytes) break;  // the bound was lowered: the rest come back at their next message
        records.push_back(std::move(r));
    }
    return records;
}

}  // namespace mqs::hadiscovery
