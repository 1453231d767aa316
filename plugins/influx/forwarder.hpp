// The broker-thread side of the plugin without Mosquitto types: map a message, hand the line to every
// sink's queue, apply the spool-full policy, and pass the workers' reports back for logging.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "influx/config.hpp"
#include "influx/mapper.hpp"
#include "common/metrics.hpp"
#include "influx/pipeline.hpp"
#include "influx/rules.hpp"

namespace mqs::influx {

enum class Verdict { Pass, Disconnect };

// Makes the transport of one sink; tests replace the libcurl one.
using SinkTransportMaker = std::function<TransportFactory(const SinkConfig& sink, Precision precision)>;
SinkTransportMaker curlTransportMaker();

// Thread: broker thread only (the pipelines' workers are inside). Construction opens and replays the
// spools and starts the workers; it throws SpoolError or std::runtime_error, touching no network.
class Forwarder {
public:
    Forwarder(const Config& config, std::shared_ptr<const Mapping> mapping, MetricsRegistry& metrics, const Clock& clock,
              SinkTransportMaker maker = curlTransportMaker());
    ~Forwarder();
    Forwarder(const Forwarder&) = delete;
    Forwarder& operator=(const Forwarder&) = delete;

    // `warning` is set when something was skipped or dropped and deserves a (rate-limited) log line.
    Verdict onMessage(std::string_view topic, const void* payload, size_t length, std::string& warning);
    // New rules with the same sinks and pipeline options: only the mapper changes.
    void replaceMapper(const Config& config, std::shared_ptr<const Mapping> mapping);
    // Same sinks, spool directory and pipeline settings (then replaceMapper is enough on reload).
    bool sameSinks(const Config& config, const Mapping& mapping) const;

    ReportQueue& reports() { return reports_; }
    std::vector<SinkPipeline*> pipelines();
    void stop();

private:
    Config config_;
    std::shared_ptr<const Mapping> mapping_;
    MetricsRegistry& metrics_;
    const Clock& clock_;
    ReportQueue reports_{4096};
    std::unique_ptr<Mapper> mapper_;
    std::vector<std::unique_ptr<SinkPipeline>> pipelines_;
    std::vector<Metric*> dropped_, refused_;
    std::string line_;
};

}  // namespace mqs::influx
