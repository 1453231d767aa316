// Option table of mosquitto_alerts.so; docs/alerts.md's table is checked against it.
// Every option is validated here so a bad one stops the broker at load with its name.
#include "alerts/config.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace mqs::alerts {

const OptionTable& optionTable() {
    static const OptionTable table = [] {
        OptionTable t;
        t.add({.key = "rules_file", .type = OptionType::Path, .default_value = std::nullopt,
               .description = "JSON rules file (see Rules file). Re-read on SIGHUP; a bad file is refused and the old rules kept.",
               .required = true});
        t.add(instanceOption("alerts"));
        t.add(metricsIntervalOption());
        t.add({.key = "state_file", .type = OptionType::String, .default_value = std::nullopt,
               .description = "Snapshot of active alerts and debounce state, loaded at start and rewritten by a worker thread; unset: nothing is persisted.",
               .check = [](const std::string& v) -> std::string {
                   if (v.empty() || v.back() == '/') return "must name a file, not a directory";
                   // Checked now so a typo stops the broker at start, not as write errors later.
                   std::filesystem::path dir = std::filesystem::path(v).parent_path();
                   if (dir.empty()) dir = ".";
                   if (::access(dir.c_str(), W_OK | X_OK) != 0) {
                       return "directory '" + dir.string() + "' is not writable: " + std::strerror(errno);
                   }
                   return {};
               }});
        t.add({.key = "state_interval", .type = OptionType::Duration, .default_value = "5s",
               .description = "How often changed state is written to `state_file`: changes newer than this are lost on a crash.",
               .min = 100, .max = 3'600'000});
        t.add({.key = "max_devices", .type = OptionType::Integer, .default_value = "100000",
               .description = "Most (rule, device) pairs tracked at once; beyond it new devices are ignored and `devices_rejected` counts them.",
               .min = 1, .max = 10'000'000});
        t.add({.key = "max_key_bytes", .type = OptionType::Size, .default_value = "256",
               .description = "Longest device key kept (the captures joined with `/`, or the topic for a rule without captures); a message whose key is longer is not tracked and `devices_key_too_long` counts it. Bounds memory per device (see Bounded state).",
               .min = 1, .max = 65535});
        t.add({.key = "idle_expiry", .type = OptionType::Duration, .default_value = "24h",
               .description = "State of a device that sent nothing for this long and has no active alert is forgotten.",
               .min = 1000});
        t.add({.key = "duplicate_window", .type = OptionType::Duration, .default_value = "2s",
               .description = "A QoS 1/2 message with the same topic and payload as the device's previous one, sent by the same client after it reconnected and within this window, is a retransmission and is not counted (QoS 0 never is; see Retransmissions); `0` disables. Rules may override it.",
               .min = 0, .max = 3'600'000});
        t.add({.key = "max_json_bytes", .type = OptionType::Size, .default_value = "64KiB",
               .description = "Larger payloads are not parsed and count as invalid values.", .min = 1,
               .max = 16ll * 1024 * 1024});
        t.add({.key = "max_json_depth", .type = OptionType::Integer, .default_value = "32",
               .description = "Deeper JSON nesting counts as an invalid value (protects the broker's stack).", .min = 1,
               .max = 1024});
        return t;
    }();
    return table;
}

Config parseConfig(const RawOptions& options) {
    OptionValues v = optionTable().parse(options);
    return Config{
        .rules_file = v.string("rules_file"),
        .instance = v.string("instance"),
        .metrics_interval = v.duration("metrics_interval"),
        .state_file = v.has("state_file") ? v.string("state_file") : std::string(),
        .state_interval = v.duration("state_interval"),
        .max_devices = static_cast<size_t>(v.integer("max_devices")),
        .max_key_bytes = v.bytes("max_key_bytes"),
        .idle_expiry = v.duration("idle_expiry"),
        .duplicate_window = v.duration("duplicate_window"),
        .max_json_bytes = v.bytes("max_json_bytes"),
        .max_json_depth = static_cast<size_t>(v.integer("max_json_depth")),
    };
}

}  // namespace mqs::alerts
