// Option table of mosquitto_hadiscovery.so; docs/hadiscovery.md's table is checked against it.
#include "hadiscovery/config.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/topic.hpp"

namespace mqs::hadiscovery {

namespace {

std::string checkTopicOption(const std::string& v) {
    std::string why = checkPublishTopic(v);
    if (!why.empty()) return why;
    if (v.front() == '$') return "must not start with '$'";
    return {};
}

}  // namespace

const OptionTable& optionTable() {
    static const OptionTable table = [] {
        OptionTable t;
        t.add({.key = "rules_file",
               .type = OptionType::Path,
               .default_value = std::nullopt,
               .description =
                   "JSON rules file (see Rules file). Re-read on SIGHUP; a bad file is refused and the old rules kept.",
               .required = true});
        t.add(instanceOption("hadiscovery"));
        t.add(metricsIntervalOption());
        t.add({.key = "discovery_prefix",
               .type = OptionType::String,
               .default_value = "homeassistant",
               .description = "Home Assistant's discovery prefix (its MQTT integration option of the same name).",
               .check = [](const std::string& v) -> std::string {
                   std::string why = checkTopicOption(v);
                   if (why.empty() && v.back() == '/') return "must not end with '/'";
                   return why;
               }});
        t.add({.key = "discovery_mode",
               .type = OptionType::Enum,
               .default_value = "device",
               .description = "`device`: one message per device on `<prefix>/device/<id>/config` (Home Assistant "
                              "2024.11 and later); `entity`: one message per entity (older Home Assistant, openHAB). "
                              "Switching migrates owned configs without duplicates.",
               .choices = {"device", "entity"}});
        t.add({.key = "birth_topic",
               .type = OptionType::String,
               .default_value = "homeassistant/status",
               .description = "Home Assistant's birth topic: `birth_payload` there re-publishes every known device's "
                              "configs, jittered and rate-limited.",
               .check = checkTopicOption});
        t.add({.key = "birth_payload",
               .type = OptionType::String,
               .default_value = "online",
               .description = "Payload of Home Assistant's birth message."});
        t.add({.key = "state_file",
               .type = OptionType::String,
               .default_value = std::nullopt,
               .description = "Owned configs, device records and user deletions, written by a short-lived child "
                              "process (no thread in the broker) and read at start; unset: nothing persisted (deletions are then forgotten at restart, "
                              "and devices are re-published only at their next message).",
               .check = [](const std::string& v) -> std::string {
                   if (v.empty() || v.back() == '/') return "must name a file, not a directory";
                   std::filesystem::path dir = std::filesystem::path(v).parent_path();
                   if (dir.empty()) dir = ".";
                   if (::access(dir.c_str(), W_OK | X_OK) != 0)
                       return "directory '" + dir.string() + "' is not writable: " + std::strerror(errno);
                   return {};
               }});
        t.add({.key = "state_interval",
               .type = OptionType::Duration,
               .default_value = "2s",
               .description = "Most time between a change (a config published or deleted) and its snapshot being "
                              "handed to the writer.",
               .min = 100,
               .max = 3'600'000});
        t.add({.key = "device_idle_timeout",
               .type = OptionType::Duration,
               .default_value = "0",
               .description =
                   "A device that sent nothing for this long loses its configs (empty retained messages); `0`: never.",
               .min = 0});
        t.add({.key = "max_new_devices",
               .type = OptionType::Integer,
               .default_value = "100",
               .description = "Flood cap: most new devices per rule per `new_device_window`; the excess is counted "
                              "(`devices_refused`) and not discovered.",
               .min = 1,
               .max = 10'000'000});
        t.add({.key = "new_device_window",
               .type = OptionType::Duration,
               .default_value = "1m",
               .description = "Window of `max_new_devices`.",
               .min = 1000});
        t.add({.key = "republish_jitter",
               .type = OptionType::Duration,
               .default_value = "5s",
               .description = "After Home Assistant's birth message or broker start, re-publishing starts after a "
                              "random delay up to this.",
               .min = 0,
               .max = 600'000});
        t.add({.key = "republish_rate",
               .type = OptionType::Integer,
               .default_value = "100",
               .description = "Devices re-published per second after a birth message or broker start.",
               .min = 1,
               .max = 1'000'000});
        t.add({.key = "dry_run",
               .type = OptionType::Bool,
               .default_value = "false",
               .description = "Log the configs instead of publishing them (and publish no availability)."});
        t.add({.key = "max_state_bytes",
               .type = OptionType::Size,
               .default_value = "64MiB",
               .description = "Bound on each of: the inventory of owned configs, the user deletions, the "
                              "client-to-device availability map.",
               .min = 4096});
        t.add({.key = "max_json_bytes",
               .type = OptionType::Size,
               .default_value = "64KiB",
               .description = "Larger payloads are not read (their device gets no entity from them).",
               .min = 1,
               .max = 16ll * 1024 * 1024});
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
        .discovery_prefix = v.string("discovery_prefix"),
        .discovery_mode = v.string("discovery_mode") == "entity" ? DiscoveryForm::Entity : DiscoveryForm::Device,
        .birth_topic = v.string("birth_topic"),
        .birth_payload = v.string("birth_payload"),
        .state_file = v.has("state_file") ? v.string("state_file") : std::string(),
        .state_interval = v.duration("state_interval"),
        .device_idle_timeout = v.duration("device_idle_timeout"),
        .max_new_devices = v.integer("max_new_devices"),
        .new_device_window = v.duration("new_device_window"),
        .republish_jitter = v.duration("republish_jitter"),
        .republish_rate = v.integer("republish_rate"),
        .dry_run = v.boolean("dry_run"),
        .max_state_bytes = static_cast<size_t>(v.bytes("max_state_bytes")),
        .max_json_bytes = static_cast<size_t>(v.bytes("max_json_bytes")),
    };
}

}  // namespace mqs::hadiscovery
