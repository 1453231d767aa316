// Alert state machine; see engine.hpp. Times are steady-clock milliseconds inside, wall-clock
// milliseconds in records and ISO-8601 in payloads.
#include "alerts/engine.hpp"

#include <algorithm>
#include <charconv>
#include <ctime>
#include <functional>

#include <nlohmann/json.hpp>

namespace mqs::alerts {

namespace {

constexpr uint64_t kDedupSeed = 0x5eedf1e1dull;
using std::chrono::duration_cast;
using std::chrono::milliseconds;

std::string isoTime(int64_t wall_ms) {
    std::time_t secs = static_cast<std::time_t>(wall_ms / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(wall_ms % 1000));
    return buf;
}

std::string formatNumber(double v) {
    char buf[32];
    auto res = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, res.ptr);
}

nlohmann::ordered_json thresholdJson(const std::vector<double>& t) {
    if (t.size() == 1) return t[0];
    return nlohmann::ordered_json(t);
}

const char* transitionName(int t) {
    static const char* names[] = {"raised", "escalated", "de-escalated", "cleared", "active"};
    return names[t];
}

}  // namespace

AlertEngine::AlertEngine(std::shared_ptr<const RuleSet> rules, EngineLimits limits, const Clock& clock,
                         MetricsRegistry& metrics)
    : rules_(std::move(rules)),
      limits_(limits),
      clock_(clock),
      metrics_(metrics),
      fields_(limits.json),
      devices_tracked_(metrics.get("devices_tracked")),
      devices_rejected_(metrics.get("devices_rejected")),
      devices_expired_(metrics.get("devices_expired")),
      devices_key_too_long_(metrics.get("devices_key_too_long")),
      timers_fired_(metrics.get("timers_fired")) {
    for (const auto& rule : rules_->rules) {
        const std::string p = "rules/" + rule.name + "/";
        RuleRuntime rt{{}, &metrics.get(p + "evaluated"), &metrics.get(p + "raised"), &metrics.get(p + "cleared"),
                       &metrics.get(p + "active"), &metrics.get(p + "devices"), &metrics.get(p + "invalid"),
                       &metrics.get(p + "duplicates")};
        // Gauges describe this engine's devices; counters carry on across reloads.
        rt.active->set(0);
        rt.devices->set(0);
        runtime_.push_back(std::move(rt));
    }
    devices_tracked_.set(0);
}

int64_t AlertEngine::nowMs() const { return duration_cast<milliseconds>(clock_.now().time_since_epoch()).count(); }

int64_t AlertEngine::toWallMs(int64_t steady_ms) const {
    int64_t wall_now = duration_cast<milliseconds>(clock_.wallNow().time_since_epoch()).count();
    return wall_now - (nowMs() - steady_ms);
}

int64_t AlertEngine::fromWallMs(int64_t wall_ms) const {
    int64_t wall_now = duration_cast<milliseconds>(clock_.wallNow().time_since_epoch()).count();
    return nowMs() - (wall_now - wall_ms);
}

std::string AlertEngine::deviceKey(const Rule& rule, std::string_view topic, const Captures& captures) const {
    // Capture values are single topic levels, so '/' joins them unambiguously.
    if (rule.capture_names.empty()) return std::string(topic);
    std::string key;
    for (size_t i = 0; i < rule.capture_names.size(); ++i) {
        if (i) key += '/';
        key += captures.get(rule.capture_names[i]).value_or("");
    }
    return key;
}

size_t AlertEngine::keyLength(const Rule& rule, std::string_view topic, const Captures& captures) {
    if (rule.capture_names.empty()) return topic.size();
    size_t n = rule.capture_names.size() - 1;
    for (const auto& name : rule.capture_names) n += captures.get(name).value_or("").size();
    return n;
}

Captures AlertEngine::capturesOf(const Rule& rule, const Device& d) const {
    Captures c;
    std::string_view key = *d.key;
    if (!rule.capture_names.empty()) {
        size_t start = 0;
        for (size_t i = 0; i < rule.capture_names.size(); ++i) {
            size_t slash = key.find('/', start);
            std::string_view part = key.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
            c.set(rule.capture_names[i], part);
            start = slash == std::string_view::npos ? key.size() : slash + 1;
        }
    }
    c.set("rule", rule.name);
    c.set("device", key);
    return c;
}

uint32_t AlertEngine::findOrCreate(uint32_t rule_index, const std::string& key, int64_t now, bool& created) {
    created = false;
    RuleRuntime& rt = runtime_[rule_index];
    auto it = rt.index.find(key);
    if (it != rt.index.end()) return it->second;
    if (key.size() > limits_.max_key_bytes) {
        // The key is kept per device (and its captures are rebuilt from it): its bytes are bounded too.
        devices_key_too_long_.add();
        return UINT32_MAX;
    }
    if (device_count_ >= limits_.max_devices) {
        devices_rejected_.add();
        return UINT32_MAX;
    }
    uint32_t slot;
    if (!free_slots_.empty()) {
        slot = free_slots_.back();
        free_slots_.pop_back();
    } else {
        slot = static_cast<uint32_t>(devices_.size());
        devices_.emplace_back();
    }
    auto inserted = rt.index.emplace(key, slot).first;
    Device& d = devices_[slot];
    uint32_t generation = d.generation;
    d = Device{};
    d.generation = generation;
    d.key = &inserted->first;
    d.rule = rule_index;
    d.flags = kLive;
    d.last_seen = now;
    ++device_count_;
    rt.devices->set(static_cast<int64_t>(rt.index.size()));
    devices_tracked_.set(static_cast<int64_t>(device_count_));
    created = true;
    return slot;
}

void AlertEngine::remove(uint32_t slot) {
    Device& d = devices_[slot];
    RuleRuntime& rt = runtime_[d.rule];
    if (track_changes_) {
        DeviceRecord tomb;
        tomb.rule = rules_->rules[d.rule].name;
        tomb.device = *d.key;
        tomb.removed = true;
        removed_.push_back(std::move(tomb));
    }
    if (anyActive(d)) rt.active->add(-1);
    auto it = rt.index.find(*d.key);
    if (it != rt.index.end()) rt.index.erase(it);
    d.flags = 0;
    d.key = nullptr;
    ++d.generation;  // invalidates its heap entries
    free_slots_.push_back(slot);
    --device_count_;
    rt.devices->set(static_cast<int64_t>(rt.index.size()));
    devices_tracked_.set(static_cast<int64_t>(device_count_));
}

void AlertEngine::touchDirty(uint32_t slot) {
    if (!track_changes_) return;
    Device& d = devices_[slot];
    if (d.flags & kDirty) return;
    d.flags |= kDirty;
    dirty_.push_back(slot);
}

void AlertEngine::setActive(Device& d, RuleRuntime& rt, bool before) {
    bool after = anyActive(d);
    if (before != after) rt.active->add(after ? 1 : -1);
}

size_t AlertEngine::onMessage(std::string_view topic, const void* payload, size_t length) {
    return onMessage(topic, payload, length, clock_.now());
}

const std::vector<AlertEngine::Route>& AlertEngine::routesFor(std::string_view topic, int64_t now, size_t& matched) {
    const size_t hash = TopicCache<std::vector<Route>>::hashOf(topic);
    if (const auto* cached = route_cache_.find(topic, hash)) {
        bool valid = true;
        for (const Route& r : *cached) valid = valid && (devices_[r.slot].flags & kLive) && devices_[r.slot].generation == r.generation;
        if (valid) {
            matched = cached->size();
            return *cached;
        }
    }
    // First message on this topic (or one of its devices expired): match every rule, find or create the devices.
    routes_.clear();
    matched = 0;
    bool complete = true;
    for (uint32_t ri = 0; ri < rules_->rules.size(); ++ri) {
        const Rule& rule = rules_->rules[ri];
        captures_.clear();
        if (!rule.matches(topic, &captures_)) continue;
        ++matched;
        if (keyLength(rule, topic, captures_) > limits_.max_key_bytes) {
            devices_key_too_long_.add();  // refused before the key is even built
            complete = false;
            continue;
        }
        key_ = deviceKey(rule, topic, captures_);
        bool created = false;
        uint32_t slot = findOrCreate(ri, key_, now, created);
        if (slot == UINT32_MAX) {
            complete = false;  // device cap reached: try again on the next message
            continue;
        }
        routes_.push_back(Route{slot, devices_[slot].generation, created});
    }
    if (complete) {
        if (auto* entry = route_cache_.store(topic, hash)) {
            entry->assign(routes_.begin(), routes_.end());
            for (Route& r : *entry) r.created = false;
        }
    }
    return routes_;
}

// Without a dedup field: could this message with the last accepted one's content be MQTT resending it?
// QoS 0 is never resent. QoS 1/2 is resent by a conforming client only after it reconnected, so a
// second identical message on the same connection is a new reading (a sensor repeating a value).
[[gnu::always_inline]] inline bool AlertEngine::mayBeResent(const Device& d, int64_t now, int64_t window) const {
    if (origin_.qos == 0 || now - d.last_seen >= window) return false;
    if (origin_.connection == 0 || d.last_connection == 0) return true;  // unknown: content alone decides
    // Same client id (high half), another connection of it (low half).
    return (origin_.connection >> 32) == (d.last_connection >> 32) && origin_.connection != d.last_connection;
}

// The steps of onSample are inlined into it (a call per step per rule showed in the benchmark).
[[gnu::always_inline]] inline uint64_t AlertEngine::sampleHash(const Rule& rule, std::string_view topic,
                                                               bool& by_field) {
    if (rule.dedup_field) {
        if (auto h = fields_.hash(*rule.dedup_field, kDedupSeed)) {
            by_field = true;
            return *h;
        }
    }
    // No dedup field in this payload: the topic and payload, hashed once for all rules.
    if (!message_hash_) message_hash_ = fnv1a(fields_.text(), fnv1a(topic) ^ 0x9e3779b97f4a7c15ull);
    return *message_hash_;
}

[[gnu::always_inline]] inline void AlertEngine::takeValue(Device& d, const Rule& rule, std::optional<double> value,
                                                          std::string_view topic, int64_t now) {
    if (!value) {
        runtime_[d.rule].invalid->add();
        if (rule.invalid == InvalidMode::Alert && !(d.flags & kInvalidActive)) {
            d.flags |= kInvalidActive;
            emitSpecial(d, rule, "invalid", true, nullptr, topic, now);
        }
        return;
    }
    if (d.flags & kInvalidActive) {
        d.flags &= ~kInvalidActive;
        emitSpecial(d, rule, "invalid", false, &*value, topic, now);
    }
    evaluateSample(d, rule, *value, topic, now);
    d.last_value = *value;
    d.flags |= kHasLast;
}

[[gnu::always_inline]] inline void AlertEngine::onSample(const Route& route, std::string_view topic, int64_t now) {
    Device& d = devices_[route.slot];
    const Rule& rule = rules_->rules[d.rule];
    RuleRuntime& rt = runtime_[d.rule];

    // Retransmission rule (docs/alerts.md): same dedup field value as the last accepted sample,
    // or the same topic+payload within the duplicate window.
    bool by_field = false;
    const uint64_t hash = sampleHash(rule, topic, by_field);
    const int64_t window = rule.duplicate_window.value_or(limits_.duplicate_window).count();
    if (!route.created && (d.flags & kHasHash) && d.last_hash == hash && (by_field || mayBeResent(d, now, window))) {
        rt.duplicates->add();
        return;
    }
    d.last_hash = hash;
    d.last_connection = origin_.connection;
    d.flags |= kHasHash;

    const bool before = anyActive(d);
    d.last_seen = now;
    touchDirty(route.slot);
    if (d.flags & kDeadmanActive) {
        d.flags &= ~kDeadmanActive;
        emitSpecial(d, rule, "deadman", false, nullptr, topic, now);
    }
    if (rule.needsValue()) {
        rt.evaluated->add();
        takeValue(d, rule, rule.value ? fields_.number(*rule.value) : fields_.plainNumber(), topic, now);
    }
    setActive(d, rt, before);
    schedule(route.slot, now);
}

size_t AlertEngine::onMessage(std::string_view topic, const void* payload, size_t length, Clock::TimePoint at) {
    return onMessage(topic, payload, length, at, MessageOrigin{});
}

size_t AlertEngine::onMessage(std::string_view topic, const void* payload, size_t length, Clock::TimePoint at,
                              MessageOrigin origin) {
    origin_ = origin;
    const int64_t now = duration_cast<milliseconds>(at.time_since_epoch()).count();
    size_t matched = 0;
    const std::vector<Route>& routes = routesFor(topic, now, matched);
    if (routes.empty()) return matched;
    fields_.reset(payload, length);  // read lazily, at most once per message, by what the rules ask
    message_hash_.reset();
    for (const Route& route : routes) onSample(route, topic, now);
    return matched;
}

void AlertEngine::evaluateSample(Device& d, const Rule& rule, double v, std::string_view topic, int64_t now) {
    const double* prev = (d.flags & kHasLast) ? &d.last_value : nullptr;
    const int n = static_cast<int>(rule.levels.size());
    const int active = d.active;
    // Debounce counters of the levels above the active one: consecutive samples that raise them.
    for (int i = active + 1; i < n; ++i) {
        if (rule.levels[i].condition.raises(v, prev)) {
            if (d.level_count[i] == 0) d.level_since[i] = now;
            if (d.level_count[i] < UINT32_MAX) ++d.level_count[i];
        } else {
            d.level_count[i] = 0;
        }
    }
    if (active != kNone) {
        if (rule.levels[active].condition.holds(v, prev)) {
            if (d.active_samples < UINT32_MAX) ++d.active_samples;
        } else {
            // Down to the highest lower level that still holds (its own hysteresis), or clear.
            int j = active - 1;
            while (j >= 0 && !rule.levels[j].condition.holds(v, prev)) --j;
            for (int k = std::max(j + 1, 0); k <= active; ++k) d.level_count[k] = 0;
            if (j >= 0) {
                d.active = static_cast<int8_t>(j);
                d.active_since = now;
                d.active_samples = 1;
                emit(d, rule, static_cast<int>(Transition::DeEscalated), rule.levels[j].name, &rule.levels[j],
                     &rule.levels[active].name, &v, topic, now);
            } else {
                d.active = kNone;
                d.cleared_at = now;
                emit(d, rule, static_cast<int>(Transition::Cleared), rule.levels[active].name, &rule.levels[active], nullptr,
                     &v, topic, now);
            }
        }
    }
    qualify(d, rule, &v, topic, now);
}

void AlertEngine::qualify(Device& d, const Rule& rule, const double* value, std::string_view topic, int64_t now) {
    const int n = static_cast<int>(rule.levels.size());
    const int active = d.active;
    for (int i = n - 1; i > active; --i) {
        const Level& level = rule.levels[i];
        if (d.level_count[i] < level.count) continue;
        if (now - d.level_since[i] < level.for_duration.count()) continue;
        if (active == kNone && now - d.cleared_at < rule.cooldown.count()) continue;
        d.active = static_cast<int8_t>(i);
        d.active_since = d.level_since[i];
        d.active_samples = d.level_count[i];
        for (int k = 0; k <= i; ++k) d.level_count[k] = 0;
        const auto t = active == kNone ? Transition::Raised : Transition::Escalated;
        emit(d, rule, static_cast<int>(t), level.name, &level, active == kNone ? nullptr : &rule.levels[active].name, value,
             topic, now);
        return;
    }
}

void AlertEngine::emit(Device& d, const Rule& rule, int transition, const std::string& level, const Level* spec,
                       const std::string* previous, const double* value, std::string_view topic, int64_t now) {
    const auto t = static_cast<Transition>(transition);
    RuleRuntime& rt = runtime_[d.rule];
    if (t == Transition::Raised) rt.raised->add();
    if (t == Transition::Cleared) rt.cleared->add();
    d.last_notify = now;
    touchDirty(static_cast<uint32_t>(&d - devices_.data()));

    AlertEvent event{&rule.alert_topic, level, transitionName(transition)};
    event.previous = previous;
    event.value = value;
    if (spec) {
        event.threshold =
            thresholdJson(t == Transition::Cleared ? spec->condition.clearThreshold() : spec->condition.raiseThreshold());
    }
    event.source_topic = topic;
    event.since = d.active_since;
    event.samples = t == Transition::Cleared || d.active != kNone ? d.active_samples : 0;
    event.is_clear = t == Transition::Cleared;
    publish(d, rule, event, now);
}

void AlertEngine::emitSpecial(Device& d, const Rule& rule, const char* level, bool raised, const double* value,
                              std::string_view topic, int64_t now) {
    RuleRuntime& rt = runtime_[d.rule];
    (raised ? rt.raised : rt.cleared)->add();
    touchDirty(static_cast<uint32_t>(&d - devices_.data()));
    const bool deadman = level[0] == 'd';
    AlertEvent event{deadman ? &rule.deadman_topic : &rule.invalid_topic, level, raised ? "raised" : "cleared"};
    event.value = value;
    if (deadman) event.threshold = static_cast<double>(rule.deadman.count()) / 1000.0;  // seconds of silence
    event.source_topic = topic;
    event.since = d.last_seen;
    event.is_clear = !raised;
    publish(d, rule, event, now);
}

void AlertEngine::publish(const Device& d, const Rule& rule, const AlertEvent& event, int64_t now) {
    const Captures c = capturesOf(rule, d);
    AlertMessage msg{event.topic->render(c), alertPayload(d, rule, event, c, now), rule.qos, rule.retain};
    if (event.is_clear && rule.retain && rule.on_clear == ClearMode::Empty) {
        // Live subscribers get the clear; the empty retained message then deletes the retained alert.
        msg.retain = false;
        std::string topic_copy = msg.topic;
        outbox_.push_back(std::move(msg));
        outbox_.push_back(AlertMessage{std::move(topic_copy), std::string(), rule.qos, true});
        return;
    }
    outbox_.push_back(std::move(msg));
}

// The retained message of each alert the device has active, state "active" (as a renotify says it).
void AlertEngine::republish(const Device& d, const Rule& rule, int64_t now) {
    const double* value = (d.flags & kHasLast) ? &d.last_value : nullptr;
    if (d.active != kNone) {
        const Level& level = rule.levels[d.active];
        AlertEvent event{&rule.alert_topic, level.name, "active"};
        event.value = value;
        event.threshold = thresholdJson(level.condition.raiseThreshold());
        event.since = d.active_since;
        event.samples = d.active_samples;
        publish(d, rule, event, now);
    }
    if (d.flags & kDeadmanActive) {
        AlertEvent event{&rule.deadman_topic, "deadman", "active"};
        event.threshold = static_cast<double>(rule.deadman.count()) / 1000.0;
        event.since = d.last_seen;
        publish(d, rule, event, now);
    }
    if (d.flags & kInvalidActive) {
        AlertEvent event{&rule.invalid_topic, "invalid", "active"};
        event.since = d.last_seen;
        publish(d, rule, event, now);
    }
}

bool AlertEngine::republishSome(size_t max_devices) {
    if (republish_cursor_ == SIZE_MAX) return true;
    const int64_t now = nowMs();
    size_t visited = 0;
    for (; republish_cursor_ < devices_.size() && visited < max_devices; ++republish_cursor_, ++visited) {
        const Device& d = devices_[republish_cursor_];
        if (!(d.flags & kLive) || !anyActive(d)) continue;
        const Rule& rule = rules_->rules[d.rule];
        // Only a retained alert can be missing for a late subscriber; live ones saw it when it happened.
        if (rule.retain) republish(d, rule, now);
    }
    if (republish_cursor_ < devices_.size()) return false;
    republish_cursor_ = SIZE_MAX;
    return true;
}

// The alert payload of docs/alerts.md, members in this order.
std::string AlertEngine::alertPayload(const Device& d, const Rule& rule, const AlertEvent& event, const Captures& c,
                                      int64_t now) const {
    nlohmann::ordered_json j;
    j["rule"] = rule.name;
    j["level"] = std::string(event.level);
    j["state"] = event.state;
    if (event.previous) j["previous"] = *event.previous;
    j["value"] = event.value ? nlohmann::ordered_json(*event.value) : nlohmann::ordered_json(nullptr);
    j["threshold"] = event.threshold;
    if (!event.source_topic.empty()) j["topic"] = std::string(event.source_topic);
    else if (rule.source_topic) j["topic"] = rule.source_topic->render(c);  // timer-fired: the topic it would have
    else j["topic"] = nullptr;
    j["device"] = *d.key;
    if (!rule.capture_names.empty()) {
        nlohmann::ordered_json caps = nlohmann::ordered_json::object();
        for (const auto& name : rule.capture_names) caps[name] = std::string(c.get(name).value_or(""));
        j["captures"] = caps;
    }
    j["since"] = isoTime(toWallMs(event.since));
    j["samples"] = event.samples;
    j["time"] = isoTime(toWallMs(now));
    if (rule.message) j["message"] = messageText(*rule.message, event, c);
    return j.dump();
}

// The rule's message template, with the alert's own values besides the captures.
std::string AlertEngine::messageText(const OutputTemplate& message, const AlertEvent& event, const Captures& c) {
    Captures m = c;
    m.set("value", event.value ? formatNumber(*event.value) : "");
    m.set("level", event.level);
    m.set("state", event.state);
    m.set("threshold", event.threshold.is_null() ? "" : event.threshold.dump());
    return message.render(m);
}

void AlertEngine::fireTimer(uint32_t slot, int64_t now) {
    Device& d = devices_[slot];
    d.flags &= ~kInHeap;
    const Rule& rule = rules_->rules[d.rule];
    RuleRuntime& rt = runtime_[d.rule];
    const bool before = anyActive(d);
    if (!before && now - d.last_seen >= limits_.idle_expiry.count()) {
        devices_expired_.add();
        remove(slot);
        return;
    }
    if (rule.deadman.count() > 0 && !(d.flags & kDeadmanActive) && now - d.last_seen >= rule.deadman.count()) {
        d.flags |= kDeadmanActive;
        d.last_notify = now;
        emitSpecial(d, rule, "deadman", true, nullptr, {}, now);
    }
    const double* value = (d.flags & kHasLast) ? &d.last_value : nullptr;
    qualify(d, rule, value, {}, now);  // `for` durations and cooldowns that ran out without a new sample
    if (rule.renotify.count() > 0 && now - d.last_notify >= rule.renotify.count()) {
        if (d.active != kNone) {
            const Level& level = rule.levels[d.active];
            emit(d, rule, static_cast<int>(Transition::Active), level.name, &level, nullptr, value, {}, now);
        }
        if (d.flags & kDeadmanActive) {
            d.last_notify = now;
            AlertEvent event{&rule.deadman_topic, "deadman", "active"};
            event.threshold = static_cast<double>(rule.deadman.count()) / 1000.0;
            event.since = d.last_seen;
            publish(d, rule, event, now);
        }
    }
    setActive(d, rt, before);
    schedule(slot, now);
}

int64_t AlertEngine::nextDeadline(const Device& d, const Rule& rule) const {
    int64_t best = INT64_MAX;
    if (!anyActive(d)) best = d.last_seen + limits_.idle_expiry.count();
    if (rule.deadman.count() > 0 && !(d.flags & kDeadmanActive)) best = std::min(best, d.last_seen + rule.deadman.count());
    for (int i = d.active + 1; i < static_cast<int>(rule.levels.size()); ++i) {
        const Level& level = rule.levels[i];
        if (d.level_count[i] == 0 || d.level_count[i] < level.count) continue;
        int64_t t = d.level_since[i] + level.for_duration.count();
        if (d.active == kNone) t = std::max(t, d.cleared_at + rule.cooldown.count());
        best = std::min(best, t);
    }
    if (rule.renotify.count() > 0 && (d.active != kNone || (d.flags & kDeadmanActive))) {
        best = std::min(best, d.last_notify + rule.renotify.count());
    }
    return best;
}

void AlertEngine::schedule(uint32_t slot, int64_t now) {
    Device& d = devices_[slot];
    int64_t at = nextDeadline(d, rules_->rules[d.rule]);
    if (at == INT64_MAX) return;
    at = std::max(at, now + 1);
    // One entry per device normally: a message only moves deadlines later, so no push is needed.
    if ((d.flags & kInHeap) && at >= d.scheduled) return;
    timers_.push_back(Timer{at, slot, d.generation});
    std::push_heap(timers_.begin(), timers_.end(), std::greater<Timer>());
    d.scheduled = at;
    d.flags |= kInHeap;
    if (timers_.size() > 2 * device_count_ + 1024) compactTimers();
}

void AlertEngine::compactTimers() {
    // Keeps exactly each live device's current entry: amortised O(1) per push, memory ≤ 2 entries per device.
    timers_.clear();
    for (uint32_t slot = 0; slot < devices_.size(); ++slot) {
        const Device& d = devices_[slot];
        if ((d.flags & kLive) && (d.flags & kInHeap)) timers_.push_back(Timer{d.scheduled, slot, d.generation});
    }
    std::make_heap(timers_.begin(), timers_.end(), std::greater<Timer>());
}

void AlertEngine::onTimers() { onTimers(clock_.now()); }

void AlertEngine::onTimers(Clock::TimePoint at) {
    const int64_t now = duration_cast<milliseconds>(at.time_since_epoch()).count();
    size_t fired = 0;
    while (!timers_.empty() && timers_.front().at <= now && fired < limits_.max_timers_per_call) {
        std::pop_heap(timers_.begin(), timers_.end(), std::greater<Timer>());
        Timer t = timers_.back();
        timers_.pop_back();
        Device& d = devices_[t.slot];
        // Stale entries (device gone, or an earlier entry replaced this one) are skipped.
        if (!(d.flags & kLive) || d.generation != t.generation || !(d.flags & kInHeap) || d.scheduled != t.at) continue;
        ++fired;
        fireTimer(t.slot, now);
    }
    if (fired) timers_fired_.add(static_cast<int64_t>(fired));
}

DeviceRecord AlertEngine::recordOf(const Device& d) const {
    const Rule& rule = rules_->rules[d.rule];
    DeviceRecord r;
    r.rule = rule.name;
    r.device = *d.key;
    if (d.active != kNone) {
        r.active_level = rule.levels[d.active].name;
        r.active_since = toWallMs(d.active_since);
        r.active_samples = d.active_samples;
    }
    r.has_last_value = d.flags & kHasLast;
    r.last_value = d.last_value;
    r.last_seen = toWallMs(d.last_seen);
    r.last_notify = d.last_notify ? toWallMs(d.last_notify) : 0;
    r.cleared_at = d.cleared_at > INT64_MIN / 2 ? toWallMs(d.cleared_at) : 0;
    r.deadman_active = d.flags & kDeadmanActive;
    r.invalid_active = d.flags & kInvalidActive;
    r.has_hash = d.flags & kHasHash;
    r.last_hash = d.last_hash;
    for (int i = d.active + 1; i < static_cast<int>(rule.levels.size()); ++i) {
        if (d.level_count[i] > 0) r.pending.push_back({rule.levels[i].name, d.level_count[i], toWallMs(d.level_since[i])});
    }
    return r;
}

std::vector<DeviceRecord> AlertEngine::takeDirty(size_t max) {
    std::vector<DeviceRecord> out = std::move(removed_);
    removed_.clear();
    size_t i = 0;
    for (; i < dirty_.size() && out.size() < max; ++i) {
        Device& d = devices_[dirty_[i]];
        if (!(d.flags & kLive) || !(d.flags & kDirty)) continue;
        d.flags &= ~kDirty;
        out.push_back(recordOf(d));
    }
    dirty_.erase(dirty_.begin(), dirty_.begin() + static_cast<std::ptrdiff_t>(i));
    return out;
}

std::vector<DeviceRecord> AlertEngine::exportAll() const {
    std::vector<DeviceRecord> out;
    out.reserve(device_count_);
    for (const auto& d : devices_) {
        if (d.flags & kLive) out.push_back(recordOf(d));
    }
    return out;
}

void AlertEngine::markAllDirty() {
    if (!track_changes_) return;
    for (uint32_t slot = 0; slot < devices_.size(); ++slot) {
        if (devices_[slot].flags & kLive) touchDirty(slot);
    }
}

size_t AlertEngine::importRecords(const std::vector<DeviceRecord>& records, bool restart) {
    const int64_t now = nowMs();
    size_t restored = 0;
    for (const auto& r : records) {
        if (r.removed) continue;
        size_t ri = rules_->indexOf(r.rule);
        if (ri == rules_->rules.size()) continue;
        const Rule& rule = rules_->rules[ri];
        if (!rule.capture_names.empty() &&
            static_cast<size_t>(std::count(r.device.begin(), r.device.end(), '/')) + 1 != rule.capture_names.size()) {
            continue;  // the rule's captures changed: this key no longer names one of its devices
        }
        bool created = false;
        uint32_t slot = findOrCreate(static_cast<uint32_t>(ri), r.device, now, created);
        if (slot == UINT32_MAX) continue;
        Device& d = devices_[slot];
        const bool before = anyActive(d);
        // After a restart devices get a full deadman period to reconnect; a reload keeps exact times.
        d.last_seen = restart ? std::max(fromWallMs(r.last_seen), now) : fromWallMs(r.last_seen);
        d.last_notify = r.last_notify ? fromWallMs(r.last_notify) : 0;
        d.cleared_at = r.cleared_at ? fromWallMs(r.cleared_at) : INT64_MIN / 2;
        d.last_value = r.last_value;
        d.last_hash = r.last_hash;
        d.last_connection = 0;  // unknown: after a restart every client has reconnected anyway
        d.flags = kLive | (r.has_last_value ? kHasLast : 0) | (r.deadman_active && rule.deadman.count() > 0 ? kDeadmanActive : 0) |
                  (r.invalid_active && rule.invalid == InvalidMode::Alert ? kInvalidActive : 0) | (r.has_hash ? kHasHash : 0);
        d.active = kNone;
        if (!r.active_level.empty()) {
            int found = -1;
            for (size_t i = 0; i < rule.levels.size(); ++i) {
                if (rule.levels[i].name == r.active_level) found = static_cast<int>(i);
            }
            d.active_since = fromWallMs(r.active_since);
            d.active_samples = r.active_samples;
            if (found >= 0) {
                d.active = static_cast<int8_t>(found);
            } else {
                // The level is gone from the rules: publish a clear so the retained alert does not lie.
                d.cleared_at = now;
                emit(d, rule, static_cast<int>(Transition::Cleared), r.active_level, nullptr, nullptr, nullptr, {}, now);
            }
        }
        for (const auto& p : r.pending) {
            for (int i = d.active + 1; i < static_cast<int>(rule.levels.size()); ++i) {
                if (rule.levels[i].name == p.level) {
                    d.level_count[i] = p.count;
                    d.level_since[i] = fromWallMs(p.since);
                }
            }
        }
        setActive(d, runtime_[ri], before);
        schedule(slot, now);
        ++restored;
    }
    return restored;
}

}  // namespace mqs::alerts
