// DiscoveryEngine: per message a topic-cache hit and a few field checks once a device is known; all
// config building, checking and bookkeeping happens only when something about the device changed.
#include "hadiscovery/engine.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <utility>

namespace mqs::hadiscovery {

namespace {

constexpr size_t kMaxNameBytes = 64;
constexpr size_t kDeviceOverhead = 512;  // map node, strings' headers, the Device struct, its 128-byte hot record
constexpr std::chrono::seconds kIdleCheckEvery{1};
constexpr std::chrono::seconds kTouchEvery{60};  // a known device's inventory last seen, at most this often

// Cuts at a UTF-8 boundary; a view, so comparing a payload's name with the known one allocates nothing.
std::string_view boundedName(std::string_view s) {
    if (s.size() <= kMaxNameBytes) return s;
    size_t n = kMaxNameBytes;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
    return s.substr(0, n);
}
// Whether a message's client matters: only rules that publish availability on disconnect look at it.
bool feedsAvailability(const RuleSet& rules) {
    return std::any_of(rules.rules.begin(), rules.rules.end(),
                       [](const Rule& r) { return r.availability && r.availability->publish_on_disconnect; });
}
// A refused new device's topic is not matched again for this long (a flood costs one cache lookup per message).
constexpr std::chrono::seconds kRefusedRetry{1};

}  // namespace

int64_t observedExpireAfter(std::array<int64_t, kObservedIntervals> v) {
    // Sorted by a 9-comparator network for 5 values: std::sort's set-up cost ~115 instructions a call,
    // once per 5 messages of every device.
    static_assert(kObservedIntervals == 5);
    auto order = [&v](size_t a, size_t b) {
        const int64_t lo = std::min(v[a], v[b]);
        v[b] = std::max(v[a], v[b]);
        v[a] = lo;
    };
    order(0, 1), order(3, 4), order(2, 4), order(2, 3), order(0, 3), order(0, 2), order(1, 4), order(1, 3), order(1, 2);
    const int64_t median = v[kObservedIntervals / 2];
    return std::max<int64_t>(1, (3 * median + 999) / 1000);
}

DiscoveryEngine::DiscoveryEngine(std::shared_ptr<const RuleSet> rules, const Config& config, const Clock& clock,
                                 MetricsRegistry& metrics, LoadedState state, uint64_t seed)
    : rules_(std::move(rules)),
      config_(config),
      clock_(clock),
      inventory_(std::move(state.inventory)),
      deletions_(std::move(state.deletions)),
      limiter_(static_cast<size_t>(config.max_new_devices), config.new_device_window, config.max_state_bytes),
      republish_(config.republish_jitter, static_cast<double>(config.republish_rate), seed),
      availability_(config.max_state_bytes),
      by_topic_(seed),
      fields_(JsonLimits{config.max_json_bytes, 32}),
      m_devices_(metrics.get("devices")),
      m_entities_(metrics.get("entities")),
      m_published_(metrics.get("configs_published")),
      m_removed_(metrics.get("configs_removed")),
      m_suppressed_(metrics.get("configs_suppressed")),
      m_refused_(metrics.get("configs_refused")),
      m_devices_refused_(metrics.get("devices_refused")),
      m_pending_(metrics.get("pending")),
      m_fields_missing_(metrics.get("fields_missing")),
      m_id_collisions_(metrics.get("id_collisions")),
      m_inventory_full_(metrics.get("inventory_full")),
      m_user_deletions_(metrics.get("user_deletions")),
      m_availability_(metrics.get("availability_published")) {
    build_.prefix = config.discovery_prefix;
    build_.form = config.discovery_mode;
#ifdef MQS_SUITE_VERSION
    build_.origin_version = MQS_SUITE_VERSION;
#endif
    // Devices the inventory holds were admitted before: they do not count against the flood window.
    for (const auto& id : inventory_.devices()) limiter_.addKnown(id);
    // Rules removed while the broker was down: their devices' configs are cleared at the first timer run
    // (from TICK or MESSAGE, when the broker can publish).
    for (const auto& entry : inventory_.configs()) {
        const std::string& rule = entry.second.rule;  // a named reference: clang 14 cannot capture a binding
        const bool known = std::any_of(rules_->rules.begin(), rules_->rules.end(),
                                       [&](const Rule& r) { return r.name == rule; });
        if (!known && std::find(orphan_rules_.begin(), orphan_rules_.end(), rule) == orphan_rules_.end())
            orphan_rules_.push_back(rule);
    }
    uses_client_id_ = feedsAvailability(*rules_);
    m_user_deletions_.set(static_cast<int64_t>(deletions_.count()));
    for (const auto& record : state.devices) restoreDevice(record);
    m_devices_.set(static_cast<int64_t>(devices_.size()));
}

// A device of the saved state, rebuilt against the current rules so the start-up pass can re-publish its
// configs. Skipped (it comes back at its next message) when its rule is gone, its topic no longer matches
// the rule or gives another id, or the state bound is reached.
void DiscoveryEngine::restoreDevice(const DeviceRecord& record) {
    const auto rule_it = std::find_if(rules_->rules.begin(), rules_->rules.end(),
                                      [&](const Rule& r) { return r.name == record.rule; });
    if (rule_it == rules_->rules.end() || devices_.count(record.id) || by_topic_.contains(record.topic)) return;
    const Rule& rule = *rule_it;
    Captures caps;
    if (!rule.topic.match(record.topic, &caps) || sanitizeId(rule.device_id.render(caps)) != record.id) return;
    const size_t bytes = kDeviceOverhead + 2 * record.id.size() + 3 * record.topic.size() + kMaxNameBytes;
    if (record.id.size() > 200 || device_bytes_ + bytes > config_.max_state_bytes) return;
    Device dev;
    dev.id = record.id;
    dev.topic = record.topic;
    dev.captures = std::move(caps);
    // A name from the payload is kept; a name from the rule follows the current rules file.
    const bool saved_name = rule.name_field && !record.name.empty();
    dev.name = std::string(boundedName(saved_name ? record.name : rule.device_name.render(dev.captures)));
    uint64_t entity_mask = 0;
    for (size_t i = 0; i < rule.entities.size(); ++i)
        if (std::find(record.entities.begin(), record.entities.end(), rule.entities[i].id) != record.entities.end())
            entity_mask |= 1ull << i;
    if (rule.infer) {
        for (const auto& field : record.inferred) {
            bool named = false;
            for (const auto& e : rule.entities) named |= e.field && e.field->text() == field;
            const InferredSensor* s = inferFromFieldName(field);
            if (!named && s != nullptr && isSanitizedId(field)) dev.inferred.push_back({field, *s});
        }
    }
    dev.bytes = bytes;
    device_bytes_ += bytes;
    limiter_.addKnown(record.id);
    m_entities_.add(std::popcount(entity_mask) + static_cast<int64_t>(dev.inferred.size()));
    Hot& h = *addDevice(std::move(dev)).hot;
    h.rule = static_cast<uint32_t>(rule_it - rules_->rules.begin());
    h.entity_mask = entity_mask;
    h.inferred_done = true;  // inferred from its first payload in an earlier run
    if (rule.expire == ExpireMode::Fixed) h.expire_after_s = rule.expire_seconds;
    if (rule.expire == ExpireMode::Observed) h.expire_after_s = record.expire_after_s;
    by_topic_.insert(&h);
}

DiscoveryEngine::Device& DiscoveryEngine::addDevice(Device dev) {
    auto [pos, _] = devices_.emplace(dev.id, std::move(dev));
    Device& d = pos->second;  // a map node: its address is stable, the hot record points back to it
    d.hot = hot_.acquire();
    d.hot->cold = &d;
    if (d.topic.size() <= Hot::kInlineTopic) {
        std::memcpy(d.hot->topic, d.topic.data(), d.topic.size());
        d.hot->topic_size = static_cast<uint8_t>(d.topic.size());
    }
    return d;
}

int64_t DiscoveryEngine::wallMs() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(clock_.wallNow().time_since_epoch()).count();
}

void DiscoveryEngine::emit(std::string topic, std::string payload, int qos, bool retain) {
    if (config_.dry_run) {
        notes_.emplace_back("dry-run", "dry run: would publish " + std::string(retain ? "retained " : "") + "to " +
                                           quoteForLog(topic) + ": " + quoteForLog(payload, 2000));
        return;
    }
    outbox_.push_back({std::move(topic), std::move(payload), qos, retain});
}

void DiscoveryEngine::onMessage(std::string_view client_id, std::string_view topic, const void* payload, size_t length,
                                bool retain, Clock::TimePoint now) {
    // Home Assistant's birth message: every device again, paced.
    if (topic == config_.birth_topic) {
        if (std::string_view(static_cast<const char*>(payload), length) == config_.birth_payload)
            scheduleRepublishAll(now);
        return;
    }
    // An empty retained message on a discovery topic we own, from a client: a user deleted it in Home
    // Assistant. Remember, never re-create (until the operator undoes it).
    if (length == 0 && retain && topic.size() > build_.prefix.size() && topic.starts_with(build_.prefix) &&
        topic[build_.prefix.size()] == '/') {
        if (inventory_.owns(topic) && deletions_.markDeleted(std::string(topic))) {
            m_user_deletions_.set(static_cast<int64_t>(deletions_.count()));
            state_dirty_ = true;
            const auto* owned = inventory_.find(topic);
            notes_.emplace_back("deleted", "Home Assistant deleted " + quoteForLog(topic) + " (device " +
                                               quoteForLog(owned ? owned->device_id : "") +
                                               "): it stays deleted until undone through $CONTROL/hadiscovery/v1");
        }
        return;
    }
    // Known devices: one lookup in the flat topic index, no allocation (every device is in it, so 10 000 devices
    // do not thrash a fixed-size cache).
    Hot* h = by_topic_.find(topic);
    if (h == nullptr) {
        const size_t hash = TopicCache<Slot>::hashOf(topic);
        Slot* s = cache_.find(topic, hash);
        if (s != nullptr && now < s->retry_after) return;  // refused a moment ago
        bool matched = false;
        Device* d = deviceFor(topic, now, matched);
        if (d == nullptr) {
            // Refused (flood cap, collision, bound): remembered briefly in a fixed-size cache. Topics no
            // rule matches are not remembered: matching them fails without allocating.
            if (matched) {
                if (Slot* fresh = s ? s : cache_.store(topic, hash)) fresh->retry_after = now + kRefusedRetry;
            }
            return;
        }
        h = d->hot;
        by_topic_.insert(h);
    }
    fields_.reset(payload, length);
    // Once per device and run even when the inventory says unchanged: the broker may have lost its
    // retained messages (persistence off), and Home Assistant ignores an identical config.
    const bool changed = observe(*h, client_id, now);
    if (changed) state_dirty_ = true;  // the device records in the snapshot
    if (changed || !h->published) publishDevice(*h->cold, !h->published);
}

DiscoveryEngine::Device* DiscoveryEngine::deviceFor(std::string_view topic, Clock::TimePoint now, bool& matched) {
    Captures caps;
    matched = false;
    for (size_t i = 0; i < rules_->rules.size(); ++i) {
        const Rule& rule = rules_->rules[i];
        if (!rule.topic.match(topic)) continue;  // allocation-free when it fails
        caps.clear();
        rule.topic.match(topic, &caps);
        matched = true;
        std::string id = sanitizeId(rule.device_id.render(caps));
        auto it = devices_.find(id);
        if (it != devices_.end()) {
            if (it->second.topic == topic) return &it->second;
            // Two topics whose capture values sanitize alike ("10.0.0.5" and "10_0_0_5"): the first keeps the id.
            m_id_collisions_.add();
            notes_.emplace_back("collision", "topic " + quoteForLog(topic) + " would be device " + quoteForLog(id) +
                                                 ", which " + quoteForLog(it->second.topic) + " has: ignored");
            return nullptr;
        }
        const size_t bytes = kDeviceOverhead + 2 * id.size() + 3 * topic.size() + kMaxNameBytes;  // map keys too
        if (id.size() > 200 || device_bytes_ + bytes > config_.max_state_bytes || !limiter_.admit(rule.name, id, now)) {
            m_devices_refused_.set(static_cast<int64_t>(limiter_.refusedTotal()));
            notes_.emplace_back("refused:" + rule.name,
                                "rule " + quoteForLog(rule.name) + ": new device " + quoteForLog(id) +
                                    " refused (flood cap max_new_devices per new_device_window, or state bound); " +
                                    std::to_string(limiter_.refused(rule.name)) + " refused so far");
            return nullptr;
        }
        Device dev;
        dev.id = id;
        dev.topic = std::string(topic);
        dev.captures = caps;
        dev.name = std::string(boundedName(rule.device_name.render(caps)));
        dev.bytes = bytes;
        device_bytes_ += bytes;
        Device& d = addDevice(std::move(dev));
        d.hot->rule = static_cast<uint32_t>(i);
        if (rule.expire == ExpireMode::Fixed) d.hot->expire_after_s = rule.expire_seconds;
        m_devices_.set(static_cast<int64_t>(devices_.size()));
        return &d;
    }
    return nullptr;
}

bool DiscoveryEngine::observe(Hot& h, std::string_view client_id, Clock::TimePoint now) {
    // Reads and writes h; the cold rest of the device only for what the rule asks (inference, a name field,
    // availability) or when the inventory touch is due.
    const Rule& rule = rules_->rules[h.rule];
    bool changed = false;
    // Which entities this payload can show; an entity, once it exists, stays (fields may be intermittent).
    // A device that has every entity cannot gain one, so its payload is not read for that: scanning it was
    // most of a known device's cost per message. Missing fields are counted while they keep an entity away.
    const uint64_t all = rule.entities.size() == 64 ? ~0ull : (1ull << rule.entities.size()) - 1;
    if (h.entity_mask != all) {
        uint64_t mask = 0;
        for (size_t i = 0; i < rule.entities.size(); ++i) {
            const EntitySpec& e = rule.entities[i];
            bool present = true;
            if (e.field && !e.state_topic) {
                present = e.numeric ? fields_.number(*e.field).has_value() : fields_.hash(*e.field, 0).has_value();
            }
            if (present) mask |= 1ull << i;
        }
        if (mask != all) m_fields_missing_.add();
        if ((h.entity_mask | mask) != h.entity_mask) {
            const int before = std::popcount(h.entity_mask);
            h.entity_mask |= mask;
            m_entities_.add(std::popcount(h.entity_mask) - before);
            changed = true;
        }
    }
    if (rule.infer && !h.inferred_done) {
        h.inferred_done = true;
        if (const FlatJsonObject* flat = fields_.flat()) {
            for (size_t i = 0; i < flat->size(); ++i) {
                const FlatJsonMember& m = (*flat)[i];
                if (!m.isNumber()) continue;
                bool named = false;
                for (const auto& e : rule.entities) named |= e.field && e.field->text() == m.key;
                const InferredSensor* s = inferFromFieldName(m.key);
                if (named || s == nullptr || !isSanitizedId(m.key)) continue;
                h.cold->inferred.push_back({std::string(m.key), *s});
                m_entities_.add();
                changed = true;
            }
        }
    }
    if (rule.name_field) {
        if (auto name = fields_.string(*rule.name_field); name && !name->empty()) {
            if (h.cold->name != boundedName(*name)) {
                h.cold->name = std::string(boundedName(*name));
                changed = true;
            }
        }
    }
    if (rule.expire == ExpireMode::Observed) {
        bool window_full = false;  // judged once per kObservedIntervals fresh intervals, not per message
        if (h.last_message != Clock::TimePoint{}) {
            const int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(now - h.last_message).count();
            if (ms > 0) {  // a burst or a retransmission says nothing about the period
                h.intervals[h.interval_pos] = ms;
                h.interval_pos =
                    static_cast<uint8_t>(h.interval_pos + 1 == kObservedIntervals ? 0 : h.interval_pos + 1);
                window_full = h.interval_pos == 0;
            }
        }
        if (window_full) {
            const int64_t v = observedExpireAfter(h.intervals);
            if (h.expire_after_s == 0 || v > 2 * h.expire_after_s || 2 * v < h.expire_after_s) {
                h.expire_after_s = v;
                changed = true;
            }
        }
    }
    h.last_message = now;
    if (rule.availability && rule.availability->publish_on_disconnect && !client_id.empty() &&
        (!h.online || h.cold->feeder != client_id)) {
        Device& d = *h.cold;
        h.online = true;
        d.feeder = std::string(client_id);
        if (availability_.fed(client_id, d.id)) {
            m_availability_.add();
            emit(rule.availability->topic.render(d.captures), rule.availability->payload_available, 1, true);
        }
    }
    // The inventory's last seen, at most once a minute: a steady-clock compare per message, the wall clock
    // read only when a touch is due (first message of the run, then every 60 s).
    if (h.last_touch_ms == 0 || now >= h.touch_due) {
        const int64_t now_ms = wallMs();
        if (now_ms - h.last_touch_ms >= 60'000) {
            h.last_touch_ms = now_ms;
            h.touch_due = now + kTouchEvery;
            inventory_.touchDevice(h.cold->id, now_ms);
        }
    }
    return changed;
}

DeviceView DiscoveryEngine::viewOf(const Device& d) const {
    DeviceView v;
    v.rule = &ruleOf(d);
    v.id = d.id;
    v.captures = d.captures;
    v.name = d.name;
    v.topic = d.topic;
    v.entity_mask = d.hot->entity_mask;
    v.inferred = d.inferred;
    v.expire_after_s = d.hot->expire_after_s;
    return v;
}

void DiscoveryEngine::publishDevice(Device& d, bool force) {
    DeviceView view = viewOf(d);
    // Deleted stays deleted in either form: an entity deleted while published per entity is left out of
    // the device config; a deleted device config suppresses every per-entity config of the device.
    bool device_deleted = false;
    if (deletions_.count() > 0) {
        if (build_.form == DiscoveryForm::Device) {
            const auto& entities = ruleOf(d).entities;
            for (size_t i = 0; i < entities.size(); ++i) {
                if ((view.entity_mask & (1ull << i)) &&
                    deletions_.isDeleted(entityDiscoveryTopic(build_, d.id, entities[i].platform, entities[i].id)))
                    view.entity_mask &= ~(1ull << i);
            }
            std::erase_if(view.inferred, [&](const InferredEntity& e) {
                return deletions_.isDeleted(entityDiscoveryTopic(build_, d.id, Platform::Sensor, inferredKey(e.field)));
            });
        } else {
            device_deleted = deletions_.isDeleted(deviceDiscoveryTopic(build_, d.id));
        }
    }
    std::vector<std::string> problems;
    std::vector<Discovery> configs = buildConfigs(view, build_, problems);
    if (!problems.empty()) {
        m_refused_.add(static_cast<int64_t>(problems.size()));
        notes_.emplace_back("refused-config",
                            "config of device " + quoteForLog(d.id) +
                                " refused by the Home Assistant contract check, not published: " + problems.front());
    }
    // Done for this run even when nothing could be built (no entity yet, or refused): the next attempt
    // comes with a change, not with every message.
    d.hot->published = true;
    if (configs.empty()) return;
    const int64_t now_ms = wallMs();
    // Owned configs of this device that the current form does not produce: the other discovery form
    // (discovery_mode changed), migrated with Home Assistant's migrate_discovery procedure.
    std::vector<std::string> old_topics;
    for (const auto& t : inventory_.topicsOf(d.id)) {
        const bool current =
            std::any_of(configs.begin(), configs.end(), [&](const Discovery& c) { return c.topic == t; });
        if (!current) old_topics.push_back(t);
    }
    std::vector<Discovery> live;
    for (auto& c : configs) {
        if (device_deleted || deletions_.isDeleted(c.topic)) {
            m_suppressed_.add();
            continue;
        }
        Inventory::OwnedConfig oc{c.topic, d.id, ruleOf(d).name, fnv1a(c.payload), now_ms};
        const auto r = inventory_.recordDetailed(std::move(oc));
        if (r == Inventory::Recorded::Refused) {
            m_inventory_full_.add();
            notes_.emplace_back("inventory", "inventory full (max_state_bytes): config " + quoteForLog(c.topic) +
                                                 " not published (it could not be removed later)");
            continue;
        }
        if (r != Inventory::Recorded::Unchanged) state_dirty_ = true;
        if (r != Inventory::Recorded::Unchanged || force || !old_topics.empty()) live.push_back(std::move(c));
    }
    if (!old_topics.empty()) {
        std::vector<std::string> to_migrate;
        for (const auto& t : old_topics) {
            inventory_.forgetTopic(t);
            if (!deletions_.isDeleted(t)) to_migrate.push_back(t);  // a deleted one is empty already
        }
        state_dirty_ = true;
        m_published_.add(static_cast<int64_t>(live.size()));
        m_removed_.add(static_cast<int64_t>(to_migrate.size()));
        for (auto& m : migrationMessages(to_migrate, live)) emit(std::move(m.topic), std::move(m.payload), 1, true);
        return;
    }
    for (auto& c : live) {
        m_published_.add();
        emit(std::move(c.topic), std::move(c.payload), 1, true);
    }
}

void DiscoveryEngine::clearTopics(const std::vector<std::string>& topics) {
    for (const auto& t : topics) {
        m_removed_.add();
        emit(t, "", 1, true);
    }
}

void DiscoveryEngine::removeDevice(const std::string& id, const char* why) {
    auto topics = inventory_.forget(id);
    if (!topics.empty()) state_dirty_ = true;
    clearTopics(topics);
    limiter_.forget(id);
    availability_.forgetDevice(id);
    republish_.remove(id);
    auto it = devices_.find(id);
    if (it != devices_.end()) {
        Device& d = it->second;
        m_entities_.add(-static_cast<int64_t>(std::popcount(d.hot->entity_mask) + d.inferred.size()));
        device_bytes_ -= d.bytes;
        by_topic_.erase(d.topic);  // before the record goes back to the pool: the index reads its topic
        hot_.release(d.hot);
        devices_.erase(it);
    }
    m_devices_.set(static_cast<int64_t>(devices_.size()));
    if (why != nullptr)  // idle removals are summed up by the caller (thousands may expire at once)
        notes_.emplace_back("removed", "device " + quoteForLog(id) + " removed (" + why +
                                           "): " + std::to_string(topics.size()) + " config(s) cleared");
}

void DiscoveryEngine::onDisconnect(std::string_view client_id) {
    for (const auto& id : availability_.clientGone(client_id)) {
        auto it = devices_.find(id);
        if (it == devices_.end()) continue;
        Device& d = it->second;
        d.hot->online = false;
        const Rule& rule = ruleOf(d);
        if (!rule.availability) continue;
        m_availability_.add();
        emit(rule.availability->topic.render(d.captures), rule.availability->payload_not_available, 1, true);
    }
}

void DiscoveryEngine::scheduleRepublishAll(Clock::TimePoint now, bool at_start) {
    std::vector<std::string> ids;
    ids.reserve(devices_.size());
    for (const auto& [id, d] : devices_) {  // restored from the state file, or seen in this run
        // A device saved in the other discovery form is migrated at its first message instead: Home
        // Assistant must be connected to see the migrate marker, which it may not be yet at broker start.
        // One already published in this run (its message came before the first timer run) is not repeated.
        if (at_start && (d.hot->published || ownsOtherForm(id))) continue;
        ids.push_back(id);
    }
    std::sort(ids.begin(), ids.end());
    republish_.scheduleAll(ids, now);
    m_pending_.set(static_cast<int64_t>(republish_.size()));
}

bool DiscoveryEngine::ownsOtherForm(const std::string& id) const {
    const std::string device_topic = deviceDiscoveryTopic(build_, id);
    const bool device_form = build_.form == DiscoveryForm::Device;
    for (const auto& t : inventory_.topicsOf(id))
        if ((t == device_topic) != device_form) return true;
    return false;
}

void DiscoveryEngine::onTimers(Clock::TimePoint now) {
    if (!orphan_rules_.empty()) {
        for (const auto& rule : orphan_rules_)
            for (const auto& id : inventory_.devicesOfRule(rule))
                removeDevice(id, "its rule is no longer in the rules file");
        orphan_rules_.clear();
    }
    if (!republish_.empty()) {
        for (const auto& id : republish_.due(now)) {
            auto it = devices_.find(id);
            if (it != devices_.end()) publishDevice(it->second, true);
        }
        m_pending_.set(static_cast<int64_t>(republish_.size()));
    }
    if (config_.device_idle_timeout.count() > 0 && now >= next_idle_check_) {
        // Walks every device: at most once a second, and 20 times per timeout for long timeouts.
        next_idle_check_ = now + std::max<std::chrono::milliseconds>(kIdleCheckEvery, config_.device_idle_timeout / 20);
        // Devices seen in this run touch the inventory at most once a minute: judge them by their own clock.
        const int64_t now_ms = wallMs();
        for (auto& [id, d] : devices_) {
            Hot& h = *d.hot;
            if (h.last_message != Clock::TimePoint{} && h.last_touch_ms != 0) {
                const int64_t seen_ms =
                    now_ms - std::chrono::duration_cast<std::chrono::milliseconds>(now - h.last_message).count();
                if (seen_ms > h.last_touch_ms) {
                    inventory_.touchDevice(id, seen_ms);
                    h.last_touch_ms = seen_ms;
                    h.touch_due = h.last_message + kTouchEvery;
                }
            }
        }
        const auto idle = inventory_.devicesIdleSince(now_ms - config_.device_idle_timeout.count());
        for (const auto& id : idle) removeDevice(id, nullptr);
        if (!idle.empty())
            notes_.emplace_back("removed", std::to_string(idle.size()) +
                                               " device(s) idle past device_idle_timeout removed (" +
                                               quoteForLog(idle.front()) + (idle.size() > 1 ? ", ..." : "") +
                                               "), their configs cleared");
    }
    updateGauges();
}

void DiscoveryEngine::updateGauges() {
    m_devices_.set(static_cast<int64_t>(devices_.size()));
    m_devices_refused_.set(static_cast<int64_t>(limiter_.refusedTotal()));
}

void DiscoveryEngine::replaceRules(std::shared_ptr<const RuleSet> rules, Clock::TimePoint now) {
    auto indexOf = [&](const std::string& name) {
        for (size_t i = 0; i < rules->rules.size(); ++i)
            if (rules->rules[i].name == name) return i;
        return rules->rules.size();
    };
    // Rules gone: every device the inventory holds for them loses its configs.
    for (const auto& old : rules_->rules) {
        if (indexOf(old.name) == rules->rules.size())
            for (const auto& id : inventory_.devicesOfRule(old.name)) removeDevice(id, "its rule was removed");
    }
    // Rules kept: a device whose topic no longer matches or whose id changed is removed (the next message
    // creates the new one); the others keep their state, entities mapped by id, and publish what changed.
    std::vector<std::string> gone;
    for (auto& [id, d] : devices_) {
        Hot& h = *d.hot;
        const size_t i = indexOf(rules_->rules[h.rule].name);
        const Rule& next = rules->rules[i];
        Captures caps;
        if (!next.topic.match(d.topic, &caps) || sanitizeId(next.device_id.render(caps)) != id) {
            gone.push_back(id);
            continue;
        }
        const Rule& before = rules_->rules[h.rule];
        uint64_t mask = 0;
        for (size_t j = 0; j < next.entities.size(); ++j)
            for (size_t k = 0; k < before.entities.size(); ++k)
                if (before.entities[k].id == next.entities[j].id && (h.entity_mask & (1ull << k))) mask |= 1ull << j;
        m_entities_.add(std::popcount(mask) - std::popcount(h.entity_mask));
        h.entity_mask = mask;
        h.rule = static_cast<uint32_t>(i);
        d.captures = std::move(caps);
        if (!next.name_field) d.name = std::string(boundedName(next.device_name.render(d.captures)));
        if (next.expire == ExpireMode::Fixed)
            h.expire_after_s = next.expire_seconds;
        else if (next.expire == ExpireMode::None)
            h.expire_after_s = 0;
    }
    for (const auto& id : gone) removeDevice(id, "its rule now gives it another id or no longer matches its topic");
    cache_.clear();  // refusals under the old rules
    rules_ = std::move(rules);
    uses_client_id_ = feedsAvailability(*rules_);
    for (auto& [id, d] : devices_)
        if (d.hot->published) publishDevice(d, false);
    state_dirty_ = true;  // the device records name their rules and entities
    (void)now;
    updateGauges();
}

std::vector<std::string> DiscoveryEngine::undelete(std::string_view key, Clock::TimePoint now) {
    // A topic, or a device id: its owned topics and any deleted topic of it (per-entity topics of a
    // migrated device are no longer owned).
    std::vector<std::string> candidates{std::string(key)};
    for (const auto& t : inventory_.topicsOf(key)) candidates.push_back(t);
    const std::string level = "/" + std::string(key) + "/";
    for (const auto& t : deletions_.list())
        if (t.find(level) != std::string::npos) candidates.push_back(t);
    std::vector<std::string> undone;
    for (const auto& t : candidates) {
        if (deletions_.undelete(t)) undone.push_back(t);
    }
    if (undone.empty()) return undone;
    state_dirty_ = true;
    m_user_deletions_.set(static_cast<int64_t>(deletions_.count()));
    std::vector<std::string> ids;
    if (devices_.count(std::string(key))) ids.emplace_back(key);
    for (const auto& t : undone)
        if (const auto* owned = inventory_.find(t)) ids.push_back(owned->device_id);
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    for (const auto& id : ids) {
        auto it = devices_.find(id);
        if (it != devices_.end())
            publishDevice(it->second, true);
        else
            republish_.remove(id);  // not seen in this run yet: published at its first message
    }
    (void)now;
    return undone;
}

std::string DiscoveryEngine::handleControl(std::string_view payload, Clock::TimePoint now,
                                           std::vector<std::string>& log) {
    using json = nlohmann::json;
    json reply = {{"responses", json::array()}};
    json request = json::parse(payload, nullptr, false);
    if (!request.is_object() || !request.contains("commands") || !request["commands"].is_array()) {
        reply["responses"].push_back({{"command", "unknown"}, {"error", "expected {\"commands\": [...]}"}});
        return reply.dump(-1, ' ', false, json::error_handler_t::replace);
    }
    for (const auto& c : request["commands"]) {
        const std::string name = c.is_object() ? c.value("command", std::string()) : std::string();
        json r = {{"command", name}};
        if (name == "listDeleted") {
            r["data"] = {{"deleted", deletions_.list()}};
        } else if (name == "undelete") {
            std::string key = c.value("topic", c.value("device", std::string()));
            if (key.empty()) {
                r["error"] = "needs \"topic\" or \"device\"";
            } else {
                auto undone = undelete(key, now);
                if (undone.empty()) {
                    r["error"] = "nothing deleted under that topic or device";
                } else {
                    r["data"] = {{"undeleted", undone}};
                    for (const auto& t : undone) log.push_back("undeleted " + quoteForLog(t));
                }
            }
        } else {
            r["error"] = "unknown command (listDeleted, undelete)";
        }
        reply["responses"].push_back(std::move(r));
    }
    return reply.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::optional<StateSnapshot> DiscoveryEngine::takeStateIfChanged() {
    if (!takeStateChanged()) return std::nullopt;
    return currentState();
}

bool DiscoveryEngine::takeStateChanged() {
    return std::exchange(state_dirty_, false);
}

StateSnapshot DiscoveryEngine::currentState() const {
    std::vector<const Device*> sorted;
    sorted.reserve(devices_.size());
    for (const auto& [id, d] : devices_) sorted.push_back(&d);
    std::sort(sorted.begin(), sorted.end(), [](const Device* a, const Device* b) { return a->id < b->id; });
    std::vector<DeviceRecord> records;
    records.reserve(sorted.size());
    for (const Device* d : sorted) {
        const Rule& rule = ruleOf(*d);
        DeviceRecord r{d->id, rule.name, d->topic, d->name, {}, {}, d->hot->expire_after_s};
        for (size_t i = 0; i < rule.entities.size(); ++i)
            if (d->hot->entity_mask & (1ull << i)) r.entities.push_back(rule.entities[i].id);
        for (const auto& e : d->inferred) r.inferred.push_back(e.field);
        records.push_back(std::move(r));
    }
    return snapshotOf(inventory_, deletions_, std::move(records));
}

std::string DiscoveryEngine::takeSnapshotIfChanged() {
    auto state = takeStateIfChanged();
    return state ? state->render() : std::string();
}

}  // namespace mqs::hadiscovery
