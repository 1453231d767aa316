// Topic and payload generation for loadgen: expands topic templates over zones and sensors
// and produces warehouse / IPWatch JSON whose values drift slowly, like real sensors.
#include "bench/payload.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>

namespace mqs::bench {

std::optional<PayloadKind> parsePayloadKind(const std::string& name) {
    if (name == "warehouse") {
        return PayloadKind::Warehouse;
    }
    if (name == "ipwatch") {
        return PayloadKind::IpWatch;
    }
    return std::nullopt;
}

const char* payloadKindName(PayloadKind kind) {
    return kind == PayloadKind::Warehouse ? "warehouse" : "ipwatch";
}

std::string defaultTopicTemplate(PayloadKind kind) {
    return kind == PayloadKind::Warehouse ? "entrepot/{zone}/{sensor}/v1" : "ipwatch/device/{ip}/status";
}

namespace {

void replaceAll(std::string& text, const std::string& from, const std::string& to) {
    for (size_t pos = text.find(from); pos != std::string::npos; pos = text.find(from, pos + to.size())) {
        text.replace(pos, from.size(), to);
    }
}

} // namespace

TopicExpansion expandTopics(const std::string& topicTemplate, const std::vector<std::string>& zones,
                            int sensors) {
    TopicExpansion result;
    if (zones.empty() || sensors < 1) {
        result.error = "need at least one zone and one sensor";
        return result;
    }
    if (topicTemplate.find_first_of("+#") != std::string::npos) {
        result.error = "topic template must not contain wildcards";
        return result;
    }
    std::set<std::string> seen;
    int index = 0;
    for (int z = 0; z < static_cast<int>(zones.size()); ++z) {
        for (int s = 1; s <= sensors; ++s) {
            char sensor[32];
            char ip[32];
            std::snprintf(sensor, sizeof sensor, "sensor%02d", s);
            // 10.<zone>.<hi>.<lo> keeps addresses unique for up to 65535 sensors per zone.
            std::snprintf(ip, sizeof ip, "10.%d.%d.%d", z + 1, s / 256, s % 256);
            std::string name = topicTemplate;
            replaceAll(name, "{zone}", zones[static_cast<size_t>(z)]);
            replaceAll(name, "{sensor}", sensor);
            replaceAll(name, "{ip}", ip);
            replaceAll(name, "{index}", std::to_string(index));
            if (!seen.insert(name).second) {
                result.error = "topic template '" + topicTemplate +
                               "' yields duplicate topics; use {zone} and {sensor} (or {ip}/{index})";
                result.topics.clear();
                return result;
            }
            result.topics.push_back({name, z, s});
            ++index;
        }
    }
    return result;
}

std::string wildcardFilter(const std::string& topicTemplate) {
    std::string out;
    size_t start = 0;
    while (true) {
        size_t slash = topicTemplate.find('/', start);
        std::string level = topicTemplate.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
        out += level.find('{') != std::string::npos ? "+" : level;
        if (slash == std::string::npos) {
            break;
        }
        out += '/';
        start = slash + 1;
    }
    return out;
}

SensorModel::SensorModel(PayloadKind kind, std::uint64_t seed) : kind_(kind), rng_(seed) {
    std::uniform_real_distribution<double> spread(-2.0, 2.0);
    tempBase_ = 21.0 + spread(rng_);
    temp_ = tempBase_;
    hum_ = 45.0 + 4.0 * spread(rng_);
    cpu_ = 20.0 + 5.0 * spread(rng_);
    ram_ = 40.0 + 5.0 * spread(rng_);
    disk_ = 50.0 + 10.0 * spread(rng_);
}

double SensorModel::walk(double value, double base, double step, double lo, double hi) {
    // Weak pull towards base: stationary spread is roughly step / sqrt(2 * 0.002).
    value += step * noise_(rng_) + 0.002 * (base - value);
    return std::clamp(value, lo, hi);
}

void SensorModel::next(std::int64_t key, std::string& out) {
    char buf[192];
    int len = 0;
    if (kind_ == PayloadKind::Warehouse) {
        temp_ = walk(temp_, tempBase_, 0.08, -10.0, 45.0);
        hum_ = walk(hum_, 45.0, 0.15, 5.0, 95.0);
        const int alert = temp_ >= 26.0 ? 2 : (temp_ >= 24.0 ? 1 : 0);
        len = std::snprintf(buf, sizeof buf,
                            "{\"timestamp\":%lld,\"temp\":%.2f,\"hum\":%.1f,\"alert_level\":%d,\"version\":1}",
                            static_cast<long long>(key), temp_, hum_, alert);
    } else {
        cpu_ = walk(cpu_, 20.0, 1.5, 0.0, 100.0);
        ram_ = walk(ram_, 40.0, 0.3, 1.0, 99.0);
        disk_ = walk(disk_, 50.0, 0.02, 1.0, 99.9);
        len = std::snprintf(buf, sizeof buf, "{\"cpu\":%.1f,\"ram\":%.1f,\"disk\":%.1f,\"uptime\":%lld}", cpu_,
                            ram_, disk_, static_cast<long long>(key));
    }
    out.assign(buf, static_cast<size_t>(std::max(len, 0)));
}

std::optional<std::int64_t> SensorModel::extractKey(PayloadKind kind, const char* data, int len) {
    if (data == nullptr || len <= 0) {
        return std::nullopt;
    }
    const char* field = kind == PayloadKind::Warehouse ? "\"timestamp\":" : "\"uptime\":";
    const size_t fieldLen = std::strlen(field);
    const void* hit = memmem(data, static_cast<size_t>(len), field, fieldLen);
    if (hit == nullptr) {
        return std::nullopt;
    }
    const char* p = static_cast<const char*>(hit) + fieldLen;
    const char* end = data + len;
    std::int64_t value = 0;
    bool any = false;
    for (; p < end && *p >= '0' && *p <= '9'; ++p) {
        value = value * 10 + (*p - '0');
        any = true;
    }
    return any ? std::optional<std::int64_t>(value) : std::nullopt;
}

} // namespace mqs::bench
