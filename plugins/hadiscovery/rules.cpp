// Rules file parsing and its checks: every problem is a RulesError located at the key, with the rule named.
#include "hadiscovery/rules.hpp"

#include <algorithm>
#include <cctype>
#include <set>

namespace mqs::hadiscovery {

namespace {

constexpr size_t kMaxEntities = 64;  // a device's entity set is kept as a 64-bit mask

std::string lowerAscii(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

EntitySpec parseEntity(const RulesNode& n, const std::vector<std::string>& captures) {
    EntitySpec e;
    e.platform = n.get("component")
                     .choice<Platform>({{"sensor", Platform::Sensor},
                                        {"binary_sensor", Platform::BinarySensor},
                                        {"button", Platform::Button}});
    std::vector<std::string_view> known{"id", "component", "name", "icon", "entity_category", "availability"};
    if (e.platform == Platform::Button) {
        known.insert(known.end(), {"command_topic", "payload_press", "qos", "retain", "device_class"});
    } else {
        known.insert(known.end(),
                     {"field", "value_template", "state_topic", "device_class", "json_attributes", "expire"});
        if (e.platform == Platform::Sensor) {
            known.insert(known.end(), {"unit", "state_class", "display_precision"});
        } else {
            known.insert(known.end(), {"payload_on", "payload_off"});
        }
    }
    n.checkObject(known);
    const RulesNode id = n.get("id");
    e.id = id.string();
    if (!isSanitizedId(e.id))
        id.fail("must be made of letters, digits, '_' and '-' (it is part of Home Assistant ids)");
    if (auto v = n.find("name")) e.name = v->string();
    if (auto v = n.find("icon")) {
        e.icon = v->string();
        if (e.icon.find(':') == std::string::npos) v->fail("must be like \"mdi:thermometer\"");
    }
    if (auto v = n.find("entity_category")) {
        e.entity_category = v->choice<std::string>({{"diagnostic", "diagnostic"}, {"config", "config"}});
        if (e.entity_category == "config" && e.platform != Platform::Button)
            v->fail("'config' is for entities that change the device; a read-only sensor can only be 'diagnostic'");
    }
    if (auto v = n.find("availability")) e.use_availability = v->boolean();
    if (auto v = n.find("device_class")) {
        e.device_class = v->string();
        bool ok = e.platform == Platform::Sensor         ? isSensorDeviceClass(e.device_class)
                  : e.platform == Platform::BinarySensor ? isBinarySensorDeviceClass(e.device_class)
                                                         : isButtonDeviceClass(e.device_class);
        if (!ok) v->fail("'" + e.device_class + "' is not a " + platformName(e.platform) + " device class");
    }
    if (e.platform == Platform::Button) {
        e.command_topic = n.get("command_topic").outputTopic(captures);
        e.payload_press = n.has("payload_press") ? n.get("payload_press").string() : std::string("PRESS");
        if (auto v = n.find("qos")) e.qos = static_cast<int>(v->integer(0, 2));
        if (auto v = n.find("retain")) e.retain = v->boolean();
        return e;
    }
    if (auto v = n.find("field")) e.field = v->jsonPath();
    if (auto v = n.find("value_template")) e.value_template = v->string();
    if (!e.field && e.value_template.empty() && e.platform == Platform::Sensor)
        n.fail("needs a 'field' (the payload value it shows) or a 'value_template'");
    if (auto v = n.find("state_topic")) e.state_topic = v->outputTopic(captures);
    if (auto v = n.find("json_attributes")) e.json_attributes = v->boolean();
    if (auto v = n.find("expire")) e.expire = v->boolean();
    if (e.platform == Platform::Sensor) {
        if (auto v = n.find("unit")) e.unit = v->string();
        if (auto v = n.find("state_class")) {
            e.state_class = v->string();
            if (!isStateClass(e.state_class))
                v->fail("must be measurement, measurement_angle, total or total_increasing");
        }
        if (auto v = n.find("display_precision")) e.display_precision = static_cast<int>(v->integer(0, 15));
        std::string why = checkSensorTriple(e.device_class, e.unit, e.state_class);
        if (!why.empty()) (n.has("unit") ? n.get("unit") : n).fail(why);
        e.numeric = isNumericSensor(e.device_class, e.unit, e.state_class);
    } else {
        if (auto v = n.find("payload_on")) e.payload_on = v->string();
        if (auto v = n.find("payload_off")) e.payload_off = v->string();
    }
    return e;
}

Rule parseRule(const RulesNode& r) {
    r.checkObject({"name", "topic", "device", "availability", "expire_after", "infer", "entities"});
    Rule rule;
    rule.name = r.get("name").ruleName();
    const RulesNode topic = r.get("topic");
    rule.topic = topic.topicTemplate();
    const std::vector<std::string>& caps = rule.topic.captureNames();
    if (caps.empty()) topic.fail("needs at least one named capture such as {ip}: the device's identity comes from it");
    if (rule.topic.text().find('#') != std::string::npos) topic.fail("must not end in '#' (one device per topic)");

    const RulesNode dev = r.get("device");
    dev.checkObject({"id", "name", "name_field", "manufacturer", "model", "suggested_area"});
    std::string id_text = rule.name;
    for (const auto& c : caps) id_text += "_{" + c + "}";
    if (auto v = dev.find("id")) {
        id_text = v->string();
        rule.device_id = v->outputTemplate(caps);
        bool has_capture = false;
        for (const auto& c : caps) has_capture |= id_text.find("{" + c + "}") != std::string::npos;
        if (!has_capture) v->fail("must use a capture of the topic, e.g. \"" + rule.name + "_{" + caps[0] + "}\"");
    } else {
        rule.device_id = OutputTemplate::parse(id_text, caps);
    }
    rule.device_id_prefix = lowerAscii(sanitizeId(id_text.substr(0, id_text.find('{'))));
    if (rule.device_id_prefix.empty())
        (dev.has("id") ? dev.get("id") : dev).fail("must start with fixed text (it keeps rules' device ids apart)");
    rule.device_name = dev.get("name").outputTemplate(caps);
    if (auto v = dev.find("name_field")) rule.name_field = v->jsonPath();
    if (auto v = dev.find("manufacturer")) rule.manufacturer = v->string();
    if (auto v = dev.find("model")) rule.model = v->string();
    if (auto v = dev.find("suggested_area")) rule.suggested_area = v->outputTemplate(caps);

    if (auto a = r.find("availability")) {
        a->checkObject({"topic", "payload_available", "payload_not_available", "publish_on_disconnect"});
        AvailabilitySpec s{a->get("topic").outputTopic(caps)};
        if (auto v = a->find("payload_available")) s.payload_available = v->string();
        if (auto v = a->find("payload_not_available")) s.payload_not_available = v->string();
        if (auto v = a->find("publish_on_disconnect")) s.publish_on_disconnect = v->boolean();
        if (s.payload_available == s.payload_not_available)
            a->get("payload_not_available").fail("must differ from payload_available");
        rule.availability = std::move(s);
    }
    if (auto v = r.find("expire_after")) {
        if (v->json().is_string() && v->json() == "observed") {
            rule.expire = ExpireMode::Observed;
        } else if (v->json().is_number()) {
            rule.expire = ExpireMode::Fixed;
            rule.expire_seconds = v->integer(1, 7 * 24 * 3600);
        } else {
            v->fail("must be \"observed\" or a number of seconds");
        }
    }
    if (auto v = r.find("infer")) rule.infer = v->boolean();

    const RulesNode list = r.get("entities");
    std::set<std::string> ids;
    for (const RulesNode& e : list.elements()) {
        EntitySpec spec = parseEntity(e, caps);
        if (!ids.insert(lowerAscii(spec.id)).second) e.get("id").fail("'" + spec.id + "' is used twice in this rule");
        if (!spec.use_availability && !rule.availability)
            e.get("availability").fail("is false, but the rule has no availability to opt out of");
        rule.entities.push_back(std::move(spec));
    }
    if (rule.entities.empty() && !rule.infer) list.fail("must name at least one entity (or set \"infer\": true)");
    if (rule.entities.size() > kMaxEntities) list.fail("has more than 64 entities");
    return rule;
}

}  // namespace

namespace {

RuleSet fromFile(const RulesFile& f) {
    RulesNode doc = f.root();
    doc.checkObject({"rules"});
    RuleSet set;
    std::set<std::string> names;
    for (const RulesNode& r : doc.get("rules").elements()) {
        std::string name =
            r.has("name") && r.get("name").json().is_string() ? r.get("name").json().get<std::string>() : "";
        try {
            Rule rule = parseRule(r);
            if (!names.insert(rule.name).second) r.get("name").fail("a rule named '" + rule.name + "' exists already");
            // Device ids of two rules must never meet: neither literal start may begin the other.
            for (const auto& other : set.rules) {
                const std::string& a = rule.device_id_prefix;
                const std::string& b = other.device_id_prefix;
                if (a.rfind(b, 0) == 0 || b.rfind(a, 0) == 0) {
                    (r.get("device").has("id") ? r.get("device").get("id") : r.get("device"))
                        .fail("device ids starting '" + a + "' may collide with rule '" + other.name + "' (starting '" +
                              b + "'): give each rule its own fixed prefix");
                }
            }
            set.rules.push_back(std::move(rule));
        } catch (const RulesError& e) {
            if (name.empty()) throw;
            throw RulesError(e.file(), e.path(), e.problem() + " (rule '" + name + "')");
        }
    }
    if (set.rules.empty()) doc.get("rules").fail("must hold at least one rule");
    return set;
}

}  // namespace

RuleSet parseRuleSet(std::string_view text, const std::string& file) {
    return fromFile(RulesFile::parse(text, file));
}

RuleSet loadRuleSet(const std::filesystem::path& file) {
    return fromFile(RulesFile::read(file));
}

const InferredSensor* inferFromFieldName(std::string_view field) {
    struct Row {
        std::string_view names[4];
        InferredSensor sensor;
    };
    // clang-format off
    static const Row rows[] = {
        {{"temperature", "temp", "t"}, {"temperature", "°C", "measurement"}},
        {{"humidity", "hum", "rh"}, {"humidity", "%", "measurement"}},
        {{"pressure", "press"}, {"pressure", "hPa", "measurement"}},
        {{"battery", "bat", "batt"}, {"battery", "%", "measurement"}},
        {{"voltage", "volt", "v"}, {"voltage", "V", "measurement"}},
        {{"current", "amps"}, {"current", "A", "measurement"}},
        {{"power", "watts"}, {"power", "W", "measurement"}},
        {{"energy", "kwh"}, {"energy", "kWh", "total_increasing"}},
        {{"co2", "eco2"}, {"carbon_dioxide", "ppm", "measurement"}},
        {{"illuminance", "lux"}, {"illuminance", "lx", "measurement"}},
        {{"rssi", "signal"}, {"signal_strength", "dBm", "measurement"}},
        {{"pm25", "pm2_5"}, {"pm25", "µg/m³", "measurement"}},
        {{"pm10"}, {"pm10", "µg/m³", "measurement"}},
    };
    // clang-format on
    const std::string lower = lowerAscii(std::string(field));
    for (const auto& row : rows)
        for (auto n : row.names)
            if (!n.empty() && n == lower) return &row.sensor;
    return nullptr;
}

}  // namespace mqs::hadiscovery
