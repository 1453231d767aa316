// Home Assistant's MQTT discovery contract, as docs/design/ha-discovery-reference.md records it: id
// sanitizing, the sensor unit/device-class/state-class tables, and the checker every generated config passes.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace mqs::hadiscovery {

// Discovery topic ids (node_id, object_id, component keys) may only hold [a-zA-Z0-9_-]. ASCII outside that
// becomes '_' (an IP's dots: "10.0.0.5" -> "10_0_0_5"); a non-ASCII code point becomes "u" and its hex code
// ("Süd" -> "Su00fcd") and a byte that is not UTF-8 "x" and its hex, so distinct values rarely meet.
// Deterministic: the same capture values always give the same id.
std::string sanitizeId(std::string_view text);
bool isSanitizedId(std::string_view text);

enum class Platform { Sensor, BinarySensor, Button };
const char* platformName(Platform p);

// Sensor tables (reference §3.2). `unit` may be empty (no unit).
bool isSensorDeviceClass(std::string_view device_class);
bool isBinarySensorDeviceClass(std::string_view device_class);
bool isButtonDeviceClass(std::string_view device_class);
bool isStateClass(std::string_view state_class);
// Why this (device_class, unit, state_class) triple is one Home Assistant refuses or warns about, or empty.
// Empty device_class: any unit; empty state_class: not checked against the class.
std::string checkSensorTriple(std::string_view device_class, std::string_view unit, std::string_view state_class);
// Whether a device class is numeric (its state must be a number), so the field must hold one.
bool isNumericSensor(std::string_view device_class, std::string_view unit, std::string_view state_class);

enum class DiscoveryForm { Device, Entity };

// Checks one generated discovery message against the contract. `topic` is its discovery topic under
// `prefix`; for DiscoveryForm::Entity, `platform` is the component in the topic. Returns the problems
// (empty: the config may be published). Checks: topic shape and ids, origin with a name, device with
// identifiers and only known keys, per component: platform, unique_id, default_entity_id "<platform>.<id>",
// no object_id, name not repeating the device name, never both availability_topic and availability,
// required topics, device/unit/state classes, no entity_category config on sensors, only known keys.
std::vector<std::string> checkDiscoveryMessage(std::string_view prefix, std::string_view topic,
                                               const nlohmann::json& payload, DiscoveryForm form);

}  // namespace mqs::hadiscovery
