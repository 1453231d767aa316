// Builds the discovery messages of one device from its rule and what the plugin saw of it: the
// device-based form (one message on <prefix>/device/<id>/config) or one message per entity, and the
// migration between the two (Home Assistant's migrate_discovery procedure, reference §1.7).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/topic.hpp"
#include "hadiscovery/ha_contract.hpp"
#include "hadiscovery/rules.hpp"

namespace mqs::hadiscovery {

struct BuildOptions {
    std::string prefix = "homeassistant";
    DiscoveryForm form = DiscoveryForm::Device;
    std::string origin_name = "mosquitto_hadiscovery";
    std::string origin_version = "0";
    std::string support_url;  // empty: not sent
};

// An entity found by inference in the payload (a numeric top-level field the rule does not name).
struct InferredEntity {
    std::string field;  // the payload key
    InferredSensor sensor;
};

// What the plugin knows about one device when it builds its configs.
struct DeviceView {
    const Rule* rule = nullptr;
    std::string id;                // sanitized device id (identifiers, unique_id prefix, topic ids)
    Captures captures;             // the capture values of the topic (immutable identity)
    std::string name;              // display name
    std::string topic;             // the topic the device's messages arrive on (default state topic)
    uint64_t entity_mask = ~0ull;  // bit i: rule->entities[i] exists (its field was in the payload)
    std::vector<InferredEntity> inferred;
    int64_t expire_after_s = 0;  // 0: no expire_after
};

struct Discovery {
    std::string topic;
    std::string payload;  // empty: clears the retained config
};

// The discovery topics of the device in `form` (one for Device, one per entity for Entity).
std::vector<std::string> discoveryTopics(const DeviceView& d, const BuildOptions& o, DiscoveryForm form);
// The configs of the device in o.form, each already checked by checkDiscoveryMessage; a config that fails
// the check is left out and its problems appended to `problems` ("<topic>: <problem>").
std::vector<Discovery> buildConfigs(const DeviceView& d, const BuildOptions& o, std::vector<std::string>& problems);
// The per-entity topic of one component, and the device topic ("<prefix>/device/<id>/config").
std::string entityDiscoveryTopic(const BuildOptions& o, std::string_view device_id, Platform p, std::string_view key);
std::string deviceDiscoveryTopic(const BuildOptions& o, std::string_view device_id);
// The component key of an inferred sensor ("auto_<field>").
std::string inferredKey(const std::string& field);
// The Home Assistant entity id suffix for a unique id: lower case, '-' as '_'.
std::string entityIdOf(std::string_view unique_id);
// The value_template that reads `field` from a JSON payload.
std::string valueTemplateFor(const JsonPath& field);

// Migration from `from` to o.form without losing entities: {"migrate_discovery": true} on each old
// topic, then the new configs, then an empty message on each old topic. `old_topics` are the old form's
// topics the plugin owns (only those are touched).
std::vector<Discovery> migrationMessages(const std::vector<std::string>& old_topics,
                                         const std::vector<Discovery>& new_configs);

}  // namespace mqs::hadiscovery
