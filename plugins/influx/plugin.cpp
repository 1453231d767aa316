// Broker adapter of mosquitto_influx.so: options at init and reload, callback registration, and the
// translation of MOSQ_EVT_MESSAGE into Forwarder calls. Workers report back through a queue drained here.
#include <memory>
#include <string>

#include "influx/config.hpp"
#include "influx/forwarder.hpp"
#include "common/broker/mosquitto_api.hpp"
#include "common/broker/plugin_lifecycle.hpp"

namespace mqs::influx {
namespace {

// One influx instance: its options, the forwarder with its sinks, the last error published per sink.
struct InfluxPlugin : broker::PluginBase<InfluxPlugin> {
    static constexpr const char* kName = "influx";

    Config config;
    std::shared_ptr<const Mapping> active_mapping;  // a reload that fails half-way restarts the sinks from it
    std::unique_ptr<Forwarder> forwarder;
    RateLimitedLog warnings{logger, clock};
    std::string warning;                             // reused for every message
    std::map<std::string, std::string> last_errors;  // sink -> last published error text

    std::string describeLoad(const Mapping& mapping) const {
        std::string sinks;
        for (const auto& s : mapping.sinks) sinks += (sinks.empty() ? "" : ", ") + s.name + " (" + s.url + ")";
        return std::to_string(mapping.rules.size()) + " rule(s) from " + quoteForLog(config.rules_file) + ", sink(s) " +
               sinks + ", precision " + precisionName(config.precision);
    }

    // Used at init; throws ConfigError, RulesError or SpoolError.
    void load(const RawOptions& options) {
        Config next = parseConfig(options);
        auto mapping = std::make_shared<const Mapping>(loadMapping(next.rules_file));
        forwarder = std::make_unique<Forwarder>(next, mapping, metrics, clock);
        config = next;
        active_mapping = mapping;
        scheduleMetrics(config.instance, config.metrics_interval);
        logger.info("forwarding " + describeLoad(*mapping));
        for (auto* p : forwarder->pipelines()) {
            if (p->recoveredRecords() > 0) {
                logger.warning("sink '" + p->sink().name + "': replaying " + std::to_string(p->recoveredRecords()) +
                               " batch(es) found in the spool");
            }
            if (const Journal* j = p->journal()) {
                if (!j->note().empty()) logger.warning("sink '" + p->sink().name + "': " + j->note());
                if (j->recoveredLines() > 0) {
                    logger.warning("sink '" + p->sink().name + "': replaying " + std::to_string(j->recoveredLines()) +
                                   " point(s) found in the journal" +
                                   (j->tornBytes() > 0 ? " (a torn last record was cut off)" : ""));
                }
            }
        }
    }

    static constexpr const char* kKeptOnRefusedReload = "configuration";

    // The options from the skeleton's reload policy, the rules file re-read.
    void reload(const RawOptions& options) {
        Config next = parseConfig(options);
        auto mapping = std::make_shared<const Mapping>(loadMapping(next.rules_file));
        if (forwarder->sameSinks(next, *mapping)) {
            forwarder->replaceMapper(next, mapping);
        } else {
            // The old pipelines write what they hold to their spools first: the new ones replay it.
            logger.warning(
                "sinks or delivery options changed: restarting the sinks (their queues go through the spool)");
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
        scheduleMetrics(config.instance, config.metrics_interval);
        logger.info("reloaded: forwarding " + describeLoad(*mapping));
    }

    void drainReports() {
        forwarder->reports().drain([&](Report&& r) {
            logger.log(r.level, r.text);
            if (r.last_error && last_errors[r.sink] != *r.last_error) {
                last_errors[r.sink] = *r.last_error;
                broker::publishRetained(lastErrorTopic(r.sink), *r.last_error);
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
                logger.warning("sink '" + p->sink().name + "' is no longer in the rules file; its " +
                               std::to_string(held) + " unsent batch(es) stay in " +
                               quoteForLog(config.spool_dir + "/" + p->sink().name) +
                               " until a sink of that name returns");
            }
        }
    }

    std::string lastErrorTopic(const std::string& sink) const { return sysTopic("sinks/" + sink + "/last_error"); }

    void clearLastErrors() {
        for (auto& [sink, text] : last_errors) {
            if (text.empty()) continue;
            text.clear();
            broker::publishRetained(lastErrorTopic(sink), "");
        }
    }

    // The skeleton runs this from TICK and MESSAGE, then publishes the metrics.
    void onTimers(Clock::TimePoint) { drainReports(); }

    int onMessage(mosquitto_evt_message* event, Clock::TimePoint) {
        warning.clear();
        Verdict v = forwarder->onMessage(event->topic, event->payload, event->payloadlen, warning);
        if (!warning.empty()) warnings.warning(v == Verdict::Disconnect ? "full" : "mapping", warning);
        // Any error code other than ACL_DENIED makes the broker drop the connection without a PUBACK.
        return v == Verdict::Disconnect ? MOSQ_ERR_ADMINISTRATIVE_ACTION : MOSQ_ERR_SUCCESS;
    }

    // Queued points go to the spool; they are replayed at the next start.
    void shutdown() {
        forwarder->stop();
        drainReports();
    }
};

}  // namespace
}  // namespace mqs::influx

MQS_PLUGIN_ENTRY_POINTS(mqs::influx::InfluxPlugin)
