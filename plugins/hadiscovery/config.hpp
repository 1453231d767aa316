// Declared options of mosquitto_hadiscovery.so and the parsed, immutable configuration.
// Defaults live only in the option table (config.cpp); docs/hadiscovery.md shows its markdown().
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/options.hpp"
#include "hadiscovery/ha_contract.hpp"

namespace mqs::hadiscovery {

struct Config {
    std::string rules_file;
    std::string instance;
    std::chrono::milliseconds metrics_interval;
    std::string discovery_prefix;
    DiscoveryForm discovery_mode;
    std::string birth_topic;
    std::string birth_payload;
    std::string state_file;  // empty: nothing persisted (user deletions then last until restart)
    std::chrono::milliseconds state_interval;
    std::chrono::milliseconds device_idle_timeout;  // 0: never
    int64_t max_new_devices;                        // per rule and window
    std::chrono::milliseconds new_device_window;
    std::chrono::milliseconds republish_jitter;
    int64_t republish_rate;  // devices per second
    bool dry_run;
    size_t max_state_bytes;  // inventory, deletions and availability bounds
    size_t max_json_bytes;
};

const OptionTable& optionTable();
// Throws ConfigError naming the option.
Config parseConfig(const RawOptions& options);

}  // namespace mqs::hadiscovery
