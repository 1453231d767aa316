// The rules file of mosquitto_hadiscovery.so: topic templates with named captures mapped to one Home
// Assistant device each, with its entities. Format in docs/hadiscovery.md; parsed once, immutable.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/json_path.hpp"
#include "common/rules_reader.hpp"
#include "common/topic.hpp"
#include "hadiscovery/ha_contract.hpp"

namespace mqs::hadiscovery {

struct EntitySpec {
    std::string id;  // component key and unique_id suffix, [a-zA-Z0-9_-]+, unique within the rule
    Platform platform = Platform::Sensor;
    std::string name;                           // empty: the entity takes the device's name
    std::optional<JsonPath> field;              // the payload value it shows (sensor, binary_sensor)
    std::string value_template;                 // explicit Home Assistant template; else built from `field`
    std::optional<OutputTemplate> state_topic;  // default: the topic the message came on
    std::string unit, device_class, state_class, entity_category, icon;
    std::optional<int> display_precision;
    bool json_attributes = false;         // the state topic's JSON object as the entity's attributes
    bool use_availability = true;         // false: stays available itself (a connectivity sensor)
    bool expire = true;                   // takes the rule's expire_after (sensors, binary sensors)
    std::string payload_on, payload_off;  // binary_sensor; empty: Home Assistant's defaults
    // button
    std::optional<OutputTemplate> command_topic;
    std::string payload_press;
    int qos = 0;
    bool retain = false;
    // Whether the field must hold a number for the entity to exist (a unit, numeric class or state class).
    bool numeric = false;
};

struct AvailabilitySpec {
    OutputTemplate topic;
    std::string payload_available = "online";
    std::string payload_not_available = "offline";
    // The plugin publishes `offline` (retained) when the client feeding the device disconnects, and
    // `online` when it feeds it again: devices without a last will.
    bool publish_on_disconnect = true;
};

enum class ExpireMode { None, Fixed, Observed };

struct Rule {
    std::string name;
    TopicTemplate topic;
    OutputTemplate device_id;            // rendered, then sanitizeId()
    std::string device_id_prefix;        // literal start of device_id (load-time collision check)
    std::optional<JsonPath> name_field;  // device name from the payload when present
    OutputTemplate device_name;          // otherwise
    std::string manufacturer, model;
    std::optional<OutputTemplate> suggested_area;
    std::optional<AvailabilitySpec> availability;
    ExpireMode expire = ExpireMode::None;
    int64_t expire_seconds = 0;  // ExpireMode::Fixed
    bool infer = false;          // numeric top-level fields not named by an entity become sensors
    std::vector<EntitySpec> entities;
};

struct RuleSet {
    std::vector<Rule> rules;
};

// Throws RulesError located at the offending key, the rule's name added to the problem.
RuleSet loadRuleSet(const std::filesystem::path& file);
RuleSet parseRuleSet(std::string_view text, const std::string& file);

// Inference table: a field name ("temp", "humidity", "battery", ...) -> sensor device class, unit and
// state class; nullptr when the name is not in the table.
struct InferredSensor {
    const char* device_class;
    const char* unit;
    const char* state_class;
};
const InferredSensor* inferFromFieldName(std::string_view field);

}  // namespace mqs::hadiscovery
