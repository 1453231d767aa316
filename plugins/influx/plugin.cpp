// Broker adapter of mosquitto_influx.so: options at init and reload, callback registration, and the
// translation of MOSQ_EVT_MESSAGE into Forwarder calls. Workers report back through a queue drained here.
#include <memory>
#include <string>

#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>

#include "broker_glue.hpp"
#include "plugin_lifecycle.hpp"
#include "config.hpp"
#include "forwarder.hpp"
#include "guard.hpp"
#include "tick_watch.hpp"

namespace mqs::influx {
namespace {

constexpr const char* kPluginName = "influx";

// Everything one plugin instance owns; hangs off the broker's user_data pointer.
struct InfluxPlugin {
    mosquitto_plugin_id_t* identifier = nullptr;
    Logger logger{kPluginName, broker::logSink()};
    SystemClock clock;
    MetricsRegistry metrics;
    RawOptions init_options;  // Mosquitto 2.0 passes no options with MOSQ_EVT_RELOAD: reuse these
    Config config;
    std::shared_ptr<const Mapping> active_mapping;  // a reload that fails half-way restarts the sinks from it
    std::unique_ptr<Forwarder> forwarder;
    RateLimitedLog warnings{logger, clock};
    IntervalTimer metrics_timer{std::chrono::milliseconds(0)};
    TickWatch tick_watch;
    std::string warning;  // reused for every message
    std::map<std::string, std::string> last_errors;  // sink -> last published error text

    std::string describeLoad(const Mapping& mapping) const {
        std::string sinks;
        for (const auto& s : mapping.sinks) sinks += (sinks.empty() ? "" : ", ") + s.name + " (" + s.url + ")";
        return std::to_string(mapping.rules.size()) + " rule(s) from " + quoteForLog(config.rules_file) + ", sink(s) " + sinks +
               ", precision " + precisionName(config.precision);
    }

    // Used at init; throws ConfigError, RulesError or SpoolError.
    void load(const RawOptions& options) {
        Config next = parseConfig(options);
        auto mapping = std::make_shared<const Mapping>(loadMapping(next.rules_file));
        forwarder = std::make_unique<Forwarder>(next, mapping, metrics, clock);
        config = next;
        active_mapping = mapping;
        metrics_timer = IntervalTimer(config.metrics_interval);
        logger.info("forwarding " + describeLoad(*mapping));
        for (auto* p : forwarder->pipelines()) {
            if (p->recoveredRecords() > 0) {
                logger.warning("sink '" + p->sink().name + "': replaying " + std::to_string(p->recoveredRecords()) +
                               " batch(es) found in the spool");
            }
        }
    }

    static constexpr const char* kKeptOnRefusedReload = "configuration";

    // Mosquitto 2.0 passes no options with a reload: the init options, the rules file re-read.
    void reload(const mosquitto_evt_reload*) {
        Config next = parseConfig(init_options);
        auto mapping = std::make_shared<const Mapping>(loadMapping(next.rules_file));
        if (forwarder->sameSinks(next, *mapping)) {
            forwarder->replaceMapper(next, mapping);
        } else {
            // The old pipelines write what they hold to their spools first: the new ones replay it.
            logger.warning("sinks or delivery options changed: restarting the sinks (their queues go through the spool)");
            forwarder->stop();
            drainReports();
            warnAboutOrphanedSpools(*mapping);
            clearLastErrors();  // restarted sinks have not failed yet
            try {
                forwarder = std::make_unique<Forwarder>(next, mapping, metrics, clock);
            } catch (...) {
                // Not from the rules file: on disk it is the refused one.
                forwarder = std::make_unique<Forwarder>(config, active_mapping, metrics, clock);
                throw;
            }
        }
        config = next;
        active_mapping = mapping;
        metrics_timer = IntervalTimer(config.metrics_interval);
        logger.info("reloaded: forwarding " + describeLoad(*mapping));
    }

    void drainReports() {
        forwarder->reports().drain([&](Report&& r) {
            logger.log(r.level, r.text);
            if (r.last_error && last_errors[r.sink] != *r.last_error) {
                last_errors[r.sink] = *r.last_error;
                std::string topic = "$SYS/plugins/influx/" + config.instance + "/sinks/" + r.sink + "/last_error";
                mosquitto_broker_publish_copy(nullptr, topic.c_str(), static_cast<int>(r.last_error->size()),
                                              r.last_error->data(), 0, true, nullptr);
            }
        });
    }

    // A spool belongs to a sink's name: say so when a sink that still holds points leaves the rules.
    void warnAboutOrphanedSpools(const Mapping& next) {
        for (auto* p : forwarder->pipelines()) {
            bool kept = false;
            for (const auto& s : next.sinks) kept = kept || s.name == p->sink().name;
            const size_t held = p->pendingBatches();
            if (!kept && held > 0) {
                logger.warning("sink '" + p->sink().name + "' is no longer in the rules file; its " + std::to_string(held) +
                               " unsent batch(es) stay in " + quoteForLog(config.spool_dir + "/" + p->sink().name) +
                               " until a sink of that name returns");
            }
        }
    }

    void clearLastErrors() {
        for (auto& [sink, text] : last_errors) {
            if (text.empty()) continue;
            text.clear();
            std::string topic = "$SYS/plugins/influx/" + config.instance + "/sinks/" + sink + "/last_error";
            mosquitto_broker_publish_copy(nullptr, topic.c_str(), 0, "", 0, true, nullptr);
        }
    }

    // Periodic work, driven by both TICK and MESSAGE (2.0.11 sends no tick with per_listener_settings).
    void runTimers(Clock::TimePoint now) {
        drainReports();
        if (metrics_timer.due(now)) broker::publishMetrics(metrics, kPluginName, config.instance);
    }

    int onMessage(mosquitto_evt_message* event) {
        const auto now = clock.now();  // one steady-clock read per message
        runTimers(now);
        if (tick_watch.shouldWarn(now)) {
            logger.warning("no MOSQ_EVT_TICK received for 5 s (Mosquitto 2.0.11 sends none with per_listener_settings true); worker reports and metrics are handled in message callbacks instead");
        }
        warning.clear();
        Verdict v = forwarder->onMessage(event->topic, event->payload, event->payloadlen, warning);
        if (!warning.empty()) warnings.warning(v == Verdict::Disconnect ? "full" : "mapping", warning);
        // Any error code other than ACL_DENIED makes the broker drop the connection without a PUBACK.
        return v == Verdict::Disconnect ? MOSQ_ERR_ADMINISTRATIVE_ACTION : MOSQ_ERR_SUCCESS;
    }
};

constexpr broker::CallbackRegistration kCallbacks[] = {
    {MOSQ_EVT_MESSAGE, broker::messageCallback<InfluxPlugin>},
    {MOSQ_EVT_TICK, broker::tickCallback<InfluxPlugin>},
    {MOSQ_EVT_RELOAD, broker::reloadCallback<InfluxPlugin>},
};

}  // namespace
}  // namespace mqs::influx

using mqs::influx::InfluxPlugin;

MQS_PLUGIN_EXPORT int mosquitto_plugin_version(int supported_version_count, const int* supported_versions) {
    return mqs::broker::negotiatePluginVersion(supported_version_count, supported_versions);
}

MQS_PLUGIN_EXPORT int mosquitto_plugin_init(mosquitto_plugin_id_t* identifier, void** user_data,
                                            struct mosquitto_opt* options, int option_count) {
    return mqs::broker::startPlugin<InfluxPlugin>("influx", identifier, user_data, options, option_count,
                                                  mqs::influx::kCallbacks,
                                                  [](InfluxPlugin& plugin) { plugin.load(plugin.init_options); });
}

MQS_PLUGIN_EXPORT int mosquitto_plugin_cleanup(void* user_data, struct mosquitto_opt*, int) {
    return mqs::broker::stopPlugin<InfluxPlugin>(user_data, mqs::influx::kCallbacks, [](InfluxPlugin& plugin) {
        // Queued points go to the spool; they are replayed at the next start.
        plugin.forwarder->stop();
        plugin.drainReports();
    });
}
