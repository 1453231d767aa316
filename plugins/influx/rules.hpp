// The influx rules file: sinks (where points go) and mapping rules (which topics become which points).
// Loaded and checked whole at init and on reload; immutable afterwards.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/json_path.hpp"
#include "influx/line_protocol.hpp"
#include "common/rules_reader.hpp"
#include "influx/timestamp.hpp"
#include "common/topic.hpp"

namespace mqs::influx {

enum class SinkKind { V1, V2 };  // InfluxDB 1.x /write or 2.x /api/v2/write

struct SinkConfig {
    std::string name;  // names the spool directory and the metric subtree
    SinkKind kind = SinkKind::V2;
    std::string url;  // scheme://host:port[/prefix], without the /write path
    std::string database, retention_policy, username, password;  // 1.x
    std::string org, bucket, token;                               // 2.x
    bool gzip = false;
    std::chrono::milliseconds connect_timeout{5000};
    std::chrono::milliseconds request_timeout{10000};
    std::string ca_file;     // PEM bundle for https; empty: the system store
    bool tls_verify = true;  // verify the server certificate and host name
};

struct TagSpec {
    std::string key;
    std::optional<OutputTemplate> text;  // literal or "{capture}" text
    std::optional<JsonPath> path;        // or a payload value
};

struct FieldSpec {
    std::string key;
    JsonPath path;
    std::optional<FieldType> type;  // unset: numbers float, booleans boolean, strings string
};

struct TimestampSpec {
    bool from_payload = false;  // false: the broker's receive time
    JsonPath path = JsonPath::parse("timestamp");
    TimeUnit unit = TimeUnit::Auto;
    bool receive_when_missing = false;  // else a point without a usable timestamp is skipped
};

struct Rule {
    std::string name;
    TopicTemplate topic;
    OutputTemplate measurement;
    std::vector<TagSpec> tags;
    bool all_fields = true;                       // every numeric/boolean top-level field
    std::vector<FieldSpec> fields;                // when all_fields is false
    std::map<std::string, FieldType, std::less<>> types;  // type pinning in all_fields mode (and "value")
    std::vector<std::string> exclude;             // top-level keys never taken as fields
    TimestampSpec timestamp;
};

struct Mapping {
    std::vector<SinkConfig> sinks;
    std::vector<Rule> rules;  // the first rule whose topic matches wins
    std::filesystem::path source;
};

// A rules-file problem: "<file>: <json path>: <problem>" (common/rules_reader.hpp).
using mqs::RulesError;

Mapping loadMapping(const std::filesystem::path& file);
// The same from text (tests); `where` stands for the file name in messages.
Mapping parseMapping(const std::string& text, const std::string& where);

}  // namespace mqs::influx
