// The contract checks of ha_contract.hpp. Tables transcribe docs/design/ha-discovery-reference.md §2-§3
// (Home Assistant's sensor/const.py DEVICE_CLASS_UNITS and DEVICE_CLASS_STATE_CLASSES, 2025).
#include "hadiscovery/ha_contract.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <initializer_list>

#include "common/topic.hpp"

namespace mqs::hadiscovery {

namespace {

bool idChar(unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '-';
}

// Length of a valid UTF-8 sequence at s[i] and its code point, or 0.
size_t utf8At(std::string_view s, size_t i, uint32_t& cp) {
    const auto b = static_cast<unsigned char>(s[i]);
    size_t n = b >= 0xF0 && b <= 0xF4 ? 4 : b >= 0xE0 ? 3 : b >= 0xC2 && b < 0xE0 ? 2 : 0;
    if (n == 0 || i + n > s.size()) return 0;
    cp = b & (0xFF >> (n + 1));
    for (size_t k = 1; k < n; ++k) {
        const auto c = static_cast<unsigned char>(s[i + k]);
        if ((c & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (c & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

enum StateClassSet : unsigned {
    kNone = 0,
    kMeasurement = 1,
    kTotal = 2,
    kTotalIncreasing = 4,
    kAngle = 8,
    kAny = kMeasurement | kTotal | kTotalIncreasing
};

struct ClassRow {
    std::string_view device_class;
    std::vector<std::string_view> units;  // empty: no unit allowed (a vector: an initializer_list member would dangle)
    unsigned state_classes;
    bool any_unit = false;  // monetary: any currency code
};

const std::vector<std::string_view> kPressure{"Pa", "hPa", "kPa", "bar", "cbar", "mbar", "mmHg", "inHg", "psi", "mPa"};
const std::vector<std::string_view> kEnergy{"J",   "kJ",  "MJ",  "GJ",  "mWh",  "Wh",   "kWh",
                                            "MWh", "GWh", "TWh", "cal", "kcal", "Mcal", "Gcal"};
const std::vector<std::string_view> kVolume{"L", "mL", "gal", "fl. oz.", "m³", "ft³", "CCF"};
const std::vector<std::string_view> kSpeed{"m/s", "km/h", "mph", "ft/s", "in/s", "mm/s", "kn", "Beaufort"};
const std::vector<std::string_view> kSpeedFlux{"m/s", "km/h",     "mph",  "ft/s", "in/s", "mm/s",
                                               "kn",  "Beaufort", "in/d", "in/h", "mm/d", "mm/h"};
const std::vector<std::string_view> kMicrograms{"µg/m³", "μg/m³"};

// clang-format off
const std::vector<ClassRow>& classTable() {
    static const std::vector<ClassRow> rows{
        {"apparent_power", {"VA", "mVA", "kVA"}, kMeasurement},
        {"aqi", {}, kMeasurement},
        {"area", {"m²", "cm²", "km²", "mm²", "in²", "ft²", "yd²", "mi²", "ac", "ha"}, kAny},
        {"atmospheric_pressure", kPressure, kMeasurement},
        {"pressure", kPressure, kMeasurement},
        {"battery", {"%"}, kMeasurement},
        {"blood_glucose_concentration", {"mg/dL", "mmol/L"}, kMeasurement},
        {"carbon_monoxide", {"ppm"}, kMeasurement},
        {"carbon_dioxide", {"ppm"}, kMeasurement},
        {"conductivity", {"S/cm", "mS/cm", "μS/cm", "µS/cm"}, kMeasurement},
        {"current", {"A", "mA"}, kMeasurement},
        {"data_rate", {"bit/s", "kbit/s", "Mbit/s", "Gbit/s", "B/s", "kB/s", "MB/s", "GB/s", "KiB/s", "MiB/s", "GiB/s"}, kMeasurement},
        {"data_size", {"bit", "kbit", "Mbit", "Gbit", "B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"}, kAny},
        {"date", {}, kNone},
        {"distance", {"mm", "cm", "m", "km", "in", "ft", "yd", "mi", "nmi"}, kAny},
        {"duration", {"d", "h", "min", "s", "ms", "μs", "µs"}, kAny},
        {"energy", kEnergy, kTotal | kTotalIncreasing},
        {"energy_distance", {"kWh/100km", "mi/kWh", "km/kWh"}, kMeasurement},
        {"energy_storage", kEnergy, kMeasurement},
        {"enum", {}, kNone},
        {"frequency", {"Hz", "kHz", "MHz", "GHz"}, kMeasurement},
        {"gas", {"m³", "ft³", "CCF", "L"}, kTotal | kTotalIncreasing},
        {"humidity", {"%"}, kMeasurement},
        {"illuminance", {"lx"}, kMeasurement},
        {"irradiance", {"W/m²", "BTU/(h⋅ft²)"}, kMeasurement},
        {"moisture", {"%"}, kMeasurement},
        {"monetary", {}, kTotal, true},
        {"nitrogen_dioxide", kMicrograms, kMeasurement},
        {"nitrogen_monoxide", kMicrograms, kMeasurement},
        {"nitrous_oxide", kMicrograms, kMeasurement},
        {"ozone", kMicrograms, kMeasurement},
        {"pm1", kMicrograms, kMeasurement},
        {"pm10", kMicrograms, kMeasurement},
        {"pm25", kMicrograms, kMeasurement},
        {"sulphur_dioxide", kMicrograms, kMeasurement},
        {"volatile_organic_compounds", kMicrograms, kMeasurement},
        {"ph", {}, kMeasurement},
        {"power_factor", {"%", ""}, kMeasurement},
        {"power", {"mW", "W", "kW", "MW", "GW", "TW"}, kMeasurement},
        {"precipitation", {"cm", "in", "mm"}, kAny},
        {"precipitation_intensity", {"in/d", "in/h", "mm/d", "mm/h"}, kMeasurement},
        {"reactive_power", {"var", "kvar"}, kMeasurement},
        {"signal_strength", {"dB", "dBm"}, kMeasurement},
        {"sound_pressure", {"dB", "dBA"}, kMeasurement},
        {"speed", kSpeedFlux, kMeasurement},
        {"temperature", {"°C", "°F", "K"}, kMeasurement},
        {"timestamp", {}, kNone},
        {"volatile_organic_compounds_parts", {"ppm", "ppb"}, kMeasurement},
        {"voltage", {"μV", "µV", "mV", "V", "kV", "MV"}, kMeasurement},
        {"volume", kVolume, kTotal | kTotalIncreasing},
        {"volume_storage", kVolume, kMeasurement},
        {"volume_flow_rate", {"m³/h", "ft³/min", "L/min", "gal/min", "L/h", "mL/s", "L/s"}, kMeasurement},
        {"water", {"m³", "ft³", "CCF", "gal", "L"}, kTotal | kTotalIncreasing},
        {"weight", {"µg", "mg", "g", "kg", "oz", "lb", "st"}, kMeasurement | kTotal | kTotalIncreasing},
        {"wind_direction", {"°"}, kAngle},
        {"wind_speed", kSpeed, kMeasurement},
    };
    return rows;
}
// clang-format on

const ClassRow* findClass(std::string_view dc) {
    for (const auto& r : classTable())
        if (r.device_class == dc) return &r;
    return nullptr;
}

unsigned stateClassBit(std::string_view sc) {
    if (sc == "measurement") return kMeasurement;
    if (sc == "total") return kTotal;
    if (sc == "total_increasing") return kTotalIncreasing;
    if (sc == "measurement_angle") return kAngle;
    return 0;
}

bool contains(std::initializer_list<std::string_view> list, std::string_view v) {
    return std::find(list.begin(), list.end(), v) != list.end();
}
bool contains(const std::vector<std::string_view>& list, std::string_view v) {
    return std::find(list.begin(), list.end(), v) != list.end();
}

}  // namespace

std::string sanitizeId(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    char buf[16];
    for (size_t i = 0; i < text.size();) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x80) {
            out.push_back(idChar(c) ? static_cast<char>(c) : '_');
            ++i;
            continue;
        }
        uint32_t cp = 0;
        size_t n = utf8At(text, i, cp);
        if (n == 0) {
            std::snprintf(buf, sizeof buf, "x%02x", c);
            ++i;
        } else {
            std::snprintf(buf, sizeof buf, "u%04x", cp);
            i += n;
        }
        out += buf;
    }
    return out;
}

bool isSanitizedId(std::string_view text) {
    return !text.empty() &&
           std::all_of(text.begin(), text.end(), [](char c) { return idChar(static_cast<unsigned char>(c)); });
}

const char* platformName(Platform p) {
    switch (p) {
        case Platform::Sensor:
            return "sensor";
        case Platform::BinarySensor:
            return "binary_sensor";
        case Platform::Button:
            return "button";
    }
    return "?";
}

bool isSensorDeviceClass(std::string_view dc) {
    return findClass(dc) != nullptr;
}

bool isBinarySensorDeviceClass(std::string_view dc) {
    static const std::initializer_list<std::string_view> classes{"battery",
                                                                 "battery_charging",
                                                                 "carbon_monoxide",
                                                                 "cold",
                                                                 "connectivity",
                                                                 "door",
                                                                 "garage_door",
                                                                 "gas",
                                                                 "heat",
                                                                 "light",
                                                                 "lock",
                                                                 "moisture",
                                                                 "motion",
                                                                 "moving",
                                                                 "occupancy",
                                                                 "opening",
                                                                 "plug",
                                                                 "power",
                                                                 "presence",
                                                                 "problem",
                                                                 "running",
                                                                 "safety",
                                                                 "smoke",
                                                                 "sound",
                                                                 "tamper",
                                                                 "update",
                                                                 "vibration",
                                                                 "window"};
    return contains(classes, dc);
}

bool isButtonDeviceClass(std::string_view dc) {
    return dc == "identify" || dc == "restart" || dc == "update";
}

bool isStateClass(std::string_view sc) {
    return stateClassBit(sc) != 0;
}

std::string checkSensorTriple(std::string_view dc, std::string_view unit, std::string_view sc) {
    if (!sc.empty() && !isStateClass(sc))
        return "state_class '" + std::string(sc) + "' is not one Home Assistant knows";
    if (sc == "measurement_angle" && unit != "°")
        return "state_class 'measurement_angle' needs the unit '°' (not '" + std::string(unit) + "')";
    if (dc.empty()) return {};
    const ClassRow* row = findClass(dc);
    if (row == nullptr) return "device_class '" + std::string(dc) + "' is not a sensor device class";
    if (!row->any_unit) {
        const bool ok = unit.empty() ? (row->units.empty() || contains(row->units, "")) : contains(row->units, unit);
        if (!ok) {
            std::string allowed;
            for (auto u : row->units) allowed += (allowed.empty() ? "" : ", ") + std::string(u.empty() ? "none" : u);
            return "unit '" + std::string(unit) + "' is not valid with device_class '" + std::string(dc) +
                   "' (allowed: " + (allowed.empty() ? std::string("no unit") : allowed) + ")";
        }
    }
    if (!sc.empty() && (row->state_classes & stateClassBit(sc)) == 0)
        return "state_class '" + std::string(sc) + "' is not valid with device_class '" + std::string(dc) + "'";
    return {};
}

bool isNumericSensor(std::string_view dc, std::string_view unit, std::string_view sc) {
    if (dc == "timestamp" || dc == "date" || dc == "enum") return false;
    return !dc.empty() || !unit.empty() || !sc.empty();
}

namespace {

const std::initializer_list<std::string_view> kDeviceKeys{
    "identifiers", "connections", "name",          "manufacturer",   "model",      "model_id",
    "hw_version",  "sw_version",  "serial_number", "suggested_area", "via_device", "configuration_url"};
const std::initializer_list<std::string_view> kOriginKeys{"name", "sw_version", "support_url"};
const std::initializer_list<std::string_view> kCommonKeys{"platform",
                                                          "unique_id",
                                                          "default_entity_id",
                                                          "name",
                                                          "device",
                                                          "origin",
                                                          "availability_topic",
                                                          "availability",
                                                          "availability_mode",
                                                          "availability_template",
                                                          "payload_available",
                                                          "payload_not_available",
                                                          "enabled_by_default",
                                                          "entity_category",
                                                          "icon",
                                                          "json_attributes_topic",
                                                          "json_attributes_template",
                                                          "qos",
                                                          "encoding"};
const std::initializer_list<std::string_view> kSensorKeys{
    "state_topic",         "value_template", "device_class",
    "unit_of_measurement", "state_class",    "suggested_display_precision",
    "expire_after",        "force_update",   "options"};
const std::initializer_list<std::string_view> kBinaryKeys{"state_topic", "value_template", "device_class", "payload_on",
                                                          "payload_off", "expire_after",   "force_update", "off_delay"};
const std::initializer_list<std::string_view> kButtonKeys{"command_topic", "command_template", "payload_press",
                                                          "retain", "device_class"};
// Keys a device-based payload may carry at top level besides dev/o/cmps (inherited by components).
const std::initializer_list<std::string_view> kSharedKeys{"state_topic",
                                                          "command_topic",
                                                          "qos",
                                                          "encoding",
                                                          "availability",
                                                          "availability_topic",
                                                          "availability_mode",
                                                          "availability_template",
                                                          "payload_available",
                                                          "payload_not_available"};

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

bool isString(const nlohmann::json& j) {
    return j.is_string() && !j.get_ref<const std::string&>().empty();
}

void checkTopicValue(const nlohmann::json& v, const std::string& where, std::vector<std::string>& out) {
    if (!v.is_string()) {
        out.push_back(where + " must be a topic string");
        return;
    }
    std::string why = checkPublishTopic(v.get_ref<const std::string&>());
    if (!why.empty()) out.push_back(where + ": " + why);
}

void checkAvailability(const nlohmann::json& obj, const std::string& where, std::vector<std::string>& out) {
    if (obj.contains("availability_topic") && obj.contains("availability"))
        out.push_back(where + " has both availability_topic and availability");
    if (obj.contains("availability_topic"))
        checkTopicValue(obj["availability_topic"], where + ".availability_topic", out);
    if (obj.contains("availability")) {
        const auto& a = obj["availability"];
        if (!a.is_array()) {
            out.push_back(where + ".availability must be a list");
            return;
        }
        for (const auto& e : a) {
            if (!e.is_object() || !e.contains("topic")) {
                out.push_back(where + ".availability entries need a topic");
                continue;
            }
            checkTopicValue(e["topic"], where + ".availability.topic", out);
        }
    }
}

void checkDevice(const nlohmann::json& payload, std::vector<std::string>& out, std::string& device_name) {
    if (!payload.contains("device") || !payload["device"].is_object()) {
        out.push_back("device block missing");
        return;
    }
    const auto& dev = payload["device"];
    for (const auto& [k, v] : dev.items()) {
        if (!contains(kDeviceKeys, k)) out.push_back("device has unknown key '" + k + "'");
    }
    const auto ids = dev.value("identifiers", nlohmann::json());
    bool ok = isString(ids) || (ids.is_array() && !ids.empty() && std::all_of(ids.begin(), ids.end(), isString));
    if (!ok) out.push_back("device.identifiers must be a non-empty string or list of strings");
    if (!isString(dev.value("name", nlohmann::json())))
        out.push_back("device.name missing");
    else
        device_name = dev["name"].get<std::string>();
}

void checkOrigin(const nlohmann::json& payload, std::vector<std::string>& out) {
    if (!payload.contains("origin") || !payload["origin"].is_object() ||
        !isString(payload["origin"].value("name", nlohmann::json()))) {
        out.push_back("origin block with a name missing");
        return;
    }
    for (const auto& [k, v] : payload["origin"].items())
        if (!contains(kOriginKeys, k)) out.push_back("origin has unknown key '" + k + "'");
}

// One entity config; `shared` is the device payload's top level (or null) for inherited keys.
void checkComponent(std::string_view platform, const nlohmann::json& c, const nlohmann::json* shared,
                    const std::string& where, const std::string& device_name, std::vector<std::string>& out) {
    auto has = [&](const char* k) { return c.contains(k) || (shared && shared->contains(k)); };
    const std::initializer_list<std::string_view>* own = nullptr;
    if (platform == "sensor")
        own = &kSensorKeys;
    else if (platform == "binary_sensor")
        own = &kBinaryKeys;
    else if (platform == "button")
        own = &kButtonKeys;
    else {
        out.push_back(where + ": platform '" + std::string(platform) + "' is not one this plugin generates");
        return;
    }
    for (const auto& [k, v] : c.items()) {
        if (k == "object_id")
            out.push_back(where + ": object_id is deprecated, use default_entity_id");
        else if (!contains(kCommonKeys, k) && !contains(*own, k))
            out.push_back(where + ": unknown key '" + k + "'");
    }
    const auto uid = c.value("unique_id", nlohmann::json());
    if (!isString(uid)) out.push_back(where + ": unique_id missing");
    if (c.contains("default_entity_id")) {
        const auto& d = c["default_entity_id"];
        const std::string want = std::string(platform) + ".";
        if (!d.is_string() || d.get_ref<const std::string&>().rfind(want, 0) != 0 ||
            !isSanitizedId(d.get_ref<const std::string&>().substr(want.size())))
            out.push_back(where + ": default_entity_id must be '" + want + "<id>'");
    }
    if (c.contains("name")) {
        if (!c["name"].is_null() && !isString(c["name"]))
            out.push_back(where + ": name must be a string or null");
        else if (c["name"].is_string() && !device_name.empty() &&
                 lower(c["name"].get<std::string>()).rfind(lower(device_name), 0) == 0)
            out.push_back(where + ": name repeats the device name");
    }
    checkAvailability(c, where, out);
    if (c.contains("availability") && shared && shared->contains("availability_topic"))
        out.push_back(where + " has availability while the device shares availability_topic");
    if (c.contains("availability_topic") && shared && shared->contains("availability"))
        out.push_back(where + " has availability_topic while the device shares availability");
    for (const char* k : {"state_topic", "command_topic", "json_attributes_topic"})
        if (c.contains(k)) checkTopicValue(c[k], where + "." + k, out);
    if (c.contains("qos") && !(c["qos"].is_number_integer() && c["qos"].get<int>() >= 0 && c["qos"].get<int>() <= 2))
        out.push_back(where + ": qos must be 0, 1 or 2");
    if (c.contains("entity_category")) {
        const auto cat = c["entity_category"];
        if (cat != "diagnostic" && cat != "config")
            out.push_back(where + ": entity_category must be diagnostic or config");
        if (cat == "config" && platform != "button")
            out.push_back(where + ": entity_category config is not allowed on a read-only " + std::string(platform));
    }
    if (c.contains("expire_after") && !(c["expire_after"].is_number_integer() && c["expire_after"].get<int64_t>() > 0))
        out.push_back(where + ": expire_after must be a positive whole number of seconds");
    const std::string dc = c.value("device_class", std::string());
    if (platform == "sensor") {
        if (!has("state_topic")) out.push_back(where + ": sensor needs a state_topic");
        const std::string unit = c.value("unit_of_measurement", std::string());
        const std::string sc = c.value("state_class", std::string());
        std::string why = checkSensorTriple(dc, unit, sc);
        if (!why.empty()) out.push_back(where + ": " + why);
        if (c.contains("options") && dc != "enum") out.push_back(where + ": options need device_class enum");
    } else if (platform == "binary_sensor") {
        if (!has("state_topic")) out.push_back(where + ": binary_sensor needs a state_topic");
        if (!dc.empty() && !isBinarySensorDeviceClass(dc))
            out.push_back(where + ": device_class '" + dc + "' is not a binary_sensor device class");
    } else {
        if (!has("command_topic")) out.push_back(where + ": button needs a command_topic");
        if (!dc.empty() && !isButtonDeviceClass(dc))
            out.push_back(where + ": device_class '" + dc + "' is not a button device class");
        if (c.contains("retain") && !c["retain"].is_boolean()) out.push_back(where + ": retain must be a boolean");
    }
}

// Splits "<prefix>/<component>/[<node>/]<object>/config"; false if it has another shape.
bool splitTopic(std::string_view prefix, std::string_view topic, std::vector<std::string_view>& levels) {
    if (topic.size() <= prefix.size() + 1 || topic.substr(0, prefix.size()) != prefix || topic[prefix.size()] != '/')
        return false;
    std::string_view rest = topic.substr(prefix.size() + 1);
    levels.clear();
    size_t start = 0;
    while (true) {
        size_t slash = rest.find('/', start);
        levels.push_back(rest.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
        if (slash == std::string_view::npos) break;
        start = slash + 1;
    }
    return (levels.size() == 3 || levels.size() == 4) && levels.back() == "config";
}

}  // namespace

std::vector<std::string> checkDiscoveryMessage(std::string_view prefix, std::string_view topic,
                                               const nlohmann::json& payload, DiscoveryForm form) {
    std::vector<std::string> out;
    std::string why = checkPublishTopic(topic);
    if (!why.empty()) out.push_back("topic: " + why);
    std::vector<std::string_view> levels;
    if (!splitTopic(prefix, topic, levels)) {
        out.push_back("topic is not <prefix>/<component>/[<node_id>/]<object_id>/config");
        return out;
    }
    for (size_t i = 1; i + 1 < levels.size(); ++i)
        if (!isSanitizedId(levels[i]))
            out.push_back("topic level '" + std::string(levels[i]) + "' is not [a-zA-Z0-9_-]+");
    if (!payload.is_object()) {
        out.push_back("payload must be a JSON object");
        return out;
    }
    std::string device_name;
    checkOrigin(payload, out);
    checkDevice(payload, out, device_name);
    if (form == DiscoveryForm::Device) {
        if (levels[0] != "device") out.push_back("device-based config must be on <prefix>/device/.../config");
        for (const auto& [k, v] : payload.items()) {
            if (k != "device" && k != "origin" && k != "components" && !contains(kSharedKeys, k))
                out.push_back("unknown top-level key '" + k + "'");
        }
        checkAvailability(payload, "device payload", out);
        for (const char* k : {"state_topic", "command_topic"})
            if (payload.contains(k)) checkTopicValue(payload[k], k, out);
        if (!payload.contains("components") || !payload["components"].is_object() || payload["components"].empty()) {
            out.push_back("components missing or empty");
            return out;
        }
        for (const auto& [key, c] : payload["components"].items()) {
            const std::string where = "components." + key;
            if (!isSanitizedId(key)) out.push_back(where + ": component id is not [a-zA-Z0-9_-]+");
            if (!c.is_object() || !c.contains("platform") || !c["platform"].is_string()) {
                out.push_back(where + ": platform missing");
                continue;
            }
            checkComponent(c["platform"].get<std::string>(), c, &payload, where, device_name, out);
        }
    } else {
        if (levels[0] == "device") out.push_back("per-entity config must not be on <prefix>/device/...");
        if (payload.contains("platform") || payload.contains("components"))
            out.push_back("per-entity config must not carry platform or components");
        nlohmann::json copy = payload;
        copy.erase("platform");
        checkComponent(levels[0], copy, nullptr, std::string(levels[0]), device_name, out);
    }
    return out;
}

}  // namespace mqs::hadiscovery
