// Declared options of mosquitto_validate.so and the parsed, immutable configuration.
#pragma once

#include <chrono>
#include <string>

#include "common/broker/broker_version.hpp"
#include "common/options.hpp"

namespace mqs::validate {

struct Config {
    std::string rules_file;
    std::string instance;                  // names the $SYS metrics subtree
    std::chrono::milliseconds metrics_interval;
    size_t max_json_bytes;
    size_t max_json_depth;
    size_t max_errors;                     // errors listed per failing rule
    size_t dead_letter_payload_limit;      // original payload bytes copied into an envelope
    broker::AclNeighbours will_check;      // whether and how Wills are checked (MOSQ_EVT_ACL_CHECK)
};

const OptionTable& optionTable();
// Throws ConfigError naming the option.
Config parseConfig(const RawOptions& options);

}  // namespace mqs::validate
