// Declared options of mosquitto_alerts.so and the parsed, immutable configuration.
// Defaults live only in the option table (config.cpp); docs/alerts.md shows its markdown().
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "common/options.hpp"

namespace mqs::alerts {

struct Config {
    std::string rules_file;
    std::string instance;                         // names the $SYS metrics subtree
    std::chrono::milliseconds metrics_interval;
    std::string state_file;                       // empty: no persistence
    std::chrono::milliseconds state_interval;     // snapshot period (the durability window)
    size_t max_devices;                           // cap on tracked (rule, device) pairs
    size_t max_key_bytes;                         // cap on one device key's bytes
    std::chrono::milliseconds idle_expiry;        // state of quiet devices without an alert is dropped
    std::chrono::milliseconds duplicate_window;   // default for rules without their own
    size_t max_json_bytes;
    size_t max_json_depth;
};

const OptionTable& optionTable();
// Throws ConfigError naming the option.
Config parseConfig(const RawOptions& options);

}  // namespace mqs::alerts
