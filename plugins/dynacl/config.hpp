// Declared options of mosquitto_dynacl.so and the parsed, immutable configuration.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "common/options.hpp"

namespace mqs::dynacl {

struct Config {
    std::string config_file;  // dynamic-security.json, the same option name as Mosquitto's plugin
    size_t cache_bytes_per_client;
    size_t cache_total_bytes;
    int password_iterations;  // for passwords set through $CONTROL
    std::string audit_file;   // empty: no audit log
    bool kick_like_dynsec;    // disconnect affected clients on a change, as dynamic-security does
    std::string instance;     // names the $SYS metrics subtree
    std::chrono::milliseconds metrics_interval;

    size_t login_cache_bytes;      // verified-credentials cache; 0: off
    bool upgrade_password_hashes;  // rehash weaker hashes at password_iterations on login
};

const OptionTable& optionTable();
// Throws ConfigError naming the option.
Config parseConfig(const RawOptions& options);

}  // namespace mqs::dynacl
