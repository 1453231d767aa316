// Broker adapter of mosquitto_dynacl.so: the state file at init and reload, the translation of
// MOSQ_EVT_BASIC_AUTH and MOSQ_EVT_ACL_CHECK into State questions, and $CONTROL requests handed to
// handleControl with the reply sent to the asking client only. The logic lives elsewhere.
#include <dlfcn.h>

#include <array>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "common/broker/mosquitto_api.hpp"
#include "common/broker/plugin_lifecycle.hpp"
#include "common/topic.hpp"
#include "dynacl/config.hpp"
#include "dynacl/connections.hpp"
#include "dynacl/control.hpp"
#include "dynacl/decision_cache.hpp"
#include "dynacl/denials.hpp"
#include "dynacl/hash_upgrader.hpp"
#include "dynacl/login_cache.hpp"
#include "dynacl/state.hpp"
#include "dynacl/state_file.hpp"
#include "dynacl/state_writer.hpp"

namespace mqs::dynacl {
namespace {

// MQTT 5 property identifiers (spec 2.2.2.2), fixed by the protocol; mqtt_protocol.h's enum is not reachable
// through mosquitto_api.hpp on every broker line.
constexpr int kPropResponseTopic = 8;
constexpr int kPropCorrelationData = 9;

struct DynaclPlugin : broker::PluginBase<DynaclPlugin> {
    static constexpr const char* kName = "dynacl";
    static constexpr const char* kKeptOnRefusedReload = "state";
    static constexpr const char* kControlTopic = mqs::dynacl::kControlTopic;

    Config config;
    std::shared_ptr<const State> state;
    // Bumped on every change of `state`: cached decisions of an older generation are never used.
    uint64_t generation = 0;
    bool uses_client_id = false;
    bool uses_address = false;
    bool uses_common_name = false;
    // Validity windows: when one opens or closes, `generation` is bumped so no cached decision outlives it.
    BoundaryWatch boundaries;
    DenialLog denial_log;            // the last denials of each connected client, for getClientDenials
    ConnectionRegistry connections;  // the accepted logins still connected, for getClient
    std::unique_ptr<DecisionCache> cache;
    std::unique_ptr<StateWriter> writer;  // persists changes made through $CONTROL

    std::unique_ptr<LoginCache> logins;      // verified credentials: reconnects skip PBKDF2
    std::unique_ptr<HashUpgrader> upgrader;  // rehashes weak hashes off the broker thread; null when off
    // Where a reply goes: the requester's MQTT v5 response topic with its correlation data, or
    // kResponseTopic (what mosquitto_ctrl listens to). Always to the requesting client only.
    struct ReplyRoute {
        std::string topic = kResponseTopic;
        std::optional<std::string> correlation;
    };
    struct PendingReply {
        uint64_t seq;
        std::string client_id;
        std::string reply;
        int qos;
        ReplyRoute route;
    };
    // Replies to requests that changed the state, held until the writer process has that state on disk.
    std::deque<PendingReply> pending_replies;
    static constexpr size_t kMaxPendingReplies = 1024;

    // Outcomes per check type (publish, receive, subscribe, unsubscribe) x (allowed, denied, deferred):
    // "deferred" means dynacl had no rule and no default, so another plugin or the broker (deny) decides.
    std::array<std::array<Metric*, 3>, 4> acl_outcomes = [this] {
        std::array<std::array<Metric*, 3>, 4> m{};
        const char* types[] = {"receive", "publish", "subscribe", "unsubscribe"};  // Access order
        const char* outcomes[] = {"allowed", "denied", "deferred"};                // Decision order
        for (size_t t = 0; t < 4; ++t) {
            for (size_t o = 0; o < 3; ++o) m[t][o] = &metrics.get(std::string("acl/") + types[t] + "/" + outcomes[o]);
        }
        return m;
    }();
    RateLimitedLog denials{logger, clock};
    Metric& logins_accepted = metrics.get("logins/accepted");
    Metric& logins_refused = metrics.get("logins/refused");
    Metric& logins_cached = metrics.get("logins/cached");
    Metric& hashes_upgraded = metrics.get("logins/hashes_upgraded");
    Metric& control_requests = metrics.get("control/requests");
    Metric& control_refused = metrics.get("control/refused");
    Metric& denial_clients = metrics.get("denials/clients");               // connected clients with denials on record
    Metric& connections_untracked = metrics.get("connections/untracked");  // logins past the registry's budget
    Metric& denial_bytes = metrics.get("denials/bytes");

    // Options and the state file; throws ConfigError or StateFileError, leaving the live state untouched.
    void load(const RawOptions& options) {
        Config next = parseConfig(options);
        // A change made through $CONTROL must be on disk before the file is read again.
        if (writer) {
            writer->flush();
            sendDurableReplies();  // before a new writer restarts the sequence numbers
        }
        LoadedState loaded = loadStateFile(next.config_file);
        for (const auto& w : loaded.warnings) logger.warning(next.config_file + ": " + w);
        auto next_state = std::make_shared<const State>(std::move(loaded.state));
        const bool new_file = !writer || next.config_file != config.config_file || next.audit_file != config.audit_file;
        config = next;
        swapState(std::move(next_state));
        cache = std::make_unique<DecisionCache>(config.cache_bytes_per_client, config.cache_total_bytes);
        // A new cache on every load: its digests cover the stored hashes, so old entries would only miss anyway.
        logins = std::make_unique<LoginCache>(config.login_cache_bytes);
        if (!config.upgrade_password_hashes) {
            upgrader.reset();
        } else if (!upgrader) {
            upgrader = std::make_unique<HashUpgrader>();
        }
        if (new_file) writer = std::make_unique<StateWriter>(config.config_file, config.audit_file);
        scheduleMetrics(config.instance, config.metrics_interval);
        logger.info("loaded " + std::to_string(state->clients.size()) + " client(s), " +
                    std::to_string(state->groups.size()) + " group(s), " + std::to_string(state->roles.size()) +
                    " role(s) from " + quoteForLog(config.config_file));
    }

    void reload(const RawOptions& options) { load(options); }

    int64_t unixSeconds() const {
        return std::chrono::duration_cast<std::chrono::seconds>(clock.wallNow().time_since_epoch()).count();
    }

    void swapState(std::shared_ptr<const State> next) {
        State::Summary summary = next->summarize();
        uses_client_id = summary.uses_client_id;
        uses_address = summary.uses_address;
        uses_common_name = summary.uses_common_name;
        boundaries.reset(std::move(summary.time_boundaries), unixSeconds());
        ++generation;             // every cached decision is now stale: the next check recomputes
        state = std::move(next);  // the replaced state is freed here, on the broker thread
    }

    // Hands the live state to the writer. Serialising it runs in the writer process, on its copy-on-write
    // image: it grows with the number of clients (tens of ms at 10 000) and would stall the broker.
    uint64_t saveState(std::string audit) {
        return writer->submit(
            [live = state] {
                return stateToJson(*live).dump(1, '\t', false, nlohmann::json::error_handler_t::replace);
            },
            std::move(audit));
    }

    void onTimers(Clock::TimePoint) {
        writer->poll();  // a finished writer process, and the snapshot waiting for the next one
        for (const auto& e : writer->takeErrors()) logger.error("cannot save the state: " + e);
        denial_clients.set(static_cast<int64_t>(denial_log.clients()));
        denial_bytes.set(static_cast<int64_t>(denial_log.bytes()));
        connections_untracked.set(static_cast<int64_t>(connections.untracked()));
        if (upgrader && upgrader->inFlight() > 0) applyHashUpgrades();
        if (!pending_replies.empty()) sendDurableReplies();
    }

    // Sends the replies whose state the writer process is done with. A failed write (logged above) is said in
    // the reply: the change is applied but not on disk.
    void sendDurableReplies() {
        writer->poll();
        const uint64_t done = writer->done();
        const uint64_t written = writer->written();
        while (!pending_replies.empty() && pending_replies.front().seq <= done) {
            PendingReply& p = pending_replies.front();
            if (written < p.seq) {
                auto reply = nlohmann::json::parse(p.reply, nullptr, false);
                if (reply.is_object() && reply.contains("responses")) {
                    for (auto& r : reply["responses"]) {
                        if (r.is_object() && !r.contains("error"))
                            r["error"] = "Applied but not saved: see the broker log";
                    }
                    p.reply = reply.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
                }
            }
            sendReply(p.client_id, p.route, p.reply, p.qos);
            pending_replies.pop_front();
        }
    }

    void sendReply(const std::string& client_id, const ReplyRoute& route, const std::string& reply, int qos) {
        mosquitto_property* props = nullptr;
        if (route.correlation &&
            mosquitto_property_add_binary(&props, kPropCorrelationData, route.correlation->data(),
                                          static_cast<uint16_t>(route.correlation->size())) != MOSQ_ERR_SUCCESS) {
            mosquitto_property_free_all(&props);
            logger.warning("cannot attach the correlation data to the reply to client " + quoteForLog(client_id));
            return;
        }
        // The broker owns props once the call succeeded.
        const int rc = mosquitto_broker_publish_copy(client_id.c_str(), route.topic.c_str(),
                                                     static_cast<int>(reply.size()), reply.data(), qos, false, props);
        if (rc != MOSQ_ERR_SUCCESS) {
            mosquitto_property_free_all(&props);
            logger.warning("cannot send the reply to client " + quoteForLog(client_id));
        }
    }

    // Property readers, looked up at run time: Mosquitto 2.0.11 and 2.1 export them to plugins, 2.0.21 does not
    // (a direct call would stop the plugin loading there). Taken only from the broker executable itself, so the
    // string they allocate matches its mosquitto_free.
    template <typename Fn>
    static Fn brokerSymbol(const char* name) {
        void* sym = dlsym(RTLD_DEFAULT, name);
        Dl_info in_sym{}, in_broker{};
        if (!sym || !dladdr(sym, &in_sym) ||
            !dladdr(reinterpret_cast<void*>(&mosquitto_broker_publish_copy), &in_broker) ||
            in_sym.dli_fbase != in_broker.dli_fbase) {
            return nullptr;
        }
        return reinterpret_cast<Fn>(sym);
    }
    using ReadString = const mosquitto_property* (*)(const mosquitto_property*, int, char**, bool);
    using ReadBinary = const mosquitto_property* (*)(const mosquitto_property*, int, void**, uint16_t*, bool);
    const ReadString read_string = brokerSymbol<ReadString>("mosquitto_property_read_string");
    const ReadBinary read_binary = brokerSymbol<ReadBinary>("mosquitto_property_read_binary");
    bool said_no_property_readers = false;

    // The response topic and correlation data of an MQTT v5 request, through the broker's readers.
    void readByFunctions(const mosquitto_property* props, std::optional<std::string>& topic,
                         std::optional<std::string>& correlation) const {
        char* text = nullptr;
        if (read_string(props, kPropResponseTopic, &text, false) && text) {
            topic.emplace(text);
            mosquitto_free(text);
        }
        void* data = nullptr;
        uint16_t len = 0;
        if (read_binary(props, kPropCorrelationData, &data, &len, false) && data) {
            correlation.emplace(static_cast<const char*>(data), len);
            mosquitto_free(data);
        }
    }

    // Mosquitto 2.0.21 exports no property reader. Its property list node is lib/property_mosq.h's
    // struct mqtt5__property, the same from 2.0.0 to 2.0.20 (and 2.0.21, which the V5 integration tests run
    // on); read here, never changed or freed, and only on the 2.0 line.
    struct MqttString20 {
        char* v;
        uint16_t len;
    };
    struct Property20 {
        const Property20* next;
        union {
            uint8_t i8;
            uint16_t i16;
            uint32_t i32;
            uint32_t varint;
            MqttString20 bin;
            MqttString20 s;
        } value;
        MqttString20 name;
        int32_t identifier;
        bool client_generated;
    };
    static void readByLayout20(const mosquitto_property* props, std::optional<std::string>& topic,
                               std::optional<std::string>& correlation) {
        for (auto p = reinterpret_cast<const Property20*>(props); p; p = p->next) {
            if (p->identifier == kPropResponseTopic && !topic && p->value.s.v) {
                topic.emplace(p->value.s.v, p->value.s.len);
            } else if (p->identifier == kPropCorrelationData && !correlation && p->value.bin.v) {
                correlation.emplace(p->value.bin.v, p->value.bin.len);
            }
        }
    }

    // Where the reply to a request goes: its MQTT v5 response topic (checked like every topic we publish on)
    // with its correlation data, else the default topic.
    ReplyRoute replyRouteFor(const mosquitto_property* props, const std::string& who) {
        ReplyRoute route;
        if (!props) return route;
        std::optional<std::string> topic, correlation;
        if (read_string && read_binary) {
            readByFunctions(props, topic, correlation);
        } else if (broker_line == broker::BrokerLine::V2_0) {
            readByLayout20(props, topic, correlation);
        } else {
            if (!said_no_property_readers) {
                said_no_property_readers = true;
                logger.info("this broker does not export mosquitto_property_read_*: replies go to " +
                            std::string(kResponseTopic) + " even when a request names an MQTT v5 response topic");
            }
            return route;
        }
        if (!topic) return route;
        const std::string problem = checkPublishTopic(*topic);
        if (!problem.empty()) {
            logger.warning(who + " | response topic " + quoteForLog(*topic) + " not used: " + problem +
                           "; the reply goes to " + kResponseTopic);
            return route;
        }
        route.topic = std::move(*topic);
        route.correlation = std::move(correlation);
        return route;
    }

    // Hashes the upgrader's child process made, applied in one copy of the state and saved like a $CONTROL
    // change (the change index advances, the audit line names the plugin). A hash changed meanwhile stays.
    void applyHashUpgrades() {
        std::vector<HashUpgrade> done = upgrader->takeDone();
        if (done.empty()) return;
        State next = *state;
        std::vector<std::string> changes;
        for (auto& u : done) {
            if (applyUpgrade(next, u)) {
                changes.push_back(describeUpgrade(u));
                logins->rememberVerified(u.username, u.to, u.password);
            }
            wipe(u.password);
        }
        if (changes.empty()) return;
        next.change_index = state->change_index + 1;
        std::string audit;
        if (!config.audit_file.empty()) {
            nlohmann::json line = nlohmann::json::object();
            line["time_ms"] =
                std::chrono::duration_cast<std::chrono::milliseconds>(clock.wallNow().time_since_epoch()).count();
            line["who"] = "plugin";
            line["clientid"] = "";
            line["username"] = nlohmann::json();
            line["changeIndexBefore"] = state->change_index;
            line["changeIndexAfter"] = next.change_index;
            line["changes"] = changes;
            audit = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        }
        for (const auto& c : changes) logger.info("plugin | " + c);
        hashes_upgraded.add(static_cast<int64_t>(changes.size()));
        swapState(std::make_shared<const State>(std::move(next)));
        saveState(std::move(audit));
    }

    void shutdown() {
        upgrader.reset();  // unfinished upgrades are dropped: the next login redoes them
        writer.reset();    // writes what is pending, then joins
    }

    int onControl(mosquitto_evt_control* event) {
        const char* id = mosquitto_client_id(event->client);
        const char* username = mosquitto_client_username(event->client);
        const std::string who = quoteForLog(id ? id : "") + "/" + quoteForLog(username ? username : "");
        ControlOutcome out =
            handleControl(*state, std::string_view(static_cast<const char*>(event->payload), event->payloadlen),
                          config.password_iterations,
                          ControlExtras{.now = unixSeconds(), .denials = &denial_log, .connections = &connections});
        for (const auto& line : out.log) logger.info(who + " | " + line);
        control_requests.add();
        if (out.reply.find("\"error\"") != std::string::npos) control_refused.add();
        // Only the asking client gets the answer (dynamic-security sends it to every subscriber), and for a
        // change only once the new state is on disk (sendDurableReplies, from tick and the ACL check).
        const int qos = event->qos > 0 ? 1 : 0;
        ReplyRoute route = replyRouteFor(event->properties, who);
        if (out.next) {
            std::string audit;
            if (!config.audit_file.empty()) {
                const auto now_ms =
                    std::chrono::duration_cast<std::chrono::milliseconds>(clock.wallNow().time_since_epoch()).count();
                nlohmann::json line = nlohmann::json::object();
                line["time_ms"] = now_ms;
                line["clientid"] = id ? id : "";
                line["username"] = username ? nlohmann::json(username) : nlohmann::json();
                line["changeIndexBefore"] = state->change_index;
                line["changeIndexAfter"] = out.next->change_index;
                line["changes"] = out.log;
                audit = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
            }
            swapState(std::make_shared<const State>(std::move(*out.next)));
            if (config.kick_like_dynsec) {
                // As dynamic-security: without the Will; NULL means every client without a username.
                for (const auto& name : out.kick_usernames) mosquitto_kick_client_by_username(name.c_str(), false);
                if (out.kick_anonymous) mosquitto_kick_client_by_username(nullptr, false);
            }
            const uint64_t seq = saveState(std::move(audit));
            if (id && !tick_watch.ticking()) {
                // No tick on this broker (2.0.11 with per_listener_settings true) and maybe no other ACL
                // check soon: a held reply could wait forever, so it leaves now, before the write.
                sendReply(id, route, out.reply, qos);
            } else if (id) {
                if (pending_replies.size() >= kMaxPendingReplies) {
                    logger.warning("too many replies waiting for the disk; the oldest is dropped");
                    pending_replies.pop_front();
                }
                pending_replies.push_back(PendingReply{seq, id, std::move(out.reply), qos, std::move(route)});
            }
        } else if (id) {
            sendReply(id, route, out.reply, qos);
        }
        return MOSQ_ERR_SUCCESS;
    }

    int onBasicAuth(const mosquitto_evt_basic_auth* event) {
        const char* id = mosquitto_client_id(event->client);
        const uint64_t hits_before = logins->hits();
        const AuthResult r = state->authenticate(event->username ? event->username : "", event->username != nullptr,
                                                 event->password ? event->password : "", event->password != nullptr,
                                                 id ? id : "", logins.get());
        switch (r) {
            case AuthResult::Success:
                logins_accepted.add();
                if (logins->hits() != hits_before) logins_cached.add();
                if (event->username) {
                    const char* address = mosquitto_client_address(event->client);
                    connections.add(event->client, event->username, id ? id : "", address ? address : "");
                }
                if (upgrader) queueHashUpgrade(event->username, event->password);
                return MOSQ_ERR_SUCCESS;
            case AuthResult::Denied:
                logins_refused.add();
                return MOSQ_ERR_AUTH;
            case AuthResult::Defer:
                break;
        }
        return MOSQ_ERR_PLUGIN_DEFER;
    }

    // A login passed against a hash weaker than password_iterations: a child process rehashes it.
    void queueHashUpgrade(const char* username, const char* password) {
        auto it = state->clients.find(std::string_view(username));
        if (it == state->clients.end() || !it->second.password) return;
        if (!needsUpgrade(*it->second.password, config.password_iterations)) return;
        upgrader->submit(username, *it->second.password, password, config.password_iterations);
    }

    static std::optional<Access> accessOf(int broker_access) {
        switch (broker_access) {
            case MOSQ_ACL_READ:
                return Access::Read;
            case MOSQ_ACL_WRITE:
                return Access::Write;
            case MOSQ_ACL_SUBSCRIBE:
                return Access::Subscribe;
            case MOSQ_ACL_UNSUBSCRIBE:
                return Access::Unsubscribe;
            default:
                return std::nullopt;
        }
    }

    // What a remembered decision was computed for. The raw address is compared only when a rule uses %a and
    // the client id only when one uses %c, so a cached decision never outlives what it depends on.
    CacheIdentity cacheIdentityOf(const mosquitto_evt_acl_check* event, const char* username, const char* id) const {
        const char* raw_address = uses_address ? mosquitto_client_address(event->client) : nullptr;
        return CacheIdentity{username ? username : "", (uses_client_id && id) ? id : "",
                             raw_address ? raw_address : ""};
    }

    // Twice per message (the publish and each delivery): the memo's answer when it allows, else the full check.
    int onAclCheck(const mosquitto_evt_acl_check* event) {
        // Mosquitto 2.0.11 sends no tick with per_listener_settings true: held replies also leave from here.
        if (!pending_replies.empty()) [[unlikely]]
            sendDurableReplies();
        const std::optional<Access> access = accessOf(event->access);
        if (!access) return MOSQ_ERR_PLUGIN_DEFER;
        // With validity windows every check first looks at the clock (checkInFull).
        if (!boundaries.active()) [[likely]] {
            const char* id = uses_client_id ? mosquitto_client_id(event->client) : nullptr;
            const CacheIdentity key = cacheIdentityOf(event, mosquitto_client_username(event->client), id);
            const auto decision =
                cache->find(event->client, generation, key, *access, event->topic ? event->topic : "");
            if (decision && *decision != Decision::Deny) [[likely]] {
                acl_outcomes[static_cast<size_t>(*access)][static_cast<size_t>(*decision)]->addOnOwnerThread();
                return *decision == Decision::Allow ? MOSQ_ERR_SUCCESS : MOSQ_ERR_PLUGIN_DEFER;
            }
        }
        return checkInFull(event, *access);
    }

    // The memo could not answer (or answered a denial, which is recorded and logged): decide, remember.
    [[gnu::noinline]] int checkInFull(const mosquitto_evt_acl_check* event, Access access) {
        const char* username = mosquitto_client_username(event->client);
        const char* id = mosquitto_client_id(event->client);
        const std::string_view topic = event->topic ? event->topic : "";
        const CacheIdentity key = cacheIdentityOf(event, username, id);
        // Measured (strlen) only when the memo cannot answer or the answer is a denial.
        const auto identity = [&] {
            return Identity{.username = key.username, .has_username = username != nullptr, .client_id = id ? id : ""};
        };
        CheckFacts facts{.qos = event->qos, .retain = event->retain, .payload_bytes = event->payloadlen};
        if (boundaries.active()) {
            facts.now = unixSeconds();
            if (boundaries.passed(facts.now)) ++generation;  // a window opened or closed: recompute
        }
        auto decision = cache->find(event->client, generation, key, access, topic);
        if (!decision) {
            bool cacheable = true;  // false when a condition on QoS, retain or size was consulted
            decision = decide(event, identity(), access, topic, facts, &cacheable);
            if (cacheable) cache->store(event->client, generation, key, access, topic, *decision);
        }
        acl_outcomes[static_cast<size_t>(access)][static_cast<size_t>(*decision)]->addOnOwnerThread();
        if (*decision != Decision::Deny) [[likely]]
            return *decision == Decision::Allow ? MOSQ_ERR_SUCCESS : MOSQ_ERR_PLUGIN_DEFER;
        const Identity who = identity();
        recordDenial(event, who, access, topic, facts);
        // A rule's explicit deny of what a client sent is worth a line, at most 5 per 10 s per kind; denied
        // deliveries (receive) are the subscriber's business and too frequent to log.
        if (access != Access::Read) {
            static constexpr const char* kKinds[] = {"receive", "publish", "subscribe", "unsubscribe"};
            const char* kind = kKinds[static_cast<size_t>(access)];
            denials.warning(kind, std::string("denied ") + kind + " of " + quoteForLog(topic) + " for client " +
                                      quoteForLog(who.client_id) + " (username " +
                                      (who.has_username ? quoteForLog(who.username) : std::string("none")) +
                                      ") by a rule; explain says which");
        }
        return MOSQ_ERR_ACL_DENIED;
    }

    Decision decide(const mosquitto_evt_acl_check* event, Identity who, Access access, std::string_view topic,
                    const CheckFacts& facts, bool* cacheable, Explanation* why = nullptr) {
        std::optional<std::string> address;
        if (uses_address) {
            const char* raw = mosquitto_client_address(event->client);
            if (raw) address = canonicalAddress(raw);
            if (address) who.address = *address;
        }
        std::string common_name;
        if (uses_common_name) {
            // Only with require_certificate does the broker keep one; the client's own reference is freed.
            void* cert = mosquitto_client_certificate(event->client);
            common_name = certificateCommonName(cert);
            freeCertificate(cert);
            who.common_name = common_name;
        }
        return state->check(who, access, topic, facts, why, cacheable);
    }

    // Rare path: the check is made again to learn the deciding rule.
    void recordDenial(const mosquitto_evt_acl_check* event, const Identity& who, Access access, std::string_view topic,
                      const CheckFacts& facts) {
        Explanation why;
        decide(event, who, access, topic, facts, nullptr, &why);
        if (!why.acl) return;
        const auto now_ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(clock.wallNow().time_since_epoch()).count();
        denial_log.record(event->client, who.client_id, who.username, who.has_username,
                          Denial{.time_ms = now_ms,
                                 .access = access,
                                 .topic = std::string(topic),
                                 .via = why.via,
                                 .rolename = why.role,
                                 .acltype = why.acl->type,
                                 .acl_topic = why.acl->filter.text(),
                                 .priority = why.acl->priority});
    }

    // The broker may hand the same client handle to the next connection.
    void onDisconnect(const mosquitto_evt_disconnect* event) {
        cache->forget(event->client);
        denial_log.forget(event->client);
        connections.remove(event->client);
    }
};

}  // namespace
}  // namespace mqs::dynacl

MQS_PLUGIN_ENTRY_POINTS(mqs::dynacl::DynaclPlugin)
