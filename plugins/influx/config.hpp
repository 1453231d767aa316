// Declared options of mosquitto_influx.so and the parsed, immutable configuration.
#pragma once

#include <chrono>
#include <string>

#include "influx/mapper.hpp"
#include "common/options.hpp"
#include "influx/pipeline.hpp"
#include "influx/timestamp.hpp"

namespace mqs::influx {

// What the broker thread does with a point when a sink's queue is full (its spool and memory too).
enum class SpoolFullPolicy {
    Drop,        // the message is delivered to subscribers but not forwarded; counted in dropped
    Disconnect,  // the publisher is disconnected before its PUBACK: a QoS 1/2 publisher resends later
};

struct Config {
    std::string rules_file;
    std::string instance;
    std::string spool_dir;
    Precision precision = Precision::Ns;
    SpoolFullPolicy spool_full_policy = SpoolFullPolicy::Disconnect;
    std::chrono::milliseconds metrics_interval{10000};
    PipelineOptions pipeline;  // spool.dir filled in per sink
    MapperLimits limits;
};

const OptionTable& optionTable();
// Throws ConfigError naming the option.
Config parseConfig(const RawOptions& options);

}  // namespace mqs::influx
