// Load generator for the plugin benchmarks: P publishers, S subscribers and N idle MQTT
// connections on loopback; prints one JSON line (stdout) and one human line (stderr).
//
// All connections share one thread driven by ppoll() over libmosquitto's sockets, so the
// generator uses at most one core and never runs inside the broker's accounting.
#include "bench/bench_common.hpp"
#include "bench/payload.hpp"

#include <mosquitto.h>
#include <nlohmann/json.hpp>

#include <poll.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace {

using mqs::bench::CliArgs;
using mqs::bench::PayloadKind;
using mqs::bench::SensorModel;

std::int64_t monoNs() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

std::int64_t epochMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// 1 µs buckets up to 100 ms cover loopback latencies exactly; slower samples go to a list.
class LatencyHistogram {
public:
    void add(std::int64_t ns) {
        const std::int64_t us = std::max<std::int64_t>(ns, 0) / 1000;
        if (us < kBuckets) {
            ++buckets_[static_cast<size_t>(us)];
        } else {
            slow_.push_back(us);
        }
        maxNs_ = std::max(maxNs_, ns);
        ++count_;
    }

    std::uint64_t count() const { return count_; }
    double maxUs() const { return static_cast<double>(maxNs_) / 1000.0; }

    double percentileUs(double q) {
        if (count_ == 0) {
            return 0.0;
        }
        auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_)));
        rank = std::clamp<std::uint64_t>(rank, 1, count_);
        std::uint64_t seen = 0;
        for (size_t us = 0; us < buckets_.size(); ++us) {
            seen += buckets_[us];
            if (seen >= rank) {
                return static_cast<double>(us);
            }
        }
        std::sort(slow_.begin(), slow_.end());
        return static_cast<double>(slow_[static_cast<size_t>(rank - seen - 1)]);
    }

private:
    static constexpr std::int64_t kBuckets = 100000;
    std::vector<std::uint32_t> buckets_ = std::vector<std::uint32_t>(kBuckets, 0);
    std::vector<std::int64_t> slow_;
    std::int64_t maxNs_ = 0;
    std::uint64_t count_ = 0;
};

struct SendRecord {
    std::int64_t key;
    std::int64_t sentNs;
};

struct TopicState {
    mqs::bench::TopicSpec spec;
    SensorModel model;
    std::int64_t lastKey = 0;
    // Send records still needed by some subscriber; recordBase_ is the absolute index of
    // the front so subscriber cursors survive trimming.
    std::deque<SendRecord> records;
    std::uint64_t recordBase = 0;
    std::vector<size_t> subscribers; // indices into LoadGen::subs_ expecting this topic
};

enum class Role { Publisher, Subscriber, Idle };

// Heterogeneous lookup: find topics by const char* without allocating a std::string per delivery.
struct TopicHash {
    using is_transparent = void;
    size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
};

class LoadGen;

struct ClientState {
    LoadGen* owner = nullptr;
    mosquitto* mosq = nullptr;
    Role role = Role::Idle;
    size_t index = 0;
    std::string id;
    bool connected = false;
    bool ready = false;
    bool closing = false;
    // Subscriber accounting: matched = deliveries paired with a send record.
    std::uint64_t expected = 0;
    std::uint64_t received = 0;
    std::uint64_t matched = 0;
    std::uint64_t duplicates = 0;
    std::uint64_t writtenOff = 0;
    std::vector<std::uint64_t> cursor; // absolute record index per topic
    std::vector<std::string> filters;
    // Publisher accounting: completed = on_publish callbacks (written for QoS 0, acked above).
    std::uint64_t published = 0;
    std::uint64_t completed = 0;
};

struct Config {
    std::string host;
    int port = 0;
    int qos = 0;
    int publishers = 1;
    int subscribers = 1;
    int idle = 0;
    PayloadKind payload = PayloadKind::Warehouse;
    std::string topicTemplate;
    std::string subFilter;
    bool splitSubs = false;
    std::string nodelay = "all";
    std::vector<std::string> zones;
    int sensors = 10;
    std::uint64_t count = 0;
    double durationS = 5.0;
    double maxSeconds = 120.0;
    double rate = 0.0;
    std::uint64_t window = 500;
    int brokerPid = 0;
    std::string username;
    std::string password;
    bool usernamePerClient = false; // each connection logs in with its client id as username
    std::string clientPrefix;
    int keepalive = 60;
    double connectTimeoutS = 10.0;
    double drainTimeoutS = 5.0;
    std::uint64_t seed = 1;
    bool quiet = false;
    bool countInstructions = true;
};

class LoadGen {
public:
    explicit LoadGen(Config cfg) : cfg_(std::move(cfg)) {}
    ~LoadGen();
    LoadGen(const LoadGen&) = delete;
    LoadGen& operator=(const LoadGen&) = delete;

    int run();

    // libmosquitto callbacks, forwarded from the C trampolines below.
    void onConnect(ClientState& c, int rc);
    void onDisconnect(ClientState& c, int rc);
    void onSubscribe(ClientState& c, int count, const int* granted);
    void onPublish(ClientState& c);
    void onMessage(ClientState& c, const mosquitto_message* msg);

private:
    bool setUp();
    bool createClient(Role role, size_t index, ClientState& c);
    void pump(std::int64_t timeoutNs, bool includeIdle);  // includeIdle forces idle clients in
    void readAll(ClientState& c);
    void publishNext(std::int64_t now);
    bool creditAvailable() const;
    void trimRecords(TopicState& t);
    bool allDelivered() const;
    bool allCompleted() const;
    std::uint64_t progressCount() const;
    void fail(const std::string& why);
    void shutDown();
    int report();

    Config cfg_;
    std::vector<TopicState> topics_;
    std::vector<std::unique_ptr<ClientState>> pubs_;
    std::vector<std::unique_ptr<ClientState>> subs_;
    std::vector<std::unique_ptr<ClientState>> idle_;
    std::unordered_map<std::string, size_t, TopicHash, std::equal_to<>> topicIndex_;
    std::vector<pollfd> pollFds_;
    std::vector<ClientState*> pollClients_;
    std::string payloadBuf_;
    LatencyHistogram latency_;
    std::string error_;

    std::uint64_t sent_ = 0;
    std::uint64_t stalls_ = 0;
    std::int64_t firstPublishNs_ = 0;
    std::int64_t lastPublishNs_ = 0;
    std::int64_t lastDeliveryNs_ = 0;
    std::int64_t lastProgressNs_ = 0;
    std::int64_t maxLateNs_ = 0;
    std::uint64_t lateCount_ = 0;
    std::int64_t lastIdlePollNs_ = 0;
    std::int64_t lastMiscNs_ = 0;
    double drainS_ = 0.0;
    bool drainComplete_ = false;

    std::uint64_t cpuTicksBefore_ = 0;
    std::uint64_t cpuTicksAfter_ = 0;
    bool haveCpu_ = false;
    std::optional<std::uint64_t> schedNsBefore_;
    std::optional<std::uint64_t> schedNsAfter_;
    // Broker hardware counters, index: instructions user, instructions kernel, cycles user,
    // cycles kernel.
    std::array<mqs::bench::PerfCounter, 4> perf_;
    std::array<bool, 4> perfOk_{};
    std::array<std::optional<std::uint64_t>, 4> perfCount_;
    long rssBeforeKb_ = -1;
    long rssConnectedKb_ = -1;
    long rssEndKb_ = -1;
    long peakRssKb_ = -1;
};

ClientState& stateOf(void* obj) {
    return *static_cast<ClientState*>(obj);
}

extern "C" void onConnectCb(mosquitto*, void* obj, int rc) {
    stateOf(obj).owner->onConnect(stateOf(obj), rc);
}

extern "C" void onDisconnectCb(mosquitto*, void* obj, int rc) {
    stateOf(obj).owner->onDisconnect(stateOf(obj), rc);
}

extern "C" void onSubscribeCb(mosquitto*, void* obj, int, int count, const int* granted) {
    stateOf(obj).owner->onSubscribe(stateOf(obj), count, granted);
}

extern "C" void onPublishCb(mosquitto*, void* obj, int) {
    stateOf(obj).owner->onPublish(stateOf(obj));
}

extern "C" void onMessageCb(mosquitto*, void* obj, const mosquitto_message* msg) {
    stateOf(obj).owner->onMessage(stateOf(obj), msg);
}

LoadGen::~LoadGen() {
    for (auto* group : {&pubs_, &subs_, &idle_}) {
        for (auto& c : *group) {
            if (c->mosq != nullptr) {
                mosquitto_destroy(c->mosq);
            }
        }
    }
}

void LoadGen::fail(const std::string& why) {
    if (error_.empty()) {
        error_ = why;
    }
}

void LoadGen::onConnect(ClientState& c, int rc) {
    if (rc != 0) {
        fail("connection refused for " + c.id + ": " + mosquitto_connack_string(rc));
        return;
    }
    c.connected = true;
    if (c.role != Role::Subscriber) {
        c.ready = true;
        return;
    }
    std::vector<char*> filters;
    for (auto& f : c.filters) {
        filters.push_back(f.data());
    }
    int rc2 = mosquitto_subscribe_multiple(c.mosq, nullptr, static_cast<int>(filters.size()), filters.data(),
                                           cfg_.qos, 0, nullptr);
    if (rc2 != MOSQ_ERR_SUCCESS) {
        fail("subscribe failed for " + c.id + ": " + mosquitto_strerror(rc2));
    }
}

void LoadGen::onDisconnect(ClientState& c, int rc) {
    c.connected = false;
    if (!c.closing) {
        fail("connection lost for " + c.id + " (" + mosquitto_strerror(rc) + ")");
    }
}

void LoadGen::onSubscribe(ClientState& c, int count, const int* granted) {
    // 0x80 in a SUBACK means the broker (or an ACL plugin) refused the filter.
    if (count != static_cast<int>(c.filters.size()) || std::any_of(granted, granted + count, [](int g) {
            return g >= 0x80;
        })) {
        fail("subscription to '" + c.filters.front() + "'" + (count > 1 ? " (and others)" : "") +
             " refused for " + c.id);
        return;
    }
    c.ready = true;
}

void LoadGen::onPublish(ClientState& c) {
    ++c.completed;
    lastProgressNs_ = monoNs();
}

void LoadGen::onMessage(ClientState& c, const mosquitto_message* msg) {
    const std::int64_t now = monoNs();
    ++c.received;
    lastDeliveryNs_ = now;
    lastProgressNs_ = now;
    auto it = topicIndex_.find(std::string_view(msg->topic));
    auto key = SensorModel::extractKey(cfg_.payload, static_cast<const char*>(msg->payload), msg->payloadlen);
    if (it == topicIndex_.end() || !key) {
        ++c.duplicates; // not ours (or mangled): count it, never match it
        return;
    }
    TopicState& t = topics_[it->second];
    std::uint64_t& cur = c.cursor[it->second];
    cur = std::max(cur, t.recordBase);
    // Per-topic order is preserved (one publisher per topic), so records with a smaller key
    // than this delivery were skipped by the broker: they are lost for this subscriber.
    while (cur < t.recordBase + t.records.size() && t.records[cur - t.recordBase].key < *key) {
        ++cur;
    }
    if (cur < t.recordBase + t.records.size() && t.records[cur - t.recordBase].key == *key) {
        latency_.add(now - t.records[cur - t.recordBase].sentNs);
        ++cur;
        ++c.matched;
    } else {
        ++c.duplicates; // a QoS 1 redelivery, or an out-of-order message
    }
}

bool LoadGen::createClient(Role role, size_t index, ClientState& c) {
    static const char* kRoleTag[] = {"pub", "sub", "idle"};
    c.owner = this;
    c.role = role;
    c.index = index;
    c.id = cfg_.clientPrefix + "-" + kRoleTag[static_cast<int>(role)] + "-" + std::to_string(index);
    c.mosq = mosquitto_new(c.id.c_str(), true, &c);
    if (c.mosq == nullptr) {
        fail("mosquitto_new failed: " + std::string(std::strerror(errno)));
        return false;
    }
    mosquitto_connect_callback_set(c.mosq, onConnectCb);
    mosquitto_disconnect_callback_set(c.mosq, onDisconnectCb);
    mosquitto_subscribe_callback_set(c.mosq, onSubscribeCb);
    mosquitto_publish_callback_set(c.mosq, onPublishCb);
    mosquitto_message_callback_set(c.mosq, onMessageCb);
    if (cfg_.usernamePerClient) {
        mosquitto_username_pw_set(c.mosq, c.id.c_str(), cfg_.password.empty() ? nullptr : cfg_.password.c_str());
    } else if (!cfg_.username.empty()) {
        mosquitto_username_pw_set(c.mosq, cfg_.username.c_str(),
                                  cfg_.password.empty() ? nullptr : cfg_.password.c_str());
    }
    // Let QoS 1/2 keep a reasonable pipeline instead of libmosquitto's 20-message default.
    mosquitto_int_option(c.mosq, MOSQ_OPT_SEND_MAXIMUM, 100);
    // With Nagle on, small PUBLISHes and PUBACKs wait for the peer's delayed ACK (~40 ms):
    // latency then measures TCP timers, and at QoS 1 the broker sees far more in flight than
    // we do. Real sensors send one message at a time, so per-message segments are realistic.
    if (cfg_.nodelay == "all" || (cfg_.nodelay == "subs" && role == Role::Subscriber)) {
        mosquitto_int_option(c.mosq, MOSQ_OPT_TCP_NODELAY, 1);
    }
    int rc = mosquitto_connect(c.mosq, cfg_.host.c_str(), cfg_.port, cfg_.keepalive);
    if (rc != MOSQ_ERR_SUCCESS) {
        fail("connect to " + cfg_.host + ":" + std::to_string(cfg_.port) + " failed for " + c.id + ": " +
             (rc == MOSQ_ERR_ERRNO ? std::strerror(errno) : mosquitto_strerror(rc)));
        return false;
    }
    return true;
}

bool LoadGen::setUp() {
    auto expansion = mqs::bench::expandTopics(cfg_.topicTemplate, cfg_.zones, cfg_.sensors);
    if (!expansion.error.empty()) {
        fail(expansion.error);
        return false;
    }
    for (size_t i = 0; i < expansion.topics.size(); ++i) {
        topics_.push_back({expansion.topics[i], SensorModel(cfg_.payload, cfg_.seed * 7919 + i), 0, {}, 0, {}});
        topicIndex_.emplace(expansion.topics[i].name, i);
    }
    // One publisher per topic keeps per-topic order, which loss/latency pairing relies on.
    cfg_.publishers = std::min<int>(cfg_.publishers, static_cast<int>(topics_.size()));

    rssBeforeKb_ = cfg_.brokerPid > 0 ? mqs::bench::readProcStatusKb(cfg_.brokerPid, "VmRSS").value_or(-1) : -1;
    if (cfg_.splitSubs && static_cast<size_t>(cfg_.subscribers) > topics_.size()) {
        fail("--split-subs needs at least as many topics as subscribers");
        return false;
    }
    for (int i = 0; i < cfg_.subscribers; ++i) {
        subs_.push_back(std::make_unique<ClientState>());
        subs_.back()->cursor.assign(topics_.size(), 0);
        if (!cfg_.splitSubs) {
            subs_.back()->filters.push_back(cfg_.subFilter);
        }
    }
    // Split mode deals topics round-robin so each subscriber holds only its exact topics:
    // more parallel delivery pipelines (each capped by the broker's per-client inflight limit).
    for (size_t t = 0; t < topics_.size(); ++t) {
        for (size_t s = 0; s < subs_.size(); ++s) {
            bool matches = false;
            if (cfg_.splitSubs) {
                matches = t % subs_.size() == s;
            } else {
                mosquitto_topic_matches_sub(cfg_.subFilter.c_str(), topics_[t].spec.name.c_str(), &matches);
            }
            if (matches) {
                topics_[t].subscribers.push_back(s);
                if (cfg_.splitSubs) {
                    subs_[s]->filters.push_back(topics_[t].spec.name);
                }
            }
        }
    }
    for (size_t i = 0; i < subs_.size(); ++i) {
        if (!createClient(Role::Subscriber, i, *subs_[i])) {
            return false;
        }
    }
    for (int i = 0; i < cfg_.publishers; ++i) {
        pubs_.push_back(std::make_unique<ClientState>());
        if (!createClient(Role::Publisher, static_cast<size_t>(i), *pubs_.back())) {
            return false;
        }
    }
    for (int i = 0; i < cfg_.idle; ++i) {
        idle_.push_back(std::make_unique<ClientState>());
        if (!createClient(Role::Idle, static_cast<size_t>(i), *idle_.back())) {
            return false;
        }
        // Drain CONNACKs as we go so a large idle population never overflows the backlog.
        if (i % 64 == 63) {
            pump(0, true);
        }
    }

    const std::int64_t deadline = monoNs() + static_cast<std::int64_t>(cfg_.connectTimeoutS * 1e9);
    while (error_.empty()) {
        bool allReady = true;
        for (auto* group : {&pubs_, &subs_, &idle_}) {
            for (auto& c : *group) {
                allReady = allReady && c->ready;
            }
        }
        if (allReady) {
            return true;
        }
        if (monoNs() > deadline) {
            fail("timed out waiting for CONNACK/SUBACK");
            break;
        }
        pump(10'000'000, true);
    }
    return false;
}

void LoadGen::readAll(ClientState& c) {
    // loop_read handles about one packet per call for QoS 0; keep going until the socket
    // is drained (EAGAIN), bounded so one busy socket cannot starve the others.
    for (int i = 0; i < 512 && mosquitto_socket(c.mosq) >= 0; ++i) {
        errno = 0;
        int rc = mosquitto_loop_read(c.mosq, 1);
        if (rc != MOSQ_ERR_SUCCESS) {
            if (!c.closing) {
                fail("read failed for " + c.id + ": " + mosquitto_strerror(rc));
            }
            c.connected = false;
            return;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return;
        }
    }
}

void LoadGen::pump(std::int64_t timeoutNs, bool includeIdle) {
    pollFds_.clear();
    pollClients_.clear();
    auto addGroup = [this](std::vector<std::unique_ptr<ClientState>>& group) {
        for (auto& c : group) {
            int fd = mosquitto_socket(c->mosq);
            if (fd < 0) {
                continue;
            }
            short events = POLLIN;
            if (mosquitto_want_write(c->mosq)) {
                events |= POLLOUT;
            }
            pollFds_.push_back({fd, events, 0});
            pollClients_.push_back(c.get());
        }
    };
    addGroup(subs_);
    addGroup(pubs_);
    // Idle clients only need servicing now and then; walking hundreds of them on every
    // iteration would make the generator, not the broker, the bottleneck.
    const std::int64_t before = monoNs();
    if (includeIdle || before - lastIdlePollNs_ > 200'000'000) {
        lastIdlePollNs_ = before;
        addGroup(idle_);
    }
    timespec ts{};
    ts.tv_sec = static_cast<time_t>(timeoutNs / 1'000'000'000);
    ts.tv_nsec = static_cast<long>(timeoutNs % 1'000'000'000);
    int n = ppoll(pollFds_.data(), pollFds_.size(), &ts, nullptr);
    if (n < 0 && errno != EINTR) {
        fail(std::string("ppoll failed: ") + std::strerror(errno));
        return;
    }
    for (size_t i = 0; n > 0 && i < pollFds_.size(); ++i) {
        const short rev = pollFds_[i].revents;
        ClientState& c = *pollClients_[i];
        if ((rev & (POLLIN | POLLHUP | POLLERR)) != 0) {
            readAll(c);
        }
        if ((rev & POLLOUT) != 0 && mosquitto_socket(c.mosq) >= 0) {
            int rc = mosquitto_loop_write(c.mosq, 1);
            if (rc != MOSQ_ERR_SUCCESS && !c.closing) {
                fail("write failed for " + c.id + ": " + mosquitto_strerror(rc));
            }
        }
    }
    // Keepalive pings; cheap, but no need to walk every idle client each iteration.
    const std::int64_t now = monoNs();
    if (now - lastMiscNs_ > 1'000'000'000) {
        lastMiscNs_ = now;
        for (auto* group : {&pubs_, &subs_, &idle_}) {
            for (auto& c : *group) {
                if (mosquitto_socket(c->mosq) >= 0) {
                    mosquitto_loop_misc(c->mosq);
                }
            }
        }
    }
}

bool LoadGen::creditAvailable() const {
    // Closed loop in flat-out mode: never let a subscriber fall more than `window` messages
    // behind, or the broker starts dropping (QoS 0) / queueing (QoS 1) and we measure that instead.
    for (const auto& s : subs_) {
        if (s->expected > s->received + s->writtenOff && s->expected - s->received - s->writtenOff >= cfg_.window) {
            return false;
        }
    }
    for (const auto& p : pubs_) {
        if (p->published - p->completed >= cfg_.window) {
            return false;
        }
    }
    return true;
}

void LoadGen::trimRecords(TopicState& t) {
    std::uint64_t low = t.recordBase + t.records.size();
    for (size_t s : t.subscribers) {
        low = std::min(low, subs_[s]->cursor[static_cast<size_t>(&t - topics_.data())]);
    }
    while (t.recordBase < low && !t.records.empty()) {
        t.records.pop_front();
        ++t.recordBase;
    }
}

void LoadGen::publishNext(std::int64_t now) {
    const size_t topicIdx = static_cast<size_t>(sent_ % topics_.size());
    TopicState& t = topics_[topicIdx];
    ClientState& pub = *pubs_[topicIdx % pubs_.size()];
    // Warehouse keys are epoch ms (non-decreasing); IPWatch uptime simply counts messages.
    const std::int64_t key =
        cfg_.payload == PayloadKind::Warehouse ? std::max(epochMs(), t.lastKey) : t.lastKey + 1;
    t.lastKey = key;
    t.model.next(key, payloadBuf_);
    if (!t.subscribers.empty()) {
        t.records.push_back({key, now});
        for (size_t s : t.subscribers) {
            ++subs_[s]->expected;
        }
        if (t.records.size() > 4096) {
            trimRecords(t);
        }
    }
    int rc = mosquitto_publish(pub.mosq, nullptr, t.spec.name.c_str(), static_cast<int>(payloadBuf_.size()),
                               payloadBuf_.data(), cfg_.qos, false);
    if (rc != MOSQ_ERR_SUCCESS) {
        fail("publish failed for " + pub.id + ": " + mosquitto_strerror(rc));
        return;
    }
    ++pub.published;
    ++sent_;
    if (firstPublishNs_ == 0) {
        firstPublishNs_ = now;
    }
    lastPublishNs_ = now;
}

bool LoadGen::allDelivered() const {
    for (const auto& s : subs_) {
        if (s->matched + s->duplicates < s->expected) {
            return false;
        }
    }
    return true;
}

bool LoadGen::allCompleted() const {
    for (const auto& p : pubs_) {
        if (p->completed < p->published) {
            return false;
        }
    }
    return true;
}

std::uint64_t LoadGen::progressCount() const {
    std::uint64_t n = 0;
    for (const auto& s : subs_) {
        n += s->received;
    }
    for (const auto& p : pubs_) {
        n += p->completed;
    }
    return n;
}

void LoadGen::shutDown() {
    for (auto* group : {&pubs_, &subs_, &idle_}) {
        for (auto& c : *group) {
            c->closing = true;
            if (c->mosq != nullptr && mosquitto_socket(c->mosq) >= 0) {
                mosquitto_disconnect(c->mosq);
            }
        }
    }
    // Give DISCONNECTs a moment to leave; the broker closes the sockets after them.
    const std::int64_t deadline = monoNs() + 200'000'000;
    while (monoNs() < deadline) {
        bool anyOpen = false;
        for (auto* group : {&pubs_, &subs_, &idle_}) {
            for (auto& c : *group) {
                anyOpen = anyOpen || mosquitto_socket(c->mosq) >= 0;
            }
        }
        if (!anyOpen) {
            break;
        }
        pump(10'000'000, true);
    }
}

int LoadGen::run() {
    const bool ok = setUp();
    if (ok) {
        if (cfg_.brokerPid > 0) {
            rssConnectedKb_ = mqs::bench::readProcStatusKb(cfg_.brokerPid, "VmRSS").value_or(-1);
            auto ticks = mqs::bench::readProcCpuTicks(cfg_.brokerPid);
            haveCpu_ = ticks.has_value();
            cpuTicksBefore_ = ticks.value_or(0);
            schedNsBefore_ = mqs::bench::readProcSchedNs(cfg_.brokerPid);
            if (cfg_.countInstructions) {
                using Perf = mqs::bench::PerfCounter;
                for (size_t i = 0; i < perf_.size(); ++i) {
                    perfOk_[i] = perf_[i].start(cfg_.brokerPid, i < 2 ? Perf::Event::Instructions : Perf::Event::Cycles,
                                                i % 2 == 0 ? Perf::Space::User : Perf::Space::Kernel);
                }
            }
            if (!haveCpu_) {
                // A wrong pid would silently report 0 CPU per message: refuse instead.
                fail("cannot read /proc/" + std::to_string(cfg_.brokerPid) + "/stat (is --broker-pid the broker?)");
            }
        }
        const std::int64_t start = monoNs();
        const double limitS = cfg_.durationS > 0 ? std::min(cfg_.durationS, cfg_.maxSeconds) : cfg_.maxSeconds;
        const std::int64_t stopAt = start + static_cast<std::int64_t>(limitS * 1e9);
        const double intervalNs = cfg_.rate > 0 ? 1e9 / cfg_.rate : 0.0;
        lastProgressNs_ = start;
        lastIdlePollNs_ = start;

        // Publishing phase: paced (open loop, schedule k at start + k/rate) or flat out
        // (closed loop, bounded by the window).
        while (error_.empty()) {
            std::int64_t now = monoNs();
            if (now >= stopAt || (cfg_.count > 0 && sent_ >= cfg_.count)) {
                break;
            }
            std::int64_t timeoutNs = 0;
            if (cfg_.rate > 0) {
                for (int burst = 0; burst < 256 && error_.empty(); ++burst) {
                    const auto due = start + static_cast<std::int64_t>(static_cast<double>(sent_) * intervalNs);
                    if (due > now || (cfg_.count > 0 && sent_ >= cfg_.count)) {
                        timeoutNs = std::max<std::int64_t>(due - now, 0);
                        break;
                    }
                    if (now - due > 1'000'000) {
                        ++lateCount_;
                    }
                    maxLateNs_ = std::max(maxLateNs_, now - due);
                    publishNext(now);
                    now = monoNs();
                }
                timeoutNs = std::min<std::int64_t>(timeoutNs, stopAt - now);
            } else {
                int burst = 0;
                for (; burst < 64 && creditAvailable() && error_.empty() &&
                       !(cfg_.count > 0 && sent_ >= cfg_.count);
                     ++burst) {
                    publishNext(now);
                    now = monoNs();
                }
                if (burst == 0) {
                    timeoutNs = 20'000'000;
                    // A lost QoS 0 message never frees its window slot: after 500 ms without
                    // progress, write the gap off (it is reported as lost anyway).
                    if (now - lastProgressNs_ > 500'000'000) {
                        ++stalls_;
                        for (auto& s : subs_) {
                            s->writtenOff = s->expected > s->received ? s->expected - s->received : 0;
                        }
                        lastProgressNs_ = now;
                    }
                }
            }
            pump(std::max<std::int64_t>(timeoutNs, 0), false);
        }

        // Drain phase: wait for every expected delivery (and every ack), or until nothing
        // has moved for a while (lost messages never arrive), bounded by drain-timeout.
        const std::int64_t drainStart = monoNs();
        const std::int64_t drainDeadline = drainStart + static_cast<std::int64_t>(cfg_.drainTimeoutS * 1e9);
        const std::int64_t idleLimitNs = cfg_.qos == 0 ? 500'000'000 : 2'000'000'000;
        std::uint64_t lastCount = progressCount();
        std::int64_t lastMove = drainStart;
        while (error_.empty()) {
            if (allDelivered() && allCompleted()) {
                drainComplete_ = true;
                break;
            }
            const std::int64_t now = monoNs();
            if (now > drainDeadline || now - lastMove > idleLimitNs) {
                break;
            }
            pump(5'000'000, false);
            if (const auto count = progressCount(); count != lastCount) {
                lastCount = count;
                lastMove = monoNs();
            }
        }
        drainS_ = static_cast<double>(monoNs() - drainStart) / 1e9;
        if (cfg_.brokerPid > 0) {
            // A few ms for the broker to finish handling the last PUBACKs before sampling.
            pump(20'000'000, false);
            cpuTicksAfter_ = mqs::bench::readProcCpuTicks(cfg_.brokerPid).value_or(cpuTicksBefore_);
            schedNsAfter_ = mqs::bench::readProcSchedNs(cfg_.brokerPid);
            for (size_t i = 0; i < perf_.size(); ++i) {
                perfCount_[i] = perfOk_[i] ? perf_[i].read() : std::nullopt;
            }
            rssEndKb_ = mqs::bench::readProcStatusKb(cfg_.brokerPid, "VmRSS").value_or(-1);
            peakRssKb_ = mqs::bench::readProcStatusKb(cfg_.brokerPid, "VmHWM").value_or(-1);
        }
    }
    shutDown();
    return report();
}

int LoadGen::report() {
    std::uint64_t expected = 0;
    std::uint64_t matched = 0;
    std::uint64_t received = 0;
    std::uint64_t duplicates = 0;
    nlohmann::json perSub = nlohmann::json::array();
    for (const auto& s : subs_) {
        expected += s->expected;
        matched += s->matched;
        received += s->received;
        duplicates += s->duplicates;
        perSub.push_back({{"expected", s->expected},
                          {"received", s->received},
                          {"lost", s->expected - std::min(s->matched, s->expected)}});
    }
    std::uint64_t completed = 0;
    for (const auto& p : pubs_) {
        completed += p->completed;
    }
    const std::uint64_t lost = expected - std::min(matched, expected);
    // Throughput window: first publish to last delivery (or last ack when nobody subscribes).
    const std::int64_t endNs = subs_.empty() ? lastPublishNs_ : std::max(lastDeliveryNs_, lastPublishNs_);
    const double elapsedS = firstPublishNs_ > 0 ? static_cast<double>(endNs - firstPublishNs_) / 1e9 : 0.0;
    const std::uint64_t delivered = subs_.empty() ? sent_ : matched;
    const double msgsPerS = elapsedS > 0 ? static_cast<double>(delivered) / elapsedS : 0.0;
    const double publishS = firstPublishNs_ > 0 ? static_cast<double>(lastPublishNs_ - firstPublishNs_) / 1e9 : 0.0;

    rusage self{};
    getrusage(RUSAGE_SELF, &self);
    const double selfCpuS = static_cast<double>(self.ru_utime.tv_sec + self.ru_stime.tv_sec) +
                            static_cast<double>(self.ru_utime.tv_usec + self.ru_stime.tv_usec) / 1e6;

    const bool haveCpu = haveCpu_ && cfg_.brokerPid > 0 && error_.empty();
    const double brokerCpuS =
        haveCpu ? static_cast<double>(cpuTicksAfter_ - cpuTicksBefore_) / mqs::bench::clockTicksPerSecond() : 0.0;
    // Per message, prefer the ns-resolution scheduler figure (same quantity, no 10 ms rounding);
    // a thread that exited mid-run would be missing from it, so fall back to stat then.
    const bool haveSched = haveCpu && schedNsBefore_ && schedNsAfter_ && *schedNsAfter_ >= *schedNsBefore_;
    const double schedCpuS = haveSched ? static_cast<double>(*schedNsAfter_ - *schedNsBefore_) / 1e9 : 0.0;
    const double tickS = 1.0 / static_cast<double>(mqs::bench::clockTicksPerSecond());
    const bool useSched = haveSched && std::abs(schedCpuS - brokerCpuS) <= 2 * tickS + 0.02 * brokerCpuS;
    const double cpuForMsgS = useSched ? schedCpuS : brokerCpuS;
    const double cpuUsPerMsg = haveCpu && delivered > 0 ? cpuForMsgS * 1e6 / static_cast<double>(delivered) : 0.0;
    const bool paced = cfg_.rate > 0;
    const double p50 = latency_.percentileUs(0.50);
    const double p99 = latency_.percentileUs(0.99);
    const int connections = cfg_.publishers + cfg_.subscribers + cfg_.idle;
    std::string perfError;
    for (const auto& counter : perf_) {
        if (!counter.why().empty() && perfError.find(counter.why()) == std::string::npos) {
            perfError += (perfError.empty() ? "" : "; ") + counter.why();
        }
    }
    auto perMsg = [&](std::optional<std::uint64_t> count) {
        return count && delivered > 0 && error_.empty()
                   ? nlohmann::json(static_cast<double>(*count) / static_cast<double>(delivered))
                   : nlohmann::json();
    };
    const bool ok = error_.empty() && (sent_ > 0) && (subs_.empty() || matched > 0);

    nlohmann::json out = {
        {"tool", "loadgen"},
        {"ok", ok},
        {"error", error_},
        {"mode", paced ? "paced" : "flat"},
        {"qos", cfg_.qos},
        {"payload", mqs::bench::payloadKindName(cfg_.payload)},
        {"topic_template", cfg_.topicTemplate},
        {"sub_filter", cfg_.splitSubs ? std::string("split") : cfg_.subFilter},
        {"topics", topics_.size()},
        {"publishers", cfg_.publishers},
        {"subscribers", cfg_.subscribers},
        {"idle", cfg_.idle},
        {"rate_target", cfg_.rate},
        {"window", cfg_.window},
        {"sent", sent_},
        {"completed", completed},
        {"expected", expected},
        {"received", received},
        {"delivered", delivered},
        {"lost", lost},
        {"duplicates", duplicates},
        {"per_subscriber", perSub},
        {"elapsed_s", elapsedS},
        {"publish_s", publishS},
        {"drain_s", drainS_},
        {"drain_complete", drainComplete_},
        {"msgs_per_s", msgsPerS},
        {"publish_per_s", publishS > 0 ? static_cast<double>(sent_) / publishS : 0.0},
        {"window_stalls", stalls_},
        {"latency_us",
         {{"samples", latency_.count()}, {"p50", p50}, {"p99", p99}, {"max", latency_.maxUs()}}},
        {"pacing_late_max_ms", static_cast<double>(maxLateNs_) / 1e6},
        {"pacing_late_msgs", lateCount_},
        {"broker_pid", cfg_.brokerPid},
        {"broker_cpu_s", brokerCpuS},
        {"broker_cpu_sched_s", haveSched ? nlohmann::json(schedCpuS) : nlohmann::json()},
        {"broker_cpu_source", useSched ? "schedstat" : "stat"},
        {"broker_cpu_us_per_msg", cpuUsPerMsg},
        {"broker_user_instructions_per_msg", perMsg(perfCount_[0])},
        {"broker_kernel_instructions_per_msg", perMsg(perfCount_[1])},
        {"broker_instructions_per_msg",
         perfCount_[0] && perfCount_[1] ? perMsg(*perfCount_[0] + *perfCount_[1]) : nlohmann::json()},
        {"broker_user_cycles_per_msg", perMsg(perfCount_[2])},
        {"broker_kernel_cycles_per_msg", perMsg(perfCount_[3])},
        {"perf_error", perfError},
        {"broker_peak_rss_kb", peakRssKb_},
        {"broker_rss_before_kb", rssBeforeKb_},
        {"broker_rss_connected_kb", rssConnectedKb_},
        {"broker_rss_end_kb", rssEndKb_},
        {"broker_rss_per_connection_kb",
         rssBeforeKb_ > 0 && rssConnectedKb_ > 0 && connections > 0
             ? static_cast<double>(rssConnectedKb_ - rssBeforeKb_) / connections
             : 0.0},
        {"clock_ticks_per_s", mqs::bench::clockTicksPerSecond()},
        {"loadgen_cpu_s", selfCpuS},
    };
    std::printf("%s\n", out.dump().c_str());
    std::fflush(stdout);

    if (!cfg_.quiet) {
        std::fprintf(stderr,
                     "loadgen: %s qos%d %s %dp/%ds/%di: sent %llu, delivered %llu in %.2f s (%.0f msg/s), lost %llu, "
                     "dup %llu; latency p50 %.0f us p99 %.0f us max %.0f us; broker %.2f us CPU/msg, peak RSS %ld kB%s%s\n",
                     paced ? "paced" : "flat", cfg_.qos, mqs::bench::payloadKindName(cfg_.payload), cfg_.publishers,
                     cfg_.subscribers, cfg_.idle, static_cast<unsigned long long>(sent_),
                     static_cast<unsigned long long>(delivered), elapsedS, msgsPerS,
                     static_cast<unsigned long long>(lost), static_cast<unsigned long long>(duplicates), p50, p99,
                     latency_.maxUs(), cpuUsPerMsg, peakRssKb_, error_.empty() ? "" : "; ERROR: ", error_.c_str());
    }
    return ok ? 0 : 2;
}

void raiseFdLimit() {
    // Three descriptors per client (socket + libmosquitto's socketpair): lift the soft cap, and
    // where allowed (root) the hard one too, so 10 000 clients (30 000 descriptors) fit.
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0) {
        const rlimit wanted{std::max<rlim_t>(lim.rlim_max, 65536), std::max<rlim_t>(lim.rlim_max, 65536)};
        if (setrlimit(RLIMIT_NOFILE, &wanted) != 0 && lim.rlim_cur < lim.rlim_max) {
            lim.rlim_cur = lim.rlim_max;
            setrlimit(RLIMIT_NOFILE, &lim);
        }
    }
}

} // namespace

int main(int argc, char** argv) {
    CliArgs args("loadgen",
                 "MQTT load generator for the plugin benchmarks (loopback only). Publishing stops at\n"
                 "--count messages or --duration seconds, whichever comes first; then it drains and reports.",
                 {
                     {"host", "127.0.0.1", "broker host (loopback only)"},
                     {"port", "1883", "broker port"},
                     {"qos", "0", "QoS for publish and subscribe: 0, 1 or 2"},
                     {"publishers", "4", "publishing connections (one per topic at most)"},
                     {"subscribers", "1", "subscribing connections (each sees every topic unless --split-subs)"},
                     {"idle", "0", "extra connections that only connect and stay idle"},
                     {"payload", "warehouse", "payload template: warehouse | ipwatch"},
                     {"topic", "", "topic template with {zone} {sensor} {ip} {index} (default per payload)"},
                     {"sub-filter", "", "subscription filter (default: template with placeholders as +)"},
                     {"split-subs", "", "deal topics round-robin to subscribers (exact filters) instead of "
                                        "every subscriber taking the wildcard", true},
                     {"zones", "nord,sud,est", "comma-separated zones"},
                     {"sensors", "10", "sensors per zone"},
                     {"count", "0", "messages to publish in total, 0 = no count limit"},
                     {"duration", "5", "seconds of publishing, 0 = no time limit (max-seconds still applies)"},
                     {"max-seconds", "120", "hard cap on the publishing phase"},
                     {"rate", "0", "paced mode: total publish rate in msgs/s; 0 = flat out"},
                     {"window", "auto", "flat-out mode: max undelivered messages per subscriber/publisher; "
                                        "auto = 500 at QoS 0, 10 at QoS 1/2"},
                     {"broker-pid", "0", "broker pid, for CPU time and RSS from /proc"},
                     {"tcp-nodelay", "all", "set TCP_NODELAY on: all | subs | none"},
                     {"username", "", "MQTT username for every connection"},
                     {"password", "", "MQTT password"},
                     {"username-per-client", "", "log every connection in with its own client id as username "
                                                 "(<prefix>-pub-<i>, -sub-<i>, -idle-<i>; i from 0), for per-device "
                                                 "ACL states", true},
                     {"client-prefix", "", "client id prefix (default lg<pid>)"},
                     {"keepalive", "60", "MQTT keepalive seconds"},
                     {"connect-timeout", "10", "seconds to wait for CONNACK/SUBACK"},
                     {"drain-timeout", "5", "max seconds to wait for in-flight deliveries after publishing"},
                     {"seed", "1", "random seed for value drift"},
                     {"no-perf", "", "do not count broker instructions with perf_event_open", true},
                     {"quiet", "", "no human-readable line on stderr", true},
                 });
    if (!args.parse(argc, argv)) {
        return 1;
    }
    if (args.helpRequested()) {
        args.printUsage();
        return 0;
    }

    Config cfg;
    try {
        cfg.host = args.str("host");
        cfg.port = static_cast<int>(args.integer("port"));
        cfg.qos = static_cast<int>(args.integer("qos"));
        cfg.publishers = static_cast<int>(args.integer("publishers"));
        cfg.subscribers = static_cast<int>(args.integer("subscribers"));
        cfg.idle = static_cast<int>(args.integer("idle"));
        auto kind = mqs::bench::parsePayloadKind(args.str("payload"));
        if (!kind) {
            std::fprintf(stderr, "loadgen: --payload must be warehouse or ipwatch\n");
            return 1;
        }
        cfg.payload = *kind;
        cfg.topicTemplate = args.str("topic").empty() ? mqs::bench::defaultTopicTemplate(cfg.payload) : args.str("topic");
        cfg.subFilter = args.str("sub-filter").empty() ? mqs::bench::wildcardFilter(cfg.topicTemplate)
                                                       : args.str("sub-filter");
        cfg.splitSubs = args.flag("split-subs");
        cfg.nodelay = args.str("tcp-nodelay");
        if (cfg.nodelay != "all" && cfg.nodelay != "subs" && cfg.nodelay != "none") {
            std::fprintf(stderr, "loadgen: --tcp-nodelay must be all, subs or none\n");
            return 1;
        }
        cfg.zones = mqs::bench::splitList(args.str("zones"));
        cfg.sensors = static_cast<int>(args.integer("sensors"));
        cfg.count = static_cast<std::uint64_t>(std::max<long long>(args.integer("count"), 0));
        cfg.durationS = args.number("duration");
        cfg.maxSeconds = args.number("max-seconds");
        cfg.rate = args.number("rate");
        // QoS 1/2: stay under the broker's per-client inflight limit (max_inflight_messages,
        // 20). Once 2.0.11 has to queue, its quota accounting drifts and it drops messages
        // although the client keeps up (quota decremented twice for queued messages; fixed upstream
        // in 2.0.13, eclipse/mosquitto#2306).
        cfg.window = args.str("window") == "auto" ? (cfg.qos == 0 ? 500 : 10)
                                                  : static_cast<std::uint64_t>(std::max<long long>(args.integer("window"), 1));
        cfg.brokerPid = static_cast<int>(args.integer("broker-pid"));
        cfg.username = args.str("username");
        cfg.password = args.str("password");
        cfg.usernamePerClient = args.flag("username-per-client");
        cfg.clientPrefix = args.str("client-prefix").empty() ? "lg" + std::to_string(getpid()) : args.str("client-prefix");
        cfg.keepalive = static_cast<int>(args.integer("keepalive"));
        cfg.connectTimeoutS = args.number("connect-timeout");
        cfg.drainTimeoutS = args.number("drain-timeout");
        cfg.seed = static_cast<std::uint64_t>(args.integer("seed"));
        cfg.quiet = args.flag("quiet");
        cfg.countInstructions = !args.flag("no-perf");
    } catch (const std::exception& e) {
        std::fprintf(stderr, "loadgen: %s\n", e.what());
        return 1;
    }
    if (!mqs::bench::isLoopbackHost(cfg.host)) {
        std::fprintf(stderr, "loadgen: refusing non-loopback host '%s'\n", cfg.host.c_str());
        return 1;
    }
    if (cfg.qos < 0 || cfg.qos > 2 || cfg.publishers < 1 || cfg.subscribers < 0 || cfg.idle < 0 ||
        cfg.port <= 0 || cfg.port > 65535 || cfg.rate < 0 || cfg.maxSeconds <= 0) {
        std::fprintf(stderr, "loadgen: invalid qos/publishers/subscribers/idle/port/rate/max-seconds\n");
        return 1;
    }
    if (cfg.subscribers > 0 && mosquitto_sub_topic_check(cfg.subFilter.c_str()) != MOSQ_ERR_SUCCESS) {
        std::fprintf(stderr, "loadgen: invalid subscription filter '%s'\n", cfg.subFilter.c_str());
        return 1;
    }

    raiseFdLimit();
    mosquitto_lib_init();
    int rc = 0;
    {
        LoadGen gen(std::move(cfg));
        rc = gen.run();
    }
    mosquitto_lib_cleanup();
    return rc;
}
