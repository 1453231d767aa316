// Broker adapter of mosquitto_dynacl.so: the state file at init and reload, and the translation of
// MOSQ_EVT_BASIC_AUTH and MOSQ_EVT_ACL_CHECK into State questions. The logic lives elsewhere.
#include <memory>
#include <optional>
#include <string>

#include "common/broker/mosquitto_api.hpp"
#include "common/broker/plugin_lifecycle.hpp"
#include "dynacl/config.hpp"
#include "dynacl/decision_cache.hpp"
#include "dynacl/state.hpp"
#include "dynacl/state_file.hpp"

namespace mqs::dynacl {
namespace {

struct DynaclPlugin : broker::PluginBase<DynaclPlugin> {
    static constexpr const char* kName = "dynacl";
    static constexpr const char* kKeptOnRefusedReload = "state";

    Config config;
    std::shared_ptr<const State> state;
    // Bumped on every change of `state`: cached decisions of an older generation are never used.
    uint64_t generation = 0;
    bool uses_address = false;
    std::unique_ptr<DecisionCache> cache;

    // Options and the state file; throws ConfigError or StateFileError, leaving the live state untouched.
    void load(const RawOptions& options) {
        Config next = parseConfig(options);
        LoadedState loaded = loadStateFile(next.config_file);
        for (const auto& w : loaded.warnings) logger.warning(next.config_file + ": " + w);
        auto next_state = std::make_shared<const State>(std::move(loaded.state));
        config = next;
        uses_address = next_state->usesAddress();
        state = std::move(next_state);
        ++generation;
        cache = std::make_unique<DecisionCache>(config.cache_bytes_per_client, config.cache_total_bytes);
        logger.info("loaded " + std::to_string(state->clients.size()) + " client(s), " +
                    std::to_string(state->groups.size()) + " group(s), " + std::to_string(state->roles.size()) +
                    " role(s) from " + quoteForLog(config.config_file));
    }

    void reload(const RawOptions& options) { load(options); }

    int onBasicAuth(const mosquitto_evt_basic_auth* event) {
        const char* id = mosquitto_client_id(event->client);
        const AuthResult r = state->authenticate(event->username ? event->username : "", event->username != nullptr,
                                                 event->password ? event->password : "", event->password != nullptr,
                                                 id ? id : "");
        switch (r) {
            case AuthResult::Success: return MOSQ_ERR_SUCCESS;
            case AuthResult::Denied: return MOSQ_ERR_AUTH;
            case AuthResult::Defer: break;
        }
        return MOSQ_ERR_PLUGIN_DEFER;
    }

    int onAclCheck(const mosquitto_evt_acl_check* event) {
        Access access;
        switch (event->access) {
            case MOSQ_ACL_READ: access = Access::Read; break;
            case MOSQ_ACL_WRITE: access = Access::Write; break;
            case MOSQ_ACL_SUBSCRIBE: access = Access::Subscribe; break;
            case MOSQ_ACL_UNSUBSCRIBE: access = Access::Unsubscribe; break;
            default: return MOSQ_ERR_PLUGIN_DEFER;
        }
        const char* username = mosquitto_client_username(event->client);
        const char* id = mosquitto_client_id(event->client);
        Identity who{.username = username ? username : "", .has_username = username != nullptr,
                     .client_id = id ? id : ""};
        const std::string_view topic = event->topic ? event->topic : "";
        auto decision = cache->find(event->client, generation, who.username, who.client_id, access, topic);
        if (!decision) {
            decision = decide(event, who, access, topic);
            cache->store(event->client, generation, who.username, who.client_id, access, topic, *decision);
        }
        switch (*decision) {
            case Decision::Allow: return MOSQ_ERR_SUCCESS;
            case Decision::Deny: return MOSQ_ERR_ACL_DENIED;
            case Decision::Defer: break;
        }
        return MOSQ_ERR_PLUGIN_DEFER;
    }

    Decision decide(const mosquitto_evt_acl_check* event, Identity who, Access access, std::string_view topic) {
        std::optional<std::string> address;
        if (uses_address) {
            const char* raw = mosquitto_client_address(event->client);
            if (raw) address = canonicalAddress(raw);
            if (address) who.address = *address;
        }
        return state->check(who, access, topic);
    }

    // The broker may hand the same client handle to the next connection.
    void onDisconnect(const mosquitto_evt_disconnect* event) { cache->forget(event->client); }
};

}  // namespace
}  // namespace mqs::dynacl

MQS_PLUGIN_ENTRY_POINTS(mqs::dynacl::DynaclPlugin)
