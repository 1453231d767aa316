// Discovery payloads of one device, in full key names (abbreviations are optional and `def_ent_id` is
// only confirmed second-hand, reference §2.1). nlohmann's sorted keys make a payload's bytes, and so its
// hash, the same for the same device every time.
#include "hadiscovery/config_builder.hpp"

#include <cctype>

namespace mqs::hadiscovery {

namespace {

using json = nlohmann::json;

// Home Assistant shows "<device name> <entity name>": a name that starts with the device's name (a
// payload-given host name may be anything) loses that start, and a name left empty becomes null.
json entityName(const std::string& name, const std::string& device_name) {
    auto lower = [](std::string s) {
        for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        return s;
    };
    std::string rest = name;
    if (!device_name.empty() && lower(name).rfind(lower(device_name), 0) == 0) {
        rest = name.substr(device_name.size());
        rest.erase(0, rest.find_first_not_of(" -_:"));
    }
    if (rest.empty()) return nullptr;
    return rest;
}

json deviceBlock(const DeviceView& d) {
    json dev = json::object();
    dev["identifiers"] = json::array({d.id});
    dev["name"] = d.name;
    if (!d.rule->manufacturer.empty()) dev["manufacturer"] = d.rule->manufacturer;
    if (!d.rule->model.empty()) dev["model"] = d.rule->model;
    if (d.rule->suggested_area) {
        std::string area = d.rule->suggested_area->render(d.captures);
        if (!area.empty()) dev["suggested_area"] = area;
    }
    return dev;
}

json originBlock(const BuildOptions& o) {
    json origin = {{"name", o.origin_name}, {"sw_version", o.origin_version}};
    if (!o.support_url.empty()) origin["support_url"] = o.support_url;
    return origin;
}

json availabilityList(const DeviceView& d) {
    const auto& a = *d.rule->availability;
    return json::array({{{"topic", a.topic.render(d.captures)},
                         {"payload_available", a.payload_available},
                         {"payload_not_available", a.payload_not_available}}});
}

// One entity's config without platform/device/origin.
json entityConfig(const DeviceView& d, const EntitySpec& e) {
    json c = json::object();
    const std::string uid = d.id + "_" + e.id;
    c["unique_id"] = uid;
    c["default_entity_id"] = std::string(platformName(e.platform)) + "." + entityIdOf(uid);
    c["name"] = entityName(e.name, d.name);
    if (!e.icon.empty()) c["icon"] = e.icon;
    if (!e.entity_category.empty()) c["entity_category"] = e.entity_category;
    if (!e.device_class.empty()) c["device_class"] = e.device_class;
    if (d.rule->availability && e.use_availability) c["availability"] = availabilityList(d);
    if (e.platform == Platform::Button) {
        c["command_topic"] = e.command_topic->render(d.captures);
        c["payload_press"] = e.payload_press;
        c["qos"] = e.qos;
        c["retain"] = e.retain;
        return c;
    }
    const std::string state_topic = e.state_topic ? e.state_topic->render(d.captures) : d.topic;
    c["state_topic"] = state_topic;
    if (!e.value_template.empty())
        c["value_template"] = e.value_template;
    else if (e.field)
        c["value_template"] = valueTemplateFor(*e.field);
    if (e.json_attributes) c["json_attributes_topic"] = state_topic;
    if (e.expire && d.expire_after_s > 0 && !e.state_topic) c["expire_after"] = d.expire_after_s;
    if (e.platform == Platform::Sensor) {
        if (!e.unit.empty()) c["unit_of_measurement"] = e.unit;
        if (!e.state_class.empty()) c["state_class"] = e.state_class;
        if (e.display_precision) c["suggested_display_precision"] = *e.display_precision;
    } else {
        if (!e.payload_on.empty()) c["payload_on"] = e.payload_on;
        if (!e.payload_off.empty()) c["payload_off"] = e.payload_off;
    }
    return c;
}

json inferredConfig(const DeviceView& d, const InferredEntity& i) {
    json c = json::object();
    const std::string uid = d.id + "_" + inferredKey(i.field);
    c["unique_id"] = uid;
    c["default_entity_id"] = "sensor." + entityIdOf(uid);
    c["name"] = i.field;
    c["state_topic"] = d.topic;
    c["value_template"] = valueTemplateFor(JsonPath::parse(i.field));
    c["device_class"] = i.sensor.device_class;
    c["unit_of_measurement"] = i.sensor.unit;
    c["state_class"] = i.sensor.state_class;
    if (d.rule->availability) c["availability"] = availabilityList(d);
    if (d.expire_after_s > 0) c["expire_after"] = d.expire_after_s;
    return c;
}

struct Component {
    std::string key;
    Platform platform;
    json config;
};

std::vector<Component> components(const DeviceView& d) {
    std::vector<Component> out;
    for (size_t i = 0; i < d.rule->entities.size(); ++i) {
        if ((d.entity_mask & (1ull << i)) == 0) continue;
        const auto& e = d.rule->entities[i];
        out.push_back({e.id, e.platform, entityConfig(d, e)});
    }
    for (const auto& inf : d.inferred)
        out.push_back({inferredKey(inf.field), Platform::Sensor, inferredConfig(d, inf)});
    return out;
}

std::string deviceTopic(const DeviceView& d, const BuildOptions& o) {
    return deviceDiscoveryTopic(o, d.id);
}
std::string entityTopic(const DeviceView& d, const BuildOptions& o, Platform p, const std::string& key) {
    return entityDiscoveryTopic(o, d.id, p, key);
}

void checked(std::vector<Discovery>& out, const BuildOptions& o, std::string topic, const json& payload,
             DiscoveryForm form, std::vector<std::string>& problems) {
    auto found = checkDiscoveryMessage(o.prefix, topic, payload, form);
    if (!found.empty()) {
        for (auto& p : found) problems.push_back(topic + ": " + p);
        return;
    }
    out.push_back({std::move(topic), payload.dump(-1, ' ', false, json::error_handler_t::replace)});
}

}  // namespace

std::string inferredKey(const std::string& field) {
    return "auto_" + entityIdOf(sanitizeId(field));
}

std::string entityDiscoveryTopic(const BuildOptions& o, std::string_view device_id, Platform p, std::string_view key) {
    return o.prefix + "/" + platformName(p) + "/" + std::string(device_id) + "/" + std::string(key) + "/config";
}

std::string deviceDiscoveryTopic(const BuildOptions& o, std::string_view device_id) {
    return o.prefix + "/device/" + std::string(device_id) + "/config";
}

std::string entityIdOf(std::string_view unique_id) {
    std::string out(unique_id);
    for (auto& c : out) c = c == '-' ? '_' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string valueTemplateFor(const JsonPath& field) {
    const std::string& t = field.text();
    if (field.isRoot()) return "{{ value }}";
    bool plain = !t.empty() && (std::isalpha(static_cast<unsigned char>(t[0])) || t[0] == '_');
    for (char c : t)
        plain &= std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '[' || c == ']';
    if (plain) return "{{ value_json." + t + " }}";
    std::string quoted;
    for (char c : t) {
        if (c == '\'' || c == '\\') quoted.push_back('\\');
        quoted.push_back(c);
    }
    return "{{ value_json['" + quoted + "'] }}";
}

std::vector<std::string> discoveryTopics(const DeviceView& d, const BuildOptions& o, DiscoveryForm form) {
    if (form == DiscoveryForm::Device) return {deviceTopic(d, o)};
    std::vector<std::string> out;
    for (const auto& c : components(d)) out.push_back(entityTopic(d, o, c.platform, c.key));
    return out;
}

std::vector<Discovery> buildConfigs(const DeviceView& d, const BuildOptions& o, std::vector<std::string>& problems) {
    std::vector<Discovery> out;
    auto comps = components(d);
    if (comps.empty()) return out;
    if (o.form == DiscoveryForm::Device) {
        json payload = json::object();
        payload["device"] = deviceBlock(d);
        payload["origin"] = originBlock(o);
        json cmps = json::object();
        for (auto& c : comps) {
            c.config["platform"] = platformName(c.platform);
            cmps[c.key] = std::move(c.config);
        }
        payload["components"] = std::move(cmps);
        checked(out, o, deviceTopic(d, o), payload, DiscoveryForm::Device, problems);
        return out;
    }
    for (auto& c : comps) {
        c.config["device"] = deviceBlock(d);
        c.config["origin"] = originBlock(o);
        checked(out, o, entityTopic(d, o, c.platform, c.key), c.config, DiscoveryForm::Entity, problems);
    }
    return out;
}

std::vector<Discovery> migrationMessages(const std::vector<std::string>& old_topics,
                                         const std::vector<Discovery>& new_configs) {
    std::vector<Discovery> out;
    for (const auto& t : old_topics) out.push_back({t, R"({"migrate_discovery":true})"});
    out.insert(out.end(), new_configs.begin(), new_configs.end());
    for (const auto& t : old_topics) out.push_back({t, ""});
    return out;
}

}  // namespace mqs::hadiscovery
