// Topic and payload generation for loadgen: expands topic templates over zones and sensors
// and produces warehouse / IPWatch JSON whose values drift slowly, like real sensors.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace mqs::bench {

enum class PayloadKind { Warehouse, IpWatch };

std::optional<PayloadKind> parsePayloadKind(const std::string& name);
const char* payloadKindName(PayloadKind kind);
std::string defaultTopicTemplate(PayloadKind kind);

struct TopicSpec {
    std::string name;
    int zoneIndex = 0;
    int sensorIndex = 0;
};

// Expands {zone}, {sensor}, {ip} and {index} over zones x sensors. Returns an error text
// instead of topics when the template yields duplicates or is not a valid topic name.
struct TopicExpansion {
    std::vector<TopicSpec> topics;
    std::string error;
};
TopicExpansion expandTopics(const std::string& topicTemplate, const std::vector<std::string>& zones,
                            int sensors);

// The template with each placeholder-bearing level replaced by '+': what a subscriber
// must use to see every generated topic.
std::string wildcardFilter(const std::string& topicTemplate);

// Mean-reverting random walk per sensor: values wander around a per-sensor base, so
// threshold rules (temp > 25, cpu > 90, ...) fire now and then but not constantly.
class SensorModel {
public:
    SensorModel(PayloadKind kind, std::uint64_t seed);

    // Writes the next payload into out; `key` must be non-decreasing for this sensor and
    // is embedded as "timestamp" (warehouse, epoch ms) or "uptime" (IPWatch, strictly increasing).
    void next(std::int64_t key, std::string& out);

    // The embedded key of a payload produced by next(), or nullopt if absent.
    static std::optional<std::int64_t> extractKey(PayloadKind kind, const char* data, int len);

private:
    double walk(double value, double base, double step, double lo, double hi);

    PayloadKind kind_;
    std::mt19937_64 rng_;
    std::normal_distribution<double> noise_{0.0, 1.0};
    double tempBase_ = 21.0;
    double temp_ = 21.0;
    double hum_ = 45.0;
    double cpu_ = 20.0;
    double ram_ = 40.0;
    double disk_ = 50.0;
};

} // namespace mqs::bench
